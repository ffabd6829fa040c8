import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { accountCheckDetail } from '../../ui/account-check';
import { Field, FormError } from '../../ui/field';
import { formatDate, formatMoney, formatMonthRange, formatTime } from '../../ui/format';
import { AmountInWords, Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { EDITABLE, fetchBatch, fetchProgress, fetchTotals, fetchTransitions, idempotencyKey, keys, LIVE, type Batch } from './api';
import { UntoldPanel } from '../notifications/untold-panel';
import { PayPointsPanel } from './paypoints-panel';
import { ReviewGrid } from './review-grid';
import { batchError, canMake, channelText, DateTimeText, LeftOutTable, paymentStatusText, StatusBadge } from './parts';

const POLL_MS = 2000;
const FINAL_PAYMENT = new Set(['succeeded', 'failed', 'returned', 'held', 'excluded', 'cancelled']);

/** The batch as staff work on it: what it pays, who may approve it, what can be done now, its payments and history. */
export function BatchPage({ id }: { id: string }) {
  const { t } = useI18n();
  const batch = useQuery({
    queryKey: keys.batch(id),
    queryFn: ({ signal }) => fetchBatch(id, signal),
    // followed without a reload while something moves on the server: the account check, the payments
    refetchInterval: (q) => {
      const b = q.state.data;
      return b && (LIVE.includes(b.status) || ['pending', 'running'].includes(b.accountCheck.status)) ? POLL_MS : false;
    },
  });
  if (batch.isPending)
    return (
      <p className="loading" role="status">
        {t('app.loading')}
      </p>
    );
  if (batch.isError) {
    return (
      <main id="main" className="page">
        <PageTitle>{t('batches.batchTitle', { id })}</PageTitle>
        <p role="alert" className="form-error">
          {batchError(t, batch.error)}
        </p>
        <Link href="/">{t('batches.back')}</Link>
      </main>
    );
  }
  const b = batch.data;
  return (
    <main id="main" className="page wide">
      <PageTitle>{t('batches.batchTitle', { id: b.id })}</PageTitle>
      <p>
        <Link href="/">{t('batches.back')}</Link>
      </p>
      <Header b={b} />
      <Approval b={b} />
      <Actions b={b} />
      {['processing', 'completed', 'completed_with_failures', 'scheduled'].includes(b.status) ? <Progress b={b} /> : null}
      {['processing', 'completed', 'completed_with_failures'].includes(b.status) ? (
        <>
          <PayPointsPanel b={b} />
          <UntoldPanel batchId={b.id} />
        </>
      ) : null}
      <Totals b={b} />
      <ReviewGrid b={b} />
      <section aria-labelledby="left-out-title">
        <h2 id="left-out-title">{t('batches.leftOut.title')}</h2>
        <LeftOutTable batchId={b.id} />
      </section>
      <History b={b} />
    </main>
  );
}

function Header({ b }: { b: Batch }) {
  const { t } = useI18n();
  return (
    <section aria-label={t('batches.fact.status')}>
      <p className="batch-status">
        <StatusBadge status={b.status} /> {b.title ? <span>{b.title}</span> : null}
      </p>
      {b.fundsHold ? <p className="notice">{t('batches.fundsHold', { reason: b.fundsHold.reason })}</p> : null}
      <dl className="facts">
        <dt>{t('batches.fact.programme')}</dt>
        <dd>{b.programmeName}</dd>
        <dt>{t('batches.fact.kind')}</dt>
        <dd>{t(`batches.kind.${b.kind}`)}</dd>
        <dt>{t('batches.fact.period')}</dt>
        <dd>{formatMonthRange(b.period, b.periodTo)}</dd>
        <dt>{t('batches.fact.area')}</dt>
        <dd>{b.areaName}</dd>
        <dt>{t('batches.fact.count')}</dt>
        <dd data-testid="item-count">{b.itemCount.toLocaleString('vi-VN')}</dd>
        <dt>{t('batches.fact.total')}</dt>
        <dd>
          <Money amount={b.totalAmount} />
        </dd>
        <dt>{t('batches.fact.words')}</dt>
        <dd>
          <AmountInWords amount={b.totalAmount} />
        </dd>
        <dt>{t('batches.fact.held')}</dt>
        <dd data-testid="held-count">{b.heldCount}</dd>
        <dt>{t('batches.fact.excluded')}</dt>
        <dd>{b.excludedCount}</dd>
        <dt>{t('batches.fact.flagged')}</dt>
        <dd>{b.flaggedCount}</dd>
        <dt>{t('batches.fact.leftOut')}</dt>
        <dd>{b.leftOutCount}</dd>
        <dt>{t('batches.fact.createdBy')}</dt>
        <dd>
          {b.createdBy ?? '—'} · <DateTimeText value={b.createdAt} />
        </dd>
        {b.submittedBy && b.submittedAt ? (
          <>
            <dt>{t('batches.fact.submittedBy')}</dt>
            <dd>
              {b.submittedBy} · <DateTimeText value={b.submittedAt} />
            </dd>
          </>
        ) : null}
        {b.scheduledFor ? (
          <>
            <dt>{t('batches.fact.scheduledFor')}</dt>
            <dd>
              <DateTimeText value={b.scheduledFor} />
            </dd>
          </>
        ) : null}
        {b.statusReason ? (
          <>
            <dt>{t('batches.fact.statusReason')}</dt>
            <dd>{b.statusReason}</dd>
          </>
        ) : null}
        {b.retryOf ? (
          <>
            <dt>{t('batches.fact.retryOf')}</dt>
            <dd>
              <Link href={`/${b.retryOf}`}>{t('batches.batchTitle', { id: b.retryOf })}</Link>
            </dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

/**
 * Who approves, and why this user cannot: the approve action is not on this page (it is the approver's), so a maker
 * reads here the two rules the API holds: the approver role, and never someone who made or changed the batch.
 */
function Approval({ b }: { b: Batch }) {
  const { t } = useI18n();
  const me = useMe();
  const madeIt = b.createdBy === me.username || b.submittedBy === me.username;
  return (
    <section aria-labelledby="approval-title" className="panel">
      <h2 id="approval-title">{t('batches.approval.title')}</h2>
      {b.approvedBy && b.approvedAt ? (
        <p>
          {t('batches.approval.done', {
            user: b.approvedBy,
            when: t('batches.dateTime', { time: formatTime(b.approvedAt), date: formatDate(b.approvedAt) }),
          })}
        </p>
      ) : (
        <>
          <p>{t('batches.approval.who', { area: b.areaName })}</p>
          {!me.roles.includes('approver') ? <p className="notice">{t('batches.approval.notApprover')}</p> : null}
          {madeIt ? <p className="notice">{t('batches.approval.self')}</p> : null}
          {me.roles.includes('approver') && !madeIt ? (
            <p>
              <a href="/approvals">{t('batches.approval.inbox')}</a>
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

function useBatchAction(b: Batch, run: (key: { 'Idempotency-Key': string }) => Promise<unknown>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => run(idempotencyKey()),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.batch(b.id) }),
  });
}

function Actions({ b }: { b: Batch }) {
  const { t } = useI18n();
  const me = useMe();
  const [, navigate] = useLocation();
  const [note, setNote] = useState('');
  const [at, setAt] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const path = { path: { id: b.id } };
  const check = useBatchAction(b, (header) => unwrap(api.POST('/api/v1/batches/{id}/account-check', { params: { ...path, header } })));
  const submit = useBatchAction(b, (header) =>
    unwrap(api.POST('/api/v1/batches/{id}/submit', { params: { ...path, header }, body: note.trim() ? { note: note.trim() } : {} })),
  );
  const schedule = useBatchAction(b, (header) =>
    unwrap(api.POST('/api/v1/batches/{id}/schedule', { params: { ...path, header }, body: { at } })),
  );
  const release = useBatchAction(b, (header) => unwrap(api.POST('/api/v1/batches/{id}/release', { params: { ...path, header } })));
  const retry = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/batches/{id}/retry', { params: { ...path, header: idempotencyKey() }, body: {} })),
    onSuccess: (r) => navigate(`/${r.id}`),
  });
  if (!canMake(me.roles)) return null;
  const failed = [check, submit, schedule, release, retry].find((m) => m.isError)?.error;
  const checking = ['pending', 'running'].includes(b.accountCheck.status);
  const editable = EDITABLE.includes(b.status);
  const releasable = b.status === 'approved' || b.status === 'scheduled';
  const after = (message: string) => ({ onSuccess: () => setDone(message) });

  return (
    <section aria-labelledby="actions-title" className="panel">
      <h2 id="actions-title">{t('batches.actions.title')}</h2>
      <FormError message={failed ? batchError(t, failed) : null} />
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      <h3>{t('batches.check.title')}</h3>
      <p role="status">
        {t(`batches.check.status.${b.accountCheck.status}`)} {accountCheckDetail(t, b.accountCheck)}
      </p>
      {b.flaggedCount > 0 ? <p>{t('batches.check.flagged', { count: b.flaggedCount })}</p> : null}
      {editable ? (
        <>
          <button type="button" disabled={checking || check.isPending} onClick={() => check.mutate()}>
            {t('batches.check.run')}
          </button>
          <form
            className="inline-form"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              submit.mutate(undefined, after(t('batches.submit.done')));
            }}
          >
            <Field label={t('batches.submit.note')} value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
            {checking ? <p className="field__hint">{t('batches.submit.waitCheck')}</p> : null}
            <button type="submit" className="primary" disabled={checking || submit.isPending}>
              {t('batches.submit.button')}
            </button>
          </form>
        </>
      ) : null}
      {releasable ? (
        <>
          <form
            className="inline-form"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              schedule.mutate(undefined, after(t('batches.schedule.done')));
            }}
          >
            <Field label={t('batches.schedule.at')} type="datetime-local" required value={at} onChange={(e) => setAt(e.target.value)} />
            <button type="submit" disabled={!at || schedule.isPending}>
              {t('batches.schedule.button')}
            </button>
          </form>
          {confirming ? (
            <div className="confirm" role="group" aria-labelledby="release-confirm">
              <p id="release-confirm">
                {t('batches.release.confirm', { count: b.itemCount.toLocaleString('vi-VN'), amount: formatMoney(b.totalAmount) })}{' '}
                <AmountInWords amount={b.totalAmount} />
              </p>
              <div className="actions">
                <button
                  type="button"
                  className="primary"
                  disabled={release.isPending}
                  onClick={() =>
                    release.mutate(undefined, {
                      onSuccess: () => {
                        setConfirming(false);
                        setDone(t('batches.release.done'));
                      },
                    })
                  }
                >
                  {t('batches.release.yes')}
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  {t('batches.release.no')}
                </button>
              </div>
            </div>
          ) : (
            <button type="button" className="primary" onClick={() => setConfirming(true)}>
              {t('batches.release.button')}
            </button>
          )}
        </>
      ) : null}
      {b.status === 'completed_with_failures' ? (
        <>
          <p>{t('batches.retry.intro')}</p>
          <button type="button" disabled={retry.isPending} onClick={() => retry.mutate()}>
            {t('batches.retry.button')}
          </button>
        </>
      ) : null}
      {!editable && !releasable && b.status !== 'completed_with_failures' ? <p>{t('batches.noActions')}</p> : null}
    </section>
  );
}

/** The payments by state, read again every few seconds while the batch is scheduled or paying. */
function Progress({ b }: { b: Batch }) {
  const { t } = useI18n();
  const live = LIVE.includes(b.status);
  const progress = useQuery({
    queryKey: [...keys.batch(b.id), 'progress', b.status],
    queryFn: ({ signal }) => fetchProgress(b.id, signal),
    refetchInterval: live ? POLL_MS : false,
  });
  const rows = progress.data?.byStatus ?? [];
  const paying = rows.filter((r) => !['held', 'excluded'].includes(r.status));
  const total = paying.reduce((n, r) => n + r.count, 0);
  const done = paying.filter((r) => FINAL_PAYMENT.has(r.status)).reduce((n, r) => n + r.count, 0);
  return (
    <section aria-labelledby="progress-title" className="panel">
      <h2 id="progress-title">{t('batches.progress.title')}</h2>
      {live ? <p className="field__hint">{t('batches.progress.live')}</p> : null}
      <p role="status" data-testid="progress-summary">
        <StatusBadge status={b.status} /> {t('batches.progress.summary', { done, total })}
      </p>
      <progress aria-label={t('batches.progress.label')} max={Math.max(total, 1)} value={done} />
      <table>
        <caption>{t('batches.progress.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('batches.col.status')}</th>
            <th scope="col" className="num">
              {t('batches.col.count')}
            </th>
            <th scope="col" className="num">
              {t('batches.col.amount')}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.status}>
              <td>{paymentStatusText(t, r.status)}</td>
              <td className="num">{r.count.toLocaleString('vi-VN')}</td>
              <td className="num">
                <Money amount={r.amount} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Totals({ b }: { b: Batch }) {
  const { t } = useI18n();
  const totals = useQuery({
    queryKey: [...keys.batch(b.id), 'totals', b.version, b.status],
    queryFn: ({ signal }) => fetchTotals(b.id, signal),
  });
  if (!totals.data) return null;
  const d = totals.data;
  const table = (caption: string, head: string, rows: { key: string; label: string; count: number; amount: number }[]) => (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{head}</th>
          <th scope="col" className="num">
            {t('batches.col.count')}
          </th>
          <th scope="col" className="num">
            {t('batches.col.amount')}
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td>{r.label}</td>
            <td className="num">{r.count.toLocaleString('vi-VN')}</td>
            <td className="num">
              <Money amount={r.amount} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
  return (
    <section aria-labelledby="totals-title">
      <h2 id="totals-title">{t('batches.totals.title')}</h2>
      <div className="totals">
        {table(
          t('batches.totals.byArea'),
          t('batches.col.commune'),
          d.byArea.map((a) => ({ key: String(a.areaId), label: `${a.areaName} (${a.areaCode})`, count: a.count, amount: a.amount })),
        )}
        {table(
          t('batches.totals.byChannel'),
          t('batches.col.channel'),
          d.byChannel.map((c) => ({ key: c.channel, label: channelText(t, c.channel), count: c.count, amount: c.amount })),
        )}
        {table(
          t('batches.totals.byBank'),
          t('batches.col.bank'),
          d.byBank.map((k) => ({
            key: `${k.channel}-${k.code}`,
            label: k.name ? `${k.name} (${k.code})` : k.code,
            count: k.count,
            amount: k.amount,
          })),
        )}
      </div>
    </section>
  );
}

function History({ b }: { b: Batch }) {
  const { t } = useI18n();
  const history = useQuery({
    queryKey: [...keys.batch(b.id), 'transitions', b.status],
    queryFn: ({ signal }) => fetchTransitions(b.id, signal),
  });
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">{t('batches.history.title')}</h2>
      <table>
        <caption>{t('batches.history.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('batches.col.when')}</th>
            <th scope="col">{t('batches.col.from')}</th>
            <th scope="col">{t('batches.col.to')}</th>
            <th scope="col">{t('batches.col.actor')}</th>
            <th scope="col" className="num">
              {t('batches.col.count')}
            </th>
            <th scope="col" className="num">
              {t('batches.col.amount')}
            </th>
            <th scope="col">{t('batches.col.reason')}</th>
          </tr>
        </thead>
        <tbody>
          {(history.data ?? []).map((h) => (
            <tr key={h.id}>
              <td>
                <DateTimeText value={h.occurredAt} />
              </td>
              <td>{h.from ? t(`batches.status.${h.from}`) : '—'}</td>
              <td>{t(`batches.status.${h.to}`)}</td>
              <td>{h.actor}</td>
              <td className="num">{h.itemCount.toLocaleString('vi-VN')}</td>
              <td className="num">
                <Money amount={h.totalAmount} />
              </td>
              <td>{h.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

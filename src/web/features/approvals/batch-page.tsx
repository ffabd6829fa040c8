import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { accountCheckDetail } from '../../ui/account-check';
import { KeysetTable } from '../../ui/keyset-table';
import { AmountInWords, DateText, Money } from '../../ui/money';
import { formatMonth, formatMonthRange } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';
import { approvalsApi, type Batch, type BatchItem, type BatchTotals, type LeftOut } from './approvals-api';
import { DecisionForms } from './decision-forms';
import { refusal } from './refusal';

const count = (n: number) => n.toLocaleString('vi-VN');

/** Why this officer may not decide on the batch, as far as the page can tell before asking the API. */
export function involvement(b: Batch, username: string): 'created' | 'submitted' | null {
  if (b.createdBy === username) return 'created';
  if (b.submittedBy === username) return 'submitted';
  return null;
}

function Facts({ b }: { b: Batch }) {
  const { t } = useI18n();
  return (
    <dl className="facts">
      <dt>{t('approvals.fact.programme')}</dt>
      <dd>
        {b.programmeCode} · {b.programmeName}
      </dd>
      <dt>{t('approvals.fact.kind')}</dt>
      <dd>{t(b.kind === 'arrears' ? 'approvals.kind.arrears' : 'approvals.kind.regular')}</dd>
      <dt>{t('approvals.fact.period')}</dt>
      <dd>{formatMonthRange(b.period, b.periodTo)}</dd>
      <dt>{t('approvals.fact.area')}</dt>
      <dd>
        {b.areaName} ({b.areaCode})
      </dd>
      <dt>{t('approvals.fact.status')}</dt>
      <dd>{t(`approvals.status.${b.status}` as 'approvals.status.submitted')}</dd>
      <dt>{t('approvals.fact.items')}</dt>
      <dd>{count(b.itemCount)}</dd>
      <dt>{t('approvals.fact.total')}</dt>
      <dd>
        <Money amount={b.totalAmount} /> (<AmountInWords amount={b.totalAmount} />)
      </dd>
      <dt>{t('approvals.fact.heldExcluded')}</dt>
      <dd>{t('approvals.heldExcluded', { held: count(b.heldCount), excluded: count(b.excludedCount) })}</dd>
      <dt>{t('approvals.fact.flagged')}</dt>
      <dd>{count(b.flaggedCount)}</dd>
      <dt>{t('approvals.fact.leftOut')}</dt>
      <dd>{count(b.leftOutCount)}</dd>
      <dt>{t('approvals.fact.accountCheck')}</dt>
      <dd>
        {t(`approvals.check.${b.accountCheck.status}` as 'approvals.check.done')}
        {accountCheckDetail(t, b.accountCheck) ? ` (${accountCheckDetail(t, b.accountCheck)})` : null}
      </dd>
      <dt>{t('approvals.fact.createdBy')}</dt>
      <dd>
        {b.createdBy ?? '—'}, <DateText value={b.createdAt} />
      </dd>
      <dt>{t('approvals.fact.submittedBy')}</dt>
      <dd>
        {b.submittedBy ?? '—'}
        {b.submittedAt ? (
          <>
            , <DateText value={b.submittedAt} />
          </>
        ) : null}
      </dd>
      {b.statusReason ? (
        <>
          <dt>{t('approvals.fact.note')}</dt>
          <dd>{b.statusReason}</dd>
        </>
      ) : null}
    </dl>
  );
}

function TotalsTables({ totals }: { totals: BatchTotals }) {
  const { t } = useI18n();
  const head = (first: string) => (
    <thead>
      <tr>
        <th scope="col">{first}</th>
        <th scope="col" className="num">
          {t('approvals.col.items')}
        </th>
        <th scope="col" className="num">
          {t('approvals.col.total')}
        </th>
      </tr>
    </thead>
  );
  const row = (key: string, label: string, c: { count: number; amount: number }) => (
    <tr key={key}>
      <th scope="row">{label}</th>
      <td className="num">{count(c.count)}</td>
      <td className="num">
        <Money amount={c.amount} />
      </td>
    </tr>
  );
  return (
    <>
      <div className="table-wrap">
        <table>
          <caption>{t('approvals.totals.review')}</caption>
          {head(t('approvals.col.review'))}
          <tbody>
            {row('included', t('approvals.review.included'), totals.included)}
            {row('held', t('approvals.review.held'), totals.held)}
            {row('excluded', t('approvals.review.excluded'), totals.excluded)}
            {row('flagged', t('approvals.review.flagged'), totals.flagged)}
          </tbody>
        </table>
      </div>
      <div className="table-wrap">
        <table>
          <caption>{t('approvals.totals.byArea')}</caption>
          {head(t('approvals.col.area'))}
          <tbody>{totals.byArea.map((a) => row(String(a.areaId), `${a.areaName} (${a.areaCode})`, a))}</tbody>
        </table>
      </div>
      <div className="table-wrap">
        <table>
          <caption>{t('approvals.totals.byChannel')}</caption>
          {head(t('approvals.col.channel'))}
          <tbody>{totals.byChannel.map((c) => row(c.channel, t(`approvals.channel.${c.channel}` as 'approvals.channel.BANK'), c))}</tbody>
        </table>
      </div>
      <div className="table-wrap">
        <table>
          <caption>{t('approvals.totals.byBank')}</caption>
          {head(t('approvals.col.bank'))}
          <tbody>{totals.byBank.map((k) => row(`${k.channel}:${k.code}`, k.name ? `${k.name} (${k.code})` : k.code, k))}</tbody>
        </table>
      </div>
    </>
  );
}

function ItemTable({ id, filter, caption }: { id: string; filter: { flagged?: 'true'; review?: 'held' }; caption: string }) {
  const { t } = useI18n();
  return (
    <KeysetTable<BatchItem>
      caption={caption}
      queryKey={['approvals', 'batch', id, 'items', filter]}
      fetchPage={(cursor, signal) => approvalsApi.items(id, filter, cursor, signal)}
      rowKey={(i) => i.seq}
      columns={[
        { header: t('approvals.col.seq'), cell: (i) => i.seq, numeric: true },
        { header: t('approvals.col.name'), cell: (i) => i.fullName },
        { header: t('approvals.col.area'), cell: (i) => i.areaName },
        {
          header: t('approvals.col.destination'),
          cell: (i) =>
            `${t(`approvals.channel.${i.channel}` as 'approvals.channel.BANK')}${i.bankCode ? ` ${i.bankCode}` : ''}${
              i.walletProvider ? ` ${i.walletProvider}` : ''
            }${i.destination ? ` ${i.destination}` : ''}`,
        },
        { header: t('approvals.col.amount'), cell: (i) => <Money amount={i.amount} />, numeric: true },
        {
          header: t('approvals.col.check'),
          cell: (i) =>
            [
              i.lookupStatus ? t(`approvals.lookup.${i.lookupStatus}` as 'approvals.lookup.ACTIVE') : null,
              i.nameMismatch ? t('approvals.nameMismatch', { name: i.lookupName ?? i.accountName ?? '—' }) : null,
            ]
              .filter(Boolean)
              .join('; ') || '—',
        },
        { header: t('approvals.col.reason'), cell: (i) => i.reviewReason ?? '—' },
      ]}
    />
  );
}

function LeftOutTable({ id }: { id: string }) {
  const { t } = useI18n();
  return (
    <KeysetTable<LeftOut>
      caption={t('approvals.leftOut.caption')}
      queryKey={['approvals', 'batch', id, 'left-out']}
      fetchPage={(cursor, signal) => approvalsApi.leftOut(id, cursor, signal)}
      rowKey={(l) => `${l.enrolmentId}:${l.period}`}
      columns={[
        { header: t('approvals.col.name'), cell: (l) => l.fullName ?? `#${l.beneficiaryId}` },
        { header: t('approvals.col.period'), cell: (l) => formatMonth(l.period) },
        {
          header: t('approvals.col.reason'),
          cell: (l) =>
            `${t(`approvals.leftOut.${l.reason}` as 'approvals.leftOut.not_paid')}${
              l.otherBatchId ? ` ${t('approvals.leftOut.otherBatch', { id: l.otherBatchId })}` : ''
            }`,
        },
      ]}
    />
  );
}

/** One batch as the officer must judge it, then their decision. */
export function BatchPage({ id }: { id: string }) {
  const { t } = useI18n();
  const me = useMe();
  const batch = useQuery({ queryKey: ['approvals', 'batch', id], queryFn: ({ signal }) => approvalsApi.batch(id, signal) });
  const totals = useQuery({ queryKey: ['approvals', 'batch', id, 'totals'], queryFn: ({ signal }) => approvalsApi.totals(id, signal) });
  const b = batch.data;
  return (
    <main id="main" className="page">
      <PageTitle>{t('approvals.batch.title', { id })}</PageTitle>
      <p>
        <Link href="/">{t('approvals.back')}</Link>
      </p>
      {batch.isError ? (
        <p role="alert" className="form-error">
          {refusal(t, 'approvals', batch.error)}
        </p>
      ) : null}
      {b ? (
        <>
          <section aria-labelledby="facts-title">
            <h2 id="facts-title">{b.title ?? t('approvals.batch.summary')}</h2>
            <Facts b={b} />
          </section>
          <section aria-labelledby="decision-title">
            <h2 id="decision-title">{t('approvals.decision.title')}</h2>
            <DecisionForms batch={b} involved={involvement(b, me.username)} />
          </section>
          <section aria-labelledby="totals-title">
            <h2 id="totals-title">{t('approvals.totals.title')}</h2>
            {totals.data ? <TotalsTables totals={totals.data} /> : null}
            {totals.isError ? (
              <p role="alert" className="form-error">
                {refusal(t, 'approvals', totals.error)}
              </p>
            ) : null}
          </section>
          <section aria-labelledby="flagged-title">
            <h2 id="flagged-title">{t('approvals.flagged.title')}</h2>
            <ItemTable id={id} filter={{ flagged: 'true' }} caption={t('approvals.flagged.caption')} />
          </section>
          <section aria-labelledby="held-title">
            <h2 id="held-title">{t('approvals.held.title')}</h2>
            <ItemTable id={id} filter={{ review: 'held' }} caption={t('approvals.held.caption')} />
          </section>
          <section aria-labelledby="leftout-title">
            <h2 id="leftout-title">{t('approvals.leftOut.title')}</h2>
            <LeftOutTable id={id} />
          </section>
        </>
      ) : null}
    </main>
  );
}

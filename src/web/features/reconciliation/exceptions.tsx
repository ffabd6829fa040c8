import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useMe } from '../../app/session';
import { hasMessage } from '../../i18n/catalogue';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { formatDate } from '../../ui/format';
import { DateText, Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { featureFormErrors, newIdempotencyKey, refusal, SelectField, TextAreaField } from '../admin/controls';
import { type Category, EXCEPTION_CATEGORIES, type Exception, NO_ERRORS, RESOLUTIONS, type Resolution } from './recon-common';
import { SubNav } from './recon-nav';

export function Exceptions() {
  const { t } = useI18n();
  const me = useMe();
  const search = new URLSearchParams(window.location.search);
  const [status, setStatus] = useState<Exception['status'] | ''>(() => {
    const s = search.get('status');
    return s === 'open' || s === 'writeoff_proposed' || s === 'resolved' ? s : s === '' ? '' : 'open';
  });
  const [category, setCategory] = useState<Category | ''>((search.get('category') as Category | null) ?? '');
  const [mine, setMine] = useState(false);
  const runId = search.get('runId');
  // business dates from a link (the home page's exceptions by age)
  const from = search.get('from');
  const to = search.get('to');
  const query = {
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    limit: 20,
    ...(status ? { status } : {}),
    ...(category ? { category } : {}),
    ...(runId ? { runId } : {}),
    ...(mine ? { assignedTo: me.id } : {}),
  };
  return (
    <main id="main" className="page">
      <PageTitle>{t('reconciliation.exceptions.title')}</PageTitle>
      <SubNav />
      {runId ? <p>{t('reconciliation.exceptions.ofRun', { id: runId })}</p> : null}
      {from || to ? (
        <p>{t('reconciliation.exceptions.ofDates', { from: from ? formatDate(from) : '…', to: to ? formatDate(to) : '…' })}</p>
      ) : null}
      <form className="filters" role="search" aria-label={t('admin.filters')} onSubmit={(e) => e.preventDefault()}>
        <SelectField label={t('admin.status')} value={status} onChange={(e) => setStatus(e.target.value as Exception['status'] | '')}>
          <option value="">{t('admin.any')}</option>
          {(['open', 'writeoff_proposed', 'resolved'] as const).map((s) => (
            <option key={s} value={s}>
              {t(`reconciliation.exception.status.${s}`)}
            </option>
          ))}
        </SelectField>
        <SelectField label={t('reconciliation.category')} value={category} onChange={(e) => setCategory(e.target.value as Category | '')}>
          <option value="">{t('admin.any')}</option>
          {EXCEPTION_CATEGORIES.map((c) => (
            <option key={c} value={c}>
              {t(`reconciliation.category.${c}`)}
            </option>
          ))}
        </SelectField>
        <label className="inline-check">
          <input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> {t('reconciliation.exceptions.mine')}
        </label>
      </form>
      <KeysetTable<Exception>
        caption={t('reconciliation.exceptions.caption')}
        queryKey={['recon', 'exceptions', query]}
        fetchPage={(cursor) =>
          unwrap(api.GET('/api/v1/reconciliation/exceptions', { params: { query: { ...query, ...(cursor ? { cursor } : {}) } } }))
        }
        rowKey={(x) => x.id}
        columns={[
          { header: t('reconciliation.exception.number'), cell: (x) => <Link href={`/exceptions/${x.id}`}>{`#${x.id}`}</Link> },
          { header: t('reconciliation.category'), cell: (x) => t(`reconciliation.category.${x.category}`) },
          { header: t('reconciliation.reference'), cell: (x) => x.reference },
          { header: t('reconciliation.provider'), cell: (x) => x.provider.name },
          { header: t('reconciliation.businessDate'), cell: (x) => <DateText value={x.businessDate} /> },
          {
            header: t('reconciliation.exception.statementAmount'),
            numeric: true,
            cell: (x) => (x.statement.amount === null ? '—' : <Money amount={x.statement.amount} />),
          },
          { header: t('admin.status'), cell: (x) => t(`reconciliation.exception.status.${x.status}`) },
        ]}
      />
    </main>
  );
}

type Work =
  | { kind: 'assign' }
  | { kind: 'comment'; body: string }
  | { kind: 'resolve'; resolution: Resolution; note: string; batchId: string }
  | { kind: 'confirm' | 'reject'; note: string; totp: string };

/** One exception and the work on it: take it, comment, resolve with a reason, or decide a proposed write-off. */
export function ExceptionPage() {
  const { t } = useI18n();
  const me = useMe();
  const qc = useQueryClient();
  const id = useParams<{ id: string }>().id;
  const [comment, setComment] = useState('');
  const [resolution, setResolution] = useState<Resolution>('no_action');
  const [note, setNote] = useState('');
  const [batchId, setBatchId] = useState('');
  const [decision, setDecision] = useState('');
  const [totp, setTotp] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState<string | null>(null);
  const detail = useQuery({
    queryKey: ['recon', 'exception', id],
    queryFn: () => unwrap(api.GET('/api/v1/reconciliation/exceptions/{id}', { params: { path: { id } } })),
  });
  const x = detail.data;
  const work = useMutation({
    mutationFn: async (w: Work) => {
      const params = { path: { id } };
      const headers = { 'Idempotency-Key': newIdempotencyKey() };
      const version = x!.version;
      switch (w.kind) {
        case 'assign':
          return unwrap(api.POST('/api/v1/reconciliation/exceptions/{id}/assign', { params, headers, body: { userId: me.id, version } }));
        case 'comment':
          return unwrap(api.POST('/api/v1/reconciliation/exceptions/{id}/notes', { params, headers, body: { body: w.body } }));
        case 'resolve':
          return unwrap(
            api.POST('/api/v1/reconciliation/exceptions/{id}/resolve', {
              params,
              headers,
              body: {
                resolution: w.resolution,
                note: w.note,
                version,
                ...(w.resolution === 'resent' && w.batchId ? { batchId: w.batchId } : {}),
              },
            }),
          );
        case 'confirm':
          // the step-up code travels with the decision; the API checks it, the page only asks for it
          return unwrap(
            api.POST('/api/v1/reconciliation/exceptions/{id}/writeoff/confirm', {
              params,
              headers,
              body: { note: w.note, version, totp: w.totp },
            }),
          );
        case 'reject':
          return unwrap(
            api.POST('/api/v1/reconciliation/exceptions/{id}/writeoff/reject', { params, headers, body: { note: w.note, version } }),
          );
      }
    },
    onSuccess: (_out, w) => {
      setErrors(NO_ERRORS);
      setDone(t(`reconciliation.exception.done.${w.kind === 'resolve' && w.resolution === 'written_off' ? 'propose' : w.kind}`));
      setComment('');
      setNote('');
      setDecision('');
      setTotp('');
      void qc.invalidateQueries({ queryKey: ['recon'] });
    },
    onError: (e) => {
      setDone(null);
      setTotp('');
      setErrors(featureFormErrors(t, 'reconciliation', e, ['body', 'note', 'batchId', 'totp']));
    },
  });

  if (!x)
    return (
      <main id="main" className="page">
        <SubNav />
        {detail.error ? <FormError message={refusal(t, 'reconciliation', detail.error)} /> : <p role="status">{t('app.loading')}</p>}
      </main>
    );

  const noteKind = (kind: string) => {
    const key = `reconciliation.note.${kind}`;
    return hasMessage(key) ? t(key) : kind;
  };
  const reasonOk = (s: string) => s.trim().length >= 5;
  const proposedByMe = x.proposedBy === me.id;
  return (
    <main id="main" className="page">
      <PageTitle>{t('reconciliation.exception.title', { id: x.id })}</PageTitle>
      <SubNav />
      <dl className="facts">
        <dt>{t('reconciliation.category')}</dt>
        <dd>{t(`reconciliation.category.${x.category}`)}</dd>
        <dt>{t('admin.status')}</dt>
        <dd>{t(`reconciliation.exception.status.${x.status}`)}</dd>
        <dt>{t('reconciliation.reference')}</dt>
        <dd>{x.reference}</dd>
        <dt>{t('reconciliation.provider')}</dt>
        <dd>{x.provider.name}</dd>
        <dt>{t('reconciliation.businessDate')}</dt>
        <dd>
          <DateText value={x.businessDate} />
        </dd>
        <dt>{t('reconciliation.exception.statementSide')}</dt>
        <dd>
          {x.statement.status ?? '—'} · {x.statement.amount === null ? '—' : <Money amount={x.statement.amount} />}
        </dd>
        <dt>{t('reconciliation.exception.serviceSide')}</dt>
        <dd>
          {x.service.status ?? '—'} · {x.service.amount === null ? '—' : <Money amount={x.service.amount} />}
        </dd>
        <dt>{t('reconciliation.exception.assignedTo')}</dt>
        <dd>
          {x.assignedTo === null
            ? t('reconciliation.exception.nobody')
            : x.assignedTo === me.id
              ? t('reconciliation.exception.you')
              : `#${x.assignedTo}`}
        </dd>
        {x.resolution ? (
          <>
            <dt>{t('reconciliation.exception.resolution')}</dt>
            <dd>
              {t(`reconciliation.resolution.${x.resolution as Resolution}`)}
              {x.resolutionNote ? `: ${x.resolutionNote}` : ''}
            </dd>
          </>
        ) : null}
      </dl>
      <FormError message={errors.form} />
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}

      {x.status === 'open' ? (
        <>
          {x.assignedTo !== me.id ? (
            <p>
              <button type="button" disabled={work.isPending} onClick={() => work.mutate({ kind: 'assign' })}>
                {t('reconciliation.exception.takeIt')}
              </button>
            </p>
          ) : null}
          <form
            className="panel"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              const fields: Record<string, string> = {};
              if (!reasonOk(note)) fields.note = t('reconciliation.reasonHint');
              if (resolution === 'resent' && !/^\d{1,19}$/.test(batchId.trim())) fields.batchId = t('reconciliation.exception.batchHint');
              setErrors({ form: null, fields });
              if (Object.keys(fields).length === 0)
                work.mutate({ kind: 'resolve', resolution, note: note.trim(), batchId: batchId.trim() });
            }}
          >
            <h2>{t('reconciliation.exception.resolveTitle')}</h2>
            <SelectField
              label={t('reconciliation.exception.resolution')}
              value={resolution}
              onChange={(e) => setResolution(e.target.value as Resolution)}
            >
              {RESOLUTIONS.map((r) => (
                <option key={r} value={r}>
                  {t(`reconciliation.resolution.${r}`)}
                </option>
              ))}
            </SelectField>
            {resolution === 'written_off' ? <p className="notice">{t('reconciliation.exception.writeOffNote')}</p> : null}
            {resolution === 'resent' ? (
              <Field
                label={t('reconciliation.exception.batch')}
                inputMode="numeric"
                value={batchId}
                onChange={(e) => setBatchId(e.target.value)}
                error={errors.fields.batchId}
              />
            ) : null}
            <TextAreaField
              label={t('reconciliation.reason')}
              value={note}
              onChange={(e) => setNote(e.target.value)}
              error={errors.fields.note}
            />
            <button type="submit" className="primary" disabled={work.isPending}>
              {resolution === 'written_off' ? t('reconciliation.exception.propose') : t('reconciliation.exception.resolve')}
            </button>
          </form>
        </>
      ) : null}

      {x.status === 'writeoff_proposed' ? (
        proposedByMe ? (
          <p className="notice">{t('reconciliation.exception.proposedByYou')}</p>
        ) : (
          <form
            className="panel"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              const fields: Record<string, string> = {};
              if (!reasonOk(decision)) fields.note = t('reconciliation.reasonHint');
              if (!/^\d{6}$/.test(totp)) fields.totp = t('form.sixDigits');
              setErrors({ form: null, fields });
              if (Object.keys(fields).length === 0) work.mutate({ kind: 'confirm', note: decision.trim(), totp });
            }}
          >
            <h2>{t('reconciliation.exception.decideTitle')}</h2>
            <p>
              {t('reconciliation.exception.writeOffAmount')}{' '}
              {(x.statement.amount ?? x.service.amount) ? <Money amount={(x.service.amount ?? x.statement.amount)!} /> : '—'}
            </p>
            <TextAreaField
              label={t('reconciliation.reason')}
              value={decision}
              onChange={(e) => setDecision(e.target.value)}
              error={errors.fields.note}
            />
            <Field
              label={t('reconciliation.exception.totp')}
              hint={t('login.totpHint')}
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              value={totp}
              onChange={(e) => setTotp(e.target.value.replace(/\D/g, ''))}
              error={errors.fields.totp}
            />
            <div className="actions">
              <button type="submit" className="primary" disabled={work.isPending}>
                {t('reconciliation.exception.confirmWriteOff')}
              </button>
              <button
                type="button"
                disabled={work.isPending}
                onClick={() => {
                  if (!reasonOk(decision)) setErrors({ form: null, fields: { note: t('reconciliation.reasonHint') } });
                  else work.mutate({ kind: 'reject', note: decision.trim(), totp: '' });
                }}
              >
                {t('reconciliation.exception.rejectWriteOff')}
              </button>
            </div>
          </form>
        )
      ) : null}

      {x.status !== 'resolved' ? (
        <form
          className="panel"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (!comment.trim()) setErrors({ form: null, fields: { body: t('form.required') } });
            else work.mutate({ kind: 'comment', body: comment.trim() });
          }}
        >
          <TextAreaField
            label={t('reconciliation.exception.comment')}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            error={errors.fields.body}
          />
          <button type="submit" disabled={work.isPending}>
            {t('reconciliation.exception.addComment')}
          </button>
        </form>
      ) : null}

      <section aria-labelledby="notes-title">
        <h2 id="notes-title">{t('reconciliation.exception.notes')}</h2>
        {x.notes.length === 0 ? (
          <p>{t('reconciliation.exception.noNotes')}</p>
        ) : (
          <ol className="notes">
            {x.notes.map((n) => (
              <li key={n.id}>
                <DateText value={n.createdAt} /> · {n.username} · {noteKind(n.kind)}
                {n.body ? `: ${n.body}` : ''}
              </li>
            ))}
          </ol>
        )}
      </section>
    </main>
  );
}

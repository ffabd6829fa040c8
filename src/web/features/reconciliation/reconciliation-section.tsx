import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { Link, Route, Switch, useLocation, useParams } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useMe } from '../../app/session';
import { hasMessage } from '../../i18n/catalogue';
import { useI18n } from '../../i18n/i18n';
import { DateInput } from '../../ui/date-input';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { formatDate } from '../../ui/format';
import { DateText, Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { featureFormErrors, newIdempotencyKey, refusal, SelectField, TextAreaField } from '../admin/controls';
import '../admin/admin.css';

type Statement = Schemas['Statement'];
type Run = Schemas['ReconciliationRun'];
type Exception = Schemas['ReconciliationException'];
type Category = Exception['category'];
type Resolution = 'resent' | 'refunded' | 'written_off' | 'corrected' | 'no_action';
const CATEGORIES: readonly Category[] = ['matched', 'amount_mismatch', 'status_mismatch', 'unknown', 'duplicate', 'missing'];
const EXCEPTION_CATEGORIES = CATEGORIES.filter((c) => c !== 'matched');
const RESOLUTIONS: readonly Resolution[] = ['resent', 'refunded', 'corrected', 'no_action', 'written_off'];
const NO_ERRORS: FormErrors = { form: null, fields: {} };

/** Today in Vietnam, YYYY-MM-DD: the latest business date a statement may cover. */
function todayInVietnam(): string {
  return new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
}

function SubNav() {
  const { t } = useI18n();
  const [location] = useLocation();
  const item = (href: string, label: string) => (
    <li>
      <Link href={href} aria-current={location === href ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <nav aria-label={t('reconciliation.nav')} className="subnav">
      <ul>
        {item('/', t('reconciliation.statements.title'))}
        {item('/runs', t('reconciliation.runs.title'))}
        {item('/exceptions', t('reconciliation.exceptions.title'))}
      </ul>
    </nav>
  );
}

/** Fetching a statement from a provider's API, or uploading one (a provider's CSV, a pay point's results). */
function Intake() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [, navigate] = useLocation();
  const [provider, setProvider] = useState('');
  // null while the text typed is no day (the field says so)
  const [date, setDate] = useState<string | null>(todayInVietnam);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const file = useRef<HTMLInputElement>(null);
  const done = (out: { statement: Statement; created: boolean }) => {
    setErrors(NO_ERRORS);
    void qc.invalidateQueries({ queryKey: ['recon'] });
    navigate(`/statements/${out.statement.id}${out.created ? '' : '?again=1'}`);
  };
  const fail = (e: unknown) => setErrors(featureFormErrors(t, 'reconciliation', e, ['provider', 'date', 'file']));
  const upload = useMutation({
    mutationFn: (f: File) => {
      const form = new FormData();
      form.append('file', f, f.name);
      return unwrap(
        api.POST('/api/v1/reconciliation/statements', {
          params: { query: { provider: provider.trim(), date: date ?? '' } },
          body: form as unknown as { file: string },
          bodySerializer: (b) => b as unknown as FormData,
        }),
      );
    },
    onSuccess: done,
    onError: fail,
  });
  const fetchNow = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/reconciliation/statements/fetch', {
          body: { provider: provider.trim(), date: date ?? '' },
          headers: { 'Idempotency-Key': newIdempotencyKey() },
        }),
      ),
    onSuccess: done,
    onError: fail,
  });
  function check(): boolean {
    const fields: Record<string, string> = {};
    if (!/^[a-z0-9][a-z0-9-]{1,39}$/.test(provider.trim())) fields.provider = t('reconciliation.intake.providerHint');
    if (date === null) fields.date = t('form.dateInvalid');
    else if (!date) fields.date = t('form.required');
    setErrors({ form: null, fields });
    return Object.keys(fields).length === 0;
  }
  function submitUpload(e: FormEvent) {
    e.preventDefault();
    const f = file.current?.files?.[0];
    if (!check()) return;
    if (!f) {
      setErrors({ form: null, fields: { file: t('reconciliation.intake.fileRequired') } });
      return;
    }
    upload.mutate(f);
  }
  const busy = upload.isPending || fetchNow.isPending;
  return (
    <form className="panel" noValidate onSubmit={submitUpload} aria-busy={busy} aria-labelledby="intake-title">
      <h2 id="intake-title">{t('reconciliation.intake.title')}</h2>
      <FormError message={errors.form} />
      <Field
        label={t('reconciliation.intake.provider')}
        hint={t('reconciliation.intake.providerHint')}
        name="provider"
        value={provider}
        onChange={(e) => setProvider(e.target.value)}
        error={errors.fields.provider}
      />
      <DateInput
        label={t('reconciliation.intake.date')}
        name="date"
        max={todayInVietnam()}
        value={date}
        onChange={setDate}
        error={errors.fields.date}
      />
      <Field
        label={t('reconciliation.intake.file')}
        hint={t('reconciliation.intake.fileHint')}
        type="file"
        name="file"
        accept=".csv,text/csv"
        ref={file}
        error={errors.fields.file}
      />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t('reconciliation.intake.upload')}
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            if (check()) fetchNow.mutate();
          }}
        >
          {t('reconciliation.intake.fetch')}
        </button>
      </div>
    </form>
  );
}

function StatementStatus({ s }: { s: Statement }) {
  const { t } = useI18n();
  return <>{t(`reconciliation.statement.status.${s.status}`)}</>;
}

function Statements() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t('reconciliation.title')}</PageTitle>
      <SubNav />
      <Intake />
      <h2>{t('reconciliation.statements.title')}</h2>
      <KeysetTable<Statement>
        caption={t('reconciliation.statements.caption')}
        queryKey={['recon', 'statements']}
        fetchPage={(cursor) =>
          unwrap(api.GET('/api/v1/reconciliation/statements', { params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } } }))
        }
        rowKey={(s) => s.id}
        columns={[
          { header: t('reconciliation.statement.number'), cell: (s) => <Link href={`/statements/${s.id}`}>{`#${s.id}`}</Link> },
          { header: t('reconciliation.provider'), cell: (s) => s.provider.name },
          { header: t('reconciliation.businessDate'), cell: (s) => <DateText value={s.businessDate} /> },
          { header: t('reconciliation.statement.lines'), cell: (s) => s.lineCount, numeric: true },
          { header: t('reconciliation.statement.total'), cell: (s) => <Money amount={s.totalAmount} />, numeric: true },
          { header: t('admin.status'), cell: (s) => <StatementStatus s={s} /> },
        ]}
      />
    </main>
  );
}

/** One statement, followed until the worker has matched (or rejected) it. */
function StatementPage() {
  const { t } = useI18n();
  const id = useParams<{ id: string }>().id;
  const again = new URLSearchParams(window.location.search).has('again');
  const statement = useQuery({
    queryKey: ['recon', 'statement', id],
    queryFn: () => unwrap(api.GET('/api/v1/reconciliation/statements/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'matched' || q.state.data.status === 'rejected') ? false : 1000),
  });
  const s = statement.data;
  return (
    <main id="main" className="page">
      <PageTitle>{t('reconciliation.statement.title', { id })}</PageTitle>
      <SubNav />
      {again ? <p className="notice">{t('reconciliation.statement.again')}</p> : null}
      {statement.error ? <FormError message={refusal(t, 'reconciliation', statement.error)} /> : null}
      {s ? (
        <>
          <dl className="facts">
            <dt>{t('reconciliation.provider')}</dt>
            <dd>{s.provider.name}</dd>
            <dt>{t('reconciliation.businessDate')}</dt>
            <dd>
              <DateText value={s.businessDate} />
            </dd>
            <dt>{t('reconciliation.statement.file')}</dt>
            <dd>{s.fileName ?? t(`reconciliation.statement.source.${s.source}`)}</dd>
            <dt>{t('reconciliation.statement.lines')}</dt>
            <dd>{s.lineCount}</dd>
            <dt>{t('reconciliation.statement.total')}</dt>
            <dd>
              <Money amount={s.totalAmount} />
            </dd>
            <dt>{t('admin.status')}</dt>
            <dd>
              <span role="status">
                <StatementStatus s={s} />
              </span>
            </dd>
          </dl>
          {s.status === 'rejected' ? (
            <div className="form-error" role="alert">
              <p>{t('reconciliation.statement.rejected')}</p>
              <pre className="problems">{JSON.stringify(s.problems, null, 1)}</pre>
            </div>
          ) : null}
          {s.runId ? <RunTotals id={s.runId} /> : null}
        </>
      ) : null}
    </main>
  );
}

function Totals({ run }: { run: Run }) {
  const { t } = useI18n();
  return (
    <div className="table-wrap">
      <table>
        <caption>{t('reconciliation.run.totalsCaption', { id: run.id })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('reconciliation.category')}</th>
            <th scope="col" className="num">
              {t('reconciliation.count')}
            </th>
            <th scope="col" className="num">
              {t('reconciliation.amount')}
            </th>
          </tr>
        </thead>
        <tbody>
          {CATEGORIES.map((c) => (
            <tr key={c}>
              <th scope="row">
                {c === 'matched' || run.totals[c].count === 0 ? (
                  t(`reconciliation.category.${c}`)
                ) : (
                  <Link href={`/exceptions?runId=${run.id}&category=${c}`}>{t(`reconciliation.category.${c}`)}</Link>
                )}
              </th>
              <td className="num">{run.totals[c].count}</td>
              <td className="num">
                <Money amount={run.totals[c].amount} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RunTotals({ id }: { id: string }) {
  const { t } = useI18n();
  const run = useQuery({
    queryKey: ['recon', 'run', id],
    queryFn: () => unwrap(api.GET('/api/v1/reconciliation/runs/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 1000 : false),
  });
  if (!run.data) return null;
  return (
    <section aria-labelledby="run-title">
      <h2 id="run-title">{t('reconciliation.run.heading', { id })}</h2>
      <p>{t(`reconciliation.run.status.${run.data.status}`)}</p>
      <Totals run={run.data} />
      <p>
        <Link href={`/exceptions?runId=${id}`}>{t('reconciliation.run.exceptions')}</Link>
      </p>
    </section>
  );
}

function Runs() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t('reconciliation.runs.title')}</PageTitle>
      <SubNav />
      <KeysetTable<Run>
        caption={t('reconciliation.runs.caption')}
        queryKey={['recon', 'runs']}
        fetchPage={(cursor) =>
          unwrap(api.GET('/api/v1/reconciliation/runs', { params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } } }))
        }
        rowKey={(r) => r.id}
        columns={[
          { header: t('reconciliation.run.number'), cell: (r) => <Link href={`/statements/${r.statementId}`}>{`#${r.id}`}</Link> },
          { header: t('reconciliation.provider'), cell: (r) => r.provider.name },
          { header: t('reconciliation.businessDate'), cell: (r) => <DateText value={r.businessDate} /> },
          { header: t('admin.status'), cell: (r) => t(`reconciliation.run.status.${r.status}`) },
          ...CATEGORIES.map((c) => ({
            header: t(`reconciliation.category.${c}`),
            numeric: true,
            cell: (r: Run) => (
              <>
                {r.totals[c].count}
                <br />
                <Money amount={r.totals[c].amount} />
              </>
            ),
          })),
        ]}
      />
    </main>
  );
}

function Exceptions() {
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
function ExceptionPage() {
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

export default function ReconciliationSection() {
  return (
    <Switch>
      <Route path="/" component={Statements} />
      <Route path="/statements/:id" component={StatementPage} />
      <Route path="/runs" component={Runs} />
      <Route path="/exceptions" component={Exceptions} />
      <Route path="/exceptions/:id" component={ExceptionPage} />
    </Switch>
  );
}

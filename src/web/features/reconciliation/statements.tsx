import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useParams } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { DateInput } from '../../ui/date-input';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { DateText, Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { featureFormErrors, newIdempotencyKey, refusal } from '../admin/controls';
import { NO_ERRORS, type Statement, todayInVietnam } from './recon-common';
import { SubNav } from './recon-nav';
import { RunTotals } from './runs';

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

export function Statements() {
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
export function StatementPage() {
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

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { ApiError } from '../../api/errors';
import { useI18n } from '../../i18n/i18n';
import { DateInput, MonthInput } from '../../ui/date-input';
import { Field, FormError } from '../../ui/field';
import { formatDate, formatTime } from '../../ui/format';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';
import { newIdempotencyKey, refusal } from '../approvals/refusal';
import { AreaSelect } from '../coverage/area-select';

type Manifest = Schemas['ExportManifest'];
/** What this form makes; a batch's list of who was not told by SMS is made on the batch's page. */
type Kind = Exclude<Manifest['kind'], 'sms_untold'>;
const KINDS: readonly Kind[] = ['reconciliation', 'audit_trail', 'cash_recipients', 'network_access'];
/** Kinds of one month rather than a span of days. */
const monthly = (k: Kind) => k === 'cash_recipients' || k === 'network_access';
/** Kinds that may hold identifiers in full. */
const personal = (k: Kind) => k === 'cash_recipients' || k === 'reconciliation';

function Choice<T extends string>({
  legend,
  name,
  options,
  value,
  label,
  onChange,
}: {
  legend: string;
  name: string;
  options: readonly T[];
  value: T;
  label: (v: T) => string;
  onChange: (v: T) => void;
}) {
  const id = useId();
  return (
    <fieldset className="field">
      <legend>{legend}</legend>
      {options.map((o) => (
        <div key={o}>
          <input type="radio" id={`${id}-${o}`} name={name} value={o} checked={value === o} onChange={() => onChange(o)} />{' '}
          <label htmlFor={`${id}-${o}`}>{label(o)}</label>
        </div>
      ))}
    </fieldset>
  );
}

function NewExportForm() {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<Kind>('reconciliation');
  const [format, setFormat] = useState<'csv' | 'xlsx'>('csv');
  // null while the text typed is no day (the field says so)
  const [from, setFrom] = useState<string | null>('');
  const [to, setTo] = useState<string | null>('');
  const [period, setPeriod] = useState<string | null>('');
  const [areaId, setAreaId] = useState('');
  const [full, setFull] = useState(false);
  const [reason, setReason] = useState('');
  const [problems, setProblems] = useState<{ form: string | null; fields: Record<string, string> }>({ form: null, fields: {} });
  const [key, setKey] = useState(newIdempotencyKey);
  const create = useMutation({
    mutationFn: () => {
      const area = areaId ? { areaId: Number(areaId) } : {};
      const why = full ? { reason: reason.trim() } : {};
      const body: Schemas['NewExport'] =
        kind === 'cash_recipients'
          ? { kind, format, period: period ?? '', full, ...why, ...area }
          : kind === 'network_access'
            ? { kind, format, period: period ?? '', ...area }
            : kind === 'reconciliation'
              ? { kind, format, from: from ?? '', to: to ?? '', full, ...why, ...area }
              : { kind, format, from: from ?? '', to: to ?? '', ...area };
      return unwrap(api.POST('/api/v1/exports', { params: { header: { 'Idempotency-Key': key } }, body }));
    },
    onSuccess: async (m) => {
      await queryClient.invalidateQueries({ queryKey: ['exports'] });
      navigate(`/${m.id}`);
    },
    onError: (e) => {
      setKey(newIdempotencyKey());
      const onReason = e instanceof ApiError && e.fieldProblems.some((p) => p.path === 'reason');
      setProblems(
        onReason ? { form: null, fields: { reason: t('exports.form.reasonRequired') } } : { form: refusal(t, 'exports', e), fields: {} },
      );
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (monthly(kind)) {
      if (period === null || !/^\d{4}-\d{2}$/.test(period)) fields.period = t('exports.form.monthRequired');
    } else {
      if (from === null) fields.from = t('form.dateInvalid');
      else if (!from) fields.from = t('form.required');
      if (to === null) fields.to = t('form.dateInvalid');
      else if (!to) fields.to = t('form.required');
      if (from && to && from > to) fields.to = t('exports.form.reversed');
    }
    if (full && personal(kind) && reason.trim().length < 3) fields.reason = t('exports.form.reasonRequired');
    setProblems({ form: null, fields });
    if (Object.keys(fields).length === 0) create.mutate();
  }
  return (
    <form onSubmit={submit} noValidate aria-busy={create.isPending} aria-labelledby="new-export-title">
      <h2 id="new-export-title">{t('exports.form.title')}</h2>
      <FormError message={problems.form} />
      <Choice
        legend={t('exports.form.kind')}
        name="kind"
        options={KINDS}
        value={kind}
        label={(k) => t(`exports.kind.${k}`)}
        onChange={setKind}
      />
      <Choice
        legend={t('exports.form.format')}
        name="format"
        options={['csv', 'xlsx'] as const}
        value={format}
        label={(f) => t(`exports.format.${f}`)}
        onChange={setFormat}
      />
      {monthly(kind) ? (
        <MonthInput label={t('exports.form.period')} name="period" value={period} onChange={setPeriod} error={problems.fields.period} />
      ) : (
        <>
          <DateInput label={t('exports.form.from')} name="from" value={from} onChange={setFrom} error={problems.fields.from} />
          <DateInput label={t('exports.form.to')} name="to" value={to} onChange={setTo} error={problems.fields.to} />
        </>
      )}
      <AreaSelect label={t('exports.form.area')} value={areaId} onChange={setAreaId} />
      {personal(kind) ? (
        <div className="field">
          <input
            type="checkbox"
            id="export-full"
            name="full"
            checked={full}
            onChange={(e) => setFull(e.target.checked)}
            aria-describedby="export-full-hint"
          />{' '}
          <label htmlFor="export-full">{t('exports.form.full')}</label>
          <p className="field__hint" id="export-full-hint">
            {t('exports.form.fullHint')}
          </p>
        </div>
      ) : null}
      {full && personal(kind) ? (
        <Field
          label={t('exports.form.reason')}
          hint={t('exports.form.reasonHint')}
          name="reason"
          value={reason}
          required
          aria-required
          maxLength={500}
          onChange={(e) => setReason(e.target.value)}
          error={problems.fields.reason}
        />
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {t('exports.form.submit')}
        </button>
      </div>
    </form>
  );
}

export function ExportsPage() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t('exports.title')}</PageTitle>
      <NewExportForm />
      <section aria-labelledby="exports-list-title">
        <h2 id="exports-list-title">{t('exports.list.title')}</h2>
        <KeysetTable<Manifest>
          caption={t('exports.list.caption')}
          queryKey={['exports', 'list']}
          fetchPage={(cursor) => unwrap(api.GET('/api/v1/exports', { params: { query: { limit: 20, cursor } } }))}
          rowKey={(m) => m.id}
          columns={[
            { header: t('exports.col.id'), cell: (m) => <Link href={`/${m.id}`}>{t('exports.open', { id: m.id })}</Link> },
            { header: t('exports.col.kind'), cell: (m) => t(`exports.kind.${m.kind}`) },
            { header: t('exports.col.format'), cell: (m) => m.format.toUpperCase() },
            { header: t('exports.col.status'), cell: (m) => t(`exports.status.${m.status}`) },
            { header: t('exports.col.rows'), cell: (m) => (m.rowCount ?? m.progressRows).toLocaleString('vi-VN'), numeric: true },
            { header: t('exports.col.when'), cell: (m) => `${formatDate(m.createdAt)} ${formatTime(m.createdAt)}` },
          ]}
        />
      </section>
    </main>
  );
}

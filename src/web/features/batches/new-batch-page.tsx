import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { MonthInput } from '../../ui/date-input';
import { Field, FormError } from '../../ui/field';
import { formErrors } from '../../ui/form-errors';
import { AmountInWords, Money } from '../../ui/money';
import { formatMonthRange } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';
import { fetchProgrammes, idempotencyKey, type Batch } from './api';
import { AreaPicker, batchError, LeftOutTable, SelectField } from './parts';

const FIELDS = ['programmeId', 'kind', 'period', 'periodTo', 'areaId', 'title'] as const;

interface Draft {
  programmeId: string;
  kind: 'regular' | 'arrears';
  /** null while the text typed is no month (the field says so) */
  period: string | null;
  periodTo: string | null;
  areaId: number | undefined;
  title: string;
}

/**
 * The creation wizard: what to pay (programme, month or arrears range, area), then what the generation made of it:
 * the count, the total in figures and words, and who was left out and why, before anyone reviews the batch.
 */
export function NewBatchPage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>({ programmeId: '', kind: 'regular', period: '', periodTo: '', areaId: undefined, title: '' });
  const [missing, setMissing] = useState<Partial<Record<(typeof FIELDS)[number], string>>>({});
  const [created, setCreated] = useState<Batch | null>(null);
  const programmes = useQuery({ queryKey: ['programmes', 'active'], queryFn: fetchProgrammes, staleTime: 300_000 });
  // one key per attempt: a double click or a retried request creates one batch
  const [attemptKey, setAttemptKey] = useState(idempotencyKey);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/batches', {
          params: { header: attemptKey },
          body: {
            programmeId: Number(draft.programmeId),
            kind: draft.kind,
            period: draft.period ?? '',
            ...(draft.kind === 'arrears' && draft.periodTo ? { periodTo: draft.periodTo } : {}),
            areaId: draft.areaId!,
            ...(draft.title.trim() ? { title: draft.title.trim() } : {}),
          },
        }),
      ),
    onSuccess: (b) => {
      setCreated(b);
      void queryClient.invalidateQueries({ queryKey: ['batches'] });
    },
    onError: () => setAttemptKey(idempotencyKey()),
  });
  const problems = create.error ? formErrors(t, create.error, FIELDS) : { form: null, fields: {} as Record<string, string> };
  const formMessage = create.error && problems.form ? batchError(t, create.error) : null;
  const fieldError = (f: (typeof FIELDS)[number]) => missing[f] ?? problems.fields[f];
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const required = t('form.required');
    const m: typeof missing = {};
    if (!draft.programmeId) m.programmeId = required;
    if (draft.period === null) m.period = t('form.monthInvalid');
    else if (!draft.period) m.period = required;
    if (draft.kind === 'arrears' && draft.periodTo === null) m.periodTo = t('form.monthInvalid');
    if (draft.areaId === undefined) m.areaId = required;
    setMissing(m);
    if (Object.keys(m).length === 0) create.mutate();
  };

  if (created) {
    return (
      <main id="main" className="page wide">
        <PageTitle>{t('batches.wizard.title')}</PageTitle>
        <h2>{t('batches.wizard.step2')}</h2>
        <p className="success" role="status">
          {t('batches.wizard.created', { id: created.id })}
        </p>
        <dl className="facts">
          <dt>{t('batches.fact.programme')}</dt>
          <dd>{created.programmeName}</dd>
          <dt>{t('batches.fact.period')}</dt>
          <dd>{formatMonthRange(created.period, created.periodTo)}</dd>
          <dt>{t('batches.fact.area')}</dt>
          <dd>{created.areaName}</dd>
          <dt>{t('batches.fact.count')}</dt>
          <dd data-testid="created-count">{created.itemCount.toLocaleString('vi-VN')}</dd>
          <dt>{t('batches.fact.total')}</dt>
          <dd>
            <Money amount={created.totalAmount} />
          </dd>
          <dt>{t('batches.fact.words')}</dt>
          <dd>
            <AmountInWords amount={created.totalAmount} />
          </dd>
          <dt>{t('batches.fact.leftOut')}</dt>
          <dd>{created.leftOutCount.toLocaleString('vi-VN')}</dd>
        </dl>
        <h3>{t('batches.leftOut.title')}</h3>
        <LeftOutTable batchId={created.id} />
        <div className="actions">
          <Link href={`/${created.id}`} className="button-link primary">
            {t('batches.wizard.open')}
          </Link>
          <button
            type="button"
            onClick={() => {
              setCreated(null);
              setAttemptKey(idempotencyKey());
              create.reset();
            }}
          >
            {t('batches.wizard.another')}
          </button>
        </div>
      </main>
    );
  }

  return (
    <main id="main" className="page">
      <PageTitle>{t('batches.wizard.title')}</PageTitle>
      <p>
        <Link href="/">{t('batches.back')}</Link>
      </p>
      <h2>{t('batches.wizard.step1')}</h2>
      <p>{t('batches.wizard.intro')}</p>
      <form onSubmit={submit} noValidate>
        <FormError message={formMessage} />
        <SelectField
          label={t('batches.wizard.programme')}
          name="programmeId"
          value={draft.programmeId}
          error={fieldError('programmeId')}
          onChange={(e) => set({ programmeId: e.target.value })}
        >
          <option value="">{t('batches.wizard.choose')}</option>
          {(programmes.data?.items ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {`${p.name} (${p.code})`}
            </option>
          ))}
        </SelectField>
        <fieldset className="choice">
          <legend>{t('batches.wizard.kind')}</legend>
          {(['regular', 'arrears'] as const).map((k) => (
            <label key={k}>
              <input type="radio" name="kind" value={k} checked={draft.kind === k} onChange={() => set({ kind: k })} />
              {t(`batches.kind.${k}`)}
            </label>
          ))}
        </fieldset>
        <MonthInput
          label={draft.kind === 'arrears' ? t('batches.wizard.periodFrom') : t('batches.wizard.period')}
          name="period"
          value={draft.period}
          error={fieldError('period')}
          onChange={(period) => set({ period })}
        />
        {draft.kind === 'arrears' ? (
          <MonthInput
            label={t('batches.wizard.periodTo')}
            name="periodTo"
            value={draft.periodTo}
            error={fieldError('periodTo')}
            onChange={(periodTo) => set({ periodTo })}
          />
        ) : null}
        <AreaPicker
          label={t('batches.wizard.area')}
          value={draft.areaId}
          onChange={(areaId) => set({ areaId })}
          error={fieldError('areaId')}
          emptyLabel={t('batches.area.choose')}
        />
        <Field
          label={t('batches.wizard.titleField')}
          name="title"
          value={draft.title}
          maxLength={200}
          error={fieldError('title')}
          onChange={(e) => set({ title: e.target.value })}
        />
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? t('batches.wizard.submitting') : t('batches.wizard.submit')}
        </button>
      </form>
    </main>
  );
}

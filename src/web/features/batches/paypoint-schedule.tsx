import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n, type Translate } from '../../i18n/i18n';
import { DateInput } from '../../ui/date-input';
import { Field, FormError } from '../../ui/field';
import { formatDay } from '../../ui/format';
import { formErrors } from '../../ui/form-errors';
import { keys, type Batch } from './api';

type PayPoint = Schemas['BatchPayPoints']['paypoints'][number];
type Schedule = NonNullable<PayPoint['schedule']>;

const FIELDS = ['date', 'place', 'hours', 'papers'] as const;

/** Today in Asia/Ho_Chi_Minh, as the API takes a day: a hand-over before it is refused. */
const vnToday = (): string => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);

/** The hand-over as a line of the pay points' table: 05/01/2027, 7h30-11h00, Nhà văn hoá tổ 5. */
export function scheduleText(t: Translate, s: Schedule | null): string {
  return s ? t('batches.paypoints.schedule.summary', { date: formatDay(s.date), hours: s.hours, place: s.place }) : '—';
}

/**
 * Staff set when and where a pay point hands the cash over: day, place, hours and what to bring. Saving tells each
 * cash recipient there by SMS; a change is told again (the API keeps every revision and refuses a stale one).
 */
export function PayPointScheduleForm({ b, point, onDone }: { b: Batch; point: PayPoint; onDone: (message: string) => void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const s = point.schedule;
  const [date, setDate] = useState<string | null>(s?.date ?? '');
  const [place, setPlace] = useState(s?.place ?? '');
  const [hours, setHours] = useState(s?.hours ?? '');
  const [papers, setPapers] = useState(s?.papers ?? t('batches.paypoints.schedule.papersDefault'));
  const [own, setOwn] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/v1/batches/{id}/paypoints/{areaId}/schedule', {
          params: { path: { id: b.id, areaId: point.areaId } },
          body: { date: date ?? '', place, hours, papers, expectedRevision: s?.revision ?? 0 },
        }),
      ),
    onSuccess: (r) =>
      onDone(
        r.changed
          ? t('batches.paypoints.schedule.saved', { name: point.areaName, revision: r.revision })
          : t('batches.paypoints.schedule.unchanged', { name: point.areaName }),
      ),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.batch(b.id) }),
  });
  // the API's refusal beside the field it names (the date), else above the form
  const refused = save.isError ? formErrors(t, save.error, FIELDS) : { form: null, fields: {} as Record<string, string> };
  const fieldError = (name: string): string | undefined => own[name] ?? refused.fields[name];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const problems: Record<string, string> = {};
    if (date === null) problems.date = t('form.dateInvalid');
    else if (!date) problems.date = t('form.required');
    for (const [name, value] of [
      ['place', place],
      ['hours', hours],
      ['papers', papers],
    ] as const) {
      if (!value.trim()) problems[name] = t('form.required');
    }
    setOwn(problems);
    if (Object.keys(problems).length === 0) save.mutate();
  };

  return (
    <form className="inline-form" onSubmit={submit} noValidate aria-labelledby="paypoint-schedule-title" aria-busy={save.isPending}>
      <h3 id="paypoint-schedule-title">{t('batches.paypoints.schedule.title', { name: `${point.areaName} (${point.areaCode})` })}</h3>
      <p className="field__hint">{t('batches.paypoints.schedule.intro')}</p>
      <FormError message={refused.form} />
      <DateInput
        label={t('batches.paypoints.schedule.date')}
        name="date"
        value={date}
        onChange={setDate}
        min={vnToday()}
        required
        error={fieldError('date')}
      />
      <Field
        label={t('batches.paypoints.schedule.place')}
        hint={t('batches.paypoints.schedule.placeHint')}
        value={place}
        maxLength={120}
        onChange={(e) => setPlace(e.target.value)}
        error={fieldError('place')}
      />
      <Field
        label={t('batches.paypoints.schedule.hours')}
        hint={t('batches.paypoints.schedule.hoursHint')}
        value={hours}
        maxLength={40}
        onChange={(e) => setHours(e.target.value)}
        error={fieldError('hours')}
      />
      <Field
        label={t('batches.paypoints.schedule.papers')}
        value={papers}
        maxLength={120}
        onChange={(e) => setPapers(e.target.value)}
        error={fieldError('papers')}
      />
      <button type="submit" className="primary" disabled={save.isPending}>
        {t('batches.paypoints.schedule.save')}
      </button>
    </form>
  );
}

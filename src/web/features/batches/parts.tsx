import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { ApiError } from '../../api/errors';
import { hasMessage } from '../../i18n/catalogue';
import { useI18n, type Translate } from '../../i18n/i18n';
import { formatDate, formatMonth, formatTime } from '../../ui/format';
import { SelectField } from '../../ui/field';
import { errorMessage } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { fetchAreas, fetchLeftOut, type BatchStatus, type LeftOut } from './api';
import { leftOutDetailText } from './reason-text';

/** A refusal in plain words: the batch pages' own message for the code, else the console's. */
export function batchError(t: Translate, e: unknown): string {
  const key = e instanceof ApiError ? `batches.error.${e.code}` : '';
  return hasMessage(key) ? t(key) : errorMessage(t, e);
}

/** `2026-03` as a Vietnamese reader writes a month: `03/2026`. */
export function DateTimeText({ value }: { value: string }) {
  const { t } = useI18n();
  return <time dateTime={value}>{t('batches.dateTime', { time: formatTime(value), date: formatDate(value) })}</time>;
}

export function StatusBadge({ status }: { status: BatchStatus }) {
  const { t } = useI18n();
  return <span className={`badge badge--${status}`}>{t(`batches.status.${status}`)}</span>;
}

export { SelectField };

/**
 * An area of the user's scope: a search by name or code sent to the API, and the first matches to choose from
 * (a province has thousands of communes: never all of them in the page).
 */
export function AreaPicker({
  label,
  value,
  onChange,
  error,
  emptyLabel,
}: {
  label: string;
  value: number | undefined;
  onChange: (id: number | undefined) => void;
  error?: string | undefined;
  emptyLabel: string;
}) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const searchId = useId();
  const areas = useQuery({ queryKey: ['areas', 'pick', q], queryFn: () => fetchAreas(q.trim()), staleTime: 60_000 });
  return (
    <fieldset className="area-picker">
      <legend>{label}</legend>
      <div className="field">
        <label htmlFor={searchId}>{t('batches.area.search')}</label>
        <input id={searchId} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
      </div>
      <SelectField
        label={label}
        error={error}
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value ? Number(e.target.value) : undefined)}
      >
        <option value="">{emptyLabel}</option>
        {(areas.data?.items ?? []).map((a) => (
          <option key={a.id} value={a.id}>
            {`${'\u00a0\u00a0'.repeat(Math.max(0, a.depth))}${a.name} (${a.code})`}
          </option>
        ))}
      </SelectField>
    </fieldset>
  );
}

/** Who the generation left out, and why: paged by the API. */
export function LeftOutTable({ batchId }: { batchId: string }) {
  const { t } = useI18n();
  return (
    <KeysetTable<LeftOut>
      caption={t('batches.leftOut.caption')}
      queryKey={['batches', batchId, 'left-out']}
      fetchPage={(cursor, signal) => fetchLeftOut(batchId, cursor, signal)}
      rowKey={(r) => `${r.enrolmentId}-${r.period}`}
      columns={[
        { header: t('batches.col.name'), cell: (r) => r.fullName ?? '—' },
        { header: t('batches.col.period'), cell: (r) => formatMonth(r.period) },
        { header: t('batches.col.reason'), cell: (r) => t(`batches.leftOut.reason.${r.reason}`) },
        {
          header: t('batches.col.detail'),
          cell: (r) => leftOutDetailText(t, r),
        },
      ]}
    />
  );
}

/** Whether the user may make and change batches (the API's makers); the API checks again. */
export function canMake(roles: readonly string[]): boolean {
  return roles.includes('staff') || roles.includes('admin');
}

export function paymentStatusText(t: Translate, status: string): string {
  const key = `batches.payment.${status}`;
  return hasMessage(key) ? t(key) : status;
}

export function channelText(t: Translate, channel: string): string {
  return channel === 'BANK' || channel === 'WALLET' || channel === 'CASH' ? t(`batches.channel.${channel}`) : channel;
}

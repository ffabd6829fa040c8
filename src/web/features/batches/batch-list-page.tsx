import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { MonthInput } from '../../ui/date-input';
import { formatMoney, formatMonthRange } from '../../ui/format';
import { KeysetTable } from '../../ui/keyset-table';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { BATCH_STATUSES, fetchBatches, fetchProgrammes, keys, type Batch, type BatchFilter, type BatchStatus } from './api';
import { AreaPicker, canMake, SelectField, StatusBadge } from './parts';

/** The filter a link may carry (`?status=processing&period=2026-12`, as the home page's figures do). */
function filterFromUrl(): BatchFilter {
  const q = new URLSearchParams(window.location.search);
  const status = q.get('status');
  const period = q.get('period');
  return {
    ...(status && (BATCH_STATUSES as readonly string[]).includes(status) ? { status: status as BatchStatus } : {}),
    ...(period && /^\d{4}-\d{2}$/.test(period) ? { period } : {}),
  };
}

export function BatchListPage() {
  const { t } = useI18n();
  const me = useMe();
  const [filter, setFilter] = useState<BatchFilter>(filterFromUrl);
  const programmes = useQuery({ queryKey: ['programmes', 'active'], queryFn: fetchProgrammes, staleTime: 300_000 });
  // the first page also carries the totals over the whole filter
  const first = useQuery({
    queryKey: [...keys.list(filter), 'page', undefined],
    queryFn: ({ signal }) => fetchBatches(filter, undefined, signal),
  });
  const set = (patch: Partial<BatchFilter>) => setFilter((f) => ({ ...f, ...patch }));
  return (
    <main id="main" className="page wide">
      <PageTitle>{t('batches.title')}</PageTitle>
      {canMake(me.roles) ? (
        <p>
          <Link href="/new" className="button-link primary">
            {t('batches.new')}
          </Link>
        </p>
      ) : null}
      <section aria-labelledby="batch-filters" className="filters">
        <h2 id="batch-filters">{t('batches.filters')}</h2>
        <div className="filters__row">
          <SelectField
            label={t('batches.filter.status')}
            value={filter.status ?? ''}
            onChange={(e) => set({ status: (e.target.value || undefined) as BatchStatus | undefined })}
          >
            <option value="">{t('batches.filter.any')}</option>
            {BATCH_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`batches.status.${s}`)}
              </option>
            ))}
          </SelectField>
          <SelectField
            label={t('batches.filter.programme')}
            value={filter.programmeId ?? ''}
            onChange={(e) => set({ programmeId: e.target.value ? Number(e.target.value) : undefined })}
          >
            <option value="">{t('batches.filter.any')}</option>
            {(programmes.data?.items ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </SelectField>
          <MonthInput
            label={t('batches.filter.period')}
            name="period"
            value={filter.period ?? ''}
            // a text that is no month yet keeps the list as it is; the field says what is wrong
            onChange={(period) => {
              if (period !== null) set({ period: period || undefined });
            }}
          />
        </div>
        <AreaPicker
          label={t('batches.filter.area')}
          value={filter.areaId}
          onChange={(areaId) => set({ areaId })}
          emptyLabel={t('batches.area.all')}
        />
        <button type="button" onClick={() => setFilter({})}>
          {t('batches.filter.clear')}
        </button>
      </section>
      {first.data ? (
        <p role="status">
          {t('batches.listTotals', {
            count: first.data.totals.count,
            items: first.data.totals.itemCount,
            amount: formatMoney(first.data.totals.totalAmount),
          })}
        </p>
      ) : null}
      <KeysetTable<Batch>
        caption={t('batches.list.caption')}
        queryKey={keys.list(filter)}
        fetchPage={(cursor, signal) => fetchBatches(filter, cursor, signal)}
        rowKey={(b) => b.id}
        columns={[
          {
            header: t('batches.col.id'),
            cell: (b) => <Link href={`/${b.id}`}>{t('batches.batchTitle', { id: b.id })}</Link>,
          },
          { header: t('batches.col.programme'), cell: (b) => b.programmeName },
          {
            header: t('batches.col.period'),
            cell: (b) => formatMonthRange(b.period, b.periodTo),
          },
          { header: t('batches.col.area'), cell: (b) => b.areaName },
          { header: t('batches.col.status'), cell: (b) => <StatusBadge status={b.status} /> },
          { header: t('batches.col.count'), cell: (b) => b.itemCount.toLocaleString('vi-VN'), numeric: true },
          { header: t('batches.col.amount'), cell: (b) => <Money amount={b.totalAmount} />, numeric: true },
        ]}
      />
    </main>
  );
}

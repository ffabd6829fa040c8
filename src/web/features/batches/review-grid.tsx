import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import { formErrors } from '../../ui/form-errors';
import { KeysetTable, type Column } from '../../ui/keyset-table';
import { Money } from '../../ui/money';
import { EDITABLE, fetchItems, fetchTotals, idempotencyKey, keys, type Batch, type BatchItem, type ItemFilter } from './api';
import { batchError, canMake, channelText, paymentStatusText, SelectField } from './parts';

type ReviewAction = 'hold' | 'exclude' | 'include';

/** A query string of the filter, for the export links (the same filter the grid shows). */
function exportQuery(f: ItemFilter): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * The batch's payments, one server page at a time, filtered by the API (review state, flagged accounts, channel,
 * bank, commune), with hold / exclude / include of the ticked ones and a reason while the batch is editable.
 */
export function ReviewGrid({ b }: { b: Batch }) {
  const { t } = useI18n();
  const me = useMe();
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<ItemFilter>({});
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [action, setAction] = useState<ReviewAction>('hold');
  const [reason, setReason] = useState('');
  const [changed, setChanged] = useState<number | null>(null);
  const editable = canMake(me.roles) && EDITABLE.includes(b.status);
  const totals = useQuery({
    queryKey: [...keys.batch(b.id), 'totals', b.version, b.status],
    queryFn: ({ signal }) => fetchTotals(b.id, signal),
  });
  const review = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/batches/{id}/items/review', {
          params: { path: { id: b.id }, header: idempotencyKey() },
          body: { action, seqs: [...selected].sort((x, y) => x - y), ...(reason.trim() ? { reason: reason.trim() } : {}) },
        }),
      ),
    onSuccess: (r) => {
      setChanged(r.changed);
      setSelected(new Set());
      setReason('');
      queryClient.setQueryData(keys.batch(b.id), r.batch);
      void queryClient.invalidateQueries({ queryKey: keys.batch(b.id) });
    },
  });
  const problems = review.error ? formErrors(t, review.error, ['reason']) : null;
  const set = (patch: Partial<ItemFilter>) => setFilter((f) => ({ ...f, ...patch }));
  const toggle = (seq: number) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(seq)) next.delete(seq);
      else next.add(seq);
      return next;
    });

  const columns: Column<BatchItem>[] = [
    ...(editable
      ? [
          {
            header: t('batches.col.select'),
            cell: (r: BatchItem) => (
              <input
                type="checkbox"
                aria-label={t('batches.items.select', { seq: r.seq })}
                checked={selected.has(r.seq)}
                onChange={() => toggle(r.seq)}
              />
            ),
          },
        ]
      : []),
    { header: t('batches.col.seq'), cell: (r) => r.seq, numeric: true },
    { header: t('batches.col.name'), cell: (r) => r.fullName },
    { header: t('batches.col.commune'), cell: (r) => r.areaName },
    { header: t('batches.col.channel'), cell: (r) => channelText(t, r.channel) },
    { header: t('batches.col.bank'), cell: (r) => r.bankCode ?? r.walletProvider ?? '—' },
    { header: t('batches.col.destination'), cell: (r) => r.destination ?? '—' },
    { header: t('batches.col.amount'), cell: (r) => <Money amount={r.amount} />, numeric: true },
    {
      header: t('batches.col.check'),
      cell: (r) => (
        <span className={r.flagged ? 'flag' : undefined}>
          {r.lookupStatus ? t(`batches.lookup.${r.lookupStatus}`) : t('batches.lookup.none')}
          {r.nameMismatch ? ` · ${t('batches.lookup.nameMismatch')}${r.lookupName ? `: ${r.lookupName}` : ''}` : ''}
        </span>
      ),
    },
    {
      header: t('batches.col.review'),
      cell: (r) => `${t(`batches.review.${r.review}`)}${r.reviewReason ? ` (${r.reviewReason})` : ''}`,
    },
    { header: t('batches.col.status'), cell: (r) => paymentStatusText(t, r.status) },
  ];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setChanged(null);
    review.mutate();
  };

  return (
    <section aria-labelledby="items-title">
      <h2 id="items-title">{t('batches.items.title')}</h2>
      <div className="filters">
        <h3>{t('batches.items.filters')}</h3>
        <div className="filters__row">
          <SelectField
            label={t('batches.items.review')}
            value={filter.review ?? ''}
            onChange={(e) => set({ review: (e.target.value || undefined) as ItemFilter['review'] })}
          >
            <option value="">{t('batches.filter.any')}</option>
            {(['included', 'held', 'excluded'] as const).map((r) => (
              <option key={r} value={r}>
                {t(`batches.review.${r}`)}
              </option>
            ))}
          </SelectField>
          <SelectField
            label={t('batches.col.channel')}
            value={filter.channel ?? ''}
            onChange={(e) => set({ channel: (e.target.value || undefined) as ItemFilter['channel'], bankCode: undefined })}
          >
            <option value="">{t('batches.filter.any')}</option>
            {(['BANK', 'WALLET', 'CASH'] as const).map((c) => (
              <option key={c} value={c}>
                {channelText(t, c)}
              </option>
            ))}
          </SelectField>
          <SelectField
            label={t('batches.col.bank')}
            value={filter.bankCode ?? ''}
            onChange={(e) => set({ bankCode: e.target.value || undefined })}
          >
            <option value="">{t('batches.filter.any')}</option>
            {(totals.data?.byBank ?? [])
              .filter((k) => k.channel === 'BANK')
              .map((k) => (
                <option key={k.code} value={k.code}>
                  {k.name ? `${k.name} (${k.code})` : k.code}
                </option>
              ))}
          </SelectField>
          <SelectField
            label={t('batches.col.commune')}
            value={filter.areaId ?? ''}
            onChange={(e) => set({ areaId: e.target.value ? Number(e.target.value) : undefined })}
          >
            <option value="">{t('batches.filter.any')}</option>
            {(totals.data?.byArea ?? []).map((a) => (
              <option key={a.areaId} value={a.areaId}>
                {a.areaName}
              </option>
            ))}
          </SelectField>
          <label className="check">
            <input
              type="checkbox"
              checked={filter.flagged === 'true'}
              onChange={(e) => set({ flagged: e.target.checked ? 'true' : undefined })}
            />
            {t('batches.items.flaggedOnly')}
          </label>
        </div>
      </div>
      {editable ? (
        <form className="review-form" onSubmit={submit} aria-labelledby="review-form-title">
          <h3 id="review-form-title">{t('batches.review.action')}</h3>
          <p role="status">{t('batches.review.selected', { count: selected.size })}</p>
          <FormError message={problems?.form ? batchError(t, review.error) : null} />
          {changed !== null ? (
            <p className="success" role="status">
              {t('batches.review.done', { count: changed })}
            </p>
          ) : null}
          <div className="filters__row">
            <SelectField label={t('batches.review.action')} value={action} onChange={(e) => setAction(e.target.value as ReviewAction)}>
              {(['hold', 'exclude', 'include'] as const).map((a) => (
                <option key={a} value={a}>
                  {t(`batches.review.${a}`)}
                </option>
              ))}
            </SelectField>
            <Field
              label={t('batches.review.reason')}
              hint={t('batches.review.reasonHint')}
              value={reason}
              maxLength={500}
              error={problems?.fields.reason}
              onChange={(e) => setReason(e.target.value)}
            />
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={selected.size === 0 || review.isPending}>
              {t('batches.review.apply')}
            </button>
            <button type="button" disabled={selected.size === 0} onClick={() => setSelected(new Set())}>
              {t('batches.review.clear')}
            </button>
          </div>
        </form>
      ) : (
        <p>{t('batches.review.readOnly')}</p>
      )}
      <KeysetTable<BatchItem>
        caption={t('batches.items.caption')}
        queryKey={[...keys.batch(b.id), 'items', filter, b.version]}
        fetchPage={(cursor, signal) => fetchItems(b.id, filter, cursor, signal)}
        rowKey={(r) => r.seq}
        columns={columns}
      />
      <div className="exports">
        <h3>{t('batches.export.title')}</h3>
        <p className="field__hint">{t('batches.export.intro')}</p>
        <ul>
          <li>
            <a href={`/api/v1/batches/${b.id}/items/export.csv${exportQuery(filter)}`} download>
              {t('batches.export.csv')}
            </a>
          </li>
          <li>
            <a href={`/api/v1/batches/${b.id}/items/export.xlsx${exportQuery(filter)}`} download>
              {t('batches.export.xlsx')}
            </a>
          </li>
        </ul>
      </div>
    </section>
  );
}

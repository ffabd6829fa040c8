import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { api, newIdempotencyKey, unwrap, type Schemas } from '../../api/client';
import { useMe } from '../../app/session';
import { hasMessage } from '../../i18n/catalogue';
import { useI18n, type Translate } from '../../i18n/i18n';
import { SelectField } from '../../ui/field';
import { formatDate } from '../../ui/format';
import { errorMessage } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import './notifications.css';

type Untold = Schemas['NotificationUntold']['items'][number];
type Format = 'csv' | 'xlsx';

const PAGE = 50;
/** How often a file being written is asked about: a batch's list takes a moment, not minutes. */
const FILE_POLL_MS = 500;

/**
 * Why a message did not reach its recipient, in the reader's language; a message without a reason by its status; a
 * code nobody worded yet is shown as it is.
 */
export function smsReasonText(t: Translate, reason: string): string {
  for (const key of [`notifications.reason.${reason}`, `notifications.status.${reason}`]) if (hasMessage(key)) return t(key);
  return reason;
}

interface Filter {
  reason: string | null;
  /** '' = every commune of the batch */
  areaId: string;
}

const queryOf = (f: Filter) => ({ ...(f.reason ? { reason: f.reason } : {}), ...(f.areaId ? { areaId: Number(f.areaId) } : {}) });

const fetchUntold = (batchId: string, f: Filter, after: string | undefined, limit: number, signal?: AbortSignal) =>
  unwrap(
    api.GET('/api/v1/notifications/batches/{batchId}/untold', {
      params: { path: { batchId }, query: { after, limit, ...queryOf(f) } },
      signal,
    }),
  );

/**
 * On a batch's page, the recipients its SMS could not reach (no mobile number, opted out, refused, not delivered,
 * dropped, waiting for a person): a button per reason with its count, a commune to choose, the list a page at a
 * time, and the list as shown taken away as a file (made by the export centre, with its manifest). Only what the API
 * gives: names, communes and reasons, never a number. Staff, area officers and auditors, in their area.
 */
export function UntoldPanel({ batchId }: { batchId: string }) {
  const { t } = useI18n();
  const me = useMe();
  const reader = me.roles.some((r) => r === 'staff' || r === 'approver' || r === 'auditor');
  const [filter, setFilter] = useState<Filter>({ reason: null, areaId: '' });
  // the counts follow the commune chosen, never the reason: every reason stays there to be chosen
  const summary = useQuery({
    queryKey: ['notifications', 'untold', batchId, 'summary', filter.areaId],
    queryFn: ({ signal }) => fetchUntold(batchId, { reason: null, areaId: filter.areaId }, undefined, 1, signal),
    placeholderData: keepPreviousData,
    enabled: reader,
  });
  if (!reader) return null;
  const byReason = Object.entries(summary.data?.byReason ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  // a reason chosen that the commune has none of stays, to be released
  if (filter.reason && !byReason.some(([r]) => r === filter.reason)) byReason.push([filter.reason, 0]);
  const total = byReason.reduce((n, [, c]) => n + c, 0);
  const communes = summary.data?.communes ?? [];
  const everywhere = communes.reduce((n, c) => n + c.count, 0);
  const filterKey = `${filter.reason ?? ''}|${filter.areaId}`;
  return (
    <section aria-labelledby="untold-title" className="panel">
      <h2 id="untold-title">{t('notifications.untold.title')}</h2>
      {summary.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, summary.error)}
        </p>
      ) : null}
      {summary.data && everywhere === 0 ? <p data-testid="untold-none">{t('notifications.untold.none')}</p> : null}
      {everywhere > 0 ? (
        <>
          <p>{t('notifications.untold.intro', { count: everywhere.toLocaleString('vi-VN') })}</p>
          <div className="untold-filters">
            <SelectField
              label={t('notifications.untold.commune')}
              value={filter.areaId}
              onChange={(e) => setFilter({ ...filter, areaId: e.target.value })}
            >
              <option value="">{t('notifications.untold.allCommunes', { count: everywhere.toLocaleString('vi-VN') })}</option>
              {communes.map((c) => (
                <option key={c.areaId} value={String(c.areaId)}>
                  {t('notifications.untold.option', { name: c.name, count: c.count.toLocaleString('vi-VN') })}
                </option>
              ))}
            </SelectField>
            <div role="group" aria-label={t('notifications.untold.byReasonCaption')} className="untold-reasons">
              <button type="button" aria-pressed={filter.reason === null} onClick={() => setFilter({ ...filter, reason: null })}>
                {t('notifications.untold.allReasons', { count: total.toLocaleString('vi-VN') })}
              </button>
              {byReason.map(([reason, n]) => (
                <button
                  key={reason}
                  type="button"
                  aria-pressed={filter.reason === reason}
                  onClick={() => setFilter({ ...filter, reason: filter.reason === reason ? null : reason })}
                >
                  {t('notifications.untold.option', { name: smsReasonText(t, reason), count: n.toLocaleString('vi-VN') })}
                </button>
              ))}
            </div>
          </div>
          <KeysetTable<Untold>
            caption={t('notifications.untold.listCaption')}
            queryKey={['notifications', 'untold', batchId, 'list', filter.reason, filter.areaId]}
            fetchPage={async (cursor, signal) => {
              const page = await fetchUntold(batchId, filter, cursor, PAGE, signal);
              return { items: page.items, nextCursor: page.next };
            }}
            rowKey={(m) => m.reference}
            columns={[
              { header: t('notifications.untold.commune'), cell: (m) => m.areaName },
              {
                header: t('notifications.untold.recipient'),
                cell: (m) =>
                  me.roles.includes('staff') ? <Link href={`~/beneficiaries/${m.beneficiaryId}`}>{m.fullName}</Link> : m.fullName,
              },
              { header: t('notifications.event'), cell: (m) => t(`notifications.event.${m.event as 'payment_paid'}`) },
              { header: t('notifications.state'), cell: (m) => t(`notifications.status.${m.status as 'skipped'}`) },
              { header: t('notifications.untold.reason'), cell: (m) => smsReasonText(t, m.reason ?? m.status) },
              { header: t('notifications.when'), cell: (m) => formatDate(m.createdAt) },
            ]}
          />
          {/* a new filter is a new list: the file of the one before is no longer what is shown */}
          <UntoldFile key={filterKey} batchId={batchId} filter={filter} />
        </>
      ) : null}
    </section>
  );
}

/** The list as shown, as a file: asked of the export centre, followed until written, then offered for download. */
function UntoldFile({ batchId, filter }: { batchId: string; filter: Filter }) {
  const { t } = useI18n();
  const [exportId, setExportId] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (format: Format) =>
      unwrap(
        api.POST('/api/v1/exports', {
          params: { header: { 'Idempotency-Key': newIdempotencyKey() } },
          body: { kind: 'sms_untold', format, batchId, ...queryOf(filter) },
        }),
      ),
    onSuccess: (m) => setExportId(m.id),
  });
  const manifest = useQuery({
    queryKey: ['exports', 'manifest', exportId],
    queryFn: () => unwrap(api.GET('/api/v1/exports/{id}', { params: { path: { id: exportId! } } })),
    enabled: exportId !== null,
    refetchInterval: (q) => (q.state.data?.status === 'running' ? FILE_POLL_MS : false),
  });
  const m = exportId === null ? undefined : manifest.data;
  const writing = create.isPending || (exportId !== null && (!m || m.status === 'running'));
  const failure = create.error ?? manifest.error;
  return (
    <div className="untold-file">
      <p className="field__hint" id="untold-file-hint">
        {t('notifications.untold.fileHint')}
      </p>
      <div className="actions">
        {(['csv', 'xlsx'] as const).map((format) => (
          <button
            key={format}
            type="button"
            aria-describedby="untold-file-hint"
            disabled={writing}
            onClick={() => {
              setExportId(null);
              create.mutate(format);
            }}
          >
            {t(format === 'csv' ? 'notifications.untold.downloadCsv' : 'notifications.untold.downloadXlsx')}
          </button>
        ))}
      </div>
      <div role="status">
        {writing ? <p>{t('notifications.untold.fileWriting')}</p> : null}
        {m && m.status === 'done' && m.fileName ? (
          <p className="success">
            {t('notifications.untold.fileReady', { rows: (m.rowCount ?? 0).toLocaleString('vi-VN') })}{' '}
            <a href={`/api/v1/exports/${encodeURIComponent(m.id)}/file`} download={m.fileName}>
              {t('notifications.untold.fileLink', { file: m.fileName })}
            </a>
          </p>
        ) : null}
        {m && m.status === 'failed' ? <p className="form-error">{t('notifications.untold.fileFailed', { error: m.error ?? '' })}</p> : null}
      </div>
      {failure ? (
        <p role="alert" className="form-error">
          {errorMessage(t, failure)}
        </p>
      ) : null}
    </div>
  );
}

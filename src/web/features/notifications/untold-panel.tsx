import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useMe } from '../../app/session';
import { hasMessage } from '../../i18n/catalogue';
import { useI18n, type Translate } from '../../i18n/i18n';
import { errorMessage } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';

type Untold = Schemas['NotificationUntold']['items'][number];

const PAGE = 50;

/** Why a message did not reach its recipient, in the reader's language; a code nobody worded yet is shown as it is. */
export function smsReasonText(t: Translate, reason: string): string {
  const key = `notifications.reason.${reason}`;
  return hasMessage(key) ? t(key) : reason;
}

const fetchUntold = (batchId: string, after: string | undefined, limit: number, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/notifications/batches/{batchId}/untold', { params: { path: { batchId }, query: { after, limit } }, signal }));

/**
 * On a batch's page, the recipients its SMS could not reach (no mobile number, opted out, refused, not delivered,
 * dropped, waiting for a person): the counts by reason, then the list, a page at a time. Only what the API gives:
 * names and reasons, never a number. Staff, area officers and auditors, in their area.
 */
export function UntoldPanel({ batchId }: { batchId: string }) {
  const { t } = useI18n();
  const me = useMe();
  const reader = me.roles.some((r) => r === 'staff' || r === 'approver' || r === 'auditor');
  const summary = useQuery({
    queryKey: ['notifications', 'untold', batchId, 'summary'],
    queryFn: ({ signal }) => fetchUntold(batchId, undefined, 1, signal),
    enabled: reader,
  });
  if (!reader) return null;
  const byReason = Object.entries(summary.data?.byReason ?? {}).sort((a, b) => b[1] - a[1]);
  const total = byReason.reduce((n, [, c]) => n + c, 0);
  return (
    <section aria-labelledby="untold-title" className="panel">
      <h2 id="untold-title">{t('notifications.untold.title')}</h2>
      {summary.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, summary.error)}
        </p>
      ) : null}
      {summary.data && total === 0 ? <p data-testid="untold-none">{t('notifications.untold.none')}</p> : null}
      {total > 0 ? (
        <>
          <p>{t('notifications.untold.intro', { count: total.toLocaleString('vi-VN') })}</p>
          <table>
            <caption>{t('notifications.untold.byReasonCaption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('notifications.untold.reason')}</th>
                <th scope="col" className="num">
                  {t('notifications.untold.count')}
                </th>
              </tr>
            </thead>
            <tbody>
              {byReason.map(([reason, n]) => (
                <tr key={reason}>
                  <td>{smsReasonText(t, reason)}</td>
                  <td className="num">{n.toLocaleString('vi-VN')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <KeysetTable<Untold>
            caption={t('notifications.untold.listCaption')}
            queryKey={['notifications', 'untold', batchId, 'list']}
            fetchPage={async (cursor, signal) => {
              const page = await fetchUntold(batchId, cursor, PAGE, signal);
              return { items: page.items, nextCursor: page.next };
            }}
            rowKey={(m) => m.reference}
            columns={[
              {
                header: t('notifications.untold.recipient'),
                cell: (m) =>
                  me.roles.includes('staff') ? <Link href={`~/beneficiaries/${m.beneficiaryId}`}>{m.fullName}</Link> : m.fullName,
              },
              { header: t('notifications.event'), cell: (m) => t(`notifications.event.${m.event as 'payment_paid'}`) },
              { header: t('notifications.state'), cell: (m) => t(`notifications.status.${m.status as 'skipped'}`) },
              { header: t('notifications.untold.reason'), cell: (m) => smsReasonText(t, m.reason ?? m.status) },
            ]}
          />
        </>
      ) : null}
    </section>
  );
}

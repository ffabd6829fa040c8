import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { errorMessage } from '../../ui/form-errors';
import { formatDate, formatTime } from '../../ui/format';
import { smsReasonText } from './untold-panel';

/** A recipient's SMS messages on their page: what was sent, when, and what became of it. */
export function MessageHistory({ beneficiaryId }: { beneficiaryId: string }) {
  const { t } = useI18n();
  const messages = useQuery({
    queryKey: ['notifications', 'history', beneficiaryId],
    queryFn: () => unwrap(api.GET('/api/v1/notifications/recipients/{beneficiaryId}/messages', { params: { path: { beneficiaryId } } })),
  });
  const items = messages.data?.items ?? [];
  return (
    <section aria-labelledby="sms-title">
      <h2 id="sms-title">{t('notifications.historyTitle')}</h2>
      {messages.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, messages.error)}
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <caption>{t('notifications.historyCaption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('notifications.when')}</th>
              <th scope="col">{t('notifications.event')}</th>
              <th scope="col">{t('notifications.text')}</th>
              <th scope="col">{t('notifications.state')}</th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 ? (
              <tr>
                <td colSpan={4}>{t('notifications.noMessages')}</td>
              </tr>
            ) : (
              items.map((m) => (
                <tr key={m.reference}>
                  <td>
                    <time dateTime={m.createdAt}>
                      {formatDate(m.createdAt)} {formatTime(m.createdAt)}
                    </time>
                  </td>
                  <td>{t(`notifications.event.${m.event as 'payment_paid'}`)}</td>
                  <td>{m.text ?? '—'}</td>
                  <td>
                    {t(`notifications.status.${m.status}`)}
                    {m.reason ? ` (${smsReasonText(t, m.reason)})` : ''}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

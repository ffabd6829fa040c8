import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { errorMessage } from '../../ui/form-errors';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';

const thisMonth = (): string => new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 7);

/** /notifications/costs: messages, segments, cost, delivered and failed per area, programme and gateway of a month. */
export function CostsPage() {
  const { t } = useI18n();
  const [month, setMonth] = useState(thisMonth);
  const monthId = useId();
  const report = useQuery({
    queryKey: ['notifications', 'costs', month],
    enabled: /^\d{4}-\d{2}$/.test(month),
    queryFn: () => unwrap(api.GET('/api/v1/notifications/reports/costs', { params: { query: { month } } })),
  });
  const rows = report.data?.rows ?? [];
  const total = rows.reduce((a, r) => ({ messages: a.messages + r.messages, segments: a.segments + r.segments, cost: a.cost + r.cost }), {
    messages: 0,
    segments: 0,
    cost: 0,
  });
  return (
    <main id="main" className="page">
      <p>
        <Link href="/">{t('notifications.back')}</Link>
      </p>
      <PageTitle>{t('notifications.costsTitle')}</PageTitle>
      <div className="field">
        <label htmlFor={monthId}>{t('notifications.month')}</label>
        <input id={monthId} type="month" value={month} onChange={(e) => setMonth(e.target.value)} />
      </div>
      {report.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, report.error)}
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <caption>{t('notifications.costsCaption', { messages: total.messages, segments: total.segments })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('notifications.area')}</th>
              <th scope="col">{t('notifications.programme')}</th>
              <th scope="col">{t('notifications.gateway')}</th>
              <th scope="col" className="num">
                {t('notifications.messages')}
              </th>
              <th scope="col" className="num">
                {t('notifications.segments')}
              </th>
              <th scope="col" className="num">
                {t('notifications.cost')}
              </th>
              <th scope="col" className="num">
                {t('notifications.delivered')}
              </th>
              <th scope="col">{t('notifications.failed')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={8}>{t('notifications.noMessages')}</td>
              </tr>
            ) : (
              rows.map((r) => (
                <tr key={`${r.areaId}-${r.programmeId}-${r.gatewayId ?? ''}`}>
                  <td>{r.areaName}</td>
                  <td>{r.programmeId}</td>
                  <td>{r.gatewayName ?? '—'}</td>
                  <td className="num">{r.messages}</td>
                  <td className="num">{r.segments}</td>
                  <td className="num">
                    <Money amount={r.cost} />
                  </td>
                  <td className="num">{r.delivered}</td>
                  <td>
                    {r.failed}
                    {Object.keys(r.failedByReason).length
                      ? ` (${Object.entries(r.failedByReason)
                          .map(([k, n]) => `${k}: ${n}`)
                          .join(', ')})`
                      : ''}
                  </td>
                </tr>
              ))
            )}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={3}>
                {t('notifications.total')}
              </th>
              <td className="num">{total.messages}</td>
              <td className="num">{total.segments}</td>
              <td className="num">
                <Money amount={total.cost} />
              </td>
              <td colSpan={2} />
            </tr>
          </tfoot>
        </table>
      </div>
    </main>
  );
}

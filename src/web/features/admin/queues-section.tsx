import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { PageTitle } from '../../ui/page-title';
import { refusal } from './controls';
import './admin.css';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'] as const;

/** Jobs per queue and state, read again every 10 seconds while the page is open. */
export default function QueuesSection() {
  const { t } = useI18n();
  const queues = useQuery({
    queryKey: ['queues'],
    queryFn: () => unwrap(api.GET('/api/v1/admin/queues')),
    refetchInterval: 10_000,
  });
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.queues.title')}</PageTitle>
      <p>{t('admin.queues.intro')}</p>
      {queues.error ? <FormError message={refusal(t, 'admin', queues.error)} /> : null}
      <div className="table-wrap">
        <table>
          <caption>{t('admin.queues.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.queues.name')}</th>
              <th scope="col">{t('admin.status')}</th>
              {STATES.map((s) => (
                <th key={s} scope="col" className="num">
                  {t(`admin.queues.state.${s}`)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody aria-busy={queues.isFetching}>
            {(queues.data?.items ?? []).map((q) => (
              <tr key={q.name}>
                <th scope="row">
                  {q.name}
                  {q.providerName ? ` (${q.providerName})` : ''}
                </th>
                <td>
                  {q.paused ? t('admin.queues.paused') : q.providerPaused ? t('admin.queues.providerPaused') : t('admin.queues.running')}
                </td>
                {STATES.map((s) => (
                  <td key={s} className="num">
                    {q.counts[s]}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}

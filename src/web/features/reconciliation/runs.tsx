import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { KeysetTable } from '../../ui/keyset-table';
import { DateText, Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { CATEGORIES, type Run } from './recon-common';
import { SubNav } from './recon-nav';

function Totals({ run }: { run: Run }) {
  const { t } = useI18n();
  return (
    <div className="table-wrap">
      <table>
        <caption>{t('reconciliation.run.totalsCaption', { id: run.id })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('reconciliation.category')}</th>
            <th scope="col" className="num">
              {t('reconciliation.count')}
            </th>
            <th scope="col" className="num">
              {t('reconciliation.amount')}
            </th>
          </tr>
        </thead>
        <tbody>
          {CATEGORIES.map((c) => (
            <tr key={c}>
              <th scope="row">
                {c === 'matched' || run.totals[c].count === 0 ? (
                  t(`reconciliation.category.${c}`)
                ) : (
                  <Link href={`/exceptions?runId=${run.id}&category=${c}`}>{t(`reconciliation.category.${c}`)}</Link>
                )}
              </th>
              <td className="num">{run.totals[c].count}</td>
              <td className="num">
                <Money amount={run.totals[c].amount} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RunTotals({ id }: { id: string }) {
  const { t } = useI18n();
  const run = useQuery({
    queryKey: ['recon', 'run', id],
    queryFn: () => unwrap(api.GET('/api/v1/reconciliation/runs/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 1000 : false),
  });
  if (!run.data) return null;
  return (
    <section aria-labelledby="run-title">
      <h2 id="run-title">{t('reconciliation.run.heading', { id })}</h2>
      <p>{t(`reconciliation.run.status.${run.data.status}`)}</p>
      <Totals run={run.data} />
      <p>
        <Link href={`/exceptions?runId=${id}`}>{t('reconciliation.run.exceptions')}</Link>
      </p>
    </section>
  );
}

export function Runs() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t('reconciliation.runs.title')}</PageTitle>
      <SubNav />
      <KeysetTable<Run>
        caption={t('reconciliation.runs.caption')}
        queryKey={['recon', 'runs']}
        fetchPage={(cursor) =>
          unwrap(api.GET('/api/v1/reconciliation/runs', { params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } } }))
        }
        rowKey={(r) => r.id}
        columns={[
          { header: t('reconciliation.run.number'), cell: (r) => <Link href={`/statements/${r.statementId}`}>{`#${r.id}`}</Link> },
          { header: t('reconciliation.provider'), cell: (r) => r.provider.name },
          { header: t('reconciliation.businessDate'), cell: (r) => <DateText value={r.businessDate} /> },
          { header: t('admin.status'), cell: (r) => t(`reconciliation.run.status.${r.status}`) },
          ...CATEGORIES.map((c) => ({
            header: t(`reconciliation.category.${c}`),
            numeric: true,
            cell: (r: Run) => (
              <>
                {r.totals[c].count}
                <br />
                <Money amount={r.totals[c].amount} />
              </>
            ),
          })),
        ]}
      />
    </main>
  );
}

import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { errorMessage } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';

type Problem = Schemas['CashOutPointImportProblem'];

/** /network/imports/:id: what an import of a registry file did, and every problem of its rows. */
export function ImportPage({ id }: { id: string }) {
  const { t } = useI18n();
  const imp = useQuery({
    queryKey: ['cash-out-point-imports', id],
    queryFn: () => unwrap(api.GET('/api/v1/cash-out-point-imports/{id}', { params: { path: { id } } })),
  });
  const d = imp.data;
  const counts: [string, number][] = d
    ? [
        [t('network.import.rowsRead'), d.rowsRead],
        [t('network.import.rowsValid'), d.rowsValid],
        [t('network.import.rowsInvalid'), d.rowsInvalid],
        [t('network.import.created'), d.pointsCreated],
        [t('network.import.updated'), d.pointsUpdated],
        [t('network.import.unchanged'), d.pointsUnchanged],
      ]
    : [];
  return (
    <main id="main" className="page">
      <p>
        <Link href="/">{t('network.back')}</Link>
      </p>
      <PageTitle>{d ? t('network.import.detail', { file: d.fileName }) : t('app.loading')}</PageTitle>
      {imp.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, imp.error)}
        </p>
      ) : null}
      {d ? (
        <>
          <p role="status">
            {d.status === 'completed' ? t('network.import.completed') : t('network.import.failed', { code: d.error?.code ?? '' })}
          </p>
          <dl className="counts">
            {counts.map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value.toLocaleString('vi-VN')}</dd>
              </div>
            ))}
          </dl>
          <h2>{t('network.import.problems')}</h2>
          <KeysetTable<Problem>
            caption={t('network.import.problemsCaption')}
            queryKey={['cash-out-point-imports', id, 'problems']}
            fetchPage={(cursor, signal) =>
              unwrap(
                api.GET('/api/v1/cash-out-point-imports/{id}/problems', { params: { path: { id }, query: { limit: 50, cursor } }, signal }),
              )
            }
            rowKey={(p) => `${p.row}|${p.column ?? ''}|${p.code}`}
            columns={[
              { header: t('network.import.row'), cell: (p) => (p.row === 0 ? t('network.import.wholeFile') : p.row), numeric: true },
              { header: t('network.import.column'), cell: (p) => p.column ?? '—' },
              { header: t('network.import.code'), cell: (p) => <code>{p.code}</code> },
              { header: t('network.import.message'), cell: (p) => <span lang="en">{p.message}</span> },
            ]}
          />
        </>
      ) : null}
    </main>
  );
}

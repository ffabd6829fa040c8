import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { errorMessage } from '../../ui/form-errors';
import { formatDate, formatTime } from '../../ui/format';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';
import { ImportStatus, isFinished } from './import-status';
import { phaseText, problemCodes, problemText } from './problem-text';

type Problem = Schemas['RollImportProblem'];

/** The roll template's columns, as problems name them. */
const TEMPLATE_COLUMNS = [
  'national_id',
  'full_name',
  'date_of_birth',
  'gender',
  'area_code',
  'programme_code',
  'coefficient',
  'start_period',
  'end_period',
  'channel',
  'bank_code',
  'account_number',
  'account_name',
  'wallet_provider',
  'wallet_id',
  'phone',
] as const;

/** The problem codes the console can name, from its catalogue. */
const PROBLEM_CODES = problemCodes();

function problemsCsvHref(id: string, filter: { code: string; column: string }): string {
  const q = new URLSearchParams();
  if (filter.code) q.set('code', filter.code);
  if (filter.column) q.set('column', filter.column);
  const query = q.toString();
  return `/api/v1/roll-imports/${encodeURIComponent(id)}/problems.csv${query ? `?${query}` : ''}`;
}

function Problems({ id, downloadable }: { id: string; downloadable: boolean }) {
  const { t } = useI18n();
  const codeId = useId();
  const columnId = useId();
  const [code, setCode] = useState('');
  const [column, setColumn] = useState('');
  const filtered = code !== '' || column !== '';
  return (
    <section aria-labelledby="import-problems-title">
      <h2 id="import-problems-title">{t('imports.problems.title')}</h2>
      <div className="filters">
        <label htmlFor={codeId}>{t('imports.problems.filterCode')}</label>
        <select id={codeId} value={code} onChange={(e) => setCode(e.target.value)}>
          <option value="">{t('imports.problems.allCodes')}</option>
          {PROBLEM_CODES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <label htmlFor={columnId}>{t('imports.problems.filterColumn')}</label>
        <select id={columnId} value={column} onChange={(e) => setColumn(e.target.value)}>
          <option value="">{t('imports.problems.allColumns')}</option>
          {TEMPLATE_COLUMNS.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      {downloadable ? (
        <p>
          <a href={problemsCsvHref(id, { code, column })}>
            {filtered ? t('imports.problems.downloadFiltered') : t('imports.problems.download')}
          </a>
        </p>
      ) : null}
      <KeysetTable<Problem>
        caption={filtered ? t('imports.problems.captionFiltered') : t('imports.problems.caption')}
        queryKey={['roll-imports', id, 'problems', { code, column }]}
        fetchPage={(cursor) =>
          unwrap(
            api.GET('/api/v1/roll-imports/{id}/problems', {
              params: {
                path: { id },
                query: { limit: 50, cursor, ...(code ? { code } : {}), ...(column ? { column } : {}) },
              },
            }),
          )
        }
        rowKey={(p) => `${p.row}|${p.column ?? ''}|${p.code}|${p.message}`}
        columns={[
          {
            header: t('imports.problems.row'),
            cell: (p) => (p.row === 0 ? t('imports.problems.wholeFile') : p.row),
            numeric: true,
          },
          { header: t('imports.problems.column'), cell: (p) => p.column ?? '—' },
          { header: t('imports.problems.code'), cell: (p) => <code>{p.code}</code> },
          {
            header: t('imports.problems.message'),
            cell: (p) => {
              const text = problemText(t, p);
              return text === p.message ? (
                text
              ) : (
                <>
                  {text}
                  <details className="problem-original">
                    <summary>{t('imports.problems.original')}</summary>
                    <span lang="en">{p.message}</span>
                  </details>
                </>
              );
            },
          },
        ]}
      />
    </section>
  );
}

/** While the worker runs it, the import is read again this often, so the page follows it without a reload. */
const POLL_MS = 1000;

function Counts({ rows }: { rows: [string, number][] }) {
  return (
    <dl className="counts">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value.toLocaleString('vi-VN')}</dd>
        </div>
      ))}
    </dl>
  );
}

export function ImportPage({ id }: { id: string }) {
  const { t } = useI18n();
  const imp = useQuery({
    queryKey: ['roll-imports', id],
    queryFn: () => unwrap(api.GET('/api/v1/roll-imports/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && isFinished(q.state.data.status) ? false : POLL_MS),
    staleTime: 0,
  });
  const data = imp.data;
  return (
    <main id="main" className="page">
      <p>
        <Link href="/">{t('imports.back')}</Link>
      </p>
      <PageTitle>{data ? t('imports.detail.title', { file: data.fileName }) : t('imports.detail.loading')}</PageTitle>
      {imp.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, imp.error)}
        </p>
      ) : null}
      {data ? (
        <>
          <section aria-labelledby="import-progress-title">
            <h2 id="import-progress-title">{t('imports.detail.progress')}</h2>
            <p role="status" aria-live="polite">
              <ImportStatus status={data.status} />{' '}
              {data.status === 'running' && data.phase ? t('imports.detail.phase', { phase: phaseText(t, data.phase) }) : null}
            </p>
            <p>
              {t('imports.detail.uploaded', { date: formatDate(data.createdAt), time: formatTime(data.createdAt) })}
              {data.finishedAt
                ? ` ${t('imports.detail.finished', { date: formatDate(data.finishedAt), time: formatTime(data.finishedAt) })}`
                : null}
            </p>
            <Counts
              rows={[
                [t('imports.detail.rowsRead'), data.progress.rowsRead],
                [t('imports.detail.rowsValid'), data.progress.rowsValid],
                [t('imports.detail.rowsInvalid'), data.progress.rowsInvalid],
              ]}
            />
            {data.error ? (
              <p className="form-error">{t('imports.detail.failed', { code: data.error.code, message: problemText(t, data.error) })}</p>
            ) : null}
          </section>
          {data.status === 'completed' ? (
            <section aria-labelledby="import-result-title">
              <h2 id="import-result-title">{t('imports.detail.result')}</h2>
              <Counts
                rows={[
                  [t('imports.detail.beneficiariesCreated'), data.result.beneficiariesCreated],
                  [t('imports.detail.enrolmentsCreated'), data.result.enrolmentsCreated],
                  [t('imports.detail.enrolmentsUpdated'), data.result.enrolmentsUpdated],
                  [t('imports.detail.enrolmentsUnchanged'), data.result.enrolmentsUnchanged],
                  [t('imports.detail.nameMismatches'), data.result.nameMismatches],
                ]}
              />
            </section>
          ) : null}
          {isFinished(data.status) ? <Problems id={id} downloadable={data.progress.rowsInvalid > 0 || data.status === 'failed'} /> : null}
        </>
      ) : null}
    </main>
  );
}

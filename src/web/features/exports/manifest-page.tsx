import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { formatDate, formatTime } from '../../ui/format';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { refusal } from '../approvals/refusal';

const when = (iso: string) => `${formatTime(iso)} ${formatDate(iso)}`;

/** One export's manifest, followed while the file is written; then the file to download and its SHA-256. */
export function ManifestPage({ id }: { id: string }) {
  const { t } = useI18n();
  const manifest = useQuery({
    queryKey: ['exports', 'manifest', id],
    queryFn: () => unwrap(api.GET('/api/v1/exports/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 1000 : false),
  });
  const m = manifest.data;
  return (
    <main id="main" className="page">
      <PageTitle>{t('exports.manifest.title', { id })}</PageTitle>
      <p>
        <Link href="/">{t('exports.back')}</Link>
      </p>
      {manifest.isError ? (
        <p role="alert" className="form-error">
          {refusal(t, 'exports', manifest.error)}
        </p>
      ) : null}
      {m ? (
        <>
          <p role="status" className={m.status === 'done' ? 'success' : m.status === 'failed' ? 'form-error' : 'notice'}>
            {t(`exports.status.${m.status}`)}
            {m.status === 'running' ? ` ${t('exports.manifest.progress', { rows: m.progressRows.toLocaleString('vi-VN') })}` : null}
            {m.error ? `: ${m.error}` : null}
          </p>
          <dl className="facts">
            <dt>{t('exports.col.kind')}</dt>
            <dd>{t(`exports.kind.${m.kind}`)}</dd>
            <dt>{t('exports.col.format')}</dt>
            <dd>{m.format.toUpperCase()}</dd>
            <dt>{t('exports.manifest.params')}</dt>
            <dd>
              <code>{JSON.stringify(m.params)}</code>
            </dd>
            <dt>{t('exports.manifest.values')}</dt>
            <dd>{m.fullValues ? t('exports.manifest.full') : t('exports.manifest.masked')}</dd>
            {m.fullValues ? (
              <>
                <dt>{t('exports.manifest.reason')}</dt>
                <dd>{m.reason ?? '—'}</dd>
              </>
            ) : null}
            <dt>{t('exports.col.rows')}</dt>
            <dd>{m.rowCount === null ? '—' : m.rowCount.toLocaleString('vi-VN')}</dd>
            <dt>{t('exports.manifest.total')}</dt>
            <dd>{m.totalAmount === null ? '—' : <Money amount={m.totalAmount} />}</dd>
            <dt>{t('exports.manifest.totals')}</dt>
            <dd>{m.totals ? <code>{JSON.stringify(m.totals)}</code> : '—'}</dd>
            <dt>{t('exports.manifest.sha256')}</dt>
            <dd>
              <code className="sha256">{m.sha256 ?? '—'}</code>
            </dd>
            <dt>{t('exports.manifest.bytes')}</dt>
            <dd>{m.bytes === null ? '—' : t('exports.manifest.byteCount', { bytes: m.bytes.toLocaleString('vi-VN') })}</dd>
            <dt>{t('exports.manifest.by')}</dt>
            <dd>{m.exportedBy.username}</dd>
            <dt>{t('exports.manifest.created')}</dt>
            <dd>{when(m.createdAt)}</dd>
            <dt>{t('exports.manifest.finished')}</dt>
            <dd>{m.finishedAt ? when(m.finishedAt) : '—'}</dd>
            <dt>{t('exports.manifest.checkpoint')}</dt>
            <dd>
              {m.auditCheckpoint ? (
                <>
                  {t('exports.manifest.checkpointAt', {
                    lastId: m.auditCheckpoint.lastId,
                    count: m.auditCheckpoint.count.toLocaleString('vi-VN'),
                    time: formatTime(m.auditCheckpoint.at),
                    date: formatDate(m.auditCheckpoint.at),
                  })}{' '}
                  <code title={m.auditCheckpoint.lastHash}>{m.auditCheckpoint.lastHash.slice(0, 16)}…</code>
                </>
              ) : (
                '—'
              )}
            </dd>
          </dl>
          {m.status === 'done' && m.fileName ? (
            <p>
              <a className="button primary" href={`/api/v1/exports/${encodeURIComponent(m.id)}/file`} download={m.fileName}>
                {t('exports.manifest.download', { file: m.fileName })}
              </a>
            </p>
          ) : null}
        </>
      ) : null}
    </main>
  );
}

import { useId, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { errorMessage } from '../../ui/form-errors';
import { formatDate, formatTime } from '../../ui/format';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';
import { IMPORT_STATUSES, ImportStatus } from './import-status';
import { uploadRoll, type RollImport } from './upload';

type StatusFilter = '' | RollImport['status'];

function UploadForm() {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  const fileRef = useRef<HTMLInputElement>(null);
  const id = useId();
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const file = fileRef.current?.files?.[0];
    setError(null);
    if (!file) {
      setFileError(t('imports.upload.chooseFile'));
      fileRef.current?.focus();
      return;
    }
    setFileError(null);
    setProgress({ sent: 0, total: file.size });
    try {
      const created = await uploadRoll(file, (sent, total) => setProgress({ sent, total }));
      navigate(`/${created.id}`);
    } catch (err) {
      setError(errorMessage(t, err));
      setProgress(null);
    }
  }

  const percent = progress && progress.total > 0 ? Math.floor((progress.sent * 100) / progress.total) : 0;
  return (
    <form onSubmit={submit} noValidate aria-busy={progress !== null} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('imports.upload.title')}</h2>
      <FormError message={error} />
      <div className={fileError ? 'field field--invalid' : 'field'}>
        <label htmlFor={`${id}-file`}>{t('imports.upload.file')}</label>
        <p className="field__hint" id={`${id}-hint`}>
          {t('imports.upload.hint')}
        </p>
        <input
          ref={fileRef}
          id={`${id}-file`}
          type="file"
          name="file"
          accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          aria-invalid={fileError ? true : undefined}
          aria-describedby={fileError ? `${id}-hint ${id}-error` : `${id}-hint`}
          disabled={progress !== null}
        />
        {fileError ? (
          <p className="field__error" id={`${id}-error`}>
            {fileError}
          </p>
        ) : null}
      </div>
      {progress ? (
        <div className="upload-progress">
          <progress id={`${id}-progress`} max={100} value={percent} aria-label={t('imports.upload.progressLabel')} />
          <span role="status">{t('imports.upload.progress', { percent })}</span>
        </div>
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={progress !== null}>
          {progress ? t('imports.upload.sending') : t('imports.upload.submit')}
        </button>
      </div>
    </form>
  );
}

export function ImportsPage() {
  const { t } = useI18n();
  const [status, setStatus] = useState<StatusFilter>('');
  const filterId = useId();
  return (
    <main id="main" className="page">
      <PageTitle>{t('imports.title')}</PageTitle>
      <UploadForm />
      <h2>{t('imports.list.title')}</h2>
      <div className="filters">
        <label htmlFor={filterId}>{t('imports.list.status')}</label>
        <select id={filterId} value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
          <option value="">{t('imports.list.allStatuses')}</option>
          {IMPORT_STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`imports.status.${s}`)}
            </option>
          ))}
        </select>
      </div>
      <KeysetTable<RollImport>
        caption={t('imports.list.caption')}
        queryKey={['roll-imports', { status }]}
        fetchPage={(cursor) =>
          unwrap(api.GET('/api/v1/roll-imports', { params: { query: { limit: 20, cursor, ...(status ? { status } : {}) } } }))
        }
        rowKey={(r) => r.id}
        columns={[
          { header: t('imports.col.file'), cell: (r) => <Link href={`/${r.id}`}>{r.fileName}</Link> },
          {
            header: t('imports.col.uploadedAt'),
            cell: (r) => (
              <time dateTime={r.createdAt}>
                {formatDate(r.createdAt)} {formatTime(r.createdAt)}
              </time>
            ),
          },
          { header: t('imports.col.status'), cell: (r) => <ImportStatus status={r.status} /> },
          { header: t('imports.col.rowsValid'), cell: (r) => r.progress.rowsValid, numeric: true },
          { header: t('imports.col.rowsInvalid'), cell: (r) => r.progress.rowsInvalid, numeric: true },
        ]}
      />
    </main>
  );
}

import { useId, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { errorMessage } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';
import { CommuneSelect, KINDS, kindText, useOperators, type CommuneChoice, type Kind, type Point } from './parts';
import { uploadPoints } from './upload';

function ImportForm() {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  const fileRef = useRef<HTMLInputElement>(null);
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const file = fileRef.current?.files?.[0];
    setError(null);
    if (!file) {
      setFileError(t('network.import.chooseFile'));
      fileRef.current?.focus();
      return;
    }
    setFileError(null);
    setBusy(true);
    try {
      const done = await uploadPoints(file);
      navigate(`/imports/${done.id}`);
    } catch (err) {
      setError(errorMessage(t, err));
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-busy={busy} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('network.import.title')}</h2>
      <FormError message={error} />
      <div className={fileError ? 'field field--invalid' : 'field'}>
        <label htmlFor={`${id}-file`}>{t('network.import.file')}</label>
        <p className="field__hint" id={`${id}-hint`}>
          {t('network.import.hint')}
        </p>
        <input
          ref={fileRef}
          id={`${id}-file`}
          type="file"
          name="file"
          accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          aria-invalid={fileError ? true : undefined}
          aria-describedby={fileError ? `${id}-hint ${id}-error` : `${id}-hint`}
          disabled={busy}
        />
        {fileError ? (
          <p className="field__error" id={`${id}-error`}>
            {fileError}
          </p>
        ) : null}
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t('network.import.sending') : t('network.import.submit')}
        </button>
      </div>
    </form>
  );
}

/** /network: the registry of cash-out points with its filters, the import of a registry file, and the way to the report. */
export function RegistryPage() {
  const { t } = useI18n();
  const me = useMe();
  const canEdit = me.roles.includes('staff');
  const ops = useOperators();
  const [commune, setCommune] = useState<CommuneChoice | null>(null);
  const [kind, setKind] = useState<'' | Kind>('');
  const [operator, setOperator] = useState('');
  const [active, setActive] = useState<'' | 'true' | 'false'>('');
  const kindId = useId();
  const opId = useId();
  const activeId = useId();
  return (
    <main id="main" className="page">
      <PageTitle>{t('network.title')}</PageTitle>
      <p>{t('network.intro')}</p>
      <p>
        <Link href="/access">{t('network.access.link')}</Link>
        {canEdit ? (
          <>
            {' · '}
            <Link href="/points/new">{t('network.point.new')}</Link>
          </>
        ) : null}
      </p>
      {canEdit ? <ImportForm /> : null}
      <h2>{t('network.list.title')}</h2>
      <div className="filters">
        <CommuneSelect
          label={t('network.list.commune')}
          value={commune?.id ?? null}
          onChange={setCommune}
          allLabel={t('network.list.allCommunes')}
        />
        <label htmlFor={kindId}>{t('network.point.kind')}</label>
        <select id={kindId} value={kind} onChange={(e) => setKind(e.target.value as '' | Kind)}>
          <option value="">{t('network.list.allKinds')}</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {kindText(t, k)}
            </option>
          ))}
        </select>
        <label htmlFor={opId}>{t('network.point.operator')}</label>
        <select id={opId} value={operator} onChange={(e) => setOperator(e.target.value)}>
          <option value="">{t('network.list.allOperators')}</option>
          {(ops.data ?? []).map((o) => (
            <option key={o.code} value={o.code}>
              {o.name} ({o.code})
            </option>
          ))}
        </select>
        <label htmlFor={activeId}>{t('network.point.active')}</label>
        <select id={activeId} value={active} onChange={(e) => setActive(e.target.value as '' | 'true' | 'false')}>
          <option value="">{t('network.list.allStates')}</option>
          <option value="true">{t('network.active')}</option>
          <option value="false">{t('network.inactive')}</option>
        </select>
      </div>
      <KeysetTable<Point>
        caption={t('network.list.caption')}
        queryKey={['cash-out-points', { commune: commune?.id, kind, operator, active }]}
        fetchPage={(cursor, signal) =>
          unwrap(
            api.GET('/api/v1/cash-out-points', {
              params: {
                query: {
                  limit: 50,
                  cursor,
                  ...(commune ? { areaId: commune.id } : {}),
                  ...(kind ? { kind } : {}),
                  ...(operator ? { operator } : {}),
                  ...(active ? { active } : {}),
                },
              },
              signal,
            }),
          )
        }
        rowKey={(p) => p.id}
        columns={[
          {
            header: t('network.point.name'),
            cell: (p) => (canEdit ? <Link href={`/points/${p.id}`}>{p.name}</Link> : p.name),
          },
          { header: t('network.point.kind'), cell: (p) => kindText(t, p.kind) },
          { header: t('network.point.operator'), cell: (p) => `${p.operator.name} (${p.operator.code})` },
          { header: t('network.point.pointCode'), cell: (p) => <code>{p.pointCode}</code> },
          { header: t('network.point.commune'), cell: (p) => `${p.area.name} (${p.area.code})` },
          { header: t('network.point.address'), cell: (p) => p.address },
          { header: t('network.point.openingHours'), cell: (p) => p.openingHours ?? '—' },
          { header: t('network.point.active'), cell: (p) => (p.active ? t('network.active') : t('network.inactive')) },
        ]}
      />
    </main>
  );
}

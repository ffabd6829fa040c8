import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { DateInput } from '../../ui/date-input';
import { Field } from '../../ui/field';
import { formatDate, formatTime } from '../../ui/format';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';
import { refusal } from '../approvals/refusal';
import { AreaSelect } from '../coverage/area-select';

type AuditEvent = Schemas['AuditEvent'];
type Verification = Schemas['AuditVerification'];

interface Filter {
  action: string;
  entityType: string;
  entityId: string;
  actorUserId: string;
  areaId: string;
  from: string;
  to: string;
}
const EMPTY: Filter = { action: '', entityType: '', entityId: '', actorUserId: '', areaId: '', from: '', to: '' };

/** The day after `yyyy-mm-dd`, so that a range "to" a day includes that whole day. */
function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The filter as GET /audit-events takes it; days are Vietnam days. */
function toQuery(f: Filter) {
  return {
    ...(f.action ? { action: f.action } : {}),
    ...(f.entityType ? { entityType: f.entityType } : {}),
    ...(f.entityId ? { entityId: f.entityId } : {}),
    ...(f.actorUserId ? { actorUserId: Number(f.actorUserId) } : {}),
    ...(f.areaId ? { areaId: Number(f.areaId) } : {}),
    ...(f.from ? { from: `${f.from}T00:00:00+07:00` } : {}),
    ...(f.to ? { to: `${nextDay(f.to)}T00:00:00+07:00` } : {}),
  };
}

function VerifyPanel() {
  const { t } = useI18n();
  const verify = useQuery({
    queryKey: ['audit', 'verify'],
    queryFn: () => unwrap(api.GET('/api/v1/audit-events/verify')),
    enabled: false,
    staleTime: 0,
  });
  const v: Verification | undefined = verify.data;
  return (
    <section aria-labelledby="verify-title">
      <h2 id="verify-title">{t('audit.verify.title')}</h2>
      <p>{t('audit.verify.intro')}</p>
      <div className="actions">
        <button type="button" className="primary" disabled={verify.isFetching} onClick={() => void verify.refetch()}>
          {verify.isFetching ? t('audit.verify.running') : t('audit.verify.run')}
        </button>
      </div>
      <div role="status" aria-live="polite">
        {verify.isError ? <p className="form-error">{refusal(t, 'audit', verify.error)}</p> : null}
        {v && !verify.isFetching ? (
          <div className={v.ok ? 'success' : 'form-error'}>
            <p>
              <strong>{v.ok ? t('audit.verify.ok', { checked: v.checked.toLocaleString('vi-VN') }) : t('audit.verify.broken')}</strong>
            </p>
            <dl className="facts">
              <dt>{t('audit.verify.checked')}</dt>
              <dd>{v.checked.toLocaleString('vi-VN')}</dd>
              <dt>{t('audit.verify.lastId')}</dt>
              <dd>{v.lastId ?? '—'}</dd>
              {v.firstBroken ? (
                <>
                  <dt>{t('audit.verify.firstBroken')}</dt>
                  <dd>{v.firstBroken.id ?? t('audit.verify.outsideScope')}</dd>
                  <dt>{t('audit.verify.code')}</dt>
                  <dd>
                    <code>{v.firstBroken.code}</code>: {t(`audit.broken.${v.firstBroken.code}` as 'audit.broken.LINK_BROKEN')}
                  </dd>
                  <dt>{t('audit.verify.reason')}</dt>
                  <dd>{v.firstBroken.reason}</dd>
                </>
              ) : null}
              <dt>{t('audit.verify.checkpoint')}</dt>
              <dd>
                {v.checkpoint
                  ? t('audit.verify.checkpointAt', {
                      lastId: v.checkpoint.lastId,
                      count: v.checkpoint.count.toLocaleString('vi-VN'),
                      date: formatDate(v.checkpoint.at),
                      time: formatTime(v.checkpoint.at),
                    })
                  : t('audit.verify.noCheckpoint')}
              </dd>
              {v.note ? (
                <>
                  <dt>{t('audit.verify.note')}</dt>
                  <dd>{v.note}</dd>
                </>
              ) : null}
            </dl>
          </div>
        ) : null}
      </div>
    </section>
  );
}

function FilterForm({ onApply }: { onApply: (f: Filter) => void }) {
  const { t } = useI18n();
  const [f, setF] = useState<Filter>(EMPTY);
  // null while the text typed in a day field is no day: the field says so, and the filter is not applied
  const [days, setDays] = useState<{ from: string | null; to: string | null }>({ from: '', to: '' });
  const set = (k: keyof Filter) => (e: { target: { value: string } }) => setF((x) => ({ ...x, [k]: e.target.value }));
  function submit(e: FormEvent) {
    e.preventDefault();
    if (days.from === null || days.to === null) return;
    onApply({ ...f, from: days.from, to: days.to });
  }
  return (
    <form onSubmit={submit} className="filters" aria-labelledby="filter-title">
      <h2 id="filter-title">{t('audit.filter.title')}</h2>
      <Field label={t('audit.filter.action')} name="action" value={f.action} onChange={set('action')} hint={t('audit.filter.actionHint')} />
      <Field label={t('audit.filter.entityType')} name="entityType" value={f.entityType} onChange={set('entityType')} />
      <Field label={t('audit.filter.entityId')} name="entityId" value={f.entityId} onChange={set('entityId')} />
      <Field
        label={t('audit.filter.user')}
        name="actorUserId"
        inputMode="numeric"
        value={f.actorUserId}
        onChange={(e) => setF((x) => ({ ...x, actorUserId: e.target.value.replace(/\D/g, '') }))}
      />
      <AreaSelect label={t('audit.filter.area')} value={f.areaId} onChange={(areaId) => setF((x) => ({ ...x, areaId }))} />
      <DateInput label={t('audit.filter.from')} name="from" value={days.from} onChange={(from) => setDays((d) => ({ ...d, from }))} />
      <DateInput label={t('audit.filter.to')} name="to" value={days.to} onChange={(to) => setDays((d) => ({ ...d, to }))} />
      <div className="actions">
        <button type="submit" className="primary">
          {t('audit.filter.apply')}
        </button>
        <button
          type="button"
          onClick={() => {
            setF(EMPTY);
            setDays({ from: '', to: '' });
            onApply(EMPTY);
          }}
        >
          {t('audit.filter.clear')}
        </button>
      </div>
    </form>
  );
}

/** /audit: the audit trail, filtered on the server and paged, and the verification of its hash chain. */
export default function AuditSection() {
  const { t } = useI18n();
  const [filter, setFilter] = useState<Filter>(EMPTY);
  const query = toQuery(filter);
  return (
    <main id="main" className="page">
      <PageTitle>{t('audit.title')}</PageTitle>
      <VerifyPanel />
      <FilterForm onApply={setFilter} />
      <section aria-labelledby="trail-title">
        <h2 id="trail-title">{t('audit.trail.title')}</h2>
        <KeysetTable<AuditEvent>
          caption={t('audit.trail.caption')}
          queryKey={['audit', 'events', query]}
          fetchPage={(cursor) => unwrap(api.GET('/api/v1/audit-events', { params: { query: { ...query, limit: 50, cursor } } }))}
          rowKey={(e) => e.id}
          columns={[
            { header: t('audit.col.id'), cell: (e) => e.id, numeric: true },
            { header: t('audit.col.when'), cell: (e) => `${formatDate(e.occurredAt)} ${formatTime(e.occurredAt)}` },
            {
              header: t('audit.col.user'),
              cell: (e) => (e.actorUserId === null ? e.actorUsername : `${e.actorUsername} (#${e.actorUserId})`),
            },
            { header: t('audit.col.action'), cell: (e) => <code>{e.action}</code> },
            { header: t('audit.col.entity'), cell: (e) => `${e.entityType}${e.entityId ? ` #${e.entityId}` : ''}` },
            { header: t('audit.col.area'), cell: (e) => e.areaId ?? '—' },
            { header: t('audit.col.source'), cell: (e) => e.source ?? '—' },
            { header: t('audit.col.hash'), cell: (e) => <code title={e.hash}>{e.hash.slice(0, 12)}…</code> },
          ]}
        />
      </section>
    </main>
  );
}

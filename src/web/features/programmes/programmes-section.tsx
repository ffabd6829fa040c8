import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, Route, Switch } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { errorMessage } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { Money } from '../../ui/money';
import { formatMonth } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';

type Programme = Schemas['Programme'];

/** The month before `period` (YYYY-MM), the last month a level is in force when the next one starts. */
function monthBefore(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

function ProgrammesPage() {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [typed, setTyped] = useState('');
  const searchId = useId();
  return (
    <main id="main" className="page">
      <PageTitle>{t('programmes.title')}</PageTitle>
      <form
        role="search"
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(typed.trim());
        }}
      >
        <label htmlFor={searchId}>{t('programmes.search')}</label>
        <input id={searchId} value={typed} maxLength={100} onChange={(e) => setTyped(e.target.value)} />
        <button type="submit">{t('programmes.searchSubmit')}</button>
      </form>
      <KeysetTable<Programme>
        caption={t('programmes.caption')}
        queryKey={['programmes', { q }]}
        fetchPage={(cursor) => unwrap(api.GET('/api/v1/programmes', { params: { query: { limit: 50, cursor, ...(q ? { q } : {}) } } }))}
        rowKey={(p) => p.id}
        columns={[
          { header: t('programmes.code'), cell: (p) => <Link href={`/${p.id}`}>{p.code}</Link> },
          { header: t('programmes.name'), cell: (p) => p.name },
          { header: t('programmes.frequency'), cell: (p) => t(`programmes.frequency.${p.frequency}`) },
          { header: t('programmes.active'), cell: (p) => (p.active ? t('programmes.yes') : t('programmes.no')) },
        ]}
      />
    </main>
  );
}

function ProgrammePage({ id }: { id: string }) {
  const { t } = useI18n();
  const programme = useQuery({
    queryKey: ['programmes', id],
    queryFn: () => unwrap(api.GET('/api/v1/programmes/{id}', { params: { path: { id: Number(id) } } })),
  });
  const p = programme.data;
  const levels = p ? [...p.baseLevels].reverse() : [];
  return (
    <main id="main" className="page">
      <p>
        <Link href="/">{t('programmes.back')}</Link>
      </p>
      <PageTitle>{p ? `${p.code} · ${p.name}` : t('programmes.title')}</PageTitle>
      {programme.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, programme.error)}
        </p>
      ) : null}
      {p ? (
        <>
          <p>
            {t(`programmes.frequency.${p.frequency}`)} · {p.active ? t('programmes.isActive') : t('programmes.isInactive')}
          </p>
          <h2>{t('programmes.levels')}</h2>
          <div className="table-wrap">
            <table>
              <caption>{t('programmes.levelsCaption')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('programmes.from')}</th>
                  <th scope="col">{t('programmes.until')}</th>
                  <th scope="col" className="num">
                    {t('programmes.amount')}
                  </th>
                  <th scope="col">{t('programmes.reason')}</th>
                </tr>
              </thead>
              <tbody>
                {levels.length === 0 ? (
                  <tr>
                    <td colSpan={4}>{t('programmes.noLevels')}</td>
                  </tr>
                ) : (
                  levels.map((l, i) => (
                    <tr key={l.effectiveFrom}>
                      <td>{formatMonth(l.effectiveFrom)}</td>
                      <td>{i === 0 ? t('programmes.inForce') : formatMonth(monthBefore(levels[i - 1]!.effectiveFrom))}</td>
                      <td className="num">
                        <Money amount={l.amount} />
                      </td>
                      <td>{l.reason ?? '—'}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </main>
  );
}

/** /programmes: the list, and one programme with its base levels, newest first. */
export default function ProgrammesSection() {
  return (
    <Switch>
      <Route path="/" component={ProgrammesPage} />
      <Route path="/:id">{(params) => <ProgrammePage id={params.id} />}</Route>
    </Switch>
  );
}

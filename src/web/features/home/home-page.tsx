import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { sectionsFor } from '../../app/sections';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { formatDate } from '../../ui/format';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { CoverageChart } from '../coverage/coverage-chart';
import './home.css';

type Dashboard = Schemas['Dashboard'];
type Figures = NonNullable<Dashboard['money']>;

/** `2026-12` as `12/2026`. */
const month = (period: string) => `${period.slice(5, 7)}/${period.slice(0, 4)}`;
const count = (n: number) => n.toLocaleString('vi-VN');

/** A figure, a link to the list behind it when the user has that list in the console. */
function Figure({ href, children }: { href: string | null; children: ReactNode }) {
  return href ? <Link href={href}>{children}</Link> : <>{children}</>;
}

function MonthFigures({ d, m }: { d: Dashboard; m: Figures }) {
  const { t } = useI18n();
  const me = useMe();
  const staff = me.roles.includes('staff');
  const batchesOf = (status?: string) => (staff ? `/batches?period=${d.month}${status ? `&status=${status}` : ''}` : null);
  const exceptionsOf = (from: string | null, to: string) =>
    staff ? `/reconciliation/exceptions?status=open${from ? `&from=${from}` : ''}&to=${to}` : null;
  const pct = (p: string | null) => (p === null ? '—' : t('home.percent', { value: p.replace('.', ',') }));
  const last = m.cashless[m.cashless.length - 1]!;
  const amounts: [string, Figures['paid'], string | null][] = [
    [t('home.amounts.approved'), m.approved, batchesOf()],
    [t('home.amounts.paid'), m.paid, batchesOf('completed')],
    [t('home.amounts.failed'), m.failed, batchesOf('completed_with_failures')],
    [t('home.amounts.returned'), m.returned, batchesOf('completed_with_failures')],
  ];
  return (
    <div className="home-figures">
      <section aria-labelledby="home-batches" className="home-card">
        <h2 id="home-batches">{t('home.batches.title')}</h2>
        {m.batches.length === 0 ? (
          <p>{t('home.batches.none')}</p>
        ) : (
          <table>
            <caption>{t('home.batches.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('home.batches.status')}</th>
                <th scope="col" className="num">
                  {t('home.batches.count')}
                </th>
                <th scope="col" className="num">
                  {t('home.batches.items')}
                </th>
                <th scope="col" className="num">
                  {t('home.batches.amount')}
                </th>
              </tr>
            </thead>
            <tbody>
              {m.batches.map((b) => (
                <tr key={b.status} data-status={b.status}>
                  <th scope="row">
                    <Figure href={batchesOf(b.status) ?? (b.status === 'submitted' && me.roles.includes('approver') ? '/approvals' : null)}>
                      {t(`batches.status.${b.status}`)}
                    </Figure>
                  </th>
                  <td className="num">{count(b.count)}</td>
                  <td className="num">{count(b.itemCount)}</td>
                  <td className="num">
                    <Money amount={b.amount} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="home-amounts" className="home-card">
        <h2 id="home-amounts">{t('home.amounts.title')}</h2>
        <dl className="home-amounts">
          {amounts.map(([label, f, href]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>
                <Figure href={href}>
                  <Money amount={f.amount} />
                </Figure>
                <span className="muted"> · {t('home.amounts.payments', { count: count(f.count) })}</span>
              </dd>
            </div>
          ))}
        </dl>
      </section>

      <section aria-labelledby="home-progress" className="home-card">
        <h2 id="home-progress">{t('home.progress.title')}</h2>
        {m.inProgress.batches === 0 ? (
          <p>{t('home.progress.none')}</p>
        ) : (
          <>
            <p>
              <Figure href={batchesOf('processing')}>
                {t('home.progress.summary', {
                  batches: count(m.inProgress.batches),
                  settled: count(m.inProgress.settled),
                  payments: count(m.inProgress.payments),
                  percent: pct(m.inProgress.percentSettled),
                })}
              </Figure>
            </p>
            <progress
              max={100}
              value={Number(m.inProgress.percentSettled ?? 0)}
              aria-label={t('home.progress.bar')}
              className="home-progress"
            />
            <p>
              {t('home.progress.open')}: {count(m.inProgress.open.count)} · <Money amount={m.inProgress.open.amount} />
            </p>
          </>
        )}
      </section>

      <section aria-labelledby="home-exceptions" className="home-card">
        <h2 id="home-exceptions">{t('home.exceptions.title')}</h2>
        <dl className="home-amounts">
          <div>
            <dt>{t('home.exceptions.total')}</dt>
            <dd>
              <Figure href={staff ? '/reconciliation/exceptions?status=open' : null}>{count(m.exceptions.open)}</Figure>
            </dd>
          </div>
          {m.exceptions.byAge.map((a) => (
            <div key={a.bucket}>
              <dt>{t(`home.exceptions.age.${a.bucket}`)}</dt>
              <dd>
                <Figure href={exceptionsOf(a.from, a.to)}>{count(a.count)}</Figure>
              </dd>
            </div>
          ))}
        </dl>
      </section>

      <section aria-labelledby="home-cashless" className="home-card home-wide">
        <h2 id="home-cashless">{t('home.cashless.title')}</h2>
        <p>
          {last.percent === null
            ? t('home.cashless.noneYet', { month: month(last.period) })
            : t('home.cashless.current', { month: month(last.period), percent: pct(last.percent) })}
        </p>
        <CoverageChart
          title={t('home.cashless.chartTitle', { from: month(m.cashless[0]!.period), to: month(last.period) })}
          description={t('home.cashless.chartDesc')}
          points={m.cashless.map((c) => ({ period: c.period, percent: c.percent }))}
        />
        <table>
          <caption>{t('home.cashless.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('home.cashless.month')}</th>
              <th scope="col" className="num">
                {t('home.cashless.paid')}
              </th>
              <th scope="col" className="num">
                {t('home.cashless.withoutCash')}
              </th>
              <th scope="col" className="num">
                {t('home.cashless.share')}
              </th>
            </tr>
          </thead>
          <tbody>
            {m.cashless.map((c) => (
              <tr key={c.period}>
                <th scope="row">{month(c.period)}</th>
                <td className="num">{count(c.paid)}</td>
                <td className="num">{count(c.paidWithoutCash)}</td>
                <td className="num">{pct(c.percent)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {me.roles.includes('auditor') ? (
          <p>
            <Link href="/coverage">{t('home.cashless.report')}</Link>
          </p>
        ) : null}
      </section>
    </div>
  );
}

export function HomePage() {
  const { t } = useI18n();
  const me = useMe();
  const dashboard = useQuery({
    queryKey: ['dashboard'],
    queryFn: () => unwrap(api.GET('/api/v1/dashboard', {})),
    refetchInterval: 60_000,
  });
  const d = dashboard.data;
  return (
    <main id="main" className="page wide">
      <PageTitle>{t('home.title')}</PageTitle>
      <p className="welcome">{t('home.welcome', { name: me.displayName })}</p>
      {dashboard.isError ? <p role="alert">{t('home.failed')}</p> : null}
      {!d ? (
        dashboard.isPending ? (
          <p role="status">{t('home.loading')}</p>
        ) : null
      ) : d.money === null ? (
        <p>{t('home.adminOnly')}</p>
      ) : (
        <section aria-labelledby="home-month" className="home-month">
          <h2 id="home-month">{t('home.month.title', { month: month(d.month) })}</h2>
          <p className="muted">
            {t('home.month.intro')} ({formatDate(d.today)})
          </p>
          <MonthFigures d={d} m={d.money} />
        </section>
      )}
      <section aria-labelledby="home-sections">
        <h2 id="home-sections">{t('home.sections')}</h2>
        <ul className="cards">
          {sectionsFor(me.roles).map((s) => (
            <li key={s.path}>
              <Link href={s.path}>{t(s.label)}</Link>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

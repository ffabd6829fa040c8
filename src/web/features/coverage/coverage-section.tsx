import { useQueries, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field } from '../../ui/field';
import { Money } from '../../ui/money';
import { formatMonth } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';
import { refusal } from '../approvals/refusal';
import { AreaSelect } from './area-select';
import { CoverageChart } from './coverage-chart';

type Coverage = Schemas['CashlessCoverage'];
type Figures = Coverage['total'];

/** The month before this one in Vietnam: the latest month usually paid in full. */
function lastMonth(): string {
  const now = new Date(Date.now() + 7 * 3600_000);
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return d.toISOString().slice(0, 7);
}

/** The 12 months ending with `period` (YYYY-MM), oldest first. */
export function twelveMonths(period: string): string[] {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(y, m - 1 - (11 - i), 1)).toISOString().slice(0, 7));
}

const fetchCoverage = (period: string, areaId: string) =>
  unwrap(api.GET('/api/v1/coverage', { params: { query: { period, ...(areaId ? { areaId: Number(areaId) } : {}) } } }));

function FiguresRow({ label, f, header }: { label: string; f: Figures; header?: boolean }) {
  const { t } = useI18n();
  return (
    <tr>
      <th scope="row">{header ? <strong>{label}</strong> : label}</th>
      <td className="num">{f.paid.toLocaleString('vi-VN')}</td>
      <td className="num">{f.paidWithoutCash.toLocaleString('vi-VN')}</td>
      <td className="num">{f.paidInCash.toLocaleString('vi-VN')}</td>
      <td className="num">
        {f.cashlessShare.percent === null ? '—' : t('coverage.percent', { value: f.cashlessShare.percent.replace('.', ',') })}
      </td>
      <td className="num">
        <Money amount={f.amountPaid} />
      </td>
      <td className="num">
        <Money amount={f.amountPaidWithoutCash} />
      </td>
    </tr>
  );
}

function Report({ period, areaId }: { period: string; areaId: string }) {
  const { t } = useI18n();
  const report = useQuery({ queryKey: ['coverage', period, areaId], queryFn: () => fetchCoverage(period, areaId) });
  const months = twelveMonths(period);
  const series = useQueries({
    queries: months.map((p) => ({ queryKey: ['coverage', p, areaId], queryFn: () => fetchCoverage(p, areaId) })),
  });
  const r = report.data;
  const points = months.map((p, i) => ({ period: p, percent: series[i]?.data?.total.cashlessShare.percent ?? null }));
  const seriesReady = series.every((s) => s.isSuccess);
  const cols = ['area', 'paid', 'cashless', 'cash', 'share', 'amount', 'amountCashless'] as const;
  return (
    <>
      {report.isError ? (
        <p role="alert" className="form-error">
          {refusal(t, 'coverage', report.error)}
        </p>
      ) : null}
      {r ? (
        <section aria-labelledby="coverage-month-title">
          <h2 id="coverage-month-title">
            {t('coverage.month.title', { period: formatMonth(r.period), area: r.area?.name ?? t('coverage.area.scope') })}
          </h2>
          <p className="field__hint">{t('coverage.definition')}</p>
          <div className="table-wrap">
            <table>
              <caption>{t('coverage.table.caption', { period: formatMonth(r.period) })}</caption>
              <thead>
                <tr>
                  {cols.map((c) => (
                    <th key={c} scope="col" className={c === 'area' ? undefined : 'num'}>
                      {t(`coverage.col.${c}`)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <FiguresRow label={t('coverage.total')} f={r.total} header />
                {r.areas.map((a) => (
                  <FiguresRow key={`${a.area.id}:${a.own}`} label={a.own ? t('coverage.own', { name: a.area.name }) : a.area.name} f={a} />
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
      <section aria-labelledby="coverage-trend-title">
        <h2 id="coverage-trend-title">{t('coverage.trend.title')}</h2>
        {seriesReady ? (
          <>
            <CoverageChart
              title={t('coverage.trend.chartTitle', { from: formatMonth(months[0]!), to: formatMonth(months[11]!) })}
              description={points.map((p) => `${formatMonth(p.period)}: ${p.percent === null ? '—' : `${p.percent}%`}`).join('; ')}
              points={points}
            />
            <div className="table-wrap">
              <table>
                <caption>{t('coverage.trend.caption')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('coverage.col.month')}</th>
                    <th scope="col" className="num">
                      {t('coverage.col.paid')}
                    </th>
                    <th scope="col" className="num">
                      {t('coverage.col.share')}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {months.map((p, i) => {
                    const f = series[i]!.data!.total;
                    return (
                      <tr key={p}>
                        <th scope="row">{formatMonth(p)}</th>
                        <td className="num">{f.paid.toLocaleString('vi-VN')}</td>
                        <td className="num">
                          {f.cashlessShare.percent === null
                            ? '—'
                            : t('coverage.percent', { value: f.cashlessShare.percent.replace('.', ',') })}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </>
        ) : (
          <p role="status">
            {series.some((s) => s.isError) ? refusal(t, 'coverage', series.find((s) => s.isError)!.error) : t('app.loading')}
          </p>
        )}
      </section>
    </>
  );
}

/** /coverage: how many people were paid without cash, per area, for a month and the 12 months to it. */
export default function CoverageSection() {
  const { t } = useI18n();
  const [period, setPeriod] = useState(lastMonth);
  const [areaId, setAreaId] = useState('');
  const [applied, setApplied] = useState({ period: lastMonth(), areaId: '' });
  const [error, setError] = useState<string | undefined>();
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) {
      setError(t('coverage.form.monthRequired'));
      return;
    }
    setError(undefined);
    setApplied({ period, areaId });
  }
  return (
    <main id="main" className="page">
      <PageTitle>{t('coverage.title')}</PageTitle>
      <p>{t('coverage.intro')}</p>
      <form onSubmit={submit} noValidate aria-labelledby="coverage-form-title">
        <h2 id="coverage-form-title">{t('coverage.form.title')}</h2>
        <Field
          label={t('coverage.form.period')}
          name="period"
          type="month"
          value={period}
          onChange={(e) => setPeriod(e.target.value)}
          error={error}
        />
        <AreaSelect label={t('coverage.form.area')} value={areaId} onChange={setAreaId} />
        <div className="actions">
          <button type="submit" className="primary">
            {t('coverage.form.show')}
          </button>
        </div>
      </form>
      <Report period={applied.period} areaId={applied.areaId} />
    </main>
  );
}

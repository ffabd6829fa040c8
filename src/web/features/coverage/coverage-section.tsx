import { useQueries } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { MonthInput } from '../../ui/date-input';
import { Money } from '../../ui/money';
import { addMonths, formatMonth, monthsBetween } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';
import { refusal } from '../approvals/refusal';
import { AreaSelect } from './area-select';
import { cashRecipientsCsv, fetchCashRecipients } from './cash-list';
import { CoverageChart } from './coverage-chart';

type Coverage = Schemas['CashlessCoverage'];
type Figures = Coverage['total'];

/** The longest range shown: one request per month. */
const MAX_MONTHS = 24;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The month before this one in Vietnam: the latest month usually paid in full. */
function lastMonth(): string {
  const now = new Date(Date.now() + 7 * 3600_000);
  return addMonths(now.toISOString().slice(0, 7), -1);
}

const fetchCoverage = (period: string, areaId: string) =>
  unwrap(api.GET('/api/v1/coverage', { params: { query: { period, ...(areaId ? { areaId: Number(areaId) } : {}) } } }));

function Share({ f }: { f: Figures }) {
  const { t } = useI18n();
  return <>{f.cashlessShare.percent === null ? '—' : t('coverage.percent', { value: f.cashlessShare.percent.replace('.', ',') })}</>;
}

function FiguresCells({ f }: { f: Figures }) {
  return (
    <>
      <td className="num">{f.paid.toLocaleString('vi-VN')}</td>
      <td className="num">{f.paidWithoutCash.toLocaleString('vi-VN')}</td>
      <td className="num">{f.paidInCash.toLocaleString('vi-VN')}</td>
      <td className="num">
        <Share f={f} />
      </td>
      <td className="num">
        <Money amount={f.amountPaid} />
      </td>
      <td className="num">
        <Money amount={f.amountPaidWithoutCash} />
      </td>
    </>
  );
}

const FIGURE_COLS = ['paid', 'cashless', 'cash', 'share', 'amount', 'amountCashless'] as const;

function FigureHeaders() {
  const { t } = useI18n();
  return (
    <>
      {FIGURE_COLS.map((c) => (
        <th key={c} scope="col" className="num">
          {t(`coverage.col.${c}`)}
        </th>
      ))}
    </>
  );
}

/** The people paid in cash in one month, fetched page by page and saved as a CSV file; its progress said in `onStatus`. */
function useCashListDownload(areaId: string) {
  const { t } = useI18n();
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  async function download(period: string, area: Coverage['area']) {
    const month = formatMonth(period);
    setBusy(period);
    setStatus({ text: t('coverage.cash.loading', { month, count: 0 }), error: false });
    try {
      const people = await fetchCashRecipients(
        (cursor) =>
          unwrap(
            api.GET('/api/v1/coverage/cash-recipients', {
              params: { query: { period, limit: 200, ...(cursor ? { cursor } : {}), ...(areaId ? { areaId: Number(areaId) } : {}) } },
            }),
          ),
        (count) => setStatus({ text: t('coverage.cash.loading', { month, count: count.toLocaleString('vi-VN') }), error: false }),
      );
      if (people === null) {
        setStatus({ text: t('coverage.cash.tooMany', { month }), error: true });
        return;
      }
      const url = URL.createObjectURL(new Blob([cashRecipientsCsv(t, people)], { type: 'text/csv;charset=utf-8' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `nguoi-nhan-tien-mat-${period}${area ? `-${area.code}` : ''}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      // the click has handed the file to the browser: the object URL can go
      setTimeout(() => URL.revokeObjectURL(url), 0);
      setStatus({ text: t('coverage.cash.done', { month, count: people.length.toLocaleString('vi-VN') }), error: false });
    } catch (e) {
      setStatus({ text: refusal(t, 'coverage', e), error: true });
    } finally {
      setBusy(null);
    }
  }
  return { status, busy, download };
}

function Report({ from, to, areaId }: { from: string; to: string; areaId: string }) {
  const { t } = useI18n();
  const months = monthsBetween(from, to);
  const series = useQueries({
    queries: months.map((p) => ({ queryKey: ['coverage', p, areaId], queryFn: () => fetchCoverage(p, areaId) })),
  });
  const cash = useCashListDownload(areaId);
  const r = series.at(-1)?.data;
  const failed = series.find((s) => s.isError);
  const seriesReady = series.every((s) => s.isSuccess);
  const points = months.map((p, i) => ({ period: p, percent: series[i]?.data?.total.cashlessShare.percent ?? null }));
  const range = { from: formatMonth(from), to: formatMonth(to) };
  return (
    <>
      {failed ? (
        <p role="alert" className="form-error">
          {refusal(t, 'coverage', failed.error)}
        </p>
      ) : null}
      <section aria-labelledby="coverage-trend-title">
        <h2 id="coverage-trend-title">{t('coverage.trend.title', range)}</h2>
        <p className="field__hint">{t('coverage.definition')}</p>
        {seriesReady ? (
          <>
            <CoverageChart
              title={t('coverage.trend.chartTitle', range)}
              description={points.map((p) => `${formatMonth(p.period)}: ${p.percent === null ? '—' : `${p.percent}%`}`).join('; ')}
              points={points}
            />
            <div className="table-wrap">
              <table>
                <caption>{t('coverage.trend.caption', { ...range, area: r?.area?.name ?? t('coverage.area.scope') })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('coverage.col.month')}</th>
                    <FigureHeaders />
                    <th scope="col">{t('coverage.col.cashList')}</th>
                  </tr>
                </thead>
                <tbody>
                  {months.map((p, i) => {
                    const c = series[i]!.data!;
                    return (
                      <tr key={p}>
                        <th scope="row">{formatMonth(p)}</th>
                        <FiguresCells f={c.total} />
                        <td>
                          {c.total.paidInCash > 0 ? (
                            <button
                              type="button"
                              disabled={cash.busy !== null}
                              aria-label={t('coverage.cash.downloadFor', { month: formatMonth(p) })}
                              onClick={() => void cash.download(p, c.area)}
                            >
                              {t('coverage.cash.download')}
                            </button>
                          ) : (
                            '—'
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <p role="status" className={cash.status?.error ? 'form-error' : undefined} data-testid="cash-list-status">
              {cash.status?.text}
            </p>
          </>
        ) : (
          <p role="status">{failed ? null : t('app.loading')}</p>
        )}
      </section>
      {r ? (
        <section aria-labelledby="coverage-month-title">
          <h2 id="coverage-month-title">
            {t('coverage.month.title', { period: formatMonth(r.period), area: r.area?.name ?? t('coverage.area.scope') })}
          </h2>
          <div className="table-wrap">
            <table>
              <caption>{t('coverage.table.caption', { period: formatMonth(r.period) })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('coverage.col.area')}</th>
                  <FigureHeaders />
                </tr>
              </thead>
              <tbody>
                <tr>
                  <th scope="row">
                    <strong>{t('coverage.total')}</strong>
                  </th>
                  <FiguresCells f={r.total} />
                </tr>
                {r.areas.map((a) => (
                  <tr key={`${a.area.id}:${a.own}`}>
                    <th scope="row">{a.own ? t('coverage.own', { name: a.area.name }) : a.area.name}</th>
                    <FiguresCells f={a} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </>
  );
}

/** /coverage: how many people were paid without cash, month by month over a range and per area for its last month. */
export default function CoverageSection() {
  const { t } = useI18n();
  const initial = { from: addMonths(lastMonth(), -11), to: lastMonth(), areaId: '' };
  // null while the text typed is no month (the field says so)
  const [from, setFrom] = useState<string | null>(initial.from);
  const [to, setTo] = useState<string | null>(initial.to);
  const [areaId, setAreaId] = useState('');
  const [applied, setApplied] = useState(initial);
  const [errors, setErrors] = useState<{ from?: string; to?: string }>({});
  function submit(e: FormEvent) {
    e.preventDefault();
    const next: { from?: string; to?: string } = {};
    if (from === null || !MONTH.test(from)) next.from = t('coverage.form.monthRequired');
    if (to === null || !MONTH.test(to)) next.to = t('coverage.form.monthRequired');
    else if (from && !next.from && from > to) next.to = t('coverage.form.reversed');
    else if (from && !next.from && monthsBetween(from, to).length > MAX_MONTHS) next.to = t('coverage.form.tooLong', { max: MAX_MONTHS });
    setErrors(next);
    if (next.from || next.to || !from || !to) return;
    setApplied({ from, to, areaId });
  }
  return (
    <main id="main" className="page">
      <PageTitle>{t('coverage.title')}</PageTitle>
      <p>{t('coverage.intro')}</p>
      <p>
        <Link href="~/network/access">{t('network.access.link')}</Link>
      </p>
      <form onSubmit={submit} noValidate aria-labelledby="coverage-form-title">
        <h2 id="coverage-form-title">{t('coverage.form.title')}</h2>
        <MonthInput label={t('coverage.form.from')} name="from" value={from} onChange={setFrom} error={errors.from} />
        <MonthInput label={t('coverage.form.to')} name="to" value={to} onChange={setTo} error={errors.to} />
        <AreaSelect label={t('coverage.form.area')} value={areaId} onChange={setAreaId} />
        <div className="actions">
          <button type="submit" className="primary">
            {t('coverage.form.show')}
          </button>
        </div>
      </form>
      <Report from={applied.from} to={applied.to} areaId={applied.areaId} />
    </main>
  );
}

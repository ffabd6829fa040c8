import { useQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { MonthInput } from '../../ui/date-input';
import { addMonths, formatMonth } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';
import { refusal } from '../approvals/refusal';
import { AreaSelect } from '../coverage/area-select';
import { KINDS, kindText } from './parts';

type Report = Schemas['NetworkAccess'];
type Commune = Report['communes'][number];

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
/** Communes drawn in the chart: the first of the report's order, where the gaps are. */
const CHART_COMMUNES = 15;

function lastMonth(): string {
  const now = new Date(Date.now() + 7 * 3600_000);
  return addMonths(now.toISOString().slice(0, 7), -1);
}

/**
 * A bar per commune: the people paid without cash, the part of them without a point of their own operator in dark.
 * Drawn as SVG here (no library); the table below holds the same figures.
 */
function AccessChart({ title, communes }: { title: string; communes: Commune[] }) {
  const { t } = useI18n();
  const id = useId();
  const rows = communes.slice(0, CHART_COMMUNES);
  const max = Math.max(1, ...rows.map((c) => c.paidByBank + c.paidByWallet));
  const W = 640;
  const LABEL = 200;
  const ROW = 26;
  const H = rows.length * ROW + 10;
  const x = (n: number) => ((W - LABEL - 60) * n) / max;
  const description = rows
    .map((c) => t('network.access.chartRow', { name: c.area.name, paid: c.paidByBank + c.paidByWallet, without: c.withoutPoint }))
    .join('; ');
  return (
    <svg className="coverage-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`} width="100%">
      <title id={`${id}-t`}>{title}</title>
      <desc id={`${id}-d`}>{description}</desc>
      {rows.map((c, i) => {
        const paid = c.paidByBank + c.paidByWallet;
        const y = i * ROW + 5;
        return (
          <g key={c.area.id}>
            <text x={LABEL - 6} y={y + 15} textAnchor="end" fontSize={11} fill="#2b2f36">
              {c.area.name.length > 30 ? `${c.area.name.slice(0, 29)}…` : c.area.name}
            </text>
            <rect x={LABEL} y={y} width={x(paid)} height={ROW - 8} fill="#9dbbe0" />
            <rect x={LABEL} y={y} width={x(c.withoutPoint)} height={ROW - 8} fill="#a33a1f" />
            <text x={LABEL + x(paid) + 6} y={y + 14} fontSize={11} fill="#2b2f36">
              {c.withoutPoint}/{paid}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function ReportView({ period, areaId }: { period: string; areaId: string }) {
  const { t } = useI18n();
  const report = useQuery({
    queryKey: ['network-access', period, areaId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/network-access', { params: { query: { period, ...(areaId ? { areaId: Number(areaId) } : {}) } } })),
  });
  if (report.error) {
    return (
      <p role="alert" className="form-error">
        {refusal(t, 'network', report.error)}
      </p>
    );
  }
  const r = report.data;
  if (!r) return <p role="status">{t('app.loading')}</p>;
  const month = formatMonth(r.period);
  const area = r.area?.name ?? t('coverage.area.scope');
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">{t('network.access.month', { month, area })}</h2>
      <p className="field__hint">{t('network.access.definition')}</p>
      <p>
        {t('network.access.summary', {
          paid: (r.total.paidByBank + r.total.paidByWallet).toLocaleString('vi-VN'),
          without: r.total.withoutPoint.toLocaleString('vi-VN'),
          points: r.total.points.toLocaleString('vi-VN'),
        })}
      </p>
      {r.communes.length ? <AccessChart title={t('network.access.chartTitle', { month, area })} communes={r.communes} /> : null}
      <div className="table-wrap">
        <table>
          <caption>{t('network.access.caption', { month, area })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('network.access.col.commune')}</th>
              <th scope="col" className="num">
                {t('network.access.col.bank')}
              </th>
              <th scope="col" className="num">
                {t('network.access.col.wallet')}
              </th>
              <th scope="col" className="num">
                {t('network.access.col.without')}
              </th>
              <th scope="col">{t('network.access.col.gaps')}</th>
              <th scope="col" className="num">
                {t('network.access.col.points')}
              </th>
              <th scope="col">{t('network.access.col.byKind')}</th>
            </tr>
          </thead>
          <tbody>
            {r.communes.length === 0 ? (
              <tr>
                <td colSpan={7}>{t('table.empty')}</td>
              </tr>
            ) : (
              r.communes.map((c) => (
                <tr key={c.area.id}>
                  <th scope="row">
                    {c.area.name} ({c.area.code})
                  </th>
                  <td className="num">{c.paidByBank.toLocaleString('vi-VN')}</td>
                  <td className="num">{c.paidByWallet.toLocaleString('vi-VN')}</td>
                  <td className="num">{c.withoutPoint.toLocaleString('vi-VN')}</td>
                  <td>{c.gaps.length ? c.gaps.map((g) => t('network.access.gap', { name: g.name, people: g.people })).join('; ') : '—'}</td>
                  <td className="num">{c.points.toLocaleString('vi-VN')}</td>
                  <td>
                    {KINDS.filter((k) => c.pointsByKind[k] > 0)
                      .map((k) => `${kindText(t, k)}: ${c.pointsByKind[k]}`)
                      .join('; ') || '—'}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** /network/access: where cashless payment has outrun the withdrawal network, commune by commune, beside the coverage report. */
export function AccessPage() {
  const { t } = useI18n();
  const [period, setPeriod] = useState<string | null>(lastMonth());
  const [areaId, setAreaId] = useState('');
  const [applied, setApplied] = useState({ period: lastMonth(), areaId: '' });
  const [error, setError] = useState<string | undefined>();
  function submit(e: FormEvent) {
    e.preventDefault();
    if (period === null || !MONTH.test(period)) {
      setError(t('coverage.form.monthRequired'));
      return;
    }
    setError(undefined);
    setApplied({ period, areaId });
  }
  return (
    <main id="main" className="page">
      <p>
        <Link href="/">{t('network.back')}</Link> · <Link href="~/coverage">{t('network.access.coverageLink')}</Link>
      </p>
      <PageTitle>{t('network.access.title')}</PageTitle>
      <p>{t('network.access.intro')}</p>
      <form onSubmit={submit} noValidate aria-labelledby="access-form-title">
        <h2 id="access-form-title">{t('network.access.form')}</h2>
        <MonthInput label={t('network.access.period')} name="period" value={period} onChange={setPeriod} error={error} />
        <AreaSelect label={t('coverage.form.area')} value={areaId} onChange={setAreaId} />
        <div className="actions">
          <button type="submit" className="primary">
            {t('coverage.form.show')}
          </button>
        </div>
      </form>
      <ReportView period={applied.period} areaId={applied.areaId} />
    </main>
  );
}

import { useId } from 'react';

export interface ChartPoint {
  period: string;
  /** The share in percent, as the API writes it ("87.50"), or null when nobody was paid. */
  percent: string | null;
}

const W = 640;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 36 };

/**
 * Bars of the cashless share per month, 0-100 %, drawn here as SVG (no library). The figures are also in the table
 * beside it; the chart itself is one image with a title and description for screen readers.
 */
export function CoverageChart({ title, description, points }: { title: string; description: string; points: ChartPoint[] }) {
  const id = useId();
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(points.length, 1);
  const y = (pct: number) => PAD.top + plotH - (pct / 100) * plotH;
  return (
    <svg className="coverage-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`} width="100%">
      <title id={`${id}-t`}>{title}</title>
      <desc id={`${id}-d`}>{description}</desc>
      {[0, 25, 50, 75, 100].map((g) => (
        <g key={g}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(g)} y2={y(g)} stroke="#c8ccd2" strokeWidth={1} />
          <text x={PAD.left - 6} y={y(g) + 4} textAnchor="end" fontSize={11} fill="#2b2f36">
            {g}%
          </text>
        </g>
      ))}
      {points.map((p, i) => {
        const pct = p.percent === null ? null : Number(p.percent);
        const x = PAD.left + i * step + step * 0.15;
        const w = step * 0.7;
        return (
          <g key={p.period}>
            {pct === null ? null : <rect x={x} y={y(pct)} width={w} height={y(0) - y(pct)} fill="#1f5fa8" />}
            <text x={x + w / 2} y={H - PAD.bottom + 16} textAnchor="middle" fontSize={10} fill="#2b2f36">
              {p.period.slice(5)}/{p.period.slice(2, 4)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

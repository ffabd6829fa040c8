import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../../../config';
import { redisKey } from '../../platform/redis';
import { addMonths, formatPeriod, parsePeriod, type Period } from '../../platform/period';
import { hasRole, type Principal } from '../../platform/security/principal';
import { areaPathScopeSql } from '../../platform/security/scope';
import { APPROVED_OR_LATER, BATCH_STATUSES, type BatchStatus } from '../batches/batch-states';
import { sharePercent } from '../exports';
import { coversWholeTree } from '../reconciliation';
import type { Dashboard } from './dashboard.schemas';

const DAY_MS = 86_400_000;
const RELEASED: readonly BatchStatus[] = ['processing', 'completed', 'completed_with_failures'];
const FINAL = ['succeeded', 'failed', 'returned'];
const OPEN = ['pending', 'sending', 'unknown', 'sent', 'review'];

/** YYYY-MM-DD in Asia/Ho_Chi_Minh (UTC+7, no daylight saving), `days` before the day holding `now`. */
function vnDate(now: Date, days = 0): string {
  return new Date(now.getTime() + 7 * 3_600_000 - days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The home page's figures for a month in the caller's scope, from a handful of grouped queries. Batch counts and the
 * approved amount come from the batches' own totals; paid, failed, returned and the progress of running batches read
 * the payments of the month's released batches (their primary key range); the cashless share follows GET /coverage.
 */
export class DashboardService {
  constructor(
    private readonly ds: DataSource,
    private readonly redis: Redis,
    private readonly cfg: Config,
  ) {}

  /**
   * The figures as computed at most DASHBOARD_CACHE_SECONDS ago for the same scope and month: they depend only on the
   * caller's area path and on whether they may see money, never on who asks.
   */
  async summary(p: Principal, month: string | undefined, now = new Date()): Promise<Dashboard> {
    const today = vnDate(now);
    const period = month !== undefined ? parsePeriod(month)! : parsePeriod(today.slice(0, 7))!;
    const out: Dashboard = { month: formatPeriod(period), today, money: null };
    if (!hasRole(p, 'staff', 'approver', 'auditor')) return out;
    const ttl = this.cfg.dashboardCacheSeconds;
    if (ttl === 0) return this.compute(p, period, out, now);
    const key = redisKey(this.cfg, 'dashboard', p.areaPath ?? '/', formatPeriod(period), today);
    const kept = await this.redis.get(key);
    if (kept) return JSON.parse(kept) as Dashboard;
    const fresh = await this.compute(p, period, out, now);
    await this.redis.set(key, JSON.stringify(fresh), 'EX', ttl);
    return fresh;
  }

  private async compute(p: Principal, period: Period, out: Dashboard, now: Date): Promise<Dashboard> {
    const today = out.today;

    const scope = areaPathScopeSql(p, 'b.area_path');
    const monthBatches = `b.period_from <= ? AND b.period_to >= ? AND ${scope.sql}`;
    const monthParams = [period, period, ...scope.params];

    const batchRows = (await this.ds.query(
      `SELECT b.status, COUNT(*) AS n, COALESCE(SUM(b.item_count), 0) AS items, COALESCE(SUM(b.total_amount), 0) AS amount
       FROM batches b WHERE ${monthBatches} GROUP BY b.status`,
      monthParams,
    )) as { status: BatchStatus; n: string; items: string; amount: string }[];
    const batches = BATCH_STATUSES.flatMap((s) => {
      const r = batchRows.find((x) => x.status === s);
      return r ? [{ status: s, count: Number(r.n), itemCount: Number(r.items), amount: Number(r.amount) }] : [];
    });
    const approved = batches
      .filter((b) => APPROVED_OR_LATER.includes(b.status))
      .reduce((s, b) => ({ count: s.count + b.itemCount, amount: s.amount + b.amount }), { count: 0, amount: 0 });

    const paymentRows = (await this.ds.query(
      `SELECT b.status = 'processing' AS running, p.status, COUNT(*) AS n, COALESCE(SUM(p.amount), 0) AS amount
       FROM batches b STRAIGHT_JOIN payments p ON p.batch_id = b.id
       WHERE ${monthBatches} AND b.status IN (${RELEASED.map(() => '?').join(',')}) AND p.review = 'included'
       GROUP BY running, p.status`,
      [...monthParams, ...RELEASED],
    )) as { running: string | number; status: string; n: string; amount: string }[];
    const of = (status: string, running?: boolean) =>
      paymentRows
        .filter((r) => r.status === status && (running === undefined || Number(r.running) === 1) === (running ?? true))
        .reduce((s, r) => ({ count: s.count + Number(r.n), amount: s.amount + Number(r.amount) }), { count: 0, amount: 0 });
    const sumOf = (statuses: string[], running: boolean) =>
      statuses
        .map((s) => of(s, running))
        .reduce((a, b) => ({ count: a.count + b.count, amount: a.amount + b.amount }), { count: 0, amount: 0 });
    const open = sumOf(OPEN, true);
    const settled = sumOf(FINAL, true).count;
    const runningPayments = paymentRows.filter((r) => Number(r.running) === 1).reduce((s, r) => s + Number(r.n), 0);

    const ex = coversWholeTree(p) ? { sql: '1=1', params: [] as string[] } : areaPathScopeSql(p, 'e.area_path');
    const d7 = vnDate(now, 7);
    const d30 = vnDate(now, 30);
    const [exRow] = (await this.ds.query(
      `SELECT COUNT(*) AS n, COALESCE(SUM(e.business_date >= ?), 0) AS a7, COALESCE(SUM(e.business_date < ? AND e.business_date >= ?), 0) AS a30
       FROM recon_exceptions e WHERE e.status = 'open' AND ${ex.sql}`,
      [d7, d7, d30, ...ex.params],
    )) as { n: string; a7: string; a30: string }[];
    const exOpen = Number(exRow?.n ?? 0);
    const a7 = Number(exRow?.a7 ?? 0);
    const a30 = Number(exRow?.a30 ?? 0);

    out.money = {
      batches,
      approved,
      paid: of('succeeded'),
      failed: of('failed'),
      returned: of('returned'),
      inProgress: {
        batches: batches.find((b) => b.status === 'processing')?.count ?? 0,
        payments: runningPayments,
        settled,
        open,
        percentSettled: sharePercent(settled, runningPayments).percent,
      },
      exceptions: {
        open: exOpen,
        byAge: [
          { bucket: '0-7', count: a7, from: d7, to: today },
          { bucket: '8-30', count: a30, from: d30, to: vnDate(now, 8) },
          { bucket: '31+', count: exOpen - a7 - a30, from: null, to: vnDate(now, 31) },
        ],
      },
      cashless: await this.cashless(p, period),
    };
    return out;
  }

  /** The cashless share per month of the 12 ending with `last`, in one pass, with GET /coverage's definition. */
  private async cashless(p: Principal, last: Period): Promise<NonNullable<Dashboard['money']>['cashless']> {
    const first = addMonths(last, -11);
    const root = p.areaPath ?? '/';
    const rows = (await this.ds.query(
      `SELECT g.period, COUNT(*) AS paid, SUM(g.cash = 0) AS cashless
       FROM (
         SELECT p.period, p.beneficiary_id, MAX(p.channel = 'CASH') AS cash
         FROM batches b STRAIGHT_JOIN payments p ON p.batch_id = b.id JOIN areas a ON a.id = p.area_id
         WHERE b.period_from <= ? AND b.period_to >= ? AND (b.area_path LIKE ? OR ? LIKE CONCAT(b.area_path, '%'))
           AND p.period BETWEEN ? AND ? AND p.status = 'succeeded' AND a.path LIKE ?
         GROUP BY p.period, p.beneficiary_id
       ) g GROUP BY g.period`,
      [last, first, `${root}%`, root, first, last, `${root}%`],
    )) as { period: number; paid: string; cashless: string }[];
    return Array.from({ length: 12 }, (_, i) => {
      const m = addMonths(first, i);
      const r = rows.find((x) => Number(x.period) === m);
      const paid = Number(r?.paid ?? 0);
      const without = Number(r?.cashless ?? 0);
      return { period: formatPeriod(m), paid, paidWithoutCash: without, percent: sharePercent(without, paid).percent };
    });
  }
}

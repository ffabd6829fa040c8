import type { DataSource, EntityManager } from 'typeorm';
import { notFound } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import { areaPathScopeSql, assertVisible, type Principal } from '../../platform/security';
import { marks } from '../../platform/db';
import type { ItemReview } from '../batches/batch-views';
import { FAILURE_STATUSES, type PaymentStatus } from '../payments/payment-states';
import { CATEGORIES, type Category, type LineCategory } from './matcher';
import { coversWholeTree, scopeSql } from './recon-scope';
import type { ExceptionStatus, RunStatus, StatementStatus } from './recon-states';
import {
  exceptionView,
  lineView,
  noteView,
  runView,
  statementView,
  type BatchReconView,
  type ExceptionRow,
  type ExceptionView,
  type LineRow,
  type LineView,
  type NoteRow,
  type NoteView,
  type RunRow,
  type RunView,
  type StatementRow,
  type StatementView,
} from './recon-views';

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

export interface ExceptionFilter {
  status?: ExceptionStatus | undefined;
  category?: Category | undefined;
  provider?: string | undefined;
  runId?: string | undefined;
  batchId?: string | undefined;
  assignedTo?: number | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Payments that never reach a provider: not part of what a batch approved to pay. */
const NEVER_SENT: readonly PaymentStatus[] = ['held', 'excluded', 'cancelled'];

const STATEMENT_SELECT = `SELECT s.*, pv.name AS provider_name, r.id AS run_id FROM statements s JOIN providers pv ON pv.id = s.provider_id
  LEFT JOIN recon_runs r ON r.statement_id = s.id`;
const RUN_SELECT = 'SELECT r.*, pv.name AS provider_name FROM recon_runs r JOIN providers pv ON pv.id = r.provider_id';
const EXCEPTION_SELECT = 'SELECT e.*, pv.name AS provider_name FROM recon_exceptions e JOIN providers pv ON pv.id = e.provider_id';

/**
 * One exception as `p` may see it (404 outside their area, so that its existence is not told), optionally locked
 * for the change that follows in the caller's transaction.
 */
export async function findException(em: EntityManager | DataSource, p: Principal, id: string, lock = false): Promise<ExceptionRow> {
  const [r] = (await em.query(`${EXCEPTION_SELECT} WHERE e.id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as ExceptionRow[];
  if (!r) throw notFound('EXCEPTION_NOT_FOUND', `no reconciliation exception ${id}`);
  if (!coversWholeTree(p)) assertVisible(p, r.area_path, 'EXCEPTION_NOT_FOUND', `no reconciliation exception ${id}`);
  return r;
}

/** Statements, runs, their lines, exceptions and the reconciliation view of a batch, as the API shows them. */
export class ReconciliationReads {
  constructor(private readonly ds: DataSource) {}

  async statementById(id: string): Promise<StatementView> {
    const [r] = (await this.ds.query(`${STATEMENT_SELECT} WHERE s.id = ?`, [id])) as StatementRow[];
    if (!r) throw notFound('STATEMENT_NOT_FOUND', `no statement ${id}`);
    return statementView(r);
  }

  async listStatements(
    f: { provider?: string | undefined; from?: string | undefined; to?: string | undefined },
    page: PageRequest,
  ): Promise<Page<StatementView>> {
    const { sql, params } = listFilter('s', f, page.cursor);
    const rows = (await this.ds.query(`${STATEMENT_SELECT} WHERE ${sql} ORDER BY s.id DESC LIMIT ?`, [
      ...params,
      page.limit + 1,
    ])) as StatementRow[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], statementView);
  }

  async run(id: string): Promise<RunView> {
    const [r] = (await this.ds.query(`${RUN_SELECT} WHERE r.id = ?`, [id])) as RunRow[];
    if (!r) throw notFound('RUN_NOT_FOUND', `no reconciliation run ${id}`);
    return runView(r);
  }

  async listRuns(
    f: { provider?: string | undefined; from?: string | undefined; to?: string | undefined; status?: RunStatus | undefined },
    page: PageRequest,
  ): Promise<Page<RunView>> {
    const { sql, params } = listFilter('r', f, page.cursor);
    const rows = (await this.ds.query(`${RUN_SELECT} WHERE ${sql} ORDER BY r.id DESC LIMIT ?`, [...params, page.limit + 1])) as RunRow[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], runView);
  }

  /** One run as the caller sees it (scoped). */
  async runFor(p: Principal, id: string): Promise<RunView> {
    return this.scoped(p, await this.run(id));
  }

  /** A page of runs as the caller sees them (scoped). */
  async listRunsFor(p: Principal, f: Parameters<ReconciliationReads['listRuns']>[0], page: PageRequest): Promise<Page<RunView>> {
    const out = await this.listRuns(f, page);
    return { ...out, items: await Promise.all(out.items.map((r) => this.scoped(p, r))) };
  }

  /** A run as a user scoped to part of the tree sees it: totals over the payments of that part only. */
  async scoped(p: Principal, run: RunView): Promise<RunView> {
    if (coversWholeTree(p)) return run;
    const lineScope = areaPathScopeSql(p, 'a.path');
    const rows = (await this.ds.query(
      `SELECT l.category, COUNT(*) AS n, COALESCE(SUM(COALESCE(l.amount, l.service_amount, 0)), 0) AS amount, SUM(l.settled) AS settled
       FROM statement_lines l JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq JOIN areas a ON a.id = p.area_id
       WHERE l.statement_id = ? AND l.category <> ? AND ${lineScope.sql} GROUP BY l.category`,
      [run.statementId, 'unknown' satisfies Category, ...lineScope.params],
    )) as { category: LineCategory; n: string; amount: string; settled: string }[];
    const missingScope = areaPathScopeSql(p, 'area_path');
    const [missing] = (await this.ds.query(
      `SELECT COUNT(*) AS n, COALESCE(SUM(service_amount), 0) AS amount FROM recon_exceptions
       WHERE run_id = ? AND category = ? AND ${missingScope.sql}`,
      [run.id, 'missing' satisfies Category, ...missingScope.params],
    )) as { n: string; amount: string }[];
    const totals = Object.fromEntries(CATEGORIES.map((c) => [c, { count: 0, amount: 0 }])) as RunView['totals'];
    let lineCount = 0;
    let settled = 0;
    for (const r of rows) {
      totals[r.category] = { count: Number(r.n), amount: Number(r.amount) };
      lineCount += Number(r.n);
      settled += Number(r.settled);
    }
    totals.missing = { count: Number(missing!.n), amount: Number(missing!.amount) };
    return { ...run, totals, lineCount, settled };
  }

  /** A run's lines in payment order, by category; scoped users see the lines of payments in their area only. */
  async lines(p: Principal, runId: string, f: { category?: LineCategory | undefined }, page: PageRequest): Promise<Page<LineView>> {
    const run = await this.run(runId);
    const where = ['l.statement_id = ?'];
    const params: unknown[] = [run.statementId];
    if (f.category) {
      where.push('l.category = ?');
      params.push(f.category);
    }
    const scope = scopeSql(p, 'a.path');
    where.push(scope.sql);
    params.push(...scope.params);
    const cursor = decodeCursor(page.cursor, 3);
    if (cursor) {
      where.push('(l.batch_id > ? OR (l.batch_id = ? AND (l.seq > ? OR (l.seq = ? AND l.line_no > ?))))');
      params.push(cursor[0]!, cursor[0]!, cursor[1]!, cursor[1]!, cursor[2]!);
    }
    // an unknown line may name another provider's payment: it takes no area from it
    const rows = (await this.ds.query(
      `SELECT l.*, p.area_id FROM statement_lines l
       LEFT JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq AND l.category <> ?
       LEFT JOIN areas a ON a.id = p.area_id
       WHERE ${where.join(' AND ')} ORDER BY l.batch_id, l.seq, l.line_no LIMIT ?`,
      ['unknown' satisfies Category, ...params, page.limit + 1],
    )) as LineRow[];
    return finishPage(rows, page.limit, (r) => [String(r.batch_id), String(r.seq), Number(r.line_no)], lineView);
  }

  async exceptions(p: Principal, f: ExceptionFilter, page: PageRequest): Promise<Page<ExceptionView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const scope = scopeSql(p, 'e.area_path');
    where.push(scope.sql);
    params.push(...scope.params);
    const eq: [string, unknown][] = [
      ['e.status', f.status],
      ['e.category', f.category],
      ['pv.name', f.provider],
      ['e.run_id', f.runId],
      ['e.batch_id', f.batchId],
      ['e.assigned_to', f.assignedTo],
    ];
    for (const [col, v] of eq) {
      if (v === undefined) continue;
      where.push(`${col} = ?`);
      params.push(v);
    }
    if (f.from) {
      where.push('e.business_date >= ?');
      params.push(f.from);
    }
    if (f.to) {
      where.push('e.business_date <= ?');
      params.push(f.to);
    }
    const cursor = decodeCursor(page.cursor, 1);
    if (cursor) {
      where.push('e.id < ?');
      params.push(cursor[0]!);
    }
    const rows = (await this.ds.query(`${EXCEPTION_SELECT} WHERE ${where.join(' AND ')} ORDER BY e.id DESC LIMIT ?`, [
      ...params,
      page.limit + 1,
    ])) as ExceptionRow[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], exceptionView);
  }

  async exception(p: Principal, id: string): Promise<ExceptionView & { notes: NoteView[] }> {
    const r = await findException(this.ds, p, id);
    const notes = (await this.ds.query('SELECT * FROM recon_exception_notes WHERE exception_id = ? ORDER BY id', [id])) as NoteRow[];
    return { ...exceptionView(r), notes: notes.map(noteView) };
  }

  /**
   * Where a batch's money stands: approved = paid + failed + returned +
   * unresolved (still on its way or in review), to the đồng; the open
   * reconciliation exceptions of its payments by category.
   */
  async batchView(p: Principal, batchId: string): Promise<BatchReconView> {
    const [b] = (await this.ds.query(
      'SELECT b.id, b.status, b.area_id, a.path FROM batches b JOIN areas a ON a.id = b.area_id WHERE b.id = ?',
      [batchId],
    )) as { id: string; status: string; area_id: number; path: string }[];
    if (!b) throw notFound('BATCH_NOT_FOUND', `no batch ${batchId}`);
    assertVisible(p, b.path, 'BATCH_NOT_FOUND', `no batch ${batchId}`);
    const scope = areaPathScopeSql(p, 'a.path');
    const rows = (await this.ds.query(
      `SELECT CASE WHEN p.status = ? THEN 'paid' WHEN p.status IN (${marks(FAILURE_STATUSES.length)}) THEN p.status ELSE 'unresolved' END AS k,
         COUNT(*) AS n, COALESCE(SUM(p.amount), 0) AS amount
       FROM payments p JOIN areas a ON a.id = p.area_id
       WHERE p.batch_id = ? AND p.review = ? AND p.status NOT IN (${marks(NEVER_SENT.length)}) AND ${scope.sql}
       GROUP BY k`,
      ['succeeded' satisfies PaymentStatus, ...FAILURE_STATUSES, batchId, 'included' satisfies ItemReview, ...NEVER_SENT, ...scope.params],
    )) as { k: 'paid' | 'failed' | 'returned' | 'unresolved'; n: string; amount: string }[];
    const totals = {
      paid: { count: 0, amount: 0 },
      failed: { count: 0, amount: 0 },
      returned: { count: 0, amount: 0 },
      unresolved: { count: 0, amount: 0 },
    };
    let count = 0;
    let amount = 0;
    for (const r of rows) {
      totals[r.k] = { count: Number(r.n), amount: Number(r.amount) };
      count += Number(r.n);
      amount += Number(r.amount);
    }
    const exScope = areaPathScopeSql(p, 'e.area_path');
    const ex = (await this.ds.query(
      `SELECT e.category, COUNT(*) AS n, COALESCE(SUM(COALESCE(e.service_amount, e.statement_amount, 0)), 0) AS amount
       FROM recon_exceptions e WHERE e.batch_id = ? AND e.status <> ? AND ${exScope.sql}
       GROUP BY e.category`,
      [batchId, 'resolved' satisfies ExceptionStatus, ...exScope.params],
    )) as { category: Category; n: string; amount: string }[];
    return {
      batchId: String(b.id),
      status: b.status,
      approved: { count, amount },
      ...totals,
      openExceptions: ex.map((e) => ({ category: e.category, count: Number(e.n), amount: Number(e.amount) })),
    };
  }
}

/** The WHERE of a newest-first list of statements (`s`) or runs (`r`): provider by name, business dates, status, cursor. */
function listFilter(
  alias: 's' | 'r',
  f: {
    provider?: string | undefined;
    from?: string | undefined;
    to?: string | undefined;
    status?: StatementStatus | RunStatus | undefined;
  },
  cursor: string | undefined,
): { sql: string; params: unknown[] } {
  const where: string[] = ['1=1'];
  const params: unknown[] = [];
  const add = (cond: string, v: unknown) => {
    if (v === undefined) return;
    where.push(cond);
    params.push(v);
  };
  add('pv.name = ?', f.provider);
  add(`${alias}.business_date >= ?`, f.from);
  add(`${alias}.business_date <= ?`, f.to);
  add(`${alias}.status = ?`, f.status);
  add(`${alias}.id < ?`, decodeCursor(cursor, 1)?.[0]);
  return { sql: where.join(' AND '), params };
}

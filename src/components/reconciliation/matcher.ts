import type { QueryRunner } from 'typeorm';
import { literals } from '../../platform/db';
import { applyOutcomeTable, releaseOutcomeMark } from '../payments/payment-outcomes';
import { MAY_BECOME, PROVIDER_STATUSES, fromProvider, type PaymentStatus } from '../payments/payment-states';
import type { TransferStatus } from '../providers/provider.port';
import { STATUSES } from './statement-file';

/** Where every statement line ends up. Payments that should have appeared and did not are `missing` exceptions. */
export const LINE_CATEGORIES = ['matched', 'amount_mismatch', 'status_mismatch', 'unknown', 'duplicate'] as const;
export type LineCategory = (typeof LINE_CATEGORIES)[number];
export const CATEGORIES = [...LINE_CATEGORIES, 'missing'] as const;
export type Category = (typeof CATEGORIES)[number];
/** Categories that become exceptions. */
export const EXCEPTION_CATEGORIES: readonly Category[] = ['amount_mismatch', 'status_mismatch', 'unknown', 'duplicate', 'missing'];

/**
 * A provider status agrees with a payment status when the payment is there or
 * further along the provider's own path: a PENDING line of a transfer that
 * has since succeeded is history, not a disagreement.
 */
export const CONSISTENT: Record<TransferStatus, readonly PaymentStatus[]> = {
  PENDING: ['sent', 'succeeded', 'failed', 'returned'],
  SUCCEEDED: ['succeeded', 'returned'],
  FAILED: ['failed'],
  RETURNED: ['returned'],
};

/**
 * The CASE deciding a line's category from its payment (p, joined; NULL when
 * none): unknown to the service (no such payment, or not paid through this
 * provider), amount mismatch, matched (consistent), `behind` when the
 * statement is further along than the payment and the engine's forward-only
 * table allows the move, else status mismatch (succeeded here but failed or
 * returned there, a payment never sent, …).
 */
function categoryCase(behind: string): string {
  const consistent = STATUSES.map((s) => `WHEN l.status = '${s}' AND p.status IN (${literals(CONSISTENT[s])}) THEN 'matched'`).join(
    '\n      ',
  );
  const forward = STATUSES.map(
    (s) => `WHEN l.status = '${s}' AND p.status IN (${literals(MAY_BECOME[fromProvider(s) as keyof typeof MAY_BECOME])}) THEN '${behind}'`,
  ).join('\n      ');
  return `CASE
      WHEN p.seq IS NULL OR p.provider_id IS NULL OR p.provider_id <> ? THEN 'unknown'
      WHEN l.amount IS NOT NULL AND (l.amount <> p.amount OR l.currency <> 'VND') THEN 'amount_mismatch'
      ${consistent}
      ${forward}
      ELSE 'status_mismatch'
    END`;
}

export interface MatchInput {
  statementId: string;
  runId: string;
  providerId: number;
  providerName: string;
  businessDate: string;
  /** [start, end) of the business date (Asia/Ho_Chi_Minh) */
  dayStart: Date;
  dayEnd: Date;
}

export interface MatchTotals {
  byCategory: Record<Category, { count: number; amount: number }>;
  settled: number;
  lineCount: number;
  foundElsewhere: number;
}

/**
 * Matches one loaded statement against the payments, inside the caller's
 * transaction on `q` (one connection: the work table is temporary). Every
 * step is one set-based statement; nothing is read row by row into memory.
 */
export async function matchStatement(q: QueryRunner, m: MatchInput, onStep?: (step: string, ms: number) => void): Promise<MatchTotals> {
  const { statementId: sid, providerId } = m;
  let mark = Date.now();
  const step = (name: string) => {
    const now = Date.now();
    onStep?.(name, now - mark);
    mark = now;
  };

  // 1-2. every line written once with its category: a copy of a change already reported (same reference and status, a
  //      later line) is a duplicate; any other line is judged against its payment. The window sorts the lines by
  //      payment, so both the join and the insert run in key order without a sort of their own.
  await q.query(
    `INSERT INTO statement_lines (statement_id, batch_id, seq, line_no, reference, transfer_id, status, amount, currency, failure_code,
       occurred_at, category, service_status, service_amount)
     SELECT ?, l.batch_id, l.seq, l.line_no, l.reference, l.transfer_id, l.status, l.amount, l.currency, l.failure_code, l.occurred_at,
       CASE WHEN l.copy > 1 THEN 'duplicate' ELSE ${categoryCase('behind')} END, p.status, p.amount
     FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.batch_id, s.seq, s.reference, s.status ORDER BY s.line_no) AS copy
           FROM recon_stage s) l
     LEFT JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq`,
    [sid, providerId],
  );

  step('categorise');
  // 3. the statement is conclusive where the payment is behind it: settle with the engine's conditional updates
  const settled = await settle(q, m);

  step('settle');
  // 4. what could not be settled (moved meanwhile, or the statement contradicts itself) is judged again as it stands now
  await q.query(
    `UPDATE statement_lines l LEFT JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq
     SET l.service_status = p.status, l.category = ${categoryCase('status_mismatch')}
     WHERE l.statement_id = ? AND l.category = 'behind'`,
    [providerId, sid],
  );

  step('judge again');
  // 5. every line that did not match is an exception
  await q.query(
    `INSERT IGNORE INTO recon_exceptions (run_id, provider_id, business_date, category, reference, batch_id, seq, line_no, area_id, area_path,
       statement_status, statement_amount, service_status, service_amount)
     SELECT ?, ?, ?, l.category, l.reference, l.batch_id, l.seq, l.line_no, p.area_id, a.path, l.status, l.amount, l.service_status, l.service_amount
     FROM statement_lines l
     LEFT JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq AND l.category <> 'unknown'
     LEFT JOIN areas a ON a.id = p.area_id
     WHERE l.statement_id = ? AND l.category IN ('amount_mismatch', 'status_mismatch', 'unknown', 'duplicate')`,
    [m.runId, providerId, m.businessDate, sid],
  );

  step('line exceptions');
  // 6. payments the provider accepted that day (by our clock) with no line here nor on the neighbouring days' statements;
  //    never another statement of this day: this one replaces it, and is judged alone
  await q.query(
    `INSERT IGNORE INTO recon_exceptions (run_id, provider_id, business_date, category, reference, batch_id, seq, line_no, area_id, area_path,
       statement_status, statement_amount, service_status, service_amount)
     SELECT ?, ?, ?, 'missing', p.reference, p.batch_id, p.seq, 0, p.area_id, a.path, NULL, NULL, p.status, p.amount
     FROM batches b
     JOIN payments p ON p.batch_id = b.id
     JOIN providers pv ON pv.id = p.provider_id
     LEFT JOIN areas a ON a.id = p.area_id
     WHERE b.released_at IS NOT NULL AND b.released_at < ? AND (b.completed_at IS NULL OR b.completed_at >= ?)
       AND p.provider_id = ? AND p.sent_at >= ? AND p.sent_at < ?
       AND (p.transfer_id IS NOT NULL OR (pv.kind = 'file' AND p.status IN (${literals(PROVIDER_STATUSES)})))
       AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.statement_id = ? AND l.batch_id = p.batch_id AND l.seq = p.seq)
       AND NOT EXISTS (
         SELECT 1 FROM statements s2 JOIN statement_lines l2 ON l2.statement_id = s2.id AND l2.batch_id = p.batch_id AND l2.seq = p.seq
         WHERE s2.provider_id = ? AND s2.status = 'matched' AND s2.superseded_by IS NULL
           AND s2.business_date IN (DATE_SUB(?, INTERVAL 1 DAY), DATE_ADD(?, INTERVAL 1 DAY)))`,
    [
      m.runId,
      providerId,
      m.businessDate,
      m.dayEnd,
      m.dayStart,
      providerId,
      m.dayStart,
      m.dayEnd,
      sid,
      providerId,
      m.businessDate,
      m.businessDate,
    ],
  );

  step('missing payments');
  // 7. a payment reported missing by an earlier day's run that this statement holds after all (the day's edge): found
  const found = (await q.query(
    `UPDATE recon_exceptions e JOIN statement_lines l ON l.statement_id = ? AND l.batch_id = e.batch_id AND l.seq = e.seq
     SET e.status = 'resolved', e.resolution = 'found_on_statement', e.resolution_note = ?, e.resolved_at = CURRENT_TIMESTAMP(3),
       e.resolved_by_name = 'system', e.version = e.version + 1
     WHERE e.status = 'open' AND e.provider_id = ? AND e.category = 'missing' AND e.run_id <> ?`,
    [sid, `on the ${m.providerName} statement of ${m.businessDate}`, providerId, m.runId],
  )) as { affectedRows: number };

  step('found elsewhere');
  // 8. totals: lines by category, and the missing payments
  const rows = (await q.query(
    `SELECT category, COUNT(*) AS n, COALESCE(SUM(COALESCE(amount, service_amount, 0)), 0) AS amount
     FROM statement_lines WHERE statement_id = ? GROUP BY category`,
    [sid],
  )) as { category: Category; n: string; amount: string }[];
  const [missing] = (await q.query(
    "SELECT COUNT(*) AS n, COALESCE(SUM(service_amount), 0) AS amount FROM recon_exceptions WHERE run_id = ? AND category = 'missing'",
    [m.runId],
  )) as { n: string; amount: string }[];
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, { count: 0, amount: 0 }])) as MatchTotals['byCategory'];
  let lineCount = 0;
  for (const r of rows) {
    byCategory[r.category] = { count: Number(r.n), amount: Number(r.amount) };
    lineCount += Number(r.n);
  }
  byCategory.missing = { count: Number(missing!.n), amount: Number(missing!.amount) };
  step('totals');
  return { byCategory, settled, lineCount, foundElsewhere: found.affectedRows };
}

/**
 * Moves payments the statement is ahead of, forward only: each payment's target is the furthest status its lines report
 * (RETURNED over SUCCEEDED over PENDING; SUCCEEDED and FAILED together contradict each other and settle nothing),
 * applied by the payments component's conditional update of an outcome table (one event per moved payment, source
 * `statement`); the lines of the payments it moved are matched.
 */
async function settle(q: QueryRunner, m: MatchInput): Promise<number> {
  await q.query('DROP TEMPORARY TABLE IF EXISTS recon_settle');
  await q.query(`CREATE TEMPORARY TABLE recon_settle (
    batch_id BIGINT UNSIGNED NOT NULL, seq BIGINT UNSIGNED NOT NULL, target VARCHAR(16) NOT NULL,
    from_status VARCHAR(16) NULL, transfer_id VARCHAR(64) NULL, failure_code VARCHAR(32) NULL, detail VARCHAR(500) NOT NULL,
    PRIMARY KEY (batch_id, seq)) ENGINE=InnoDB`);
  await q.query(
    `INSERT INTO recon_settle (batch_id, seq, target, transfer_id, failure_code, detail)
     SELECT batch_id, seq,
       CASE WHEN SUM(status = 'SUCCEEDED') > 0 AND SUM(status = 'FAILED') > 0 THEN 'conflict'
            WHEN SUM(status = 'RETURNED') > 0 THEN 'returned'
            WHEN SUM(status = 'SUCCEEDED') > 0 THEN 'succeeded'
            WHEN SUM(status = 'FAILED') > 0 THEN 'failed'
            ELSE 'sent' END,
       MAX(transfer_id), MAX(CASE WHEN status IN ('FAILED', 'RETURNED') THEN failure_code END),
       CONCAT('statement ', ?, ' line ', MAX(line_no))
     FROM statement_lines WHERE statement_id = ? AND category = 'behind' GROUP BY batch_id, seq`,
    [m.statementId, m.statementId],
  );
  const { moved, token } = await applyOutcomeTable(q.manager, 'recon_settle', {
    error: `settled by the ${m.providerName} statement of ${m.businessDate}`,
    source: 'statement',
  });
  if (moved === 0) return 0;
  await q.query(
    `UPDATE statement_lines l JOIN recon_settle s ON s.batch_id = l.batch_id AND s.seq = l.seq
     JOIN payments p ON p.batch_id = s.batch_id AND p.seq = s.seq AND p.claim_token = ?
     SET l.category = 'matched', l.settled = 1, l.service_status = p.status
     WHERE l.statement_id = ? AND l.category = 'behind'`,
    [token, m.statementId],
  );
  await releaseOutcomeMark(q.manager, 'recon_settle', token);
  await q.query('DROP TEMPORARY TABLE IF EXISTS recon_settle');
  return moved;
}

import type { EntityManager } from 'typeorm';
import type { Period } from '../../platform/period';
import { APPROVED_OR_LATER } from './batch-states';
import { likePrefix } from '../../platform/db';
import { insertArrearsPayments, insertRegularPayments, insertRetryPayments, RETRYABLE } from '../payments/payment-snapshot';

/**
 * Set-based generation of a batch: who is due, written as payments by the
 * payments component (payment-snapshot), and who was left out and why, one
 * statement per step whatever the roll's size.
 */

export interface GenerationScope {
  batchId: string;
  referencePrefix: string;
  programmeId: number;
  /** `one_off` programmes are due only in the month their enrolment starts. */
  frequency: 'monthly' | 'one_off';
  /** the batch area's materialised path: every area under it is in */
  areaPath: string;
}

/** A due enrolment of the programme in the area subtree, in period `p` (an SQL expression). */
function dueSql(s: GenerationScope, p: string): string {
  return `e.programme_id = ? AND e.status = 'active' AND a.path LIKE ?
    AND e.start_period <= ${p} AND (e.end_period IS NULL OR e.end_period >= ${p})
    ${s.frequency === 'one_off' ? `AND e.start_period = ${p}` : ''}`;
}

/**
 * Why an enrolment's month is not in a batch: already_in_batch (a live payment for the month elsewhere), and for
 * arrears not_paid, payment_not_final, overpaid, and for a retry not_active. Stable codes the console words.
 */
export const LEFT_OUT_REASONS = ['already_in_batch', 'not_paid', 'payment_not_final', 'overpaid', 'not_active'] as const;
export type LeftOutReason = (typeof LEFT_OUT_REASONS)[number];

export interface GenerationResult {
  inserted: number;
  leftOut: number;
}

/**
 * The regular monthly payment of every due enrolment, in one pass: the due
 * enrolments are read in beneficiary order (the programme index), each row
 * copies amount and destination, and `seq` is the beneficiary's id, so the
 * primary key is written in order. The unique key on live payments decides who
 * is already paid for the month: `INSERT IGNORE` skips exactly those rows
 * (every other column copies a column of the same type, so a duplicate is the
 * only thing it can skip, and that is checked). Only when some were skipped, a
 * second statement records who was left out and which batch holds them. The
 * caller holds the generation lock and the transaction.
 */
export async function generateRegular(em: EntityManager, s: GenerationScope, period: Period, baseLevel: number): Promise<GenerationResult> {
  const due = dueSql(s, '?');
  const dueParams = [s.programmeId, likePrefix(s.areaPath), period, period, ...(s.frequency === 'one_off' ? [period] : [])];
  const { inserted, skipped } = await insertRegularPayments(em, s, { period, baseLevel }, { where: due, params: dueParams });
  let leftOut = 0;
  if (skipped > 0) {
    const left = (await em.query(
      `INSERT INTO batch_left_out (batch_id, enrolment_id, period, beneficiary_id, reason, other_batch_id, other_reference)
       SELECT ?, e.id, ?, e.beneficiary_id, 'already_in_batch', p.batch_id, p.reference
       FROM enrolments e FORCE INDEX (ix_enrolments_programme)
       STRAIGHT_JOIN beneficiaries b ON b.id = e.beneficiary_id
       STRAIGHT_JOIN areas a ON a.id = b.area_id
       JOIN payments p ON p.beneficiary_id = e.beneficiary_id AND p.programme_id = e.programme_id
         AND p.period = ? AND p.slot = 0 AND p.live = 1 AND p.batch_id <> ?
       WHERE ${due}`,
      [s.batchId, period, period, s.batchId, ...dueParams],
    )) as { affectedRows: number };
    leftOut = left.affectedRows;
    if (leftOut !== skipped) throw new Error(`batch generation skipped ${skipped} rows but found ${leftOut} live payments`);
  }
  return { inserted, leftOut };
}

export interface MonthLevel {
  period: Period;
  baseLevel: number;
}

/**
 * Arrears ("truy lĩnh") over a range of months already paid: for each due
 * enrolment and month, what is owed now (today's coefficient × that month's
 * base level) minus what its live payments of that month add up to. A positive
 * difference becomes one payment whose slot is the amount owed, so the same
 * correction can never be live twice; months still in a batch that is not
 * approved yet, and months paid more than is owed, are left out with that reason.
 */
export async function generateArrears(em: EntityManager, s: GenerationScope, months: readonly MonthLevel[]): Promise<GenerationResult> {
  if (!months.length) return { inserted: 0, leftOut: 0 };
  const tmp = `batch_arrears_${s.batchId}`;
  const monthsSql = months.map((_, i) => (i === 0 ? 'SELECT ? AS period, ? AS base' : 'SELECT ?, ?')).join(' UNION ALL ');
  const monthParams = months.flatMap((m) => [m.period, m.baseLevel]);
  const finalStatuses = APPROVED_OR_LATER.map(() => '?').join(', ');
  await em.query(`DROP TEMPORARY TABLE IF EXISTS ${tmp}`);
  await em.query(`CREATE TEMPORARY TABLE ${tmp} (
      enrolment_id BIGINT UNSIGNED NOT NULL,
      period INT UNSIGNED NOT NULL,
      base BIGINT NOT NULL,
      owed BIGINT NOT NULL,
      paid BIGINT NOT NULL,
      has_regular TINYINT NOT NULL,
      not_final INT NOT NULL,
      PRIMARY KEY (enrolment_id, period)
    ) ENGINE=InnoDB`);
  try {
    await em.query(
      `INSERT INTO ${tmp} (enrolment_id, period, base, owed, paid, has_regular, not_final)
       SELECT e.id, m.period, m.base, (m.base * e.coefficient_x100 + 50) DIV 100, SUM(p.amount), MAX(p.slot = 0),
         SUM(CASE WHEN bt.status IN (${finalStatuses}) THEN 0 ELSE 1 END)
       FROM enrolments e
       JOIN beneficiaries b ON b.id = e.beneficiary_id
       JOIN areas a ON a.id = b.area_id
       JOIN (${monthsSql}) m ON e.start_period <= m.period AND (e.end_period IS NULL OR e.end_period >= m.period)
       JOIN payments p ON p.beneficiary_id = e.beneficiary_id AND p.programme_id = e.programme_id AND p.period = m.period AND p.live = 1
       JOIN batches bt ON bt.id = p.batch_id
       WHERE e.programme_id = ? AND e.status = 'active' AND a.path LIKE ?
       GROUP BY e.id, e.coefficient_x100, m.period, m.base`,
      [...APPROVED_OR_LATER, ...monthParams, s.programmeId, likePrefix(s.areaPath)],
    );
    const left = (await em.query(
      `INSERT INTO batch_left_out (batch_id, enrolment_id, period, beneficiary_id, reason, detail, owed, paid_live)
       SELECT ?, t.enrolment_id, t.period, e.beneficiary_id,
         CASE WHEN t.has_regular = 0 THEN 'not_paid' WHEN t.not_final > 0 THEN 'payment_not_final' ELSE 'overpaid' END,
         CONCAT('owed ', t.owed, ', in live payments ', t.paid), t.owed, t.paid
       FROM ${tmp} t JOIN enrolments e ON e.id = t.enrolment_id
       WHERE t.owed <> t.paid AND (t.has_regular = 0 OR t.not_final > 0 OR t.owed < t.paid)`,
      [s.batchId],
    )) as { affectedRows: number };
    const inserted = await insertArrearsPayments(em, s, tmp);
    return { inserted, leftOut: left.affectedRows };
  } finally {
    await em.query(`DROP TEMPORARY TABLE IF EXISTS ${tmp}`);
  }
}

/**
 * A retry batch: the failed and returned payments of batch `originalId`, same
 * seq, month, slot and amount, to the destination the roll holds now. The
 * unique key on live payments skips months live elsewhere (recorded as left
 * out, like enrolments no longer active).
 */
export async function generateRetry(em: EntityManager, s: GenerationScope, originalId: string): Promise<GenerationResult> {
  const { inserted } = await insertRetryPayments(em, s, originalId);
  const left = (await em.query(
    `INSERT INTO batch_left_out (batch_id, enrolment_id, period, beneficiary_id, reason, other_batch_id, other_reference, detail,
       retried_reference, retried_status)
     SELECT ?, o.enrolment_id, o.period, o.beneficiary_id,
       CASE WHEN e.status <> 'active' THEN 'not_active' ELSE 'already_in_batch' END,
       l.batch_id, l.reference, CONCAT('payment ', o.reference, ' ', o.status), o.reference, o.status
     FROM payments o
     JOIN enrolments e ON e.id = o.enrolment_id
     LEFT JOIN payments l ON l.beneficiary_id = o.beneficiary_id AND l.programme_id = o.programme_id AND l.period = o.period
       AND l.slot = o.slot AND l.live = 1 AND l.batch_id <> ?
     WHERE o.batch_id = ? AND ${RETRYABLE}
       AND (e.status <> 'active' OR l.batch_id IS NOT NULL)`,
    [s.batchId, s.batchId, originalId],
  )) as { affectedRows: number };
  return { inserted, leftOut: left.affectedRows };
}

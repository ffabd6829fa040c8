import type { EntityManager } from 'typeorm';
import type { Period } from '../../platform/period';
import { APPROVED_OR_LATER } from './batch-states';
import { likePrefix } from '../../platform/db';

/**
 * Set-based generation of a batch's payments: one INSERT … SELECT per step,
 * whatever the roll's size. Amounts are integer arithmetic in SQL: base level ×
 * coefficient (hundredths) + 50, DIV 100 — the same rounding as money.ts.
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

/** Columns copied from the roll into a payment: the destination as it stands at creation. */
const SNAPSHOT_COLUMNS = `beneficiary_id, enrolment_id, programme_id, period, slot, live, amount, base_level, coefficient_x100, paid_before,
  area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked,
  account_name, name_mismatch, flagged`;

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

/** `Records: N  Duplicates: D  Warnings: W` of an INSERT … SELECT. */
function insertInfo(res: { affectedRows: number; info?: string }): { records: number; duplicates: number; warnings: number } {
  const m = /Records:\s*(\d+)\s+Duplicates:\s*(\d+)\s+Warnings:\s*(\d+)/.exec(res.info ?? '');
  if (!m) throw new Error(`no row counts in the server's answer to INSERT … SELECT: ${res.info ?? '(none)'}`);
  return { records: Number(m[1]), duplicates: Number(m[2]), warnings: Number(m[3]) };
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
  const res = (await em.query(
    `INSERT IGNORE INTO payments (batch_id, seq, reference, kind, ${SNAPSHOT_COLUMNS})
     SELECT ?, e.beneficiary_id, CONCAT(?, e.beneficiary_id), 'regular',
       e.beneficiary_id, e.id, e.programme_id, ?, 0, 1, (? * e.coefficient_x100 + 50) DIV 100, ?, e.coefficient_x100, 0,
       b.area_id, b.full_name, e.channel, e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked,
       e.wallet_enc, e.wallet_masked, e.account_name, e.name_mismatch, e.name_mismatch
     FROM enrolments e FORCE INDEX (ix_enrolments_programme)
     STRAIGHT_JOIN beneficiaries b ON b.id = e.beneficiary_id
     STRAIGHT_JOIN areas a ON a.id = b.area_id
     WHERE ${due}
     ORDER BY e.beneficiary_id`,
    [s.batchId, `${s.referencePrefix}-`, period, baseLevel, baseLevel, ...dueParams],
  )) as { affectedRows: number; info?: string };
  const info = insertInfo(res);
  if (info.records - res.affectedRows !== info.duplicates || info.warnings !== info.duplicates) {
    throw new Error(`batch generation skipped rows for another reason than a live payment: ${res.info ?? ''}`);
  }
  let leftOut = 0;
  if (info.duplicates > 0) {
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
    if (leftOut !== info.duplicates) throw new Error(`batch generation skipped ${info.duplicates} rows but found ${leftOut} live payments`);
  }
  return { inserted: res.affectedRows, leftOut };
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
    const res = (await em.query(
      `INSERT INTO payments (batch_id, seq, reference, kind, ${SNAPSHOT_COLUMNS})
       SELECT ?, ROW_NUMBER() OVER w, CONCAT(?, ROW_NUMBER() OVER w), 'arrears',
         e.beneficiary_id, e.id, e.programme_id, t.period, t.owed, 1, t.owed - t.paid, t.base, e.coefficient_x100, t.paid,
         b.area_id, b.full_name, e.channel, e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked,
         e.wallet_enc, e.wallet_masked, e.account_name, e.name_mismatch, e.name_mismatch
       FROM ${tmp} t
       JOIN enrolments e ON e.id = t.enrolment_id
       JOIN beneficiaries b ON b.id = e.beneficiary_id
       JOIN areas a ON a.id = b.area_id
       WHERE t.owed > t.paid AND t.has_regular = 1 AND t.not_final = 0
       WINDOW w AS (ORDER BY a.path, e.id, t.period)`,
      [s.batchId, `${s.referencePrefix}-`],
    )) as { affectedRows: number };
    return { inserted: res.affectedRows, leftOut: left.affectedRows };
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
  const res = (await em.query(
    `INSERT IGNORE INTO payments (batch_id, seq, reference, kind, ${SNAPSHOT_COLUMNS})
     SELECT ?, o.seq, CONCAT(?, o.seq), o.kind,
       o.beneficiary_id, o.enrolment_id, o.programme_id, o.period, o.slot, 1, o.amount, o.base_level, o.coefficient_x100, o.paid_before,
       b.area_id, b.full_name, e.channel, e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked,
       e.wallet_enc, e.wallet_masked, e.account_name, e.name_mismatch, e.name_mismatch
     FROM payments o
     JOIN enrolments e ON e.id = o.enrolment_id
     JOIN beneficiaries b ON b.id = e.beneficiary_id
     WHERE o.batch_id = ? AND o.review = 'included' AND o.status IN ('failed', 'returned') AND e.status = 'active'
     ORDER BY o.seq`,
    [s.batchId, `${s.referencePrefix}-`, originalId],
  )) as { affectedRows: number; info?: string };
  const info = insertInfo(res);
  if (info.records - res.affectedRows !== info.duplicates || info.warnings !== info.duplicates) {
    throw new Error(`retry generation skipped rows for another reason than a live payment: ${res.info ?? ''}`);
  }
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
     WHERE o.batch_id = ? AND o.review = 'included' AND o.status IN ('failed', 'returned')
       AND (e.status <> 'active' OR l.batch_id IS NOT NULL)`,
    [s.batchId, s.batchId, originalId],
  )) as { affectedRows: number };
  return { inserted: res.affectedRows, leftOut: left.affectedRows };
}

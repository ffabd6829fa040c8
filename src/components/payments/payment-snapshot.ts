import type { EntityManager } from 'typeorm';
import type { Period } from '../../platform/period';
import { literals } from '../../platform/db';
import { FAILURE_STATUSES } from './payment-states';

/**
 * A batch's payments written from the roll, set-based: one INSERT … SELECT per step, whatever the roll's size. A
 * payment is a snapshot: amount and destination as they stand at creation. Amounts are integer arithmetic in SQL: base
 * level × coefficient (hundredths) + 50, DIV 100, the same rounding as money.ts. The batches component decides who is
 * due (its generation) and calls these in its transaction, under its generation lock.
 */

/** Where the payments go: the batch and the prefix of every payment reference of it. */
export interface SnapshotTarget {
  batchId: string;
  referencePrefix: string;
}

/** Columns copied from the roll into a payment: the destination as it stands at creation. */
const SNAPSHOT_COLUMNS = `beneficiary_id, enrolment_id, programme_id, period, slot, live, amount, base_level, coefficient_x100, paid_before,
  area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked,
  account_name, name_mismatch, flagged`;

/** `Records: N  Duplicates: D  Warnings: W` of an INSERT … SELECT. */
function insertInfo(res: { affectedRows: number; info?: string }): { records: number; duplicates: number; warnings: number } {
  const m = /Records:\s*(\d+)\s+Duplicates:\s*(\d+)\s+Warnings:\s*(\d+)/.exec(res.info ?? '');
  if (!m) throw new Error(`no row counts in the server's answer to INSERT … SELECT: ${res.info ?? '(none)'}`);
  return { records: Number(m[1]), duplicates: Number(m[2]), warnings: Number(m[3]) };
}

/** Rows an INSERT IGNORE skipped; any skip other than a duplicate live payment is an error. */
function skippedAsLive(res: { affectedRows: number; info?: string }, what: string): number {
  const info = insertInfo(res);
  if (info.records - res.affectedRows !== info.duplicates || info.warnings !== info.duplicates) {
    throw new Error(`${what} skipped rows for another reason than a live payment: ${res.info ?? ''}`);
  }
  return info.duplicates;
}

/**
 * The regular payment of the month for each due enrolment that `dueWhere` (over enrolments e, beneficiaries b, areas
 * a) selects, read in beneficiary order (the programme index); `seq` is the beneficiary's id, so the primary key is
 * written in order. The unique key on live payments decides who is already paid for the month: `INSERT IGNORE` skips
 * exactly those rows (every other column copies a column of the same type, so a duplicate is the only thing it can
 * skip, and that is checked). Returns the payments written and how many were skipped as paid elsewhere.
 */
export async function insertRegularPayments(
  em: EntityManager,
  t: SnapshotTarget,
  month: { period: Period; baseLevel: number },
  due: { where: string; params: unknown[] },
): Promise<{ inserted: number; skipped: number }> {
  const res = (await em.query(
    `INSERT IGNORE INTO payments (batch_id, seq, reference, kind, ${SNAPSHOT_COLUMNS})
     SELECT ?, e.beneficiary_id, CONCAT(?, e.beneficiary_id), 'regular',
       e.beneficiary_id, e.id, e.programme_id, ?, 0, 1, (? * e.coefficient_x100 + 50) DIV 100, ?, e.coefficient_x100, 0,
       b.area_id, b.full_name, e.channel, e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked,
       e.wallet_enc, e.wallet_masked, e.account_name, e.name_mismatch, e.name_mismatch
     FROM enrolments e FORCE INDEX (ix_enrolments_programme)
     STRAIGHT_JOIN beneficiaries b ON b.id = e.beneficiary_id
     STRAIGHT_JOIN areas a ON a.id = b.area_id
     WHERE ${due.where}
     ORDER BY e.beneficiary_id`,
    [t.batchId, `${t.referencePrefix}-`, month.period, month.baseLevel, month.baseLevel, ...due.params],
  )) as { affectedRows: number; info?: string };
  return { inserted: res.affectedRows, skipped: skippedAsLive(res, 'batch generation') };
}

/**
 * Arrears payments from a work table of the generation (`owed`: enrolment_id, period, base, owed, paid, has_regular,
 * not_final): one payment per enrolment and month whose regular payment is final and pays less than is owed now, for
 * the difference; its slot is the amount owed, so the same correction can never be live twice.
 */
export async function insertArrearsPayments(em: EntityManager, t: SnapshotTarget, owedTable: string): Promise<number> {
  const res = (await em.query(
    `INSERT INTO payments (batch_id, seq, reference, kind, ${SNAPSHOT_COLUMNS})
     SELECT ?, ROW_NUMBER() OVER w, CONCAT(?, ROW_NUMBER() OVER w), 'arrears',
       e.beneficiary_id, e.id, e.programme_id, t.period, t.owed, 1, t.owed - t.paid, t.base, e.coefficient_x100, t.paid,
       b.area_id, b.full_name, e.channel, e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked,
       e.wallet_enc, e.wallet_masked, e.account_name, e.name_mismatch, e.name_mismatch
     FROM ${owedTable} t
     JOIN enrolments e ON e.id = t.enrolment_id
     JOIN beneficiaries b ON b.id = e.beneficiary_id
     JOIN areas a ON a.id = b.area_id
     WHERE t.owed > t.paid AND t.has_regular = 1 AND t.not_final = 0
     WINDOW w AS (ORDER BY a.path, e.id, t.period)`,
    [t.batchId, `${t.referencePrefix}-`],
  )) as { affectedRows: number };
  return res.affectedRows;
}

/** The payments of batch `originalId` that failed or came back: a retry pays them again (same seq, month, slot, amount). */
export const RETRYABLE = `o.review = 'included' AND o.status IN (${literals(FAILURE_STATUSES)})`;

/**
 * A retry batch's payments: the failed and returned payments of `originalId` whose enrolment is still active, to the
 * destination the roll holds now. The unique key on live payments skips months live elsewhere (counted in `skipped`).
 */
export async function insertRetryPayments(
  em: EntityManager,
  t: SnapshotTarget,
  originalId: string,
): Promise<{ inserted: number; skipped: number }> {
  const res = (await em.query(
    `INSERT IGNORE INTO payments (batch_id, seq, reference, kind, ${SNAPSHOT_COLUMNS})
     SELECT ?, o.seq, CONCAT(?, o.seq), o.kind,
       o.beneficiary_id, o.enrolment_id, o.programme_id, o.period, o.slot, 1, o.amount, o.base_level, o.coefficient_x100, o.paid_before,
       b.area_id, b.full_name, e.channel, e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked,
       e.wallet_enc, e.wallet_masked, e.account_name, e.name_mismatch, e.name_mismatch
     FROM payments o
     JOIN enrolments e ON e.id = o.enrolment_id
     JOIN beneficiaries b ON b.id = e.beneficiary_id
     WHERE o.batch_id = ? AND ${RETRYABLE} AND e.status = 'active'
     ORDER BY o.seq`,
    [t.batchId, `${t.referencePrefix}-`, originalId],
  )) as { affectedRows: number; info?: string };
  return { inserted: res.affectedRows, skipped: skippedAsLive(res, 'retry generation') };
}

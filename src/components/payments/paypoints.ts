import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { parse } from 'csv-parse';
import type { DataSource } from 'typeorm';
import { conflict, invalid } from '../../platform/errors';
import type { ReceivedFile } from '../../platform/http/upload';
import type { Actor, Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import type { BatchesService } from '../batches';
import { subtreeIds } from '../batches/batch-reads';
import { marks } from '../../platform/db';
import { recordMarkedChanges } from './payment-events';
import { applyReportedOutcomes, recordReported, type ReportedOutcome } from './payment-outcomes';
import { currentSchedules, PayPointSchedules, type PayPointSchedule } from './paypoint-schedules';

/** Largest results file: one line per cash payment of a batch. */
export const MAX_RESULT_ROWS = 200_000;

/**
 * Why a line of a results file is refused: stable codes the console words in the reader's language, with the values
 * the words need (the reference, the value of `paid`, the payment's status). The English message stays beside them.
 */
export const RESULT_PROBLEM_CODES = [
  'MISSING_COLUMN',
  'UNREADABLE',
  'EMPTY_REFERENCE',
  'PAID_VALUE',
  'DUPLICATE_REFERENCE',
  'UNKNOWN_REFERENCE',
  'NOT_CASH',
  'NOT_HANDED_OVER',
] as const;
export type ResultProblemCode = (typeof RESULT_PROBLEM_CODES)[number];

export interface ResultProblem {
  row: number;
  column: string | null;
  code: ResultProblemCode;
  reference: string | null;
  value: string | null;
  status: string | null;
  message: string;
}

function problem(
  row: number,
  column: string | null,
  code: ResultProblemCode,
  message: string,
  facts: { reference?: string; value?: string; status?: string } = {},
): ResultProblem {
  return { row, column, code, reference: facts.reference ?? null, value: facts.value ?? null, status: facts.status ?? null, message };
}

function refused(problems: ResultProblem[]) {
  return invalid('RESULTS_FILE_INVALID', `the results file has ${problems.length} problem(s); nothing was recorded`, {
    problems: problems.slice(0, 200),
  });
}

export interface PayPointRow {
  areaId: number;
  areaCode: string;
  areaName: string;
  count: number;
  amount: number;
  pending: number;
  handedOver: number;
  paid: number;
  paidAmount: number;
  notCollected: number;
  /** The hand-over in force at this pay point (date, place, hours, papers), or null until staff set one. */
  schedule: PayPointSchedule | null;
}

const YES = new Set(['yes', 'y', '1', 'true', 'có', 'co', 'x']);
const NO = new Set(['no', 'n', '0', 'false', 'không', 'khong', '']);

/**
 * The `file` adapter for cash pay points: no wire API. Staff hand a batch's
 * cash payments to the pay points (they become `sent`, and the printable list
 * is GET /batches/{id}/items/export.xlsx?channel=CASH, per commune), then
 * upload the results file the pay points return: one line per payment,
 * `reference,paid[,note]`. The whole file is checked before anything is
 * written; then one transaction records who was paid (`succeeded`) and who
 * did not come (`failed`, NOT_COLLECTED: the month is free for a later batch).
 */
export class PayPoints {
  /** When and where each pay point hands the cash over (recipients are told by SMS). */
  readonly schedules: PayPointSchedules;

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly batches: BatchesService,
  ) {
    this.schedules = new PayPointSchedules(ds, audit, batches);
  }

  private async processingBatch(p: Principal, batchId: string) {
    const b = await this.batches.visibleRow(p, batchId);
    if (b.status !== 'processing') {
      throw conflict('BATCH_NOT_PROCESSING', `batch ${b.id} is ${b.status}: pay points work on a released batch`);
    }
    return b;
  }

  /**
   * The batch's cash payments by pay point (their commune), with how many are still to hand over, handed over, paid
   * and not collected. One grouped scan; a batch has at most one row per commune.
   */
  async list(p: Principal, batchId: string): Promise<{ batchId: string; status: string; paypoints: PayPointRow[] }> {
    const b = await this.batches.visibleRow(p, batchId);
    const rows = (await this.ds.query(
      `SELECT p.area_id, a.code, a.name, COUNT(*) AS n, COALESCE(SUM(p.amount), 0) AS amount,
         SUM(p.status = 'pending') AS pending, SUM(p.status = 'sent') AS sent,
         SUM(p.status = 'succeeded') AS paid, COALESCE(SUM(CASE WHEN p.status = 'succeeded' THEN p.amount END), 0) AS paid_amount,
         SUM(p.status = 'failed') AS not_collected
       FROM payments p
       JOIN providers pv ON pv.id = p.provider_id AND pv.kind = 'file'
       JOIN areas a ON a.id = p.area_id
       WHERE p.batch_id = ? AND p.review = 'included'
       GROUP BY p.area_id, a.code, a.name
       ORDER BY a.code`,
      [b.id],
    )) as Record<string, string | number>[];
    const schedules = await currentSchedules(this.ds, b.id);
    return {
      batchId: String(b.id),
      status: b.status,
      paypoints: rows.map((r) => ({
        areaId: Number(r.area_id),
        areaCode: String(r.code),
        areaName: String(r.name),
        count: Number(r.n),
        amount: Number(r.amount),
        pending: Number(r.pending),
        handedOver: Number(r.sent),
        paid: Number(r.paid),
        paidAmount: Number(r.paid_amount),
        notCollected: Number(r.not_collected),
        schedule: schedules.get(Number(r.area_id)) ?? null,
      })),
    };
  }

  /** Marks the cash payments of the batch (or of one area subtree) as handed to their pay points. */
  async handOver(actor: Actor, p: Principal, batchId: string, areaId?: number): Promise<{ handedOver: number }> {
    const b = await this.processingBatch(p, batchId);
    const ids = await subtreeIds(this.ds, areaId);
    const areaSql = ids ? (ids.length ? `AND p.area_id IN (${marks(ids.length)})` : 'AND 1=0') : '';
    return this.ds.transaction(async (em) => {
      const token = `paypoint-${Date.now()}`.slice(0, 24);
      const res = (await em.query(
        `UPDATE payments p JOIN providers pv ON pv.id = p.provider_id AND pv.kind = 'file'
         SET p.status = 'sent', p.sent_at = CURRENT_TIMESTAMP(3), p.attempts = p.attempts + 1, p.claim_token = ?
         WHERE p.batch_id = ? AND p.review = 'included' AND p.status = 'pending' ${areaSql}`,
        [token, b.id, ...(ids ?? [])],
      )) as { affectedRows: number };
      await recordMarkedChanges(em, { batchId: b.id, token }, 'pending', 'paypoint', 'handed to the pay point');
      await em.query('UPDATE payments SET claim_token = NULL WHERE batch_id = ? AND claim_token = ?', [b.id, token]);
      await this.audit.record(em, actor, {
        action: 'batch.paypoint_handover',
        entityType: 'batch',
        entityId: b.id,
        areaId: areaId ?? b.area_id,
        after: { handedOver: res.affectedRows },
      });
      return { handedOver: res.affectedRows };
    });
  }

  /** Reads and checks the whole results file, then records it in one transaction; a file with any problem writes nothing. */
  async recordResults(
    actor: Actor,
    p: Principal,
    batchId: string,
    file: ReceivedFile,
  ): Promise<{ paid: number; notCollected: number; unchanged: number }> {
    try {
      const b = await this.processingBatch(p, batchId);
      const lines = await this.read(file.path);
      const problems: ResultProblem[] = [];
      const byRef = new Map<string, { row: number; paid: boolean; note: string | null }>();
      for (const l of lines) {
        if (byRef.has(l.reference)) {
          problems.push(
            problem(l.row, 'reference', 'DUPLICATE_REFERENCE', `${l.reference} appears twice in the file`, { reference: l.reference }),
          );
        }
        byRef.set(l.reference, l);
      }
      const refs = [...byRef.keys()];
      const found = new Map<string, { seq: string; status: string; channel: string; kind: string | null }>();
      for (let i = 0; i < refs.length; i += 1000) {
        const part = refs.slice(i, i + 1000);
        const rows = (await this.ds.query(
          `SELECT p.reference, p.seq, p.status, p.channel, pv.kind FROM payments p LEFT JOIN providers pv ON pv.id = p.provider_id
           WHERE p.batch_id = ? AND p.reference IN (${marks(part.length)})`,
          [b.id, ...part],
        )) as { reference: string; seq: string; status: string; channel: string; kind: string | null }[];
        for (const r of rows) found.set(r.reference, r);
      }
      let unchanged = 0;
      for (const [ref, l] of byRef) {
        const f = found.get(ref);
        const facts = { reference: ref };
        if (!f) problems.push(problem(l.row, 'reference', 'UNKNOWN_REFERENCE', `${ref} is not a payment of batch ${b.id}`, facts));
        else if (f.kind !== 'file') problems.push(problem(l.row, 'reference', 'NOT_CASH', `${ref} is not paid at a pay point`, facts));
        else if (f.status === (l.paid ? 'succeeded' : 'failed')) unchanged += 1;
        else if (f.status !== 'sent') {
          problems.push(
            problem(l.row, 'paid', 'NOT_HANDED_OVER', `${ref} is ${f.status}, not handed to a pay point awaiting its result`, {
              ...facts,
              status: f.status,
            }),
          );
        }
      }
      if (problems.length) throw refused(problems);
      return await this.ds.transaction(async (em) => {
        const outcomes: ReportedOutcome[] = [];
        for (const [ref, l] of byRef) {
          const f = found.get(ref)!;
          if (f.status !== 'sent') continue;
          outcomes.push({
            batchId: b.id,
            seq: String(f.seq),
            from: 'sent',
            to: l.paid ? 'succeeded' : 'failed',
            transferId: null,
            failureCode: l.paid ? null : 'NOT_COLLECTED',
            error: l.note,
            nextAt: null,
          });
        }
        // locked as they stand now: one that is no longer handed over (changed since the file was checked) stops it all
        for (let i = 0; i < outcomes.length; i += 1000) {
          const part = outcomes.slice(i, i + 1000);
          const [changed] = (await em.query(
            `SELECT reference FROM payments WHERE batch_id = ? AND seq IN (${marks(part.length)}) AND status <> 'sent' LIMIT 1 FOR UPDATE`,
            [b.id, ...part.map((o) => o.seq)],
          )) as { reference: string }[];
          if (changed) throw conflict('PAYMENT_CHANGED', `${changed.reference} changed while the file was recorded; upload it again`);
        }
        const changes = outcomes.map((o) => ({ batchId: o.batchId, seq: o.seq, from: o.from, to: o.to, detail: o.error }));
        const moved = await applyReportedOutcomes(em, outcomes, changes, recordReported('paypoint'), 'nextAttempt');
        if (moved !== outcomes.length) throw conflict('PAYMENT_CHANGED', 'a payment changed while the file was recorded; upload it again');
        const paid = outcomes.filter((o) => o.to === 'succeeded').length;
        const notCollected = outcomes.length - paid;
        await this.audit.record(em, actor, {
          action: 'batch.paypoint_results',
          entityType: 'batch',
          entityId: b.id,
          areaId: b.area_id,
          after: { paid, notCollected, unchanged, file: file.fileName },
        });
        return { paid, notCollected, unchanged };
      });
    } finally {
      await rm(file.path, { force: true });
    }
  }

  private async read(path: string): Promise<{ row: number; reference: string; paid: boolean; note: string | null }[]> {
    const out: { row: number; reference: string; paid: boolean; note: string | null }[] = [];
    const problems: ResultProblem[] = [];
    const parser = createReadStream(path).pipe(
      parse({
        bom: true,
        columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
        skip_empty_lines: true,
        trim: true,
        max_record_size: 4096,
      }),
    );
    let row = 1;
    try {
      for await (const rec of parser as AsyncIterable<Record<string, string>>) {
        row += 1;
        if (row === 2) {
          const missing = ['reference', 'paid'].filter((c) => !(c in rec));
          if (missing.length) {
            throw refused(missing.map((c) => problem(1, c, 'MISSING_COLUMN', `the header must have reference and paid; ${c} is missing`)));
          }
        }
        if (out.length >= MAX_RESULT_ROWS) throw invalid('RESULTS_FILE_TOO_LONG', `at most ${MAX_RESULT_ROWS} lines`);
        const paidText = (rec.paid ?? '').toLowerCase();
        const paid = YES.has(paidText) ? true : NO.has(paidText) ? false : null;
        if (!rec.reference) problems.push(problem(row, 'reference', 'EMPTY_REFERENCE', 'reference is empty'));
        if (paid === null) {
          problems.push(
            problem(row, 'paid', 'PAID_VALUE', `paid must be yes or no, not "${rec.paid}"`, { value: (rec.paid ?? '').slice(0, 100) }),
          );
        }
        if (rec.reference && paid !== null)
          out.push({ row, reference: rec.reference, paid, note: rec.note ? rec.note.slice(0, 500) : null });
      }
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('CSV_')) {
        const line = (e as { lines?: number }).lines;
        throw refused([
          problem(typeof line === 'number' ? line : row + 1, null, 'UNREADABLE', `not readable CSV: ${(e as Error).message}`),
        ]);
      }
      throw e;
    }
    if (row === 1) throw invalid('RESULTS_FILE_EMPTY', 'the results file is empty');
    if (problems.length) throw refused(problems);
    return out;
  }
}

import type { EntityManager } from 'typeorm';
import { rowMarks } from '../../platform/db';
import type { PaymentStatus } from './payment-states';

/**
 * The one writer of payment_events: every status change of a payment is a row here, written in the transaction that
 * made the change. Nothing else inserts into the table.
 */

/** What caused a change: the engine's send or inquiry, a provider callback, the sweeper, a statement, a pay point. */
export type EventSource = 'send' | 'inquiry' | 'callback' | 'sweeper' | 'statement' | 'paypoint';

export interface PaymentChange {
  batchId: string;
  seq: string;
  from: PaymentStatus;
  to: PaymentStatus;
  detail: string | null;
}

/** Rows one multi-row INSERT carries. */
const PER_STATEMENT = 1000;

/**
 * Changes known in memory, as plain multi-row INSERTs (an INSERT … SELECT would hold payment_events' table-wide
 * AUTO-INC lock while it read, and deadlock with callback groups).
 */
export async function recordPaymentEvents(em: EntityManager, changes: readonly PaymentChange[], source: EventSource): Promise<void> {
  for (let i = 0; i < changes.length; i += PER_STATEMENT) {
    const part = changes.slice(i, i + PER_STATEMENT);
    await em.query(
      `INSERT INTO payment_events (batch_id, seq, from_status, to_status, source, detail) VALUES ${rowMarks(part.length, 6)}`,
      part.flatMap((c) => [c.batchId, c.seq, c.from, c.to, source, c.detail]),
    );
  }
}

/** The same change for many payments of one batch. */
export function recordSameChange(
  em: EntityManager,
  batchId: string,
  seqs: readonly string[],
  change: { from: PaymentStatus; to: PaymentStatus; detail: string | null },
  source: EventSource,
): Promise<void> {
  return recordPaymentEvents(
    em,
    seqs.map((seq) => ({ batchId, seq, ...change })),
    source,
  );
}

/**
 * The changes a set-based update made, read back from the rows it marked with `token` in one batch: one event per
 * marked payment, from `from` to the status it has now.
 */
export async function recordMarkedChanges(
  em: EntityManager,
  mark: { batchId: string; token: string },
  from: PaymentStatus,
  source: EventSource,
  detail: string | null,
): Promise<void> {
  await em.query(
    `INSERT INTO payment_events (batch_id, seq, from_status, to_status, source, detail)
     SELECT batch_id, seq, ?, status, ?, ? FROM payments WHERE batch_id = ? AND claim_token = ?`,
    [from, source, detail, mark.batchId, mark.token],
  );
}

/**
 * The changes a set-based update made from an outcome table (see payment-outcomes): one event per payment of the table
 * that carries `token`, from the table's `from_status` to the payment's status now, with the table's `detail`.
 */
export async function recordTableChanges(em: EntityManager, table: string, token: string, source: EventSource): Promise<void> {
  await em.query(
    `INSERT INTO payment_events (batch_id, seq, from_status, to_status, source, detail)
     SELECT p.batch_id, p.seq, s.from_status, p.status, ?, s.detail
     FROM ${table} s JOIN payments p ON p.batch_id = s.batch_id AND p.seq = s.seq
     WHERE p.claim_token = ?`,
    [source, token],
  );
}

import type { EntityManager } from 'typeorm';
import { marks } from '../../platform/db';

/**
 * What the batches component may do to the payments of one of its batches, each a set-based statement over the
 * batch (or a set of its payments): review, cancel, release, the account check's results. Only the payments
 * component writes payments; the batches component calls these in its own transactions.
 */

/** The provider each payment goes to: a route for its bank BIN or wallet provider, else its channel's catch-all route. */
export const ROUTE_JOIN = (p: string): string => `LEFT JOIN provider_routes r1 ON r1.channel = ${p}.channel
    AND r1.match_code = COALESCE(${p}.bank_bin, ${p}.wallet_provider)
  LEFT JOIN provider_routes r0 ON r0.channel = ${p}.channel AND r0.match_code = '*'`;
export const ROUTED_PROVIDER = 'COALESCE(r1.provider_id, r0.provider_id)';

export type ItemReview = 'included' | 'held' | 'excluded';

/**
 * Items of a batch excluded, held or included again, with the reviewer and reason. An excluded item stops holding its
 * month; including it again makes it live, which the unique key on live payments refuses (ER_DUP_ENTRY, thrown) when
 * another batch has paid or planned that month since.
 */
export async function setItemsReview(
  em: EntityManager,
  batchId: string,
  seqs: readonly number[],
  change: { review: ItemReview; reason: string | null; reviewedBy: number | null },
): Promise<void> {
  await em.query(
    `UPDATE payments SET review = ?, review_reason = ?, reviewed_by = ?, live = ? WHERE batch_id = ? AND seq IN (${marks(seqs.length)})`,
    [change.review, change.reason, change.reviewedBy, change.review === 'excluded' ? null : 1, batchId, ...seqs],
  );
}

/** A batch cancelled before processing: none of its payments counts any more (their months are free for another batch). */
export async function cancelBatchPayments(em: EntityManager, batchId: string): Promise<void> {
  await em.query("UPDATE payments SET live = NULL, status = 'cancelled' WHERE batch_id = ?", [batchId]);
}

/**
 * A batch released: each included payment gets the provider its route names; held items are not paid with this batch
 * (their months are free for a later one) and excluded ones are marked so.
 */
export async function releaseBatchPayments(em: EntityManager, batchId: string): Promise<void> {
  await em.query(
    `UPDATE payments p ${ROUTE_JOIN('p')} SET p.provider_id = ${ROUTED_PROVIDER} WHERE p.batch_id = ? AND p.review = 'included'`,
    [batchId],
  );
  await em.query("UPDATE payments SET live = NULL, status = 'held' WHERE batch_id = ? AND review = 'held'", [batchId]);
  await em.query("UPDATE payments SET status = 'excluded' WHERE batch_id = ? AND review = 'excluded'", [batchId]);
}

/** One account lookup's result for a payment of the batch: what the provider said, and whether staff must look. */
export interface LookupResult {
  seq: number;
  status: string;
  name: string | null;
  flagged: boolean;
}

/** A page of the account check's results, one statement. */
export async function recordAccountLookups(em: EntityManager, batchId: string, results: readonly LookupResult[]): Promise<void> {
  if (!results.length) return;
  const values = results.map((_, i) => (i === 0 ? 'SELECT ? AS seq, ? AS st, ? AS nm, ? AS fl' : 'SELECT ?, ?, ?, ?')).join(' UNION ALL ');
  await em.query(
    `UPDATE payments p JOIN (${values}) v ON p.seq = v.seq SET p.lookup_status = v.st, p.lookup_name = v.nm, p.flagged = v.fl WHERE p.batch_id = ?`,
    [...results.flatMap((r) => [r.seq, r.status, r.name, r.flagged ? 1 : 0]), batchId],
  );
}

/** The account check asked for again: every bank and wallet payment of the batch is to be looked up afresh. */
export async function resetAccountLookups(em: EntityManager, batchId: string): Promise<void> {
  await em.query(
    "UPDATE payments SET lookup_status = NULL, lookup_name = NULL, flagged = name_mismatch WHERE batch_id = ? AND channel IN ('BANK', 'WALLET')",
    [batchId],
  );
}

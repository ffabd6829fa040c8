import type { EntityManager } from 'typeorm';
import type { Actor } from '../../platform/security';
import type { BatchStatus } from './batch-states';
import type { BatchRow } from './batch-views';

/**
 * The one writer of batch_transitions: every status change of a batch (by a person, the scheduler or the engine) is a
 * row here, with what the batch held at that moment, in the transaction that made the change.
 */
export async function recordBatchTransition(
  em: EntityManager,
  actor: Actor,
  b: Pick<BatchRow, 'id' | 'version' | 'item_count' | 'total_amount'>,
  from: BatchStatus | null,
  to: BatchStatus,
  reason: string | null,
): Promise<void> {
  await em.query(
    `INSERT INTO batch_transitions (batch_id, from_status, to_status, reason, actor_user_id, actor_username, version, item_count, total_amount, request_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [b.id, from, to, reason, actor.userId, actor.username, b.version, b.item_count, b.total_amount, actor.requestId],
  );
}

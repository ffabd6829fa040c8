import type { DataSource } from 'typeorm';
import { isDuplicateKey, marks } from '../../platform/db';
import { conflict, invalid } from '../../platform/errors';
import { assertAreaScope, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { setItemsReview } from '../payments/batch-payments';
import { recountBatch } from './batch-creation';
import type { BatchReads } from './batch-reads';
import { assertEditable } from './batch-states';
import { toBatchView, type BatchView, type ItemReview } from './batch-views';

/** Items one review request may change. */
export const MAX_REVIEW_ITEMS = 1000;

export interface ReviewInput {
  action: 'exclude' | 'hold' | 'include';
  seqs: number[];
  reason?: string | null | undefined;
}

/** Staff exclude, hold or include items of a draft or rejected batch. */
export class BatchReview {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly reads: BatchReads,
  ) {}

  /** Exclude, hold or include items again, with a reason; only while the batch is draft or rejected. */
  async review(actor: Actor, p: Principal, id: string, input: ReviewInput): Promise<{ batch: BatchView; changed: number }> {
    const ids = [...new Set(input.seqs)];
    if (input.action !== 'include' && !input.reason?.trim()) {
      throw invalid('REASON_REQUIRED', `reason: say why the items are ${input.action === 'exclude' ? 'excluded' : 'held'}`, {
        path: 'reason',
      });
    }
    return this.ds.transaction(async (em) => {
      const b = await this.reads.visible(p, id, em, true);
      assertAreaScope(p, b.area_path, 'this batch');
      assertEditable(b.status);
      const found = (await em.query(`SELECT seq, review FROM payments WHERE batch_id = ? AND seq IN (${marks(ids.length)}) FOR UPDATE`, [
        b.id,
        ...ids,
      ])) as { seq: string; review: ItemReview }[];
      if (found.length !== ids.length) {
        const have = new Set(found.map((f) => Number(f.seq)));
        const missing = ids.filter((i) => !have.has(i));
        throw invalid('ITEM_NOT_IN_BATCH', `seqs: not in batch ${b.id}: ${missing.slice(0, 20).join(', ')}`, { path: 'seqs', missing });
      }
      const target: ItemReview = input.action === 'exclude' ? 'excluded' : input.action === 'hold' ? 'held' : 'included';
      const toChange = found.filter((f) => f.review !== target).map((f) => Number(f.seq));
      if (toChange.length) {
        try {
          await setItemsReview(em, b.id, toChange, {
            review: target,
            reason: target === 'included' ? null : input.reason!.trim(),
            reviewedBy: actor.userId,
          });
        } catch (e) {
          if (isDuplicateKey(e)) {
            throw conflict(
              'ITEM_SLOT_TAKEN',
              'some of these items were paid or planned in another batch since they were excluded; they cannot be included again',
            );
          }
          throw e;
        }
        await recountBatch(em, b.id);
        await em.query('UPDATE batches SET version = version + 1 WHERE id = ?', [b.id]);
        await em.query('INSERT IGNORE INTO batch_makers (batch_id, user_id, first_action) VALUES (?, ?, ?)', [
          b.id,
          actor.userId,
          'review',
        ]);
        await this.audit.record(em, actor, {
          action: `batch.items_${input.action}`,
          entityType: 'batch',
          entityId: b.id,
          areaId: b.area_id,
          after: { items: toChange.length, seqs: toChange.slice(0, 100), reason: input.reason ?? null },
        });
      }
      return { batch: toBatchView(await this.reads.row(em, b.id)), changed: toChange.length };
    });
  }
}

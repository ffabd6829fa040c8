import type { DataSource, EntityManager } from 'typeorm';
import { marks } from '../../platform/db';
import { conflict, forbidden, invalid } from '../../platform/errors';
import { assertAreaScope, hasRole, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { cancelBatchPayments } from '../payments/batch-payments';
import type { BatchReads } from './batch-reads';
import { assertCan, assertEditable, type BatchAction, type BatchStatus } from './batch-states';
import { recordBatchTransition } from './batch-transitions';
import { toBatchView, vnTime, type BatchRow, type BatchView } from './batch-views';
import type { BatchHooks } from './batches.service';

/** How far ahead a batch may be scheduled. */
export const MAX_SCHEDULE_DAYS = 90;

export interface Approval {
  itemCount: number;
  totalAmount: number;
  version?: number | undefined;
}

/**
 * The maker-checker state machine and scheduling: every move runs in one transaction with its transition record and
 * audit event; the batch row is locked (FOR UPDATE) and moved by a conditional update, so two people acting at once
 * cannot both win.
 */
export class BatchLifecycle {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly hooks: BatchHooks,
    private readonly reads: BatchReads,
  ) {}

  /** Lock the batch, check the move, apply `change`, record the transition and audit it; one transaction. */
  private async move(
    actor: Actor,
    p: Principal,
    id: string,
    action: BatchAction,
    check: (b: BatchRow, em: EntityManager) => Promise<void> | void,
    change: (b: BatchRow, em: EntityManager) => Promise<{ to: BatchStatus; reason: string | null; set?: string; params?: unknown[] }>,
  ): Promise<BatchView> {
    return this.ds.transaction(async (em) => {
      const b = await this.reads.visible(p, id, em, true);
      assertCan(action, b.status);
      await check(b, em);
      const c = await change(b, em);
      const res = (await em.query(
        `UPDATE batches SET status = ?, status_reason = ?${c.set ? `, ${c.set}` : ''} WHERE id = ? AND status = ?`,
        [c.to, c.reason, ...(c.params ?? []), b.id, b.status],
      )) as { affectedRows: number };
      if (res.affectedRows !== 1) throw conflict('BATCH_CHANGED', 'the batch changed while this request ran; reload it');
      const after = await this.reads.row(em, b.id);
      await recordBatchTransition(em, actor, after, b.status, c.to, c.reason);
      await this.audit.record(em, actor, {
        action: `batch.${action}`,
        entityType: 'batch',
        entityId: b.id,
        areaId: b.area_id,
        before: { status: b.status },
        after: {
          status: c.to,
          reason: c.reason,
          itemCount: after.item_count,
          totalAmount: Number(after.total_amount),
          version: after.version,
          ...(after.scheduled_for ? { scheduledFor: vnTime(after.scheduled_for) } : {}),
        },
      });
      return toBatchView(after);
    });
  }

  async submit(actor: Actor, p: Principal, id: string, note?: string | null): Promise<BatchView> {
    return this.move(
      actor,
      p,
      id,
      'submit',
      (b) => {
        assertAreaScope(p, b.area_path, 'this batch');
        if (b.item_count === 0) throw conflict('BATCH_EMPTY', 'the batch has no items to pay; cancel it instead');
        if (b.check_status === 'pending' || b.check_status === 'running') {
          throw conflict('BATCH_CHECK_RUNNING', 'the account check of this batch has not finished; submit when it has');
        }
      },
      async (b, em) => {
        await em.query('INSERT IGNORE INTO batch_makers (batch_id, user_id, first_action) VALUES (?, ?, ?)', [
          b.id,
          actor.userId,
          'submit',
        ]);
        return {
          to: 'submitted',
          reason: note?.trim() || null,
          set: 'submitted_by = ?, submitted_at = CURRENT_TIMESTAMP(3)',
          params: [actor.userId],
        };
      },
    );
  }

  /** Checker rules: an approver whose scope covers the whole batch area, who did none of its work. */
  private async assertChecker(p: Principal, b: BatchRow, em: EntityManager): Promise<void> {
    if (!hasRole(p, 'approver')) throw forbidden('APPROVER_ROLE_REQUIRED', 'only an approver may approve or reject a batch');
    if (!p.areaPath || !b.area_path.startsWith(p.areaPath)) {
      if (p.areaPath) throw forbidden('AREA_OUT_OF_SCOPE', 'this batch covers areas outside your scope');
    }
    const [maker] = (await em.query('SELECT first_action FROM batch_makers WHERE batch_id = ? AND user_id = ?', [b.id, p.userId])) as {
      first_action: string;
    }[];
    if (maker || b.created_by === p.userId || b.submitted_by === p.userId) {
      throw forbidden('SELF_APPROVAL', 'you created, changed or submitted this batch: another officer must check it');
    }
  }

  async approve(actor: Actor, p: Principal, id: string, seen: Approval, note?: string | null): Promise<BatchView> {
    return this.move(
      actor,
      p,
      id,
      'approve',
      async (b, em) => {
        await this.assertChecker(p, b, em);
        const total = Number(b.total_amount);
        if (seen.itemCount !== b.item_count || seen.totalAmount !== total || (seen.version !== undefined && seen.version !== b.version)) {
          throw conflict('BATCH_CHANGED', 'the batch is not what you reviewed: reload it and check it again', {
            seen: { itemCount: seen.itemCount, totalAmount: seen.totalAmount, version: seen.version ?? null },
            current: { itemCount: b.item_count, totalAmount: total, version: b.version },
          });
        }
      },
      () =>
        Promise.resolve({
          to: 'approved' as const,
          reason: note?.trim() || null,
          set: 'approved_by = ?, approved_at = CURRENT_TIMESTAMP(3)',
          params: [actor.userId],
        }),
    );
  }

  async reject(actor: Actor, p: Principal, id: string, reason: string): Promise<BatchView> {
    if (!reason.trim()) throw invalid('REASON_REQUIRED', 'reason: say what staff must fix', { path: 'reason' });
    return this.move(
      actor,
      p,
      id,
      'reject',
      (b, em) => this.assertChecker(p, b, em),
      () => Promise.resolve({ to: 'rejected' as const, reason: reason.trim() }),
    );
  }

  /** Before processing: every payment of the batch stops counting (its slot is free for another batch). */
  async cancel(actor: Actor, p: Principal, id: string, reason: string): Promise<BatchView> {
    if (!reason.trim()) throw invalid('REASON_REQUIRED', 'reason: say why the batch is cancelled', { path: 'reason' });
    return this.move(
      actor,
      p,
      id,
      'cancel',
      (b) => assertAreaScope(p, b.area_path, 'this batch'),
      async (b, em) => {
        await cancelBatchPayments(em, b.id);
        return { to: 'cancelled', reason: reason.trim(), set: 'scheduled_for = NULL, funds_hold_reason = NULL' };
      },
    );
  }

  /** Schedules an approved batch (or moves a scheduled one) to start at `at`. */
  async schedule(actor: Actor, p: Principal, id: string, at: Date, now: Date = new Date(), enqueue = true): Promise<BatchView> {
    if (at.getTime() < now.getTime() - 60_000)
      throw invalid('SCHEDULE_IN_PAST', 'at: must not be in the past; release the batch instead', { path: 'at' });
    if (at.getTime() > now.getTime() + MAX_SCHEDULE_DAYS * 86_400_000) {
      throw invalid('SCHEDULE_TOO_FAR', `at: at most ${MAX_SCHEDULE_DAYS} days ahead`, { path: 'at' });
    }
    const view = await this.move(
      actor,
      p,
      id,
      'schedule',
      (b) => assertAreaScope(p, b.area_path, 'this batch'),
      () =>
        Promise.resolve({
          to: 'scheduled' as const,
          reason: `start at ${vnTime(at)}`,
          set: 'scheduled_for = ?, scheduled_by = ?, funds_hold_reason = NULL',
          params: [at, actor.userId],
        }),
    );
    if (enqueue) await this.hooks.releaseScheduled(view.id, at);
    return view;
  }

  /** Staff may run the account check again while the batch can still change; the request is audited. */
  async assertRecheckable(actor: Actor, p: Principal, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const b = await this.reads.visible(p, id, em, true);
      assertAreaScope(p, b.area_path, 'this batch');
      assertEditable(b.status);
      await this.audit.record(em, actor, { action: 'batch.account_check', entityType: 'batch', entityId: b.id, areaId: b.area_id });
    });
  }

  /** Raw row for the release path (scheduler and release service). */
  async rowForRelease(id: string): Promise<BatchRow> {
    return this.reads.row(this.ds.manager, id);
  }

  /** Moves an approved batch to scheduled now, so that the release path starts from one state. */
  async scheduleNow(actor: Actor, p: Principal, id: string): Promise<BatchRow> {
    const b = await this.reads.visible(p, id);
    assertAreaScope(p, b.area_path, 'this batch');
    if (b.status === 'approved') await this.schedule(actor, p, id, new Date(), new Date(), false);
    else assertCan('release', b.status);
    return this.reads.row(this.ds.manager, id);
  }
}

const SYSTEM: Actor = { userId: null, username: 'system', roles: ['system'], requestId: null, source: 'engine' };

/**
 * processing → completed (every payment final, none failed) or completed_with_failures, when the engine finds nothing
 * open; recorded and audited once (a conditional update: a second call finds the batch moved and does nothing).
 */
export async function completeBatch(em: EntityManager, audit: AuditService, batchId: string, failed: number): Promise<boolean> {
  const to = failed > 0 ? 'completed_with_failures' : 'completed';
  const res = (await em.query("UPDATE batches SET status = ?, completed_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND status = 'processing'", [
    to,
    batchId,
  ])) as { affectedRows: number };
  if (res.affectedRows !== 1) return false;
  const [b] = (await em.query('SELECT id, version, item_count, total_amount, area_id FROM batches WHERE id = ?', [batchId])) as {
    id: string;
    version: number;
    item_count: number;
    total_amount: string;
    area_id: number;
  }[];
  const reason = failed ? `${failed} payment(s) failed or came back` : 'every payment succeeded';
  await recordBatchTransition(em, SYSTEM, b!, 'processing', to, reason);
  await audit.record(em, SYSTEM, {
    action: 'batch.complete',
    entityType: 'batch',
    entityId: batchId,
    areaId: b!.area_id,
    after: { status: to, reason },
  });
  return true;
}

/** The batches being paid now (the engine's sweeper serves them). */
export async function processingBatchIds(ds: DataSource): Promise<string[]> {
  const rows = (await ds.query("SELECT id FROM batches WHERE status = 'processing' ORDER BY id")) as { id: string }[];
  return rows.map((r) => String(r.id));
}

/** The batch each payment-reference prefix names (a prefix names one batch for ever). */
export async function batchIdsOfPrefixes(em: EntityManager, prefixes: readonly string[]): Promise<{ id: string; prefix: string }[]> {
  if (!prefixes.length) return [];
  const rows = (await em.query(`SELECT id, reference_prefix FROM batches WHERE reference_prefix IN (${marks(prefixes.length)})`, [
    ...prefixes,
  ])) as { id: string; reference_prefix: string }[];
  return rows.map((r) => ({ id: String(r.id), prefix: r.reference_prefix }));
}

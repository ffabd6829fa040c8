import type { DataSource, EntityManager } from 'typeorm';
import type winston from 'winston';
import { conflict } from '../../platform/errors';
import { marks, withNamedLock } from '../../platform/db';
import { formatVnd } from '../../platform/money';
import type { Actor, Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import type { ProviderPort } from '../providers/provider.port';
import { ROUTE_JOIN, ROUTED_PROVIDER, releaseBatchPayments } from '../payments/batch-payments';
import { UNSETTLED_STATUSES } from '../payments/payment-states';
import { assertCan } from './batch-states';
import { recordBatchTransition } from './batch-transitions';
import type { BatchesService } from './batches.service';
import { toBatchView, vnTime, type BatchRow, type BatchView } from './batch-views';

/** Where the release path gets a provider's adapter (the providers component). */
export interface AdapterSource {
  adapterFor(providerId: number): Promise<ProviderPort | null>;
}

const RELEASE_LOCK = 'batches.release';
const LOCK_WAIT_S = 60;

export type ReleaseOutcome = 'released' | 'held' | 'skipped';

interface Need {
  provider_id: number | null;
  name: string | null;
  n: string;
  amount: string;
  channel: string;
}

/**
 * Release of a scheduled batch: check that every payment has a provider and
 * that each provider's float covers this batch on top of what other
 * processing batches still owe there; then move the batch to processing and
 * its payments to their providers. Releases run one at a time (a named lock),
 * so two batches cannot both count the same float.
 */
export class BatchReleaser {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly batches: BatchesService,
    private readonly providers: AdapterSource,
    private readonly log: winston.Logger,
    /** after the release committed: start paying (queue the dispatch) */
    private readonly onReleased: (batchId: string) => Promise<void> = async () => undefined,
  ) {}

  /** Staff release an approved or scheduled batch now. */
  async releaseNow(actor: Actor, p: Principal, id: string): Promise<BatchView> {
    const b = await this.batches.scheduleNow(actor, p, id);
    await this.release(actor, b.id, null, b.scheduled_for);
    return toBatchView(await this.batches.rowForRelease(b.id));
  }

  /**
   * The delayed job for `at` fired. Skipped when the batch is no longer
   * scheduled for that moment (rescheduled, cancelled, released already).
   * Attributed to the person who scheduled it.
   */
  async releaseDue(batchId: string, at: Date, now: Date = new Date()): Promise<ReleaseOutcome> {
    const b = await this.batches.rowForRelease(batchId);
    if (b.status !== 'scheduled' || !b.scheduled_for || b.scheduled_for.getTime() !== at.getTime()) return 'skipped';
    if (b.scheduled_for.getTime() > now.getTime()) return 'skipped';
    const [u] = (await this.ds.query('SELECT id, username, roles FROM users WHERE id = ?', [b.scheduled_by])) as {
      id: number;
      username: string;
      roles: string;
    }[];
    const actor: Actor = u
      ? { userId: u.id, username: u.username, roles: u.roles.split(','), requestId: null, source: 'scheduler' }
      : { userId: null, username: 'system', roles: ['system'], requestId: null, source: 'scheduler' };
    return this.release(actor, batchId, at);
  }

  /**
   * `scheduledNow`: the moment releaseNow scheduled the batch for. Between that and this lock a worker's batch sweep
   * may queue the release of that very schedule and run it first; the batch released so is what the caller asked for.
   */
  private async release(actor: Actor, batchId: string, at: Date | null, scheduledNow: Date | null = null): Promise<ReleaseOutcome> {
    const busy = () => conflict('RELEASE_BUSY', 'another batch is being released; try again');
    return withNamedLock(this.ds, RELEASE_LOCK, { waitSeconds: LOCK_WAIT_S, busy }, async () => {
      const b = await this.batches.rowForRelease(batchId);
      if (at && (b.status !== 'scheduled' || b.scheduled_for?.getTime() !== at.getTime())) return 'skipped';
      if (!at && scheduledNow && b.status === 'processing' && b.scheduled_for?.getTime() === scheduledNow.getTime()) return 'released';
      assertCan('release', b.status);
      const short = await this.fundsProblems(b);
      if (short.length) {
        await this.hold(actor, b, short.join('; '));
        return 'held';
      }
      await this.ds.transaction(async (em) => {
        await em.query('SELECT id FROM batches WHERE id = ? FOR UPDATE', [b.id]);
        const res = (await em.query(
          `UPDATE batches SET status = 'processing', status_reason = NULL, released_at = CURRENT_TIMESTAMP(3),
           funds_hold_reason = NULL, funds_checked_at = CURRENT_TIMESTAMP(3)
         WHERE id = ? AND status = 'scheduled' AND version = ?`,
          [b.id, b.version],
        )) as { affectedRows: number };
        if (res.affectedRows !== 1) throw conflict('BATCH_CHANGED', 'the batch changed while it was being released; reload it');
        await releaseBatchPayments(em, b.id);
        await this.transition(em, actor, b, at ? `scheduled start ${vnTime(at)}` : 'released at once');
      });
      await this.onReleased(b.id);
      return 'released';
    });
  }

  private async transition(em: EntityManager, actor: Actor, b: BatchRow, reason: string): Promise<void> {
    await recordBatchTransition(em, actor, b, 'scheduled', 'processing', reason);
    await this.audit.record(em, actor, {
      action: 'batch.release',
      entityType: 'batch',
      entityId: b.id,
      areaId: b.area_id,
      before: { status: 'scheduled' },
      after: { status: 'processing', itemCount: b.item_count, totalAmount: Number(b.total_amount), reason },
    });
  }

  /** Why the batch cannot be paid now: payments no provider takes, floats that are short or cannot be read. */
  private async fundsProblems(b: BatchRow): Promise<string[]> {
    const needs = (await this.ds.query(
      `SELECT ${ROUTED_PROVIDER} AS provider_id, pv.name, MIN(p.channel) AS channel, COUNT(*) AS n, SUM(p.amount) AS amount
       FROM payments p ${ROUTE_JOIN('p')} LEFT JOIN providers pv ON pv.id = ${ROUTED_PROVIDER}
       WHERE p.batch_id = ? AND p.review = 'included'
       GROUP BY ${ROUTED_PROVIDER}, pv.name`,
      [b.id],
    )) as Need[];
    const problems: string[] = [];
    for (const n of needs) {
      const need = Number(n.amount);
      if (n.provider_id === null) {
        problems.push(`${n.n} payment(s) of ${formatVnd(need)} have no provider: add a route for their channel, bank or wallet`);
        continue;
      }
      const adapter = await this.providers.adapterFor(n.provider_id);
      if (!adapter) continue; // pays outside the wire API (cash pay points): no float to check
      let available: number;
      try {
        available = (await adapter.balance()).available;
      } catch (e) {
        this.log.warn('float check failed', { provider: n.name, batchId: b.id, err: e });
        problems.push(`the float at ${n.name} could not be read (${(e as Error).message}); try the release again`);
        continue;
      }
      const [c] = (await this.ds.query(
        `SELECT COALESCE(SUM(p.amount), 0) AS owed FROM batches bt JOIN payments p ON p.batch_id = bt.id
         WHERE bt.status = 'processing' AND p.provider_id = ? AND p.review = 'included'
           AND p.status IN (${marks(UNSETTLED_STATUSES.length)})`,
        [n.provider_id, ...UNSETTLED_STATUSES],
      )) as { owed: string }[];
      const owed = Number(c!.owed);
      if (available - owed < need) {
        problems.push(
          `float at ${n.name} is ${formatVnd(available)}${owed ? ` with ${formatVnd(owed)} still owed by batches in processing` : ''}; ` +
            `this batch needs ${formatVnd(need)} there (short by ${formatVnd(need - (available - owed))})`,
        );
      }
    }
    return problems;
  }

  private async hold(actor: Actor, b: BatchRow, reason: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      await em.query(
        "UPDATE batches SET funds_hold_reason = ?, funds_checked_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND status = 'scheduled'",
        [reason.slice(0, 1000), b.id],
      );
      await this.audit.record(em, actor, {
        action: 'batch.funds_hold',
        entityType: 'batch',
        entityId: b.id,
        areaId: b.area_id,
        after: { status: 'scheduled', reason },
      });
    });
    this.log.warn('batch held: funds', { batchId: b.id, reason });
  }
}

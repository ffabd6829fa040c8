import type { DataSource } from 'typeorm';
import type winston from 'winston';
import { marks } from '../../platform/db';
import type { DispatchMarks } from './dispatch-marks';
import type { ChunkJob, EngineQueues } from './payment-engine';
import { INQUIRABLE_STATUSES, SENDABLE_STATUSES } from './payment-states';

/**
 * The engine's dispatch: a batch's due work cut into chunk jobs on each provider's queue. A job names a range of
 * payments, never their state: whoever runs it claims what is still due, so queueing twice is harmless.
 */
export class PaymentDispatch {
  constructor(
    private readonly ds: DataSource,
    private readonly queues: EngineQueues,
    /** The worker's batch-wide marks of queued never-tried sends (Redis); without them each row carries its lease. */
    private readonly marks: DispatchMarks | null,
    private readonly log: winston.Logger,
    private readonly opts: { chunkSize: number; queueLeaseMs: number },
  ) {}

  /**
   * Cuts a batch's due work (pending sends, due inquiries and polls) into chunk jobs on each provider's queue. Reads
   * the batch a page at a time per provider (seq order, 10 000 rows), so that memory does not grow with the batch.
   */
  async run(
    batchId: string,
    now = new Date(),
    opts: { fresh?: boolean; requeue?: boolean } = {},
  ): Promise<{ send: number; inquire: number }> {
    const out = { send: 0, inquire: 0 };
    // `requeue`: the queues were lost (Redis lost the deployment's keys): every due payment is queued again whatever
    // its queue lease or the batch's mark say, since the jobs they name are gone (a claim is conditional: a payment
    // queued twice is sent once)
    const requeue = opts.requeue ?? false;
    // `fresh: false` (the frequent sweeps) reads only payments waiting for a moment (retries, inquiries, polls): an
    // index range; payments never tried are read again only now and then (their jobs are lost only with Redis)
    const fresh = requeue || (opts.fresh ?? true);
    // with the worker's marks, the never-tried payments of a batch are marked queued for the batch as a whole (one
    // Redis key) rather than row by row; while the mark lives, a fresh dispatch leaves them alone
    const batchMarks = this.marks;
    let freshSends = fresh;
    if (fresh && !requeue && batchMarks) {
      try {
        if (await batchMarks.isMarked(batchId)) freshSends = false;
      } catch {
        // out of reach: queue them again (a claim is conditional: a payment queued twice is sent once)
      }
    }
    const PAGE = 10_000;
    for (const kind of ['send', 'inquire'] as const) {
      const statuses = kind === 'send' ? SENDABLE_STATUSES : INQUIRABLE_STATUSES;
      const kindFresh = kind === 'send' ? freshSends : fresh;
      // never-tried sends covered by the batch's mark (set below, once all of them are queued) need no row lease
      const byMark = kind === 'send' && kindFresh && batchMarks !== null;
      const due = `p.batch_id = ? AND p.review = 'included' AND p.status IN (${marks(statuses.length)})
           AND ${kindFresh ? '(p.next_attempt_at IS NULL OR p.next_attempt_at <= ?)' : 'p.next_attempt_at <= ?'}
           ${requeue ? '' : 'AND (p.queued_until IS NULL OR p.queued_until <= ?)'}`;
      const dueParams = requeue ? [batchId, ...statuses, now] : [batchId, ...statuses, now, now];
      const providers = (await this.ds.query(
        `SELECT DISTINCT p.provider_id FROM payments p JOIN providers pv ON pv.id = p.provider_id AND pv.kind <> 'file'
         WHERE ${due} AND p.provider_id IS NOT NULL ORDER BY p.provider_id`,
        dueParams,
      )) as { provider_id: number }[];
      for (const { provider_id: providerId } of providers) {
        let after = '0';
        for (;;) {
          const rows = (await this.ds.query(
            `SELECT p.seq, p.next_attempt_at IS NULL AS never FROM payments p
             WHERE ${due} AND p.provider_id = ? AND p.seq > ? ORDER BY p.seq LIMIT ${PAGE}`,
            [...dueParams, providerId, after],
          )) as { seq: string; never: number | string }[];
          if (rows.length) {
            // queued: not queued again before the lease ends (if a job is lost, the sweeper queues it again then);
            // one statement for the page, then its chunk jobs at once (the Redis client pipelines them)
            const leased = byMark ? rows.filter((r) => Number(r.never) !== 1) : rows;
            if (leased.length) {
              await this.ds.query(`UPDATE payments SET queued_until = ? WHERE batch_id = ? AND seq IN (${marks(leased.length)})`, [
                new Date(now.getTime() + this.opts.queueLeaseMs),
                batchId,
                ...leased.map((r) => String(r.seq)),
              ]);
            }
            const jobs: ChunkJob[] = [];
            for (let i = 0; i < rows.length; i += this.opts.chunkSize) {
              const part = rows.slice(i, i + this.opts.chunkSize);
              jobs.push({ kind, batchId, fromSeq: String(part[0]!.seq), toSeq: String(part[part.length - 1]!.seq) });
            }
            await Promise.all(jobs.map((job) => this.queues.send(providerId, job)));
            out[kind] += jobs.length;
          }
          if (rows.length < PAGE) break;
          after = String(rows[rows.length - 1]!.seq);
        }
      }
      if (byMark) {
        // every never-tried send of the batch is in a job now: the mark says so until the lease ends
        await batchMarks.mark(batchId, this.opts.queueLeaseMs).catch((err: unknown) => {
          // not marked: the next fresh sweep queues them again, and each is still sent once
          this.log.warn('dispatch mark not set', { batchId, err });
        });
      }
    }
    return out;
  }
}

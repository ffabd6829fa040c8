import type Redis from 'ioredis';

/**
 * Where the engine remembers that a batch's never-tried payments are all in
 * send jobs, so that the sweeper's fresh dispatch does not queue them again
 * meanwhile. The mark lives beside the jobs, in Redis, for the queue lease
 * (PAYMENT_QUEUE_LEASE_SECONDS): a Redis flush loses the jobs and the mark
 * together, and the next fresh sweep queues the batch again at once; a job
 * lost otherwise (failed for good) is queued again when the mark expires, as
 * the lease of each row did. Without marks (an engine outside the worker) each
 * queued row carries its own lease (payments.queued_until), one row update per
 * payment, which this saves.
 */
export interface DispatchMarks {
  /** True while the batch's never-tried payments are known to be queued. */
  isMarked(batchId: string): Promise<boolean>;
  mark(batchId: string, ttlMs: number): Promise<void>;
}

/** The worker's marks, shared by every worker process through Redis. */
export class RedisDispatchMarks implements DispatchMarks {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (batchId: string) => string,
  ) {}

  async isMarked(batchId: string): Promise<boolean> {
    return (await this.redis.exists(this.keyOf(batchId))) === 1;
  }

  async mark(batchId: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.keyOf(batchId), String(Date.now()), 'PX', Math.max(1, Math.round(ttlMs)));
  }
}

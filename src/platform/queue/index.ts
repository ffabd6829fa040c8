import { randomBytes } from 'node:crypto';
import Bull from 'bull';
import type Redis from 'ioredis';
import type winston from 'winston';
import type { Config } from '../../../config';
import { createRedis } from '../redis';

export type { Queue, Job } from 'bull';

/** Bull's lock and stalled-job settings of a queue, by name (undefined: Bull's defaults). */
export type QueueSettings = (name: string) => Bull.AdvancedSettings | undefined;

/**
 * Bull queues of one process. Normal commands share one connection; each
 * queue's blocking client is its own, as Bull requires.
 */
export class QueueFactory {
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly extra: Redis[] = [];
  private readonly queues = new Map<string, Bull.Queue>();

  constructor(
    private readonly cfg: Config,
    private readonly settingsFor: QueueSettings = () => undefined,
    /** where the connections' errors go (a failover, Redis restarting); without it ioredis prints each to stderr */
    private readonly log?: Pick<winston.Logger, 'warn' | 'info'>,
  ) {
    this.client = createRedis(cfg, { forBull: true, name: 'bull', log });
    this.subscriber = createRedis(cfg, { forBull: true, name: 'bull-sub', log });
    // every queue (one per job kind and per provider) adds its listeners to these two shared connections: that is
    // the design, not a leak, so Node's warning at the eleventh does not apply
    this.client.setMaxListeners(0);
    this.subscriber.setMaxListeners(0);
  }

  get<T = unknown>(name: string): Bull.Queue<T> {
    let q = this.queues.get(name);
    if (!q) {
      const settings = this.settingsFor(name);
      q = new Bull(name, {
        prefix: `${this.cfg.redisPrefix}:bull`,
        ...(settings ? { settings } : {}),
        createClient: (type) => {
          if (type === 'client') return this.client;
          if (type === 'subscriber') return this.subscriber;
          const c = createRedis(this.cfg, { forBull: true, name: 'bull-block', log: this.log });
          this.extra.push(c);
          return c;
        },
      });
      this.queues.set(name, q);
    }
    return q as Bull.Queue<T>;
  }

  all(): Bull.Queue[] {
    return [...this.queues.values()];
  }

  /** Stops taking jobs, waits for active ones (Bull's close does), then closes the connections. */
  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
    await Promise.all([this.client, this.subscriber, ...this.extra].map((c) => c.quit().catch(() => c.disconnect())));
  }
}

/**
 * A key written when a process sets its queues up, under the deployment's prefix beside the queues: when it is gone,
 * Redis lost the deployment's keys, the queued jobs with them. Each process remembers the value it saw; `lost()` says
 * whether the key vanished (or was written anew by another process) since, writing it again when missing.
 */
export class QueueEpoch {
  private seen: string | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  /** True when the queues may have been lost since the last call (at the first call: when the key was missing). */
  async lost(): Promise<boolean> {
    const now = await this.redis.get(this.key);
    if (now === null) {
      // whoever writes first names the new epoch; the others adopt it and know the queues were lost too
      await this.redis.set(this.key, randomBytes(8).toString('hex'), 'NX');
      this.seen = await this.redis.get(this.key);
      return true;
    }
    const changed = this.seen !== null && now !== this.seen;
    this.seen = now;
    return changed;
  }
}

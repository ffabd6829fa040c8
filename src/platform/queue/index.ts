import Bull from 'bull';
import type Redis from 'ioredis';
import type { Config } from '../../../config';
import { createRedis } from '../redis';

export type { Queue, Job } from 'bull';

/**
 * Bull queues of one process. Normal commands share one connection; each
 * queue's blocking client is its own, as Bull requires.
 */
export class QueueFactory {
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly extra: Redis[] = [];
  private readonly queues = new Map<string, Bull.Queue>();

  constructor(private readonly cfg: Config) {
    this.client = createRedis(cfg, { forBull: true, name: 'bull' });
    this.subscriber = createRedis(cfg, { forBull: true, name: 'bull-sub' });
    // every queue (one per job kind and per provider) adds its listeners to these two shared connections: that is
    // the design, not a leak, so Node's warning at the eleventh does not apply
    this.client.setMaxListeners(0);
    this.subscriber.setMaxListeners(0);
  }

  get<T = unknown>(name: string): Bull.Queue<T> {
    let q = this.queues.get(name);
    if (!q) {
      q = new Bull(name, {
        prefix: `${this.cfg.redisPrefix}:bull`,
        createClient: (type) => {
          if (type === 'client') return this.client;
          if (type === 'subscriber') return this.subscriber;
          const c = createRedis(this.cfg, { forBull: true, name: 'bull-block' });
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

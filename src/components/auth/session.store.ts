import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Config } from '../../../config';
import { redisKey } from '../../platform/redis';

/**
 * Server-side sessions in Redis. A session key lives only while it is used:
 * every authenticated request pushes its expiry forward by the idle limit
 * (15 min, 5 for admins), so an idle session ends by itself. Revoking a user
 * deletes all their session keys, which invalidates every token already issued.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly cfg: Config,
  ) {}

  private key(sid: string): string {
    return redisKey(this.cfg, 'sess', sid);
  }

  private userKey(userId: number): string {
    return redisKey(this.cfg, 'usess', userId);
  }

  idleMs(isAdmin: boolean): number {
    return (isAdmin ? this.cfg.authAdminIdleMinutes : this.cfg.authIdleMinutes) * 60_000;
  }

  async create(userId: number, isAdmin: boolean): Promise<string> {
    const sid = randomUUID();
    await this.redis
      .multi()
      .set(this.key(sid), String(userId), 'PX', this.idleMs(isAdmin))
      .sadd(this.userKey(userId), sid)
      .pexpire(this.userKey(userId), 24 * 3600_000)
      .exec();
    return sid;
  }

  /** True when the session is alive; extends it by the idle limit. One round trip. */
  async touch(sid: string, isAdmin: boolean): Promise<boolean> {
    return (await this.redis.pexpire(this.key(sid), this.idleMs(isAdmin))) === 1;
  }

  async end(sid: string, userId: number): Promise<void> {
    await this.redis.multi().del(this.key(sid)).srem(this.userKey(userId), sid).exec();
  }

  async revokeAll(userId: number): Promise<void> {
    const sids = await this.redis.smembers(this.userKey(userId));
    const multi = this.redis.multi();
    for (const sid of sids) multi.del(this.key(sid));
    multi.del(this.userKey(userId));
    await multi.exec();
  }
}

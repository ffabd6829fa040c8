import Redis, { type RedisOptions } from 'ioredis';
import type { Config } from '../../../config';

/** A Redis connection; `forBull` sets what Bull requires of its blocking and subscriber clients. */
export function createRedis(cfg: Config, opts: { forBull?: boolean; name?: string } = {}): Redis {
  const options: RedisOptions = {
    connectionName: opts.name ? `${cfg.redisPrefix}:${opts.name}` : cfg.redisPrefix,
    lazyConnect: false,
    ...(opts.forBull ? { maxRetriesPerRequest: null, enableReadyCheck: false } : { maxRetriesPerRequest: 2 }),
    retryStrategy: (times) => Math.min(times * 200, 5000),
  };
  return new Redis(cfg.redisUrl, options);
}

/** The deployment's Redis key namespace: `${prefix}:${parts}`. */
export function redisKey(cfg: Config, ...parts: (string | number)[]): string {
  return [cfg.redisPrefix, ...parts].join(':');
}

/**
 * A Lua script run by its SHA (EVALSHA), loaded once and again whenever the server has lost it (NOSCRIPT: a restart,
 * a SCRIPT FLUSH), so that each call sends the script's hash, not its text.
 */
export class LuaScript {
  private sha: string | null = null;

  constructor(private readonly source: string) {}

  async run(redis: Redis, keys: string[], args: string[]): Promise<unknown> {
    if (this.sha) {
      try {
        return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      }
    }
    this.sha = (await redis.script('LOAD', this.source)) as string;
    return redis.evalsha(this.sha, keys.length, ...keys, ...args);
  }
}

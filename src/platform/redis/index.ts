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

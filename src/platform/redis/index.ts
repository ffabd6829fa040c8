import Redis, { type RedisOptions } from 'ioredis';
import type winston from 'winston';
import type { Config } from '../../../config';

/** How often a connection that keeps failing says so again (its first failure is logged at once). */
const ERROR_LOG_EVERY_MS = 10_000;

/**
 * Logs a connection's errors instead of ioredis's "Unhandled error event" stack trace on stderr for every attempt: the
 * first of an outage at once, then one line every ERROR_LOG_EVERY_MS with how many there were, and the connection
 * back. ioredis keeps reconnecting whatever the listener does; commands meanwhile fail to their callers.
 */
function logErrors(redis: Redis, log: Pick<winston.Logger, 'warn' | 'info'>, name: string): void {
  let failing = 0;
  let lastLogged = 0;
  redis.on('error', (err: Error) => {
    failing += 1;
    if (failing > 1 && Date.now() - lastLogged < ERROR_LOG_EVERY_MS) return;
    lastLogged = Date.now();
    log.warn('redis connection failing; reconnecting', { connection: name, errors: failing, err: err.message });
  });
  redis.on('ready', () => {
    if (failing) log.info('redis connection back', { connection: name, errors: failing });
    failing = 0;
  });
}

/**
 * A node that has just become a replica (the old primary after a failover) refuses writes with READONLY, having run
 * nothing: reconnect, which asks the Sentinels for the primary again, and send the command again (2). An error that
 * only contains READONLY (EXECABORT of a transaction) is not sent again, as its other commands may have run.
 */
export function reconnectOnReadonly(err: Error): boolean | 1 | 2 {
  if (!err.message.includes('READONLY')) return false;
  return err.message.startsWith('READONLY') ? 2 : 1;
}

/**
 * A Redis connection; `forBull` sets what Bull requires of its blocking and subscriber clients. With REDIS_SENTINELS
 * it asks the Sentinels for the current primary on every (re)connection, so it follows a failover by itself.
 */
export function createRedis(
  cfg: Config,
  opts: { forBull?: boolean; name?: string; log?: Pick<winston.Logger, 'warn' | 'info'> } = {},
): Redis {
  const redis = connect(cfg, opts);
  if (opts.log) logErrors(redis, opts.log, opts.name ?? 'main');
  return redis;
}

function connect(cfg: Config, opts: { forBull?: boolean; name?: string; log?: Pick<winston.Logger, 'warn' | 'info'> }): Redis {
  const options: RedisOptions = {
    connectionName: opts.name ? `${cfg.redisPrefix}:${opts.name}` : cfg.redisPrefix,
    lazyConnect: false,
    ...(opts.forBull ? { maxRetriesPerRequest: null, enableReadyCheck: false } : { maxRetriesPerRequest: 2 }),
    retryStrategy: (times) => Math.min(times * 200, 5000),
  };
  if (!cfg.redisSentinels) {
    // loadConfig requires one of the two; a hand-built config without either must not fall back to localhost
    if (!cfg.redisUrl) throw new Error('REDIS_URL or REDIS_SENTINELS is required');
    return new Redis(cfg.redisUrl, options);
  }
  const redis = new Redis({
    ...options,
    sentinels: cfg.redisSentinels.map((s) => ({ host: s.host, port: s.port })),
    name: cfg.redisSentinelMaster,
    sentinelPassword: cfg.redisSentinelPassword,
    password: cfg.redisPassword,
    // a dead primary's host may not refuse but swallow the connection: give up on it soon and ask the Sentinels again
    connectTimeout: 3000,
    // the Sentinels announce a new primary (+switch-master) well before they make the old one a replica, at their next
    // look at it; until then it takes writes that it will drop, and one cut off from them but not from us never is:
    // leave it as soon as they announce the switch
    failoverDetector: true,
    reconnectOnError: reconnectOnReadonly,
  });
  // ioredis closes the failover detector's Sentinel connections on disconnect() but not when the connection ends after
  // QUIT (as ours and Bull's close do): left open, they keep a stopped process alive and reconnect forever. Its
  // connector's disconnect() closes them and nothing else; the client's own disconnect() would also mark the client
  // as closed on purpose, and Bull connects its blocking client again after ending it, which must then reconnect
  // after a failover like any other. Not when the client has already been connected again.
  //
  // A reconnection that a failover interrupts ends the client for good: when the Sentinels announce the new primary
  // (+switch-master) while the client is asking them where to reconnect, the failover detector stops the connector,
  // the connect attempt fails with "Connection is closed." and ioredis marks the client ended, so that every later
  // command fails for the life of the process (a worker then pays nothing until restarted). A client that its owner
  // did not close (quit, disconnect) is connected again.
  let closing = false;
  const own = { quit: redis.quit.bind(redis), disconnect: redis.disconnect.bind(redis), connect: redis.connect.bind(redis) };
  redis.quit = ((...args: Parameters<Redis['quit']>) => {
    closing = true;
    return own.quit(...args);
  }) as Redis['quit'];
  redis.disconnect = (reconnect = false) => {
    if (!reconnect) closing = true;
    own.disconnect(reconnect);
  };
  redis.connect = (callback?: () => void) => {
    closing = false;
    return own.connect(callback);
  };
  redis.on('end', () => {
    if (redis.status !== 'end') return;
    (redis as unknown as { connector: { disconnect(): void } }).connector.disconnect();
    if (closing) return;
    opts.log?.warn('redis connection ended by a reconnection a failover cut short; connecting again', { connection: opts.name ?? 'main' });
    setTimeout(() => {
      if (!closing && redis.status === 'end') own.connect().catch(() => undefined);
    }, 200).unref();
  });
  return redis;
}

/** The deployment's Redis key namespace: `${prefix}:${parts}`. */
export function redisKey(cfg: Config, ...parts: (string | number)[]): string {
  return [cfg.redisPrefix, ...parts].join(':');
}

/**
 * A Lua script run by its SHA (EVALSHA), loaded once and again whenever the server has lost it (NOSCRIPT: a restart,
 * a SCRIPT FLUSH, a failover to a replica that never loaded it), so that each call sends the script's hash, not its text.
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

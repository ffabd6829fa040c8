import type Redis from 'ioredis';
import { LuaScript } from '../../platform/redis';

/**
 * A provider's request rate limit (providers.rate_limit_per_second): the
 * engine takes one token before each request it makes to the provider (sends
 * and status inquiries alike). A token bucket refilled at the provider's rate
 * and holding at most a tenth of a second's worth (at least one token), so
 * that no second ever carries more than the limit plus that small burst.
 */
export interface RateLimiter {
  /** Resolves when one request to `providerId` may leave, at most `perSecond` a second. */
  take(providerId: number, perSecond: number): Promise<void>;
}

/** Tokens a bucket holds at most: a tenth of a second's worth, at least one. */
export const burstOf = (perSecond: number): number => Math.max(1, Math.ceil(perSecond / 10));

interface Waiting {
  perSecond: number;
  waiters: (() => void)[];
  pumping: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Hands out the grants of a token source to the requests waiting for them,
 * in arrival order, one source call per round for as many as are waiting (up
 * to the burst).
 */
abstract class QueuedLimiter implements RateLimiter {
  private readonly waiting = new Map<number, Waiting>();

  /** Grants up to `want` tokens now; when fewer, also how long until the next one. */
  protected abstract grant(providerId: number, perSecond: number, want: number): Promise<{ granted: number; waitMs: number }>;

  take(providerId: number, perSecond: number): Promise<void> {
    let w = this.waiting.get(providerId);
    if (!w) {
      w = { perSecond, waiters: [], pumping: false };
      this.waiting.set(providerId, w);
    }
    w.perSecond = perSecond;
    const entry = w;
    const p = new Promise<void>((resolve) => entry.waiters.push(resolve));
    if (!entry.pumping) void this.pump(providerId, entry);
    return p;
  }

  private async pump(providerId: number, w: Waiting): Promise<void> {
    w.pumping = true;
    try {
      while (w.waiters.length) {
        let r: { granted: number; waitMs: number };
        try {
          r = await this.grant(providerId, w.perSecond, Math.min(w.waiters.length, burstOf(w.perSecond)));
        } catch {
          // the shared bucket is out of reach (Redis down): hold on rather than exceed the provider's limit
          await sleep(1000);
          continue;
        }
        for (const resolve of w.waiters.splice(0, r.granted)) resolve();
        if (w.waiters.length && r.granted === 0) await sleep(Math.max(1, r.waitMs));
      }
    } finally {
      w.pumping = false;
    }
  }
}

/** A token bucket per provider in this process: N worker processes together send up to N times the limit. */
export class LocalRateLimiter extends QueuedLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {
    super();
  }

  protected grant(providerId: number, perSecond: number, want: number): Promise<{ granted: number; waitMs: number }> {
    const burst = burstOf(perSecond);
    const t = this.now();
    let b = this.buckets.get(providerId);
    if (!b) {
      b = { tokens: burst, at: t };
      this.buckets.set(providerId, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) * perSecond) / 1000);
    b.at = t;
    const granted = Math.min(want, Math.floor(b.tokens));
    b.tokens -= granted;
    return Promise.resolve({ granted, waitMs: granted < want ? Math.ceil(((1 - b.tokens) * 1000) / perSecond) : 0 });
  }
}

// KEYS[1] the bucket; ARGV rate per second, burst, tokens wanted. Redis's own clock, so that workers' clocks do not matter.
const TAKE = `
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1])
local at = tonumber(v[2])
if tokens == nil or at == nil then tokens = burst; at = now end
if now > at then tokens = math.min(burst, tokens + (now - at) * rate / 1000); at = now end
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], 60000)
local wait = 0
if granted < want then wait = math.ceil((1 - tokens) * 1000 / rate) end
return {granted, wait}
`;

/**
 * One token bucket per provider in Redis, shared by every worker process of
 * the deployment (on one machine or many): the limit holds whatever the
 * number of workers. Each process asks for as many tokens as it has requests
 * waiting (up to the burst) in one script call.
 */
export class RedisRateLimiter extends QueuedLimiter {
  private readonly script = new LuaScript(TAKE);

  /** `keyOf(providerId)` names the provider's bucket (under the deployment's Redis prefix). */
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (providerId: number) => string,
  ) {
    super();
  }

  protected async grant(providerId: number, perSecond: number, want: number): Promise<{ granted: number; waitMs: number }> {
    const args = [String(perSecond), String(burstOf(perSecond)), String(want)];
    const [granted, waitMs] = (await this.script.run(this.redis, [this.keyOf(providerId)], args)) as [number, number];
    return { granted: Number(granted), waitMs: Number(waitMs) };
  }
}

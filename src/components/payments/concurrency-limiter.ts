import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { LuaScript } from '../../platform/redis';

/**
 * A provider's in-flight limit (providers.concurrency): the engine takes a
 * slot before each request it makes to the provider (sends and inquiries
 * alike) and gives it back when the answer (or its failure) is in.
 */
export interface ConcurrencyLimiter {
  /** Resolves when one more request to `providerId` may be in flight, at most `limit` at once. */
  take(providerId: number, limit: number): Promise<void>;
  /** The request of a slot taken is over. */
  give(providerId: number): void;
  /** Gives back whatever is held elsewhere (shutdown); the limiter takes nothing afterwards. */
  close?(): Promise<void>;
}

interface LocalSlots {
  limit: number;
  inUse: number;
  waiters: (() => void)[];
}

/** Slots per provider in this process: N worker processes together keep up to N times the limit in flight. */
export class LocalConcurrencyLimiter implements ConcurrencyLimiter {
  private readonly slots = new Map<number, LocalSlots>();

  take(providerId: number, limit: number): Promise<void> {
    let s = this.slots.get(providerId);
    if (!s) {
      s = { limit, inUse: 0, waiters: [] };
      this.slots.set(providerId, s);
    }
    s.limit = limit;
    if (s.inUse < s.limit && s.waiters.length === 0) {
      s.inUse++;
      return Promise.resolve();
    }
    const entry = s;
    return new Promise<void>((resolve) => entry.waiters.push(resolve));
  }

  give(providerId: number): void {
    const s = this.slots.get(providerId);
    if (!s) return;
    s.inUse--;
    // a lowered limit takes effect as requests end
    while (s.waiters.length && s.inUse < s.limit) {
      s.inUse++;
      s.waiters.shift()!();
    }
  }
}

interface SharedSlots extends LocalSlots {
  /** Slots this process holds in Redis (its lease). */
  held: number;
  syncing: boolean;
  /** A sync asked for while one ran. */
  again: boolean;
  /** The slots in use when the running sync left: the lease records at least these, so no more are used meanwhile. */
  sentInUse: number;
  retry: NodeJS.Timeout | null;
  /** The lease call whose answer counts: one given up on (no answer in time) is ignored if it answers later. */
  call: number;
}

// KEYS[1] the provider's lease hash (field: holder id, value "held:wanted:expiresAtMs", held = the slots the holder may have
// in flight); ARGV holder id, slots wanted (in use and waiting), slots in use, limit, lease ms. Drops holders whose lease
// lapsed (a worker that died), then grants what is free, but while another holder wants more than it holds no more than
// a fair share (the limit split among the holders that want slots): a holder above its share is granted its share and
// gives the rest back as its requests end. A holder's recorded slots never fall below those it has in flight, so that
// the others' grants plus its own never exceed the limit. Redis's own clock: the workers' clocks do not matter.
const LEASE = `
if redis.replicate_commands then redis.replicate_commands() end
local me = ARGV[1]
local want = tonumber(ARGV[2])
local inuse = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local lease = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local othersHeld = 0
local wanting = 0
local starving = 0
for i = 1, #all, 2 do
  local field = all[i]
  local held, wanted, expires = string.match(all[i + 1], '^(%d+):(%d+):(%d+)$')
  if held == nil or tonumber(expires) <= now then
    redis.call('HDEL', KEYS[1], field)
  elseif field ~= me then
    othersHeld = othersHeld + tonumber(held)
    if tonumber(wanted) > 0 then wanting = wanting + 1 end
    if tonumber(wanted) > tonumber(held) then starving = starving + 1 end
  end
end
if want > 0 then wanting = wanting + 1 end
local cap = limit - othersHeld
if cap < 0 then cap = 0 end
if starving > 0 then cap = math.min(cap, math.ceil(limit / wanting)) end
local grant = math.min(want, cap)
local recorded = math.max(grant, inuse)
if recorded == 0 and want == 0 then
  redis.call('HDEL', KEYS[1], me)
else
  redis.call('HSET', KEYS[1], me, recorded .. ':' .. want .. ':' .. (now + lease))
  redis.call('PEXPIRE', KEYS[1], lease * 2)
end
return grant
`;

/**
 * A provider's in-flight limit shared by every worker process of the
 * deployment through Redis, with leases: each process holds a number of slots
 * in a hash per provider, renewed every third of the lease while it holds
 * any; a process that dies stops renewing and its slots lapse after the lease
 * (the worker's CONCURRENCY_LEASE_MS). A process asks for as many slots as it has
 * requests waiting, keeps them while it has work, and gives back what it no
 * longer needs at once. A process wanting more than is free gets what is free
 * and asks again shortly; one holding more than its fair share (the limit
 * split among the processes that want slots) is told its share at its next
 * renewal and gives the rest back as its requests end, so a second worker gets
 * its part within a renewal. Requests in flight never exceed the limit in all,
 * except after a holder's lease lapsed while it was alive and cut off (its
 * requests, bounded by its timeout, may then overlap the next holder's).
 * If Redis is out of reach, waiting requests wait (and ask again each second)
 * rather than exceed the limit; slots already held are used. If Redis is
 * flushed, the holders' records go with it: until each holder's next lease
 * call (within a renewal, a third of the lease) the others may be granted
 * slots it still has in flight.
 */
/** `p`, or a rejection once `ms` have passed without its answer. */
function answerWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class RedisConcurrencyLimiter implements ConcurrencyLimiter {
  private readonly slots = new Map<number, SharedSlots>();
  private readonly id = `${process.pid}-${randomBytes(6).toString('hex')}`;
  private readonly script = new LuaScript(LEASE);
  private readonly renewal: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (providerId: number) => string,
    private readonly opts: { leaseMs: number; retryMs?: number } = { leaseMs: 15_000 },
  ) {
    this.renewal = setInterval(() => this.renewAll(), Math.max(50, Math.floor(opts.leaseMs / 3)));
    this.renewal.unref();
  }

  take(providerId: number, limit: number): Promise<void> {
    const s = this.state(providerId);
    s.limit = limit;
    if (s.inUse < this.room(s) && s.waiters.length === 0) {
      s.inUse++;
      return Promise.resolve();
    }
    const p = new Promise<void>((resolve) => s.waiters.push(resolve));
    this.sync(providerId, s);
    return p;
  }

  give(providerId: number): void {
    const s = this.slots.get(providerId);
    if (!s) return;
    s.inUse--;
    this.handOut(s);
    // nothing waiting here: what is not in use goes back now, for the other workers
    if (s.waiters.length === 0 && s.held > s.inUse) this.sync(providerId, s);
  }

  /** Gives every slot back (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.renewal);
    for (const s of this.slots.values()) if (s.retry) clearTimeout(s.retry);
    await Promise.all([...this.slots.keys()].map((id) => this.redis.hdel(this.keyOf(id), this.id).catch(() => undefined)));
  }

  private state(providerId: number): SharedSlots {
    let s = this.slots.get(providerId);
    if (!s) {
      s = { limit: 0, inUse: 0, waiters: [], held: 0, syncing: false, again: false, sentInUse: 0, retry: null, call: 0 };
      this.slots.set(providerId, s);
    }
    return s;
  }

  /** Slots that may be in use now: those held, within the limit, and while a lease call runs no more than when it left. */
  private room(s: SharedSlots): number {
    return Math.min(s.held, s.limit, s.syncing ? s.sentInUse : Number.MAX_SAFE_INTEGER);
  }

  private handOut(s: SharedSlots): void {
    while (s.waiters.length && s.inUse < this.room(s)) {
      s.inUse++;
      s.waiters.shift()!();
    }
  }

  private renewAll(): void {
    for (const [id, s] of this.slots) if (s.held > 0 || s.waiters.length) this.sync(id, s);
  }

  /** One lease call at a time per provider: asks for the slots in use and waiting, renewing the lease. */
  private sync(providerId: number, s: SharedSlots): void {
    if (this.closed) return;
    if (s.syncing) {
      s.again = true;
      return;
    }
    if (s.retry) {
      clearTimeout(s.retry);
      s.retry = null;
    }
    s.syncing = true;
    s.again = false;
    s.sentInUse = s.inUse;
    const want = Math.min(s.limit, s.inUse + s.waiters.length);
    const call = ++s.call;
    void answerWithin(this.lease(providerId, want, s.inUse, s.limit), Math.max(1000, Math.floor(this.opts.leaseMs / 3))).then(
      (granted) => {
        if (call !== s.call) return;
        s.syncing = false;
        s.held = granted;
        this.handOut(s);
        if (s.again) this.sync(providerId, s);
        else if (s.waiters.length) this.later(providerId, s, this.opts.retryMs ?? 100);
      },
      () => {
        if (call !== s.call) return;
        // Redis out of reach, or a call lost in a failover that never answers (which held every request waiting here
        // for good): waiting requests wait and ask again. What the lost call recorded is unknown, so no slot beyond
        // those in use is used until a call answers
        s.syncing = false;
        s.held = Math.min(s.held, s.sentInUse);
        if (s.waiters.length || s.again) this.later(providerId, s, 1000);
      },
    );
  }

  private later(providerId: number, s: SharedSlots, ms: number): void {
    if (s.retry || this.closed) return;
    s.retry = setTimeout(() => {
      s.retry = null;
      this.sync(providerId, s);
    }, ms);
    s.retry.unref();
  }

  private async lease(providerId: number, want: number, inUse: number, limit: number): Promise<number> {
    const args = [this.id, String(want), String(inUse), String(limit), String(this.opts.leaseMs)];
    return Number(await this.script.run(this.redis, [this.keyOf(providerId)], args));
  }
}

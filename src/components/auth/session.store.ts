import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type winston from 'winston';
import type { Config } from '../../../config';
import type { Role } from '../../platform/security';
import { LuaScript, redisKey } from '../../platform/redis';
import { countSessionStoreReset } from '../../platform/metrics';

/** What a session is bound to: a token naming the session must carry exactly these. */
export interface SessionBinding {
  userId: number;
  roles: readonly Role[];
  areaId: number | null;
  stage: 'full' | 'limited';
}

export type SessionState = 'alive' | 'ended' | 'mismatch';

/** A browser session: what the cookie carries, and the CSRF token that unsafe requests must repeat in a header. */
export interface CookieSession {
  sid: string;
  cookie: string;
  csrfToken: string;
}

/** A live cookie session as the cookie proved it. */
export interface CookieSessionState extends SessionBinding {
  username: string;
  areaPath: string | null;
  csrfToken: string;
}

/** The deadlines of a live session. */
export interface SessionTimes {
  idleMs: number;
  idleExpiresAt: Date;
  expiresAt: Date;
  csrfToken: string | null;
}

const COOKIE_VALUE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

// KEYS[1] the session hash, KEYS[2] the user's set of session ids.
// ARGV sid, user id, roles, area ('' for none), stage, idle ms, absolute lifetime ms, then field/value pairs to store
// with it (a cookie session's credential hash, CSRF token, username and area path). Returns 1.
// The user's set lives at least as long as the session just created, which is the last of its sessions to end.
const CREATE = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idle = tonumber(ARGV[6])
local life = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'uid', ARGV[2], 'roles', ARGV[3], 'area', ARGV[4], 'stage', ARGV[5], 'idle', ARGV[6],
  'exp', string.format('%.0f', now + life))
for i = 8, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], math.min(idle, life))
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < life then redis.call('PEXPIRE', KEYS[2], life) end
return 1
`;

// KEYS[1] the session hash. ARGV user id, roles, area, stage as the token states them.
// Returns 1 alive (idle deadline pushed forward, never past the absolute one), 0 ended, -1 bound to something else.
const TOUCH = `
if redis.replicate_commands then redis.replicate_commands() end
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local s = redis.call('HMGET', KEYS[1], 'uid', 'roles', 'area', 'stage', 'idle', 'exp')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = tonumber(s[6])
local idle = tonumber(s[5])
if exp == nil or idle == nil or now >= exp then
  redis.call('DEL', KEYS[1])
  return 0
end
if s[1] ~= ARGV[1] or s[2] ~= ARGV[2] or s[3] ~= ARGV[3] or s[4] ~= ARGV[4] then return -1 end
redis.call('PEXPIRE', KEYS[1], math.min(idle, exp - now))
return 1
`;

// KEYS[1] the session hash. ARGV[1] the SHA-256 of the cookie's secret.
// Returns the session's uid, roles, area, stage, usr, apath, csrf when it is alive and the secret is its own; 0 otherwise.
// Reads only: the caller extends the session with TOUCH once the request passed its CSRF check.
// Hashes are compared, so the time the comparison takes says nothing about the secret.
const PEEK_COOKIE = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local s = redis.call('HMGET', KEYS[1], 'uid', 'roles', 'area', 'stage', 'usr', 'apath', 'csrf', 'ck', 'exp')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = tonumber(s[9])
if exp == nil or now >= exp or not s[8] or s[8] ~= ARGV[1] then return 0 end
return { s[1], s[2], s[3], s[4], s[5] or '', s[6] or '', s[7] or '' }
`;

// KEYS[1] the user's set of session ids. ARGV the session key prefix. Returns how many sessions were deleted.
// One step, so that a session created meanwhile is either deleted or kept in a fresh set, never orphaned.
const REVOKE_ALL = `
local sids = redis.call('SMEMBERS', KEYS[1])
for _, sid in ipairs(sids) do redis.call('DEL', ARGV[1] .. sid) end
redis.call('DEL', KEYS[1])
return #sids
`;

/**
 * Server-side sessions in Redis. A session ends when unused for the idle limit
 * (15 min, 5 for admins), and in any case at its absolute deadline
 * (`AUTH_SESSION_MAX_HOURS` after login). It records the user, roles, area and
 * stage it was issued for, and a token naming it must state the same. Revoking a
 * user deletes all their session keys, which invalidates every token already issued.
 *
 * A browser session is the same session reached through a cookie: `<sid>.<secret>`, of which the session keeps only
 * the secret's hash, so a session id seen elsewhere (a bearer token's jti) cannot be turned into a cookie.
 */
export class SessionStore {
  private readonly createScript = new LuaScript(CREATE);
  private readonly touchScript = new LuaScript(TOUCH);
  private readonly revokeScript = new LuaScript(REVOKE_ALL);
  private readonly peekCookieScript = new LuaScript(PEEK_COOKIE);

  constructor(
    private readonly redis: Redis,
    private readonly cfg: Config,
    private readonly log?: winston.Logger,
  ) {}

  /** Set with the first session and never deleted: missing while a session is looked for, Redis lost its data. */
  private epochKey(): string {
    return redisKey(this.cfg, 'sess', 'epoch');
  }

  /**
   * Called when a request names a session that does not exist. If the store's marker is gone too, Redis lost every
   * session (a flush, or a restart without persistence): that is logged as an error and counted once per loss (the
   * marker is set again by whoever notices first), so that an operator learns why everyone was sent to the login page.
   */
  async noticeMissingSession(): Promise<void> {
    const first = await this.redis.set(this.epochKey(), new Date().toISOString(), 'NX').catch(() => null);
    if (first !== 'OK') return;
    countSessionStoreReset();
    this.log?.error(
      'the session store lost every session (Redis flushed, failed over without the data, or restarted without persistence): every user must log in again',
    );
  }

  private key(sid: string): string {
    return redisKey(this.cfg, 'sess', sid);
  }

  private userKey(userId: number): string {
    return redisKey(this.cfg, 'usess', userId);
  }

  idleMs(isAdmin: boolean): number {
    return (isAdmin ? this.cfg.authAdminIdleMinutes : this.cfg.authIdleMinutes) * 60_000;
  }

  private fields(b: SessionBinding): string[] {
    return [String(b.userId), [...b.roles].sort().join(','), b.areaId === null ? '' : String(b.areaId), b.stage];
  }

  async create(b: SessionBinding, extra: string[] = []): Promise<string> {
    const sid = randomUUID();
    await this.redis.set(this.epochKey(), new Date().toISOString(), 'NX');
    await this.createScript.run(
      this.redis,
      [this.key(sid), this.userKey(b.userId)],
      [sid, ...this.fields(b), String(this.idleMs(b.roles.includes('admin'))), String(this.cfg.authSessionMaxHours * 3600_000), ...extra],
    );
    return sid;
  }

  /** A session for a browser: the cookie value and the CSRF token, both random; the session keeps the cookie's hash only. */
  async createCookie(b: SessionBinding, who: { username: string; areaPath: string | null }): Promise<CookieSession> {
    const secret = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const sid = await this.create(b, ['ck', sha256(secret), 'csrf', csrfToken, 'usr', who.username, 'apath', who.areaPath ?? '']);
    return { sid, cookie: `${sid}.${secret}`, csrfToken };
  }

  /** The live session a cookie value names, if its secret is that session's; does not extend it (see touch). */
  async peekCookie(value: string): Promise<(CookieSessionState & { sid: string }) | null> {
    const m = COOKIE_VALUE.exec(value);
    if (!m) return null;
    const r = await this.peekCookieScript.run(this.redis, [this.key(m[1]!)], [sha256(m[2]!)]);
    if (!Array.isArray(r)) return null;
    const [uid, roles, area, stage, usr, apath, csrf] = r as string[];
    if (stage !== 'full' && stage !== 'limited') return null;
    return {
      sid: m[1]!,
      userId: Number(uid),
      roles: roles!.split(',').filter(Boolean) as Role[],
      areaId: area === '' ? null : Number(area),
      stage,
      username: usr!,
      areaPath: apath === '' ? null : apath!,
      csrfToken: csrf!,
    };
  }

  /** The idle limit and deadlines of a live session, or null when it has ended. */
  async times(sid: string): Promise<SessionTimes | null> {
    const res = await this.redis.multi().hmget(this.key(sid), 'idle', 'exp', 'csrf').pttl(this.key(sid)).exec();
    const [idle, exp, csrf] = (res?.[0]?.[1] ?? []) as (string | null)[];
    const pttl = Number(res?.[1]?.[1] ?? -2);
    if (!idle || !exp || pttl < 0) return null;
    const now = Date.now();
    return { idleMs: Number(idle), idleExpiresAt: new Date(now + pttl), expiresAt: new Date(Number(exp)), csrfToken: csrf ?? null };
  }

  /** Whether the session is alive and bound to exactly this user, roles, area and stage; extends it when so. One round trip. */
  async touch(sid: string, b: SessionBinding): Promise<SessionState> {
    const r = Number(await this.touchScript.run(this.redis, [this.key(sid)], this.fields(b)));
    return r === 1 ? 'alive' : r === -1 ? 'mismatch' : 'ended';
  }

  async end(sid: string, userId: number): Promise<void> {
    await this.redis.multi().del(this.key(sid)).srem(this.userKey(userId), sid).exec();
  }

  async revokeAll(userId: number): Promise<void> {
    await this.revokeScript.run(this.redis, [this.userKey(userId)], [this.key('')]);
  }
}

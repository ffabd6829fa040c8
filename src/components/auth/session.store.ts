import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Config } from '../../../config';
import type { Role } from '../../platform/security';
import { LuaScript, redisKey } from '../../platform/redis';

/** What a session is bound to: a token naming the session must carry exactly these. */
export interface SessionBinding {
  userId: number;
  roles: readonly Role[];
  areaId: number | null;
  stage: 'full' | 'limited';
}

export type SessionState = 'alive' | 'ended' | 'mismatch';

// KEYS[1] the session hash, KEYS[2] the user's set of session ids.
// ARGV sid, user id, roles, area ('' for none), stage, idle ms, absolute lifetime ms. Returns 1.
// The user's set lives at least as long as the session just created, which is the last of its sessions to end.
const CREATE = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idle = tonumber(ARGV[6])
local life = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'uid', ARGV[2], 'roles', ARGV[3], 'area', ARGV[4], 'stage', ARGV[5], 'idle', ARGV[6],
  'exp', string.format('%.0f', now + life))
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
 */
export class SessionStore {
  private readonly createScript = new LuaScript(CREATE);
  private readonly touchScript = new LuaScript(TOUCH);
  private readonly revokeScript = new LuaScript(REVOKE_ALL);

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

  private fields(b: SessionBinding): string[] {
    return [String(b.userId), [...b.roles].sort().join(','), b.areaId === null ? '' : String(b.areaId), b.stage];
  }

  async create(b: SessionBinding): Promise<string> {
    const sid = randomUUID();
    await this.createScript.run(
      this.redis,
      [this.key(sid), this.userKey(b.userId)],
      [sid, ...this.fields(b), String(this.idleMs(b.roles.includes('admin'))), String(this.cfg.authSessionMaxHours * 3600_000)],
    );
    return sid;
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

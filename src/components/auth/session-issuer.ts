import type { DataSource } from 'typeorm';
import { unauthenticated } from '../../platform/errors';
import type { Role } from '../../platform/security';
import { areaPathOf } from '../areas/area-path';
import type { CookieSession, SessionStore } from './session.store';
import type { TokenService } from './token';
import type { UserEntity } from './user.entity';

/** Roles that release money or administer the system must use a second factor. */
export const TOTP_ROLES: readonly Role[] = ['admin', 'approver'];

export function requiresTotp(roles: readonly Role[]): boolean {
  return roles.some((r) => TOTP_ROLES.includes(r));
}

export interface Me {
  id: number;
  username: string;
  displayName: string;
  roles: Role[];
  areaId: number | null;
  totpEnabled: boolean;
  mustChangePassword: boolean;
  /** What the account must still do before it gets a full session. */
  pending: ('password_change' | 'totp_enrolment')[];
}

export interface IssuedToken {
  token: string;
  tokenType: 'Bearer';
  expiresAt: string;
  stage: 'full' | 'limited';
  user: Me;
}

/** A browser session's answer: the credential is in the cookie, so the body has no token, and has the CSRF token. */
export interface IssuedCookie {
  /** The session's absolute end: the cookie works until then while the session is used. */
  expiresAt: string;
  stage: 'full' | 'limited';
  user: Me;
  csrfToken: string;
}

export type SessionMode = 'cookie' | 'token';

/** What a login (or a password change, a TOTP enrolment) hands out: a bearer token, or a cookie and its answer. */
export type Issued = { mode: 'token'; body: IssuedToken } | { mode: 'cookie'; body: IssuedCookie; cookie: string };

/**
 * Hands out sessions: a bearer token or a browser cookie bound to the account as it was read, at the stage its pending
 * steps allow (limited until the password is changed and a required second factor enrolled).
 */
export class SessionIssuer {
  constructor(
    private readonly ds: DataSource,
    private readonly sessions: SessionStore,
    private readonly tokens: TokenService,
  ) {}

  meOf(u: UserEntity): Me {
    const pending: Me['pending'] = [];
    if (u.mustChangePassword) pending.push('password_change');
    if (requiresTotp(u.roles) && !u.totpEnabled) pending.push('totp_enrolment');
    return {
      id: u.id,
      username: u.username,
      displayName: u.displayName,
      roles: u.roles,
      areaId: u.areaId,
      totpEnabled: u.totpEnabled,
      mustChangePassword: u.mustChangePassword,
      pending,
    };
  }

  stageOf(u: UserEntity): 'full' | 'limited' {
    return this.meOf(u).pending.length ? 'limited' : 'full';
  }

  /**
   * A new session for `u` as it was read, and its token. The account is read again once the session exists: a
   * lock, deactivation or change that committed before that read is seen here, and one committing after it
   * revokes this session with the others, so no session outlives a revocation it raced with.
   */
  async issueNew(u: UserEntity, mode: SessionMode): Promise<Issued> {
    const stage = this.stageOf(u);
    const binding = { userId: u.id, roles: u.roles, areaId: u.areaId, stage };
    let browser: CookieSession | undefined;
    if (mode === 'cookie') {
      const areaPath = u.areaId === null ? null : await areaPathOf(this.ds.manager, u.areaId);
      browser = await this.sessions.createCookie(binding, { username: u.username, areaPath });
    }
    const sid = browser?.sid ?? (await this.sessions.create(binding));
    // a locking read waits for a change still uncommitted (a deactivation revokes before its transaction ends)
    const [now] = (await this.ds.query(
      `SELECT active, locked_at, password_hash, roles, area_id, must_change_password, totp_enabled
         FROM users WHERE id = ? LOCK IN SHARE MODE`,
      [u.id],
    )) as {
      active: number;
      locked_at: Date | null;
      password_hash: string;
      roles: string;
      area_id: number | null;
      must_change_password: number;
      totp_enabled: number;
    }[];
    const same =
      now !== undefined &&
      now.password_hash === u.passwordHash &&
      now.roles.split(',').filter(Boolean).sort().join() === [...u.roles].sort().join() &&
      now.area_id === u.areaId &&
      now.must_change_password === (u.mustChangePassword ? 1 : 0) &&
      now.totp_enabled === (u.totpEnabled ? 1 : 0);
    if (!now || now.locked_at || !now.active || !same) {
      await this.sessions.end(sid, u.id);
      if (now?.locked_at) throw accountLocked();
      if (now && !now.active) throw accountDisabled();
      throw unauthenticated('SESSION_ENDED', 'the account was changed while logging in; log in again');
    }
    if (!browser) return { mode: 'token', body: await this.issue(u, sid) };
    const times = await this.sessions.times(sid);
    if (!times) throw sessionEnded();
    return {
      mode: 'cookie',
      cookie: browser.cookie,
      body: { expiresAt: times.expiresAt.toISOString(), stage, user: this.meOf(u), csrfToken: browser.csrfToken },
    };
  }

  /** A token for session `sid`, stating what the session is bound to. */
  async issue(u: UserEntity, sid: string): Promise<IssuedToken> {
    const me = this.meOf(u);
    const stage = this.stageOf(u);
    const apath = u.areaId === null ? null : await areaPathOf(this.ds.manager, u.areaId);
    const { token, expiresAt } = this.tokens.sign({
      sub: String(u.id),
      sid,
      usr: u.username,
      roles: u.roles,
      area: u.areaId,
      apath,
      stage,
    });
    return { token, tokenType: 'Bearer', expiresAt: expiresAt.toISOString(), stage, user: me };
  }
}

export function sessionEnded() {
  return unauthenticated(
    'SESSION_ENDED',
    'the session has ended (logged out, idle too long, past its maximum lifetime, or revoked); log in again',
  );
}

export function accountDisabled() {
  return unauthenticated('ACCOUNT_DISABLED', 'the account is disabled; ask an administrator');
}

export function accountLocked() {
  return unauthenticated('ACCOUNT_LOCKED', 'the account is locked after too many failed logins; ask an administrator to unlock it');
}

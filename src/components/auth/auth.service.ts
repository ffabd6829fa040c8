import { timingSafeEqual } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Config } from '../../../config';
import { type DataCipher } from '../../platform/crypto';
import { conflict, forbidden, invalid, unauthenticated } from '../../platform/errors';
import { SYSTEM_ACTOR, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { assertPasswordPolicy, DUMMY_HASH, hashPassword, verifyPassword } from './password';
import { CSRF_HEADER, sessionCookieOf } from './session-cookie';
import type { SessionStore } from './session.store';
import type { TokenService } from './token';
import { matchTotp, newTotpSecret, totpUri } from './totp';
import { UserEntity } from './user.entity';
import {
  accountDisabled,
  accountLocked,
  requiresTotp,
  sessionEnded,
  SessionIssuer,
  type Issued,
  type IssuedToken,
  type Me,
  type SessionMode,
} from './session-issuer';

export { requiresTotp, TOTP_ROLES, type Issued, type IssuedCookie, type IssuedToken, type Me, type SessionMode } from './session-issuer';

export interface SessionInfo {
  /** The idle limit: the session ends this long after its last request. */
  idleSeconds: number;
  idleExpiresAt: string;
  expiresAt: string;
  csrfToken?: string;
}

export interface MeWithSession extends Me {
  session: SessionInfo;
}

/** How a request presents its session: the Authorization header wins; otherwise the session cookie. */
export interface RequestCredentials {
  authorization?: string | undefined;
  cookie?: string | undefined;
  method: string;
  csrfToken?: string | undefined;
}

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];

export class AuthService {
  private readonly issuer: SessionIssuer;

  constructor(
    private readonly ds: DataSource,
    private readonly cfg: Config,
    private readonly sessions: SessionStore,
    private readonly tokens: TokenService,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
  ) {
    this.issuer = new SessionIssuer(ds, sessions, tokens);
  }

  private users(em?: EntityManager) {
    return (em ?? this.ds.manager).getRepository(UserEntity);
  }

  /** The account as its owner sees it, with what it must still do. */
  meOf(u: UserEntity): Me {
    return this.issuer.meOf(u);
  }

  private inactiveSince(): Date {
    return new Date(Date.now() - this.cfg.authInactiveDays * 86_400_000);
  }

  /**
   * Password, then lockout, activity and second-factor checks. Every failure
   * on a known account counts towards the lockout and is audited. A locked or
   * disabled account gets one answer whatever the password, after the same
   * hashing work. `session: 'cookie'` opens a browser session instead of
   * handing out a bearer token.
   */
  async login(
    input: { username: string; password: string; totp?: string | undefined; session?: SessionMode | undefined },
    source: string | null,
    requestId: string,
  ): Promise<Issued> {
    const username = input.username.trim().toLowerCase();
    const user = await this.users().findOne({ where: { username } });
    const actorFor = (u: UserEntity): Actor => ({ userId: u.id, username: u.username, roles: [...u.roles], requestId, source });
    if (!user) {
      await verifyPassword(input.password, DUMMY_HASH);
      throw unauthenticated('INVALID_CREDENTIALS', 'wrong username or password');
    }
    const actor = actorFor(user);
    const passwordOk = await verifyPassword(input.password, user.passwordHash);
    if (user.lockedAt) return this.refuse(user, actor, 'locked');
    if (!user.active) return this.refuse(user, actor, 'disabled');
    if (!passwordOk) return this.recordFailure(user, actor, 'password');
    if (user.lastActiveAt < this.inactiveSince()) {
      await this.disable(user.id, 'inactive', SYSTEM_ACTOR);
      throw unauthenticated(
        'ACCOUNT_DISABLED',
        `the account was unused for more than ${this.cfg.authInactiveDays} days and is now disabled; ask an administrator`,
      );
    }
    let totpStep: number | null = null;
    if (user.totpEnabled) {
      if (!input.totp) throw unauthenticated('TOTP_REQUIRED', 'enter the 6-digit code from your authenticator app as totp');
      totpStep = matchTotp(input.totp, this.cipher.decrypt(user.totpSecret!, `totp:${user.id}`));
      if (totpStep === null) return this.recordFailure(user, actor, 'totp');
    }
    // Under the row lock: the lock, the counter and the code's time step are read and written as one decision.
    const outcome = await this.ds.transaction(async (em) => {
      const [row] = (await em.query('SELECT active, locked_at, failed_logins, totp_last_step FROM users WHERE id = ? FOR UPDATE', [
        user.id,
      ])) as { active: number; locked_at: Date | null; failed_logins: number; totp_last_step: string | null }[];
      if (!row || row.locked_at) return 'locked' as const;
      if (row.failed_logins >= this.cfg.authMaxFailedLogins) {
        // a count left over from a higher limit stands and locks now, rather than being reset
        await em.query('UPDATE users SET locked_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [user.id]);
        return 'locked' as const;
      }
      if (!row.active) return 'disabled' as const;
      if (totpStep !== null && row.totp_last_step !== null && totpStep <= Number(row.totp_last_step)) return 'code_used' as const;
      await em.query(
        `UPDATE users SET failed_logins = 0, last_login_at = CURRENT_TIMESTAMP(3), last_active_at = CURRENT_TIMESTAMP(3)
           ${totpStep !== null ? ', totp_last_step = ?' : ''} WHERE id = ?`,
        totpStep !== null ? [totpStep, user.id] : [user.id],
      );
      await this.audit.record(em, actor, {
        action: 'auth.login',
        entityType: 'user',
        entityId: user.id,
        areaId: user.areaId,
        after: { secondFactor: user.totpEnabled },
      });
      return 'ok' as const;
    });
    if (outcome === 'locked') return this.refuse(user, actor, 'locked');
    if (outcome === 'disabled') return this.refuse(user, actor, 'disabled');
    if (outcome === 'code_used') return this.recordFailure(user, actor, 'totp');
    return this.issuer.issueNew(user, input.session ?? 'token');
  }

  /** Refuses a login to a locked or disabled account: audited, not counted, the same answer whether the password was right. */
  private async refuse(user: UserEntity, actor: Actor, reason: 'locked' | 'disabled'): Promise<never> {
    await this.audit.recordAlone(actor, {
      action: 'auth.login_refused',
      entityType: 'user',
      entityId: user.id,
      areaId: user.areaId,
      after: { reason },
    });
    throw reason === 'locked' ? accountLocked() : accountDisabled();
  }

  /**
   * Counts a failed factor and locks the account when the count reaches the limit, in one transaction holding
   * the row lock, so a burst of failures cannot pass the limit unlocked. The attempt that locks answers
   * ACCOUNT_LOCKED, like every attempt after it.
   */
  private async recordFailure(user: UserEntity, actor: Actor, factor: 'password' | 'totp'): Promise<never> {
    const outcome = await this.countFailure(user, actor, factor, 'auth.login_failed');
    if (outcome === 'was_locked') return this.refuse(user, actor, 'locked');
    if (outcome === 'locked') throw accountLocked();
    if (factor === 'totp') throw unauthenticated('INVALID_TOTP', 'the authenticator code is wrong, expired or already used');
    throw unauthenticated('INVALID_CREDENTIALS', 'wrong username or password');
  }

  /** One failed factor counted under the row lock (see recordFailure); the count that reaches the limit locks and ends every session. */
  private async countFailure(
    user: UserEntity,
    actor: Actor,
    factor: 'password' | 'totp',
    action: string,
    context: Record<string, unknown> = {},
  ): Promise<'was_locked' | 'locked' | 'counted'> {
    const outcome = await this.ds.transaction(async (em) => {
      const [row] = (await em.query('SELECT failed_logins, locked_at FROM users WHERE id = ? FOR UPDATE', [user.id])) as {
        failed_logins: number;
        locked_at: Date | null;
      }[];
      if (!row || row.locked_at) return 'was_locked' as const;
      const failedLogins = row.failed_logins + 1;
      const lockNow = failedLogins >= this.cfg.authMaxFailedLogins;
      await em.query(`UPDATE users SET failed_logins = ?${lockNow ? ', locked_at = CURRENT_TIMESTAMP(3)' : ''} WHERE id = ?`, [
        failedLogins,
        user.id,
      ]);
      await this.audit.record(em, actor, {
        action: lockNow ? 'auth.locked' : action,
        entityType: 'user',
        entityId: user.id,
        areaId: user.areaId,
        after: { factor, failedLogins, ...context },
      });
      return lockNow ? ('locked' as const) : ('counted' as const);
    });
    if (outcome === 'locked') await this.sessions.revokeAll(user.id);
    return outcome;
  }

  /**
   * Step-up for an action that moves money: a fresh code from the caller's authenticator, spent by one conditional
   * write before the action runs (so of concurrent requests with one code only one passes, and an action that fails
   * afterwards has spent it all the same). A wrong or used code counts towards the lockout like a failed login.
   */
  async stepUp(p: Principal, actor: Actor, code: string, purpose: string): Promise<void> {
    const u = await this.users().findOneByOrFail({ id: p.userId });
    if (!u.totpEnabled || !u.totpSecret) {
      throw forbidden('TOTP_ENROLMENT_REQUIRED', `${purpose} needs a second factor: enrol TOTP (POST /auth/totp/setup) first`);
    }
    const step = matchTotp(code, this.cipher.decrypt(u.totpSecret, `totp:${u.id}`));
    if (step !== null) {
      // bound to the secret checked, so a TOTP reset racing this request cannot let a code of the old secret through
      const res = (await this.ds.query(
        `UPDATE users SET totp_last_step = ?, failed_logins = 0
          WHERE id = ? AND active = 1 AND locked_at IS NULL AND totp_enabled = 1 AND totp_secret = ?
            AND (totp_last_step IS NULL OR totp_last_step < ?)`,
        [step, u.id, u.totpSecret, step],
      )) as { affectedRows: number };
      if (res.affectedRows === 1) return;
    }
    const outcome = await this.countFailure(u, actor, 'totp', 'auth.step_up_failed', { purpose });
    if (outcome !== 'counted') throw accountLocked();
    throw invalid('INVALID_TOTP', 'totp: the authenticator code is wrong, expired or already used', [
      { location: 'body', path: 'totp', message: 'wrong, expired or already used; wait for the next code' },
    ]);
  }

  /**
   * Authenticates a bearer token: signature, claims, then a live session in Redis bound to the same user, roles,
   * area and stage (which the call extends, up to the session's absolute deadline).
   */
  async authenticateRequest(creds: RequestCredentials): Promise<Principal> {
    if (creds.authorization !== undefined) return this.authenticate(creds.authorization);
    const cookie = sessionCookieOf(creds.cookie);
    if (cookie === undefined) return this.authenticate(undefined);
    if (cookie === null) throw unauthenticated('INVALID_TOKEN', 'the session cookie was sent more than once; log in again');
    return this.authenticateCookie(cookie, creds);
  }

  /**
   * A browser session: the cookie names a live session and proves it with the session's secret; an unsafe method
   * must also repeat the session's CSRF token in a header (a page of another site cannot read it), checked before
   * the session is extended, so that a refused request does nothing at all.
   */
  private async authenticateCookie(cookie: string, creds: RequestCredentials): Promise<Principal> {
    const s = await this.sessions.peekCookie(cookie);
    if (!s) {
      await this.sessions.noticeMissingSession();
      throw sessionEnded();
    }
    if (!SAFE_METHODS.includes(creds.method.toUpperCase()) && !sameSecret(creds.csrfToken, s.csrfToken)) {
      throw forbidden('CSRF_TOKEN_INVALID', `send the ${CSRF_HEADER} header with this session's csrfToken (from login or GET /auth/me)`);
    }
    if ((await this.sessions.touch(s.sid, s)) !== 'alive') throw sessionEnded();
    return {
      userId: s.userId,
      username: s.username,
      roles: [...s.roles],
      areaId: s.areaId,
      areaPath: s.areaPath,
      sessionId: s.sid,
      stage: s.stage,
      cookieSession: true,
    };
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw unauthenticated('TOKEN_MISSING', 'send Authorization: Bearer <token>');
    const m = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization);
    if (!m) throw unauthenticated('INVALID_TOKEN', 'the Authorization header must be Bearer <token>');
    const c = this.tokens.verify(m[1]!);
    const state = await this.sessions.touch(c.sid, { userId: Number(c.sub), roles: c.roles, areaId: c.area, stage: c.stage });
    if (state === 'ended') {
      await this.sessions.noticeMissingSession();
      throw sessionEnded();
    }
    if (state === 'mismatch') throw unauthenticated('TOKEN_SESSION_MISMATCH', 'the token does not match its session; log in again');
    return {
      userId: Number(c.sub),
      username: c.usr,
      roles: c.roles,
      areaId: c.area,
      areaPath: c.apath,
      sessionId: c.sid,
      stage: c.stage,
    };
  }

  /** The user, and the deadlines of this session (and its CSRF token when it is a browser session). */
  async me(p: Principal): Promise<MeWithSession> {
    const u = await this.users().findOneByOrFail({ id: p.userId });
    const t = await this.sessions.times(p.sessionId);
    if (!t) throw sessionEnded();
    return {
      ...this.meOf(u),
      session: {
        idleSeconds: Math.round(t.idleMs / 1000),
        idleExpiresAt: t.idleExpiresAt.toISOString(),
        expiresAt: t.expiresAt.toISOString(),
        ...(p.cookieSession && t.csrfToken ? { csrfToken: t.csrfToken } : {}),
      },
    };
  }

  async logout(p: Principal, actor: Actor): Promise<void> {
    await this.sessions.end(p.sessionId, p.userId);
    await this.audit.recordAlone(actor, { action: 'auth.logout', entityType: 'user', entityId: p.userId, areaId: p.areaId });
  }

  /** A fresh token for the same live session (the session's idle limit and absolute deadline still apply). */
  async refresh(p: Principal): Promise<IssuedToken> {
    // a browser session lives by being used; a token for it would be one the page's scripts can read
    if (p.cookieSession) throw forbidden('BEARER_SESSION_REQUIRED', 'a cookie session has no token to refresh: it stays alive while used');
    const u = await this.users().findOneByOrFail({ id: p.userId });
    if (!u.active || u.lockedAt) {
      await this.sessions.revokeAll(u.id);
      throw unauthenticated('SESSION_ENDED', 'the account is no longer active');
    }
    // the session was issued for the roles, area and stage the token states; an account that differs now logs in again
    if ([...u.roles].sort().join() !== [...p.roles].sort().join() || u.areaId !== p.areaId || this.issuer.stageOf(u) !== p.stage) {
      await this.sessions.end(p.sessionId, u.id);
      throw unauthenticated('SESSION_ENDED', "the account's roles, area or setup changed since this session began; log in again");
    }
    await this.ds.query('UPDATE users SET last_active_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [u.id]);
    return this.issuer.issue(u, p.sessionId);
  }

  /** Changes the caller's own password; every session of the user ends and a new one is issued. */
  async changePassword(p: Principal, actor: Actor, input: { currentPassword: string; newPassword: string }): Promise<Issued> {
    const u = await this.users().findOneByOrFail({ id: p.userId });
    if (!(await verifyPassword(input.currentPassword, u.passwordHash))) {
      throw invalid('WRONG_PASSWORD', 'currentPassword: does not match the current password', [
        { location: 'body', path: 'currentPassword', message: 'does not match the current password' },
      ]);
    }
    if (input.newPassword === input.currentPassword) throw invalid('PASSWORD_REUSED', 'newPassword: must differ from the current password');
    assertPasswordPolicy(input.newPassword, { username: u.username, secondFactor: u.totpEnabled || requiresTotp(u.roles) });
    const hash = await hashPassword(input.newPassword);
    await this.ds.transaction(async (em) => {
      await em.query(
        'UPDATE users SET password_hash = ?, must_change_password = 0, password_changed_at = CURRENT_TIMESTAMP(3) WHERE id = ?',
        [hash, u.id],
      );
      await this.audit.record(em, actor, {
        action: 'auth.password_change',
        entityType: 'user',
        entityId: u.id,
        areaId: u.areaId,
        after: { forced: u.mustChangePassword },
      });
    });
    await this.sessions.revokeAll(u.id);
    return this.issuer.issueNew(await this.users().findOneByOrFail({ id: u.id }), p.cookieSession ? 'cookie' : 'token');
  }

  /** Starts TOTP enrolment: a new secret, shown once, confirmed by a code from it. */
  async totpSetup(p: Principal, actor: Actor): Promise<{ secret: string; otpauthUrl: string }> {
    const u = await this.users().findOneByOrFail({ id: p.userId });
    if (u.totpEnabled) throw conflict('TOTP_ALREADY_ENABLED', 'a second factor is already enrolled; an administrator can reset it');
    const secret = newTotpSecret();
    const stored = await this.ds.transaction(async (em) => {
      // only while not enrolled: a setup racing a confirmation must not replace the secret just enrolled
      const res = (await em.query('UPDATE users SET totp_secret = ? WHERE id = ? AND totp_enabled = 0', [
        this.cipher.encrypt(secret, `totp:${u.id}`),
        u.id,
      ])) as { affectedRows: number };
      if (res.affectedRows !== 1) return false;
      await this.audit.record(em, actor, { action: 'auth.totp_setup', entityType: 'user', entityId: u.id, areaId: u.areaId });
      return true;
    });
    if (!stored) throw conflict('TOTP_ALREADY_ENABLED', 'a second factor is already enrolled; an administrator can reset it');
    return { secret, otpauthUrl: totpUri(u.username, this.cfg.totpIssuer, secret) };
  }

  async totpConfirm(p: Principal, actor: Actor, code: string): Promise<Issued> {
    const u = await this.users().findOneByOrFail({ id: p.userId });
    if (u.totpEnabled) throw conflict('TOTP_ALREADY_ENABLED', 'a second factor is already enrolled');
    if (!u.totpSecret) throw conflict('TOTP_SETUP_REQUIRED', 'call POST /auth/totp/setup first');
    const step = matchTotp(code, this.cipher.decrypt(u.totpSecret, `totp:${u.id}`));
    if (step === null) throw invalid('INVALID_TOTP', 'code: the authenticator code is wrong or expired');
    // one conditional write spends the code: of concurrent confirmations only one enrols, and only with the secret it checked
    const enrolled = await this.ds.transaction(async (em) => {
      const res = (await em.query(
        'UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ? AND totp_enabled = 0 AND totp_secret = ?',
        [step, u.id, u.totpSecret],
      )) as { affectedRows: number };
      if (res.affectedRows !== 1) return false;
      await this.audit.record(em, actor, { action: 'auth.totp_enabled', entityType: 'user', entityId: u.id, areaId: u.areaId });
      return true;
    });
    if (!enrolled) {
      const now = await this.users().findOneByOrFail({ id: u.id });
      if (now.totpEnabled) throw conflict('TOTP_ALREADY_ENABLED', 'a second factor is already enrolled');
      throw conflict('TOTP_SETUP_REPLACED', 'a newer POST /auth/totp/setup replaced this secret; confirm with a code from the newest one');
    }
    await this.sessions.revokeAll(u.id);
    return this.issuer.issueNew(await this.users().findOneByOrFail({ id: u.id }), p.cookieSession ? 'cookie' : 'token');
  }

  /** Disables an account and ends its sessions (admin deactivation, or the inactivity rule). */
  async disable(userId: number, reason: 'deactivated' | 'inactive', actor: Actor, em?: EntityManager): Promise<void> {
    const run = async (tx: EntityManager) => {
      const res = (await tx.query('UPDATE users SET active = 0, disabled_reason = ? WHERE id = ? AND active = 1', [reason, userId])) as {
        affectedRows: number;
      };
      if (res.affectedRows === 1) {
        const [row] = (await tx.query('SELECT area_id FROM users WHERE id = ?', [userId])) as { area_id: number | null }[];
        await this.audit.record(tx, actor, {
          action: reason === 'inactive' ? 'user.disabled_inactive' : 'user.deactivate',
          entityType: 'user',
          entityId: userId,
          areaId: row?.area_id ?? null,
          before: { active: true },
          after: { active: false, reason },
        });
      }
    };
    if (em) await run(em);
    else await this.ds.transaction(run);
    await this.sessions.revokeAll(userId);
  }

  /** Scheduled: disables every active account unused for longer than the limit. Returns how many. */
  async disableInactive(): Promise<number> {
    const rows = (await this.ds.query('SELECT id FROM users WHERE active = 1 AND last_active_at < ?', [this.inactiveSince()])) as {
      id: number;
    }[];
    for (const r of rows) await this.disable(r.id, 'inactive', SYSTEM_ACTOR);
    return rows.length;
  }
}

/** Constant-time equality of a presented secret with the expected one. */
function sameSecret(given: string | undefined, expected: string): boolean {
  if (!given || !expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function assertNotSelf(p: Principal, userId: number, what: string): void {
  if (p.userId === userId) throw forbidden('SELF_CHANGE_REFUSED', `you cannot ${what} your own account; ask another administrator`);
}

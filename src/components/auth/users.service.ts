import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { conflict, forbidden, invalid } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import { applyAreaScope, assertAreaScope, type Actor, type Principal, type Role } from '../../platform/security';
import type { AuditService } from '../audit';
import { areaPathOf } from '../areas/area-path';
import { assertNotSelf, type AuthService } from './auth.service';
import { assertPasswordPolicy, hashPassword, temporaryPassword } from './password';
import type { SessionStore } from './session.store';
import { UserEntity } from './user.entity';
import { likePrefix } from '../../platform/db';
import {
  GRANTED_ROLES,
  RoleGrants,
  roleSet,
  sameRoles,
  type IssuedRoleGrant,
  type RoleGrantStatus,
  type RoleGrantView,
} from './role-grants';
import { loadUser } from './user-access';

export { GRANTED_ROLES, type IssuedRoleGrant, type RoleGrantStatus, type RoleGrantView } from './role-grants';

export interface UserView {
  id: number;
  username: string;
  displayName: string;
  roles: Role[];
  areaId: number | null;
  active: boolean;
  disabledReason: string | null;
  locked: boolean;
  mustChangePassword: boolean;
  totpEnabled: boolean;
  lastLoginAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface UserFilter {
  role?: Role | undefined;
  areaId?: number | undefined;
  active?: boolean | undefined;
  locked?: boolean | undefined;
  q?: string | undefined;
}

function view(u: UserEntity): UserView {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    roles: u.roles,
    areaId: u.areaId,
    active: u.active,
    disabledReason: u.disabledReason,
    locked: u.lockedAt !== null,
    mustChangePassword: u.mustChangePassword,
    totpEnabled: u.totpEnabled,
    lastLoginAt: u.lastLoginAt ? u.lastLoginAt.toISOString() : null,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
  };
}

/** What an audit event says about a user: no password material, no names. */
function auditShape(u: Pick<UserEntity, 'username' | 'roles' | 'areaId' | 'active'>) {
  return { username: u.username, roles: [...u.roles].sort(), areaId: u.areaId, active: u.active };
}

const USERNAME = /^[a-z0-9][a-z0-9._-]{2,63}$/;

export class UsersService {
  private readonly grants: RoleGrants;

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
    private readonly sessions: SessionStore,
    private readonly cipher: DataCipher,
  ) {
    this.grants = new RoleGrants(ds, audit, sessions, cipher);
  }

  /** The area a new or changed user is scoped to must be inside the admin's own scope (null = everything). */
  private async assertAssignableArea(p: Principal, em: EntityManager, areaId: number | null): Promise<void> {
    if (areaId === null) {
      if (p.areaPath)
        throw forbidden('AREA_OUT_OF_SCOPE', 'areaId: only an administrator with no area limit can give a user the whole province');
      return;
    }
    assertAreaScope(p, await areaPathOf(em, areaId), 'areaId');
  }

  /**
   * Creates a user with a temporary password to change at first login. Asked
   * for approver or admin, the user is created with the other roles only, no
   * usable password, and a pending grant of the roles asked for: the second
   * administrator's confirmation gives the roles and the password, in two
   * halves.
   */
  async create(
    p: Principal,
    actor: Actor,
    input: { username: string; displayName: string; roles: Role[]; areaId: number | null; password?: string | undefined },
  ): Promise<{ user: UserView; temporaryPassword: string | null; roleGrant: IssuedRoleGrant | null }> {
    const roles = roleSet(input.roles);
    const granted = roles.some((r) => GRANTED_ROLES.includes(r));
    if (granted && input.password !== undefined) {
      const message = 'an approver or administrator gets a temporary password in two halves, one from each administrator; omit password';
      throw invalid('PASSWORD_NOT_ALLOWED', `password: ${message}`, [{ location: 'body', path: 'password', message }]);
    }
    return this.insertUser(p, actor, { ...input, roles }, granted ? roles.filter((r) => !GRANTED_ROLES.includes(r)) : roles);
  }

  /** Inserts the user with `direct` roles; when `input.roles` holds more, proposes them in the same transaction. */
  private async insertUser(
    p: Principal,
    actor: Actor,
    input: { username: string; displayName: string; roles: Role[]; areaId: number | null; password?: string | undefined },
    direct: Role[],
    beforeInsert?: (em: EntityManager) => Promise<void>,
  ): Promise<{ user: UserView; temporaryPassword: string | null; roleGrant: IssuedRoleGrant | null }> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME.test(username)) {
      throw invalid('INVALID_USERNAME', 'username: 3-64 characters of a-z, 0-9, . _ - starting with a letter or digit');
    }
    const proposal = !sameRoles(direct, input.roles);
    // an account waiting for its grant has a password nobody knows: the confirmation issues one
    const generated = input.password === undefined && !proposal ? temporaryPassword() : null;
    const password = input.password ?? generated ?? randomBytes(32).toString('base64');
    if (input.password !== undefined) assertPasswordPolicy(password, { username, secondFactor: false }, 'password');
    const hash = await hashPassword(password);
    const result = await this.ds.transaction(async (em) => {
      await beforeInsert?.(em);
      await this.assertAssignableArea(p, em, input.areaId);
      const exists = await em.getRepository(UserEntity).exists({ where: { username } });
      if (exists) throw conflict('USERNAME_TAKEN', `username: "${username}" is already taken`);
      const repo = em.getRepository(UserEntity);
      const u = await repo.save(
        repo.create({
          username,
          displayName: input.displayName.normalize('NFC').trim(),
          passwordHash: hash,
          roles: direct,
          areaId: input.areaId,
          active: true,
          disabledReason: null,
          mustChangePassword: true,
          failedLogins: 0,
          lockedAt: null,
          totpSecret: null,
          totpEnabled: false,
          totpLastStep: null,
          lastLoginAt: null,
          lastActiveAt: new Date(),
          createdBy: p.userId || null,
        }),
      );
      await this.audit.record(em, actor, {
        action: 'user.create',
        entityType: 'user',
        entityId: u.id,
        areaId: u.areaId,
        after: auditShape(u),
      });
      const roleGrant = proposal ? await this.grants.proposeIn(em, p, actor, u, input.roles) : null;
      return { user: await repo.findOneByOrFail({ id: u.id }), roleGrant };
    });
    return { user: view(result.user), temporaryPassword: generated, roleGrant: result.roleGrant };
  }

  async get(p: Principal, id: number): Promise<UserView> {
    return view(await loadUser(this.ds.manager, p, id));
  }

  async list(p: Principal, f: UserFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<UserView>> {
    const qb = this.ds.getRepository(UserEntity).createQueryBuilder('u');
    applyAreaScope(qb, p, 'u.area_id');
    if (f.role) qb.andWhere('FIND_IN_SET(:role, u.roles) > 0', { role: f.role });
    if (f.areaId !== undefined) {
      qb.andWhere(
        "u.area_id IN (SELECT fa.id FROM areas fa WHERE fa.path LIKE CONCAT((SELECT pa.path FROM areas pa WHERE pa.id = :areaId), '%'))",
        {
          areaId: f.areaId,
        },
      );
    }
    if (f.active !== undefined) qb.andWhere('u.active = :active', { active: f.active ? 1 : 0 });
    if (f.locked !== undefined) qb.andWhere(f.locked ? 'u.locked_at IS NOT NULL' : 'u.locked_at IS NULL');
    if (f.q) qb.andWhere('u.username LIKE :q', { q: likePrefix(f.q.toLowerCase()) });
    const after = decodeCursor(page.cursor, 1);
    if (after) qb.andWhere('u.id > :after', { after: after[0] });
    const rows = await qb
      .orderBy('u.id', 'ASC')
      .limit(page.limit + 1)
      .getMany();
    return finishPage(rows, page.limit, (u) => [u.id], view);
  }

  /**
   * Changes display name, roles or area scope. A change of roles or scope ends
   * every session of the user, so that no token carries old rights. Roles that
   * add approver or admin are not applied: they become a pending grant that
   * another administrator confirms (see proposeGrant).
   */
  async update(
    p: Principal,
    actor: Actor,
    id: number,
    input: { displayName?: string | undefined; roles?: Role[] | undefined; areaId?: number | null | undefined },
  ): Promise<UserView & { roleGrant: IssuedRoleGrant | null }> {
    const roles = input.roles === undefined ? undefined : roleSet(input.roles);
    let revoke = false;
    const updated = await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, id, true);
      const before = auditShape(u);
      let proposed: Role[] | null = null;
      if (roles !== undefined && !sameRoles(roles, u.roles)) {
        assertNotSelf(p, id, 'change the roles of');
        if (roles.some((r) => GRANTED_ROLES.includes(r) && !u.roles.includes(r))) proposed = roles;
        else {
          u.roles = roles;
          revoke = true;
        }
      }
      if (input.areaId !== undefined && input.areaId !== u.areaId) {
        if (p.userId === id) assertNotSelf(p, id, 'change the area scope of');
        await this.assertAssignableArea(p, em, input.areaId);
        u.areaId = input.areaId;
        revoke = true;
      }
      const nameChanged = input.displayName !== undefined && input.displayName.normalize('NFC').trim() !== u.displayName;
      if (input.displayName !== undefined) u.displayName = input.displayName.normalize('NFC').trim();
      if (proposed === null || revoke || nameChanged) {
        await em.getRepository(UserEntity).save(u);
        await this.audit.record(em, actor, {
          action: 'user.update',
          entityType: 'user',
          entityId: id,
          areaId: u.areaId,
          before,
          after: { ...auditShape(u), ...(nameChanged ? { displayNameChanged: true } : {}) },
        });
      }
      if (revoke && !sameRoles(before.roles, u.roles)) await this.grants.staleGrantsOf(em, actor, u);
      const roleGrant = proposed ? await this.grants.proposeIn(em, p, actor, u, proposed) : null;
      return { user: await em.getRepository(UserEntity).findOneByOrFail({ id }), roleGrant };
    });
    if (revoke) await this.sessions.revokeAll(id);
    return { ...view(updated.user), roleGrant: updated.roleGrant };
  }

  async deactivate(p: Principal, actor: Actor, id: number): Promise<UserView> {
    assertNotSelf(p, id, 'deactivate');
    await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, id, true);
      if (!u.active) throw conflict('USER_ALREADY_INACTIVE', 'the user is already inactive');
      await this.auth.disable(id, 'deactivated', actor, em);
    });
    return this.get(p, id);
  }

  /** Reactivates an account; the 45-day inactivity count starts again. */
  async activate(p: Principal, actor: Actor, id: number): Promise<UserView> {
    await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, id, true);
      if (u.active) throw conflict('USER_ALREADY_ACTIVE', 'the user is already active');
      await em.query('UPDATE users SET active = 1, disabled_reason = NULL, last_active_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [id]);
      await this.audit.record(em, actor, {
        action: 'user.activate',
        entityType: 'user',
        entityId: id,
        areaId: u.areaId,
        before: { active: false, reason: u.disabledReason },
        after: { active: true },
      });
    });
    return this.get(p, id);
  }

  /** Emergency unlock after the failed-login lockout. */
  async unlock(p: Principal, actor: Actor, id: number): Promise<UserView> {
    await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, id, true);
      if (!u.lockedAt) throw conflict('USER_NOT_LOCKED', 'the user is not locked');
      await em.query('UPDATE users SET locked_at = NULL, failed_logins = 0 WHERE id = ?', [id]);
      await this.audit.record(em, actor, {
        action: 'user.unlock',
        entityType: 'user',
        entityId: id,
        areaId: u.areaId,
        before: { locked: true, failedLogins: u.failedLogins },
        after: { locked: false },
      });
    });
    return this.get(p, id);
  }

  /**
   * Sets a temporary password (generated unless given) that must be changed at
   * the next login; ends all sessions. Not for an approver or administrator:
   * one administrator alone must never hold a password of theirs.
   */
  async resetPassword(
    p: Principal,
    actor: Actor,
    id: number,
    password?: string,
  ): Promise<{ user: UserView; temporaryPassword: string | null }> {
    const generated = password === undefined ? temporaryPassword() : null;
    const chosen = password ?? generated!;
    const existing = await loadUser(this.ds.manager, p, id);
    assertNoGrantedRole(existing);
    assertPasswordPolicy(chosen, { username: existing.username, secondFactor: false }, 'password');
    const hash = await hashPassword(chosen);
    await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, id, true);
      assertNoGrantedRole(u);
      await em.query(
        'UPDATE users SET password_hash = ?, must_change_password = 1, password_changed_at = CURRENT_TIMESTAMP(3) WHERE id = ?',
        [hash, id],
      );
      await this.audit.record(em, actor, { action: 'user.reset_password', entityType: 'user', entityId: id, areaId: u.areaId });
    });
    await this.sessions.revokeAll(id);
    return { user: await this.get(p, id), temporaryPassword: generated };
  }

  /** Removes a lost second factor; the user enrols a new one at the next login. */
  async resetTotp(p: Principal, actor: Actor, id: number): Promise<UserView> {
    await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, id, true);
      await em.query('UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = ?', [id]);
      await this.audit.record(em, actor, {
        action: 'user.reset_totp',
        entityType: 'user',
        entityId: id,
        areaId: u.areaId,
        before: { totpEnabled: u.totpEnabled },
        after: { totpEnabled: false },
      });
    });
    await this.sessions.revokeAll(id);
    return this.get(p, id);
  }

  /**
   * The first administrators, from the command line: no area limit, a password
   * to change at first login, TOTP to enrol. Attributed to the system with the
   * operating-system account that ran the command. Refused once two active
   * administrators exist: from then on one proposes and another confirms, and
   * until then no grant could be confirmed.
   */
  async bootstrapAdmin(input: { username: string; displayName: string; password?: string | undefined }, osUser: string) {
    const system: Principal = {
      userId: 0,
      username: 'system',
      roles: ['admin'],
      areaId: null,
      areaPath: null,
      sessionId: '',
      stage: 'full',
    };
    const { user, temporaryPassword } = await this.insertUser(
      system,
      { userId: null, username: 'system', roles: ['system'], requestId: null, source: `cli:${osUser}`.slice(0, 64) },
      { ...input, roles: ['admin'], areaId: null },
      ['admin'],
      async (em) => {
        // locks the rows it reads, so that two commands at once cannot both pass
        const [row] = (await em.query(
          "SELECT COUNT(*) AS n FROM users WHERE active = 1 AND FIND_IN_SET('admin', roles) > 0 FOR UPDATE",
        )) as {
          n: string;
        }[];
        if (Number(row!.n) >= BOOTSTRAP_ADMINS) {
          throw conflict(
            'ADMINS_EXIST',
            `there are already ${row!.n} active administrators: another is made by one of them (POST /api/v1/users with roles ["admin"]) and confirmed by a second`,
          );
        }
      },
    );
    return { user, temporaryPassword };
  }

  // ---- role grants (role-grants.ts): approver and admin by two administrators

  proposeGrant(p: Principal, actor: Actor, userId: number, input: { roles: Role[] }): Promise<IssuedRoleGrant> {
    return this.grants.proposeGrant(p, actor, userId, input);
  }

  /** The grant confirmed, the user as they are now, and the confirmer's half of the temporary password. */
  async confirmGrant(p: Principal, actor: Actor, id: number): Promise<IssuedRoleGrant & { user: UserView }> {
    const issued = await this.grants.confirmGrant(p, actor, id);
    return { grant: issued.grant, user: await this.get(p, issued.grant.userId), temporaryPasswordPart: issued.temporaryPasswordPart };
  }

  rejectGrant(p: Principal, actor: Actor, id: number): Promise<RoleGrantView> {
    return this.grants.rejectGrant(p, actor, id);
  }

  listGrants(
    p: Principal,
    f: { status?: RoleGrantStatus | undefined; userId?: number | undefined },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<RoleGrantView>> {
    return this.grants.listGrants(p, f, page);
  }
}

/** Administrators at the start: enough for one to propose and another to confirm. */
const BOOTSTRAP_ADMINS = 2;

function assertNoGrantedRole(u: UserEntity): void {
  if (u.roles.some((r) => GRANTED_ROLES.includes(r))) {
    throw forbidden(
      'SECOND_ADMIN_REQUIRED',
      "an approver's or administrator's password is issued by two administrators: propose a grant of the user's roles " +
        '(POST /users/{id}/role-grants) and another administrator confirms it; each hands over half of the new temporary password',
    );
  }
}

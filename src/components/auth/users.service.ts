import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import {
  applyAreaScope,
  areaScopeSql,
  assertAreaScope,
  assertVisible,
  type Actor,
  type Principal,
  type Role,
} from '../../platform/security';
import type { AuditService } from '../audit';
import { areaPathOf } from '../areas/area-path';
import { assertNotSelf, type AuthService } from './auth.service';
import { assertPasswordPolicy, hashPassword, passwordProblems, temporaryPassword } from './password';
import type { SessionStore } from './session.store';
import { UserEntity } from './user.entity';
import { likePrefix } from '../../platform/db';

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

/** Roles that release money or administer the system: given only when a second administrator confirms. */
export const GRANTED_ROLES: readonly Role[] = ['admin', 'approver'];

/**
 * pending: proposed, waiting for a second administrator; confirmed: applied;
 * rejected: refused (or withdrawn); stale: the user's roles changed after the
 * proposal, so it was never applied.
 */
export type RoleGrantStatus = 'pending' | 'confirmed' | 'rejected' | 'stale';

export interface RoleGrantView {
  id: number;
  userId: number;
  username: string;
  roles: Role[];
  fromRoles: Role[];
  status: RoleGrantStatus;
  proposedBy: number;
  proposedByUsername: string;
  proposedAt: string;
  decidedBy: number | null;
  decidedAt: string | null;
}

/** A grant as its proposer or its confirmer sees it once: with their own half of the account's temporary password. */
export interface IssuedRoleGrant {
  grant: RoleGrantView;
  temporaryPasswordPart: string;
}

interface GrantRow {
  id: number;
  user_id: number;
  username: string;
  roles: string;
  from_roles: string;
  status: RoleGrantStatus;
  proposed_by: number;
  proposed_by_username: string;
  proposed_at: Date;
  decided_by: number | null;
  decided_at: Date | null;
  password_part_enc: Buffer | null;
}

const GRANT_SELECT = `SELECT g.id, g.user_id, u.username, g.roles, g.from_roles, g.status, g.proposed_by, pu.username AS proposed_by_username,
    g.proposed_at, g.decided_by, g.decided_at, g.password_part_enc
  FROM role_grants g JOIN users u ON u.id = g.user_id JOIN users pu ON pu.id = g.proposed_by`;

const rolesOf = (set: string): Role[] => (set ? (set.split(',') as Role[]).sort() : []);
const sameRoles = (a: readonly Role[], b: readonly Role[]) => [...a].sort().join() === [...b].sort().join();

function grantView(g: GrantRow): RoleGrantView {
  return {
    id: g.id,
    userId: g.user_id,
    username: g.username,
    roles: rolesOf(g.roles),
    fromRoles: rolesOf(g.from_roles),
    status: g.status,
    proposedBy: g.proposed_by,
    proposedByUsername: g.proposed_by_username,
    proposedAt: g.proposed_at.toISOString(),
    decidedBy: g.decided_by,
    decidedAt: g.decided_at ? g.decided_at.toISOString() : null,
  };
}

/** A role set as stored: without repeats, sorted, and admin alone. */
function roleSet(roles: readonly Role[]): Role[] {
  const set = [...new Set(roles)].sort();
  if (set.includes('admin') && set.length > 1) {
    const message = 'admin is an administrative role and cannot be combined with staff, approver or auditor';
    throw invalid('ROLE_COMBINATION', `roles: ${message}`, [{ location: 'body', path: 'roles', message }]);
  }
  return set;
}

const PART_LENGTH = 10;

/** The confirmer's half: together with the proposer's it makes a temporary password of the strictest policy. */
function confirmerPart(proposerPart: string, username: string): { part: string; password: string } {
  for (;;) {
    const part = temporaryPassword(PART_LENGTH);
    if (passwordProblems(proposerPart + part, { username, secondFactor: false }).length === 0)
      return { part, password: proposerPart + part };
  }
}

export class UsersService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
    private readonly sessions: SessionStore,
    private readonly cipher: DataCipher,
  ) {}

  /** Loads a user the caller may manage: a user outside the caller's scope is 404, as a missing one. */
  private async load(p: Principal, id: number, em: EntityManager = this.ds.manager, lock = false): Promise<UserEntity> {
    const u = await em
      .getRepository(UserEntity)
      .findOne({ where: { id }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    if (!u) throw notFound('USER_NOT_FOUND', `no user with id ${id}`);
    assertVisible(p, u.areaId === null ? null : await areaPathOf(em, u.areaId), 'USER_NOT_FOUND', `no user with id ${id}`);
    return u;
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
      const roleGrant = proposal ? await this.proposeIn(em, p, actor, u, input.roles) : null;
      return { user: await repo.findOneByOrFail({ id: u.id }), roleGrant };
    });
    return { user: view(result.user), temporaryPassword: generated, roleGrant: result.roleGrant };
  }

  async get(p: Principal, id: number): Promise<UserView> {
    return view(await this.load(p, id));
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
      const u = await this.load(p, id, em, true);
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
      if (revoke && !sameRoles(before.roles, u.roles)) await this.staleGrantsOf(em, actor, u);
      const roleGrant = proposed ? await this.proposeIn(em, p, actor, u, proposed) : null;
      return { user: await em.getRepository(UserEntity).findOneByOrFail({ id }), roleGrant };
    });
    if (revoke) await this.sessions.revokeAll(id);
    return { ...view(updated.user), roleGrant: updated.roleGrant };
  }

  async deactivate(p: Principal, actor: Actor, id: number): Promise<UserView> {
    assertNotSelf(p, id, 'deactivate');
    await this.ds.transaction(async (em) => {
      const u = await this.load(p, id, em, true);
      if (!u.active) throw conflict('USER_ALREADY_INACTIVE', 'the user is already inactive');
      await this.auth.disable(id, 'deactivated', actor, em);
    });
    return this.get(p, id);
  }

  /** Reactivates an account; the 45-day inactivity count starts again. */
  async activate(p: Principal, actor: Actor, id: number): Promise<UserView> {
    await this.ds.transaction(async (em) => {
      const u = await this.load(p, id, em, true);
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
      const u = await this.load(p, id, em, true);
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
    const existing = await this.load(p, id);
    assertNoGrantedRole(existing);
    assertPasswordPolicy(chosen, { username: existing.username, secondFactor: false }, 'password');
    const hash = await hashPassword(chosen);
    await this.ds.transaction(async (em) => {
      const u = await this.load(p, id, em, true);
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
      const u = await this.load(p, id, em, true);
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

  // ---- role grants: approver and admin by two administrators ------------------------------------------------

  /**
   * Proposes `roles` as the user's whole role set, when it holds approver or
   * admin. Proposing the roles the user has re-issues their password (the way
   * to reset an approver's or administrator's password). Returns the
   * proposer's half of the temporary password that the confirmation sets.
   */
  async proposeGrant(p: Principal, actor: Actor, userId: number, input: { roles: Role[] }): Promise<IssuedRoleGrant> {
    const roles = roleSet(input.roles);
    if (!roles.some((r) => GRANTED_ROLES.includes(r))) {
      const message = 'a grant is for approver or admin; set staff and auditor directly with PATCH /users/{id}';
      throw invalid('ROLE_GRANT_NOT_NEEDED', `roles: ${message}`, [{ location: 'body', path: 'roles', message }]);
    }
    return this.ds.transaction(async (em) => this.proposeIn(em, p, actor, await this.load(p, userId, em, true), roles));
  }

  /** `u` is locked by the caller: every change of a user's roles or grants holds that lock. */
  private async proposeIn(em: EntityManager, p: Principal, actor: Actor, u: UserEntity, roles: Role[]): Promise<IssuedRoleGrant> {
    assertNotSelf(p, u.id, 'grant roles to');
    const [pending] = (await em.query("SELECT id FROM role_grants WHERE user_id = ? AND status = 'pending'", [u.id])) as { id: number }[];
    if (pending) {
      throw conflict('ROLE_GRANT_PENDING', `user ${u.id} already has role grant ${pending.id} waiting: confirm or reject it first`);
    }
    const fromRoles = [...u.roles].sort();
    const res = (await em.query('INSERT INTO role_grants (user_id, roles, from_roles, status, proposed_by) VALUES (?, ?, ?, ?, ?)', [
      u.id,
      roles.join(','),
      fromRoles.join(','),
      'pending',
      p.userId,
    ])) as { insertId: number };
    const part = temporaryPassword(PART_LENGTH);
    await em.query('UPDATE role_grants SET password_part_enc = ? WHERE id = ?', [
      this.cipher.encrypt(part, `role-grant:${res.insertId}`),
      res.insertId,
    ]);
    await this.audit.record(em, actor, {
      action: 'user.role_grant_proposed',
      entityType: 'user',
      entityId: u.id,
      areaId: u.areaId,
      before: { roles: fromRoles },
      after: { grantId: res.insertId, roles },
    });
    return { grant: grantView(await this.grantRow(em, res.insertId)), temporaryPasswordPart: part };
  }

  private async grantRow(em: EntityManager, id: number): Promise<GrantRow> {
    const [g] = (await em.query(`${GRANT_SELECT} WHERE g.id = ?`, [id])) as GrantRow[];
    if (!g) throw notFound('ROLE_GRANT_NOT_FOUND', `no role grant with id ${id}`);
    return g;
  }

  private assertDecidable(g: GrantRow): void {
    if (g.status !== 'pending') throw conflict('ROLE_GRANT_NOT_PENDING', `role grant ${g.id} is already ${g.status}`);
  }

  /**
   * The second administrator: never the proposer, never the user. Applies the
   * roles and sets a new temporary password made of the proposer's half then
   * this half (the second factor is removed: the user enrols again), so that
   * neither administrator alone can act as the account. Two confirmations at
   * once apply it once: the change from pending is conditional.
   */
  async confirmGrant(p: Principal, actor: Actor, id: number): Promise<IssuedRoleGrant & { user: UserView }> {
    const g = await this.grantRow(this.ds.manager, id);
    const target = await this.load(p, g.user_id);
    this.assertDecidable(g);
    if (g.proposed_by === p.userId) throw forbidden('FOUR_EYES', 'a role grant needs a second administrator: you proposed this one');
    if (g.user_id === p.userId) throw forbidden('FOUR_EYES', 'a role grant needs a second administrator: this grant is for you');
    const { part, password } = confirmerPart(this.cipher.decrypt(g.password_part_enc!, `role-grant:${id}`), target.username);
    const hash = await hashPassword(password);
    const outcome = await this.ds.transaction(async (em) => {
      const u = await this.load(p, g.user_id, em, true);
      const [now] = (await em.query('SELECT id, status FROM role_grants WHERE id = ? FOR UPDATE', [id])) as GrantRow[];
      this.assertDecidable(now!);
      if (!sameRoles(u.roles, rolesOf(g.from_roles))) {
        await this.decide(em, actor, u, g, 'stale');
        return 'stale' as const;
      }
      const claimed = (await em.query(
        `UPDATE role_grants SET status = 'confirmed', decided_by = ?, decided_at = CURRENT_TIMESTAMP(3), password_part_enc = NULL
         WHERE id = ? AND status = 'pending' AND proposed_by <> ? AND user_id <> ?`,
        [p.userId, id, p.userId, p.userId],
      )) as { affectedRows: number };
      if (claimed.affectedRows !== 1) throw conflict('ROLE_GRANT_NOT_PENDING', `role grant ${id} is no longer pending`);
      const roles = rolesOf(g.roles);
      await em.query(
        `UPDATE users SET roles = ?, password_hash = ?, must_change_password = 1, password_changed_at = CURRENT_TIMESTAMP(3),
           totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = ?`,
        [roles.join(','), hash, u.id],
      );
      await this.audit.record(em, actor, {
        action: 'user.role_grant_confirmed',
        entityType: 'user',
        entityId: u.id,
        areaId: u.areaId,
        before: { roles: rolesOf(g.from_roles), totpEnabled: u.totpEnabled },
        after: { grantId: id, roles, proposedBy: g.proposed_by, passwordReissued: true, totpEnabled: false },
      });
      return 'confirmed' as const;
    });
    if (outcome === 'stale') {
      throw conflict('ROLE_GRANT_STALE', `the roles of user ${g.user_id} changed after grant ${id} was proposed: propose again`);
    }
    await this.sessions.revokeAll(g.user_id);
    return { grant: grantView(await this.grantRow(this.ds.manager, id)), user: await this.get(p, g.user_id), temporaryPasswordPart: part };
  }

  /** Any administrator over the user, the proposer included (who withdraws it). */
  async rejectGrant(p: Principal, actor: Actor, id: number): Promise<RoleGrantView> {
    const g = await this.grantRow(this.ds.manager, id);
    await this.load(p, g.user_id);
    this.assertDecidable(g);
    await this.ds.transaction(async (em) => {
      const u = await this.load(p, g.user_id, em, true);
      if (!(await this.decide(em, actor, u, g, 'rejected')))
        throw conflict('ROLE_GRANT_NOT_PENDING', `role grant ${id} is no longer pending`);
    });
    return grantView(await this.grantRow(this.ds.manager, id));
  }

  /** Ends a pending grant without applying it; false when it was no longer pending. */
  private async decide(em: EntityManager, actor: Actor, u: UserEntity, g: GrantRow, status: 'rejected' | 'stale'): Promise<boolean> {
    const res = (await em.query(
      `UPDATE role_grants SET status = ?, decided_by = ?, decided_at = CURRENT_TIMESTAMP(3), password_part_enc = NULL
       WHERE id = ? AND status = 'pending'`,
      [status, actor.userId, g.id],
    )) as { affectedRows: number };
    if (res.affectedRows !== 1) return false;
    await this.audit.record(em, actor, {
      action: `user.role_grant_${status}`,
      entityType: 'user',
      entityId: u.id,
      areaId: u.areaId,
      before: { roles: [...u.roles].sort() },
      after: { grantId: g.id, roles: rolesOf(g.roles), fromRoles: rolesOf(g.from_roles) },
    });
    return true;
  }

  /** A direct change of roles leaves the user's pending grant proposed for other roles: it can no longer apply. */
  private async staleGrantsOf(em: EntityManager, actor: Actor, u: UserEntity): Promise<void> {
    const rows = (await em.query(`${GRANT_SELECT} WHERE g.user_id = ? AND g.status = 'pending'`, [u.id])) as GrantRow[];
    for (const g of rows) await this.decide(em, actor, u, g, 'stale');
  }

  async listGrants(
    p: Principal,
    f: { status?: RoleGrantStatus | undefined; userId?: number | undefined },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<RoleGrantView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const scope = areaScopeSql(p, 'u.area_id');
    where.push(scope.sql);
    params.push(...scope.params);
    if (f.status) {
      where.push('g.status = ?');
      params.push(f.status);
    }
    if (f.userId !== undefined) {
      where.push('g.user_id = ?');
      params.push(f.userId);
    }
    const after = decodeCursor(page.cursor, 1);
    if (after) {
      where.push('g.id < ?');
      params.push(after[0]);
    }
    const rows = (await this.ds.query(`${GRANT_SELECT} WHERE ${where.join(' AND ')} ORDER BY g.id DESC LIMIT ?`, [
      ...params,
      page.limit + 1,
    ])) as GrantRow[];
    return finishPage(rows, page.limit, (g) => [g.id], grantView);
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

import type { DataSource, EntityManager } from 'typeorm';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import { applyAreaScope, assertAreaScope, assertVisible, type Actor, type Principal, type Role } from '../../platform/security';
import type { AuditService } from '../audit';
import { areaPathOf } from '../areas/area-path';
import { assertNotSelf, type AuthService } from './auth.service';
import { assertPasswordPolicy, hashPassword, temporaryPassword } from './password';
import type { SessionStore } from './session.store';
import { UserEntity } from './user.entity';

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
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
    private readonly sessions: SessionStore,
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

  async create(
    p: Principal,
    actor: Actor,
    input: { username: string; displayName: string; roles: Role[]; areaId: number | null; password?: string | undefined },
  ): Promise<{ user: UserView; temporaryPassword: string | null }> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME.test(username)) {
      throw invalid('INVALID_USERNAME', 'username: 3-64 characters of a-z, 0-9, . _ - starting with a letter or digit');
    }
    const generated = input.password === undefined ? temporaryPassword() : null;
    const password = input.password ?? generated!;
    assertPasswordPolicy(password, { username, secondFactor: false }, 'password');
    const hash = await hashPassword(password);
    const created = await this.ds.transaction(async (em) => {
      await this.assertAssignableArea(p, em, input.areaId);
      const exists = await em.getRepository(UserEntity).exists({ where: { username } });
      if (exists) throw conflict('USERNAME_TAKEN', `username: "${username}" is already taken`);
      const repo = em.getRepository(UserEntity);
      const u = await repo.save(
        repo.create({
          username,
          displayName: input.displayName.normalize('NFC').trim(),
          passwordHash: hash,
          roles: [...new Set(input.roles)],
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
      return repo.findOneByOrFail({ id: u.id });
    });
    return { user: view(created), temporaryPassword: generated };
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
    if (f.q) qb.andWhere('u.username LIKE :q', { q: `${f.q.toLowerCase().replace(/[%_\\]/g, '\\$&')}%` });
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
   * every session of the user, so that no token carries old rights.
   */
  async update(
    p: Principal,
    actor: Actor,
    id: number,
    input: { displayName?: string | undefined; roles?: Role[] | undefined; areaId?: number | null | undefined },
  ): Promise<UserView> {
    let revoke = false;
    const updated = await this.ds.transaction(async (em) => {
      const u = await this.load(p, id, em, true);
      const before = auditShape(u);
      if (input.roles !== undefined) {
        const roles = [...new Set(input.roles)].sort();
        if (p.userId === id && u.roles.includes('admin') && !roles.includes('admin')) assertNotSelf(p, id, 'remove the admin role from');
        if (roles.join() !== [...u.roles].sort().join()) revoke = true;
        u.roles = roles;
      }
      if (input.areaId !== undefined && input.areaId !== u.areaId) {
        if (p.userId === id) assertNotSelf(p, id, 'change the area scope of');
        await this.assertAssignableArea(p, em, input.areaId);
        u.areaId = input.areaId;
        revoke = true;
      }
      const nameChanged = input.displayName !== undefined && input.displayName.normalize('NFC').trim() !== u.displayName;
      if (input.displayName !== undefined) u.displayName = input.displayName.normalize('NFC').trim();
      await em.getRepository(UserEntity).save(u);
      await this.audit.record(em, actor, {
        action: 'user.update',
        entityType: 'user',
        entityId: id,
        areaId: u.areaId,
        before,
        after: { ...auditShape(u), ...(nameChanged ? { displayNameChanged: true } : {}) },
      });
      return em.getRepository(UserEntity).findOneByOrFail({ id });
    });
    if (revoke) await this.sessions.revokeAll(id);
    return view(updated);
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

  /** Sets a temporary password (generated unless given) that must be changed at the next login; ends all sessions. */
  async resetPassword(
    p: Principal,
    actor: Actor,
    id: number,
    password?: string,
  ): Promise<{ user: UserView; temporaryPassword: string | null }> {
    const generated = password === undefined ? temporaryPassword() : null;
    const chosen = password ?? generated!;
    const existing = await this.load(p, id);
    assertPasswordPolicy(chosen, { username: existing.username, secondFactor: false }, 'password');
    const hash = await hashPassword(chosen);
    await this.ds.transaction(async (em) => {
      const u = await this.load(p, id, em, true);
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
   * The first administrator, from the command line: no area limit, a password
   * to change at first login, TOTP to enrol. Attributed to the system with the
   * operating-system account that ran the command.
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
    return this.create(
      system,
      { userId: null, username: 'system', roles: ['system'], requestId: null, source: `cli:${osUser}`.slice(0, 64) },
      {
        ...input,
        roles: ['admin'],
        areaId: null,
      },
    );
  }
}

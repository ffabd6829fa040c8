import type { DataSource, EntityManager } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { areaScopeSql, type Actor, type Principal, type Role } from '../../platform/security';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import type { AuditService } from '../audit';
import { assertNotSelf } from './auth.service';
import { hashPassword, passwordProblems, temporaryPassword } from './password';
import type { SessionStore } from './session.store';
import type { UserEntity } from './user.entity';
import { loadUser } from './user-access';

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

export const rolesOf = (set: string): Role[] => (set ? (set.split(',') as Role[]).sort() : []);
export const sameRoles = (a: readonly Role[], b: readonly Role[]) => [...a].sort().join() === [...b].sort().join();

/** A role set as stored: without repeats, sorted, and admin alone. */
export function roleSet(roles: readonly Role[]): Role[] {
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

/**
 * Role grants: approver and admin are given by two administrators. One proposes the user's whole role set (and holds
 * half of the new temporary password), a second confirms (never the proposer, never the user) and holds the other
 * half; a direct change of the user's roles makes a pending grant stale. Every change holds the user's row lock.
 */
export class RoleGrants {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly sessions: SessionStore,
    private readonly cipher: DataCipher,
  ) {}

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
    return this.ds.transaction(async (em) => this.proposeIn(em, p, actor, await loadUser(em, p, userId, true), roles));
  }

  /** `u` is locked by the caller: every change of a user's roles or grants holds that lock. */
  async proposeIn(em: EntityManager, p: Principal, actor: Actor, u: UserEntity, roles: Role[]): Promise<IssuedRoleGrant> {
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
  async confirmGrant(p: Principal, actor: Actor, id: number): Promise<IssuedRoleGrant> {
    const g = await this.grantRow(this.ds.manager, id);
    const target = await loadUser(this.ds.manager, p, g.user_id);
    this.assertDecidable(g);
    if (g.proposed_by === p.userId) throw forbidden('FOUR_EYES', 'a role grant needs a second administrator: you proposed this one');
    if (g.user_id === p.userId) throw forbidden('FOUR_EYES', 'a role grant needs a second administrator: this grant is for you');
    const { part, password } = confirmerPart(this.cipher.decrypt(g.password_part_enc!, `role-grant:${id}`), target.username);
    const hash = await hashPassword(password);
    const outcome = await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, g.user_id, true);
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
    return { grant: grantView(await this.grantRow(this.ds.manager, id)), temporaryPasswordPart: part };
  }

  /** Any administrator over the user, the proposer included (who withdraws it). */
  async rejectGrant(p: Principal, actor: Actor, id: number): Promise<RoleGrantView> {
    const g = await this.grantRow(this.ds.manager, id);
    await loadUser(this.ds.manager, p, g.user_id);
    this.assertDecidable(g);
    await this.ds.transaction(async (em) => {
      const u = await loadUser(em, p, g.user_id, true);
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
  async staleGrantsOf(em: EntityManager, actor: Actor, u: UserEntity): Promise<void> {
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

import type { DataSource, EntityManager } from 'typeorm';
import { AppError, conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import { assertAreaScope, assertVisible, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { isDuplicateKey, likeContains } from '../../platform/db';

export const AREA_LEVELS = ['province', 'district', 'commune'] as const;
export type AreaLevel = (typeof AREA_LEVELS)[number];

export interface Area {
  id: number;
  code: string;
  name: string;
  level: AreaLevel;
  parentId: number | null;
  path: string;
  depth: number;
  active: boolean;
  childCount: number;
}

export interface AreaDetail extends Area {
  ancestors: { id: number; code: string; name: string; level: AreaLevel }[];
}

interface Row {
  id: number;
  code: string;
  name: string;
  level: AreaLevel;
  parent_id: number | null;
  path: string;
  depth: number;
  active: number;
  child_count?: number | string;
}

export interface AreaFilter {
  parentId?: number | undefined;
  /** only roots (no parent) */
  roots?: boolean | undefined;
  under?: number | undefined;
  level?: AreaLevel | undefined;
  active?: boolean | undefined;
  q?: string | undefined;
}

function toArea(r: Row): Area {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    level: r.level,
    parentId: r.parent_id,
    path: r.path,
    depth: r.depth,
    active: r.active === 1,
    childCount: Number(r.child_count ?? 0),
  };
}

const SELECT = `SELECT a.*, (SELECT COUNT(*) FROM areas c WHERE c.parent_id = a.id) AS child_count FROM areas a`;

/** The path column (VARCHAR(255)) bounds the depth of the tree; a longer path is refused, never truncated. */
function tooDeep(e: unknown): unknown {
  return (e as { code?: string }).code === 'ER_DATA_TOO_LONG'
    ? invalid('AREA_TOO_DEEP', 'parentId: the tree would become deeper than an area path can hold', [
        { location: 'body', path: 'parentId', message: 'too deep' },
      ])
    : e;
}

function codeTaken(code: string): AppError {
  return conflict('AREA_CODE_TAKEN', `code: ${code} is already used by another area`);
}

/** Area names are public place names, not personal data: kept under a key the audit redaction leaves alone (it masks `name`). */
function auditShape(a: { code: string; name: string; level: AreaLevel; parentId: number | null; active?: boolean }) {
  return { code: a.code, areaName: a.name, level: a.level, parentId: a.parentId, ...(a.active !== undefined ? { active: a.active } : {}) };
}

/** Called after a move with the ids of users whose scope lies in the moved subtree (their tokens carry the old path). */
export type ScopeMovedHook = (userIds: number[]) => Promise<void>;

/** Administrative units as a tree of any depth, held with materialised paths so that a subtree is one index range. */
export class AreasService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly onScopeMoved: ScopeMovedHook,
  ) {}

  private async row(em: EntityManager, id: number, lock = false): Promise<Row> {
    const [r] = (await em.query(`${SELECT} WHERE a.id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as Row[];
    if (!r) throw notFound('AREA_NOT_FOUND', `no area with id ${id}`);
    return r;
  }

  private async parentRow(em: EntityManager, id: number): Promise<Row> {
    try {
      return await this.row(em, id, true);
    } catch (e) {
      if (e instanceof AppError && e.code === 'AREA_NOT_FOUND') {
        throw invalid('UNKNOWN_AREA', `parentId: no area with id ${id}`, [{ location: 'body', path: 'parentId', message: 'unknown area' }]);
      }
      throw e;
    }
  }

  async get(p: Principal, id: number): Promise<AreaDetail> {
    const r = await this.row(this.ds.manager, id);
    assertVisible(p, r.path, 'AREA_NOT_FOUND', `no area with id ${id}`);
    const ids = r.path.split('/').filter(Boolean).map(Number).slice(0, -1);
    const ancestors = ids.length
      ? ((await this.ds.query('SELECT id, code, name, level FROM areas WHERE id IN (?) ORDER BY depth', [ids])) as AreaDetail['ancestors'])
      : [];
    return { ...toArea(r), ancestors };
  }

  async list(p: Principal, f: AreaFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<Area>> {
    const conds: string[] = [];
    const params: unknown[] = [];
    if (p.areaPath) {
      conds.push('a.path LIKE ?');
      params.push(`${p.areaPath}%`);
    }
    if (f.parentId !== undefined) {
      conds.push('a.parent_id = ?');
      params.push(f.parentId);
    }
    if (f.roots) conds.push('a.parent_id IS NULL');
    if (f.under !== undefined) {
      conds.push("a.path LIKE CONCAT((SELECT u.path FROM areas u WHERE u.id = ?), '%')");
      params.push(f.under);
    }
    if (f.level) {
      conds.push('a.level = ?');
      params.push(f.level);
    }
    if (f.active !== undefined) {
      conds.push('a.active = ?');
      params.push(f.active ? 1 : 0);
    }
    if (f.q) {
      // the name's collation ignores tones and marks but keeps đ apart from d: both sides read đ as d, so that
      // "dong xuan" finds Đồng Xuân as "phuc xa" finds Phúc Xá
      conds.push("(CONVERT(a.code USING utf8mb4) LIKE ? OR REPLACE(REPLACE(a.name, 'Đ', 'D'), 'đ', 'd') LIKE ?)");
      const text = f.q.normalize('NFC');
      params.push(likeContains(text), likeContains(text.replace(/Đ/g, 'D').replace(/đ/g, 'd')));
    }
    const after = decodeCursor(page.cursor, 1);
    if (after) {
      if (!Number.isSafeInteger(after[0]) || (after[0] as number) < 0) {
        throw invalid('INVALID_CURSOR', 'cursor is not one this list issued; start again without it', {
          location: 'query',
          path: 'cursor',
        });
      }
      conds.push('a.id > ?');
      params.push(after[0]);
    }
    const rows = (await this.ds.query(`${SELECT} WHERE ${conds.length ? conds.join(' AND ') : '1=1'} ORDER BY a.id LIMIT ?`, [
      ...params,
      page.limit + 1,
    ])) as Row[];
    return finishPage(rows, page.limit, (r) => [r.id], toArea);
  }

  async create(
    p: Principal,
    actor: Actor,
    input: { code: string; name: string; level: AreaLevel; parentId: number | null },
  ): Promise<AreaDetail> {
    const id = await this.ds.transaction(async (em) => {
      let parentPath = '/';
      let depth = 0;
      if (input.parentId === null) {
        if (p.areaPath)
          throw forbidden('AREA_OUT_OF_SCOPE', 'parentId: only an administrator with no area limit can create a top-level area');
      } else {
        const parent = await this.parentRow(em, input.parentId);
        assertAreaScope(p, parent.path, 'parentId');
        parentPath = parent.path;
        depth = parent.depth + 1;
      }
      await this.assertCodeFree(em, input.code);
      const name = input.name.normalize('NFC').trim();
      // the check above reads a snapshot: a concurrent insert of the same code only shows up as a duplicate key
      const res = (await em
        .query('INSERT INTO areas (code, name, level, parent_id, path, depth, active) VALUES (?, ?, ?, ?, ?, ?, 1)', [
          input.code,
          name,
          input.level,
          input.parentId,
          `${parentPath}?`,
          depth,
        ])
        .catch((e: unknown) => {
          throw isDuplicateKey(e) ? codeTaken(input.code) : e;
        })) as { insertId: number };
      await em.query('UPDATE areas SET path = ? WHERE id = ?', [`${parentPath}${res.insertId}/`, res.insertId]).catch((e: unknown) => {
        throw tooDeep(e);
      });
      await this.audit.record(em, actor, {
        action: 'area.create',
        entityType: 'area',
        entityId: res.insertId,
        areaId: res.insertId,
        after: auditShape({ code: input.code, name, level: input.level, parentId: input.parentId }),
      });
      return res.insertId;
    });
    return this.get(p, id);
  }

  private async assertCodeFree(em: EntityManager, code: string, exceptId?: number): Promise<void> {
    const [r] = (await em.query('SELECT id FROM areas WHERE code = ?', [code])) as { id: number }[];
    if (r && r.id !== exceptId) throw codeTaken(code);
  }

  /**
   * Renames, recodes, (de)activates or moves an area. A move rewrites the paths
   * of the whole subtree in one statement and ends the sessions of users
   * scoped inside it.
   */
  async update(
    p: Principal,
    actor: Actor,
    id: number,
    input: {
      code?: string | undefined;
      name?: string | undefined;
      level?: AreaLevel | undefined;
      parentId?: number | null | undefined;
      active?: boolean | undefined;
    },
  ): Promise<AreaDetail> {
    let movedUsers: number[] = [];
    await this.ds.transaction(async (em) => {
      const r = await this.row(em, id, true);
      assertVisible(p, r.path, 'AREA_NOT_FOUND', `no area with id ${id}`);
      const before = { code: r.code, name: r.name, level: r.level, parentId: r.parent_id, active: r.active === 1 };
      const after = { ...before };
      if (input.code !== undefined && input.code !== r.code) {
        await this.assertCodeFree(em, input.code, id);
        after.code = input.code;
      }
      if (input.name !== undefined) after.name = input.name.normalize('NFC').trim();
      if (input.level !== undefined) after.level = input.level;
      if (input.active !== undefined) after.active = input.active;
      await em
        .query('UPDATE areas SET code = ?, name = ?, level = ?, active = ? WHERE id = ?', [
          after.code,
          after.name,
          after.level,
          after.active ? 1 : 0,
          id,
        ])
        .catch((e: unknown) => {
          throw isDuplicateKey(e) ? codeTaken(after.code) : e;
        });
      if (input.parentId !== undefined && input.parentId !== r.parent_id) {
        if (p.areaPath && r.path === p.areaPath) throw forbidden('AREA_OUT_OF_SCOPE', 'you cannot move the root of your own scope');
        let newParentPath = '/';
        let newDepth = 0;
        if (input.parentId === null) {
          if (p.areaPath)
            throw forbidden('AREA_OUT_OF_SCOPE', 'parentId: only an administrator with no area limit can make a top-level area');
        } else {
          const np = await this.parentRow(em, input.parentId);
          assertAreaScope(p, np.path, 'parentId');
          if (np.path.startsWith(r.path)) throw invalid('AREA_CYCLE', 'parentId: an area cannot move under itself or its own descendants');
          newParentPath = np.path;
          newDepth = np.depth + 1;
        }
        const newPath = `${newParentPath}${id}/`;
        await em.query('UPDATE areas SET parent_id = ? WHERE id = ?', [input.parentId, id]);
        await em
          .query('UPDATE areas SET path = CONCAT(?, SUBSTRING(path, ?)), depth = depth + ? WHERE path LIKE ?', [
            newPath,
            r.path.length + 1,
            newDepth - r.depth,
            `${r.path}%`,
          ])
          .catch((e: unknown) => {
            throw tooDeep(e);
          });
        after.parentId = input.parentId;
        const users = (await em.query('SELECT u.id FROM users u JOIN areas a ON a.id = u.area_id WHERE a.path LIKE ?', [
          `${newPath}%`,
        ])) as { id: number }[];
        movedUsers = users.map((u) => u.id);
      }
      await this.audit.record(em, actor, {
        action: 'area.update',
        entityType: 'area',
        entityId: id,
        areaId: id,
        before: auditShape(before),
        after: auditShape(after),
      });
    });
    if (movedUsers.length) await this.onScopeMoved(movedUsers);
    return this.get(p, id);
  }

  /** Deletes an area created by mistake: only a leaf nothing refers to; otherwise deactivate it. */
  async remove(p: Principal, actor: Actor, id: number): Promise<void> {
    await this.ds.transaction(async (em) => {
      const r = await this.row(em, id, true);
      assertVisible(p, r.path, 'AREA_NOT_FOUND', `no area with id ${id}`);
      if (p.areaPath === r.path) throw forbidden('AREA_OUT_OF_SCOPE', 'you cannot delete the root of your own scope');
      if (Number(r.child_count) > 0)
        throw conflict('AREA_HAS_CHILDREN', 'the area has sub-areas; delete or move them first, or deactivate it');
      try {
        await em.query('DELETE FROM areas WHERE id = ?', [id]);
      } catch (e) {
        if ((e as { code?: string }).code === 'ER_ROW_IS_REFERENCED_2' || (e as { code?: string }).code === 'ER_ROW_IS_REFERENCED') {
          throw conflict('AREA_IN_USE', 'users or records refer to this area; deactivate it instead');
        }
        throw e;
      }
      await this.audit.record(em, actor, {
        action: 'area.delete',
        entityType: 'area',
        entityId: id,
        areaId: r.parent_id,
        before: auditShape({ code: r.code, name: r.name, level: r.level, parentId: r.parent_id }),
      });
    });
  }
}

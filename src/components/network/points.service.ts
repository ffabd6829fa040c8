import type { DataSource, EntityManager } from 'typeorm';
import { isDuplicateKey, likePrefix } from '../../platform/db';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import { assertVisible, inAreaScope, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { resolveArea } from '../exports';
import {
  OPERATOR_OF_KIND,
  cleanText,
  isProblem,
  operatorName,
  operatorOf,
  type OperatorType,
  type Operators,
  type PointKind,
  type Problem,
} from './point-values';
import { POINT_SELECT, loadOperators, type CommuneRef, type PointRow } from './points.sql';

export interface CashOutPoint {
  id: number;
  kind: PointKind;
  operator: { type: OperatorType; code: string; name: string };
  pointCode: string;
  name: string;
  area: { id: number; code: string; name: string };
  address: string;
  latitude: number | null;
  longitude: number | null;
  openingHours: string | null;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewPoint {
  kind: PointKind;
  operator: string;
  pointCode: string;
  name: string;
  areaId: number;
  address: string;
  latitude?: number | null | undefined;
  longitude?: number | null | undefined;
  openingHours?: string | null | undefined;
  active?: boolean | undefined;
}

export type PointChange = Partial<Omit<NewPoint, 'operator' | 'pointCode'>>;

export function pointView(r: PointRow, ops: Operators): CashOutPoint {
  return {
    id: r.id,
    kind: r.kind,
    operator: { type: r.operator_type, code: r.operator_code, name: operatorName({ type: r.operator_type, code: r.operator_code }, ops) },
    pointCode: r.point_code,
    name: r.name,
    area: { id: r.area_id, code: r.area_code, name: r.area_name },
    address: r.address,
    latitude: r.latitude === null ? null : Number(r.latitude),
    longitude: r.longitude === null ? null : Number(r.longitude),
    openingHours: r.opening_hours,
    active: r.active === 1,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** What the audit trail keeps of a point: no person's data (the redaction masks keys named `name` and `address`). */
const pointAudit = (r: Omit<PointRow, 'created_at' | 'updated_at' | 'area_path' | 'area_name'>) => ({
  kind: r.kind,
  operatorType: r.operator_type,
  operatorCode: r.operator_code,
  pointCode: r.point_code,
  pointName: r.name,
  areaCode: r.area_code,
  pointAddress: r.address,
  latitude: r.latitude,
  longitude: r.longitude,
  openingHours: r.opening_hours,
  active: r.active === 1,
});

/** Details naming the field, as validation failures do, so that a form shows the refusal beside it. */
const at = (path: string, message: string) => [{ location: 'body', path, message }];

const fieldError = (p: Problem, field: string) => invalid(p.code, `${field}: ${p.message}`, at(field, p.message));

/** The commune a point is placed in: it must exist, be a commune, be active and lie inside the caller's scope. */
export async function communeFor(db: DataSource | EntityManager, p: Principal, areaId: number): Promise<CommuneRef> {
  const [a] = (await db.query('SELECT id, code, name, path, level, active FROM areas WHERE id = ?', [areaId])) as CommuneRef[];
  if (!a) throw invalid('AREA_NOT_FOUND', `areaId: no area with id ${areaId}`, at('areaId', 'no such area'));
  if (!inAreaScope(p, a.path))
    throw forbidden('AREA_OUT_OF_SCOPE', 'areaId: that commune is outside your area', at('areaId', 'outside your area'));
  if (a.level !== 'commune') {
    throw invalid(
      'AREA_NOT_COMMUNE',
      `areaId: ${a.name} (${a.code}) is a ${a.level}; a point is placed in a commune`,
      at('areaId', 'not a commune'),
    );
  }
  if (a.active !== 1) throw invalid('AREA_INACTIVE', `areaId: ${a.name} (${a.code}) is no longer active`, at('areaId', 'no longer active'));
  return a;
}

const fixed6 = (v: number | null | undefined): string | null => (v === null || v === undefined ? null : v.toFixed(6));

/** The withdrawal network's registry: cash-out points, read by staff, auditors and administrators, written by staff in scope. */
export class PointsService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  private async row(db: DataSource | EntityManager, id: number, lock = false): Promise<PointRow | undefined> {
    const [r] = (await db.query(`${POINT_SELECT} WHERE cp.id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as PointRow[];
    return r;
  }

  private async visibleRow(db: DataSource | EntityManager, p: Principal, id: number, lock = false): Promise<PointRow> {
    const r = await this.row(db, id, lock);
    if (!r) throw notFound('POINT_NOT_FOUND', `no cash-out point ${id}`);
    assertVisible(p, r.area_path, 'POINT_NOT_FOUND', `no cash-out point ${id}`);
    return r;
  }

  async get(p: Principal, id: number): Promise<CashOutPoint> {
    return pointView(await this.visibleRow(this.ds, p, id), await loadOperators(this.ds, false));
  }

  /** Points of the caller's scope (or of an area of it), by id, with filters; keyset pages. */
  async list(
    p: Principal,
    f: { areaId?: number | undefined; kind?: PointKind | undefined; operator?: string | undefined; active?: boolean | undefined },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<CashOutPoint>> {
    const area = await resolveArea(this.ds, p, f.areaId);
    const conds: string[] = [];
    const params: unknown[] = [];
    if (area) {
      conds.push('a.path LIKE ?');
      params.push(likePrefix(area.path));
    }
    if (f.kind) {
      conds.push('cp.kind = ?');
      params.push(f.kind);
    }
    if (f.operator) {
      conds.push('cp.operator_code = ?');
      params.push(f.operator);
    }
    if (f.active !== undefined) {
      conds.push('cp.active = ?');
      params.push(f.active ? 1 : 0);
    }
    const after = decodeCursor(page.cursor, 1);
    if (after) {
      conds.push('cp.id > ?');
      params.push(after[0]);
    }
    const rows = (await this.ds.query(`${POINT_SELECT} WHERE ${conds.length ? conds.join(' AND ') : '1=1'} ORDER BY cp.id LIMIT ?`, [
      ...params,
      page.limit + 1,
    ])) as PointRow[];
    const ops = await loadOperators(this.ds, false);
    return finishPage(
      rows,
      page.limit,
      (r) => [r.id],
      (r) => pointView(r, ops),
    );
  }

  async create(actor: Actor, p: Principal, input: NewPoint): Promise<CashOutPoint> {
    const id = await this.ds.transaction(async (em) => {
      const area = await communeFor(em, p, input.areaId);
      const op = operatorOf(input.kind, input.operator, await loadOperators(em, true));
      if (isProblem(op)) throw fieldError(op, 'operator');
      const res = (await em
        .query(
          `INSERT INTO cash_out_points (kind, operator_type, operator_code, point_code, name, area_id, address, latitude, longitude,
             opening_hours, active, created_by, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            input.kind,
            op.type,
            op.code,
            input.pointCode,
            cleanText(input.name),
            area.id,
            cleanText(input.address),
            fixed6(input.latitude),
            fixed6(input.longitude),
            input.openingHours ? cleanText(input.openingHours) : null,
            input.active === false ? 0 : 1,
            actor.userId,
            actor.userId,
          ],
        )
        .catch((e: unknown) => {
          throw isDuplicateKey(e)
            ? conflict(
                'POINT_EXISTS',
                `pointCode: ${op.code} already has a point ${input.pointCode} in the registry`,
                at('pointCode', 'already registered'),
              )
            : e;
        })) as { insertId: number };
      const created = (await this.row(em, res.insertId))!;
      await this.audit.record(em, actor, {
        action: 'cash_out_point.create',
        entityType: 'cash_out_point',
        entityId: String(res.insertId),
        areaId: area.id,
        after: pointAudit(created),
      });
      return res.insertId;
    });
    return this.get(p, id);
  }

  /** Changes what staff may change of a point in their scope; deactivating is `active: false`. */
  async update(actor: Actor, p: Principal, id: number, input: PointChange): Promise<CashOutPoint> {
    await this.ds.transaction(async (em) => {
      const before = await this.visibleRow(em, p, id, true);
      const area = input.areaId !== undefined && input.areaId !== before.area_id ? await communeFor(em, p, input.areaId) : null;
      const kind = input.kind ?? before.kind;
      if (OPERATOR_OF_KIND[kind] !== before.operator_type) {
        throw invalid(
          'KIND_OPERATOR_MISMATCH',
          `kind: a ${kind} belongs to a ${OPERATOR_OF_KIND[kind]} operator, and this point's operator is a ${before.operator_type}; register it as a new point`,
          at('kind', 'not a kind of this operator'),
        );
      }
      const next = {
        kind,
        name: input.name !== undefined ? cleanText(input.name) : before.name,
        area_id: area?.id ?? before.area_id,
        address: input.address !== undefined ? cleanText(input.address) : before.address,
        latitude: input.latitude !== undefined ? fixed6(input.latitude) : before.latitude,
        longitude: input.longitude !== undefined ? fixed6(input.longitude) : before.longitude,
        opening_hours:
          input.openingHours !== undefined ? (input.openingHours ? cleanText(input.openingHours) : null) : before.opening_hours,
        active: input.active !== undefined ? (input.active ? 1 : 0) : before.active,
      };
      await em.query(
        `UPDATE cash_out_points SET kind = ?, name = ?, area_id = ?, address = ?, latitude = ?, longitude = ?, opening_hours = ?, active = ?,
           updated_by = ? WHERE id = ?`,
        [
          next.kind,
          next.name,
          next.area_id,
          next.address,
          next.latitude,
          next.longitude,
          next.opening_hours,
          next.active,
          actor.userId,
          id,
        ],
      );
      const after = (await this.row(em, id))!;
      await this.audit.record(em, actor, {
        action: before.active === 1 && after.active === 0 ? 'cash_out_point.deactivate' : 'cash_out_point.update',
        entityType: 'cash_out_point',
        entityId: String(id),
        areaId: after.area_id,
        before: pointAudit(before),
        after: pointAudit(after),
      });
    });
    return this.get(p, id);
  }
}

/**
 * Reads of cash_out_points and the reference lists its rows name. Writes are in points.service.ts (one point) and
 * point-import.ts (a file's rows, set-based); both go through the unique key (operator_type, operator_code,
 * point_code), so a point is never held twice.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { Operators, OperatorType, PointKind } from './point-values';

export interface PointRow {
  id: number;
  kind: PointKind;
  operator_type: OperatorType;
  operator_code: string;
  point_code: string;
  name: string;
  area_id: number;
  area_code: string;
  area_name: string;
  area_path: string;
  address: string;
  latitude: string | null;
  longitude: string | null;
  opening_hours: string | null;
  active: number;
  created_at: Date;
  updated_at: Date;
}

export const POINT_SELECT = `SELECT cp.id, cp.kind, cp.operator_type, cp.operator_code, cp.point_code, cp.name, cp.area_id,
    a.code AS area_code, a.name AS area_name, a.path AS area_path, cp.address, cp.latitude, cp.longitude, cp.opening_hours,
    cp.active, cp.created_at, cp.updated_at
  FROM cash_out_points cp JOIN areas a ON a.id = cp.area_id`;

/** Banks and wallet providers by code with their names: the active ones (a new point must name one) or all (to name old ones). */
export async function loadOperators(db: DataSource | EntityManager, activeOnly: boolean): Promise<Operators> {
  const where = activeOnly ? ' WHERE active = 1' : '';
  const banks = (await db.query(`SELECT bin, short_name FROM banks${where}`)) as { bin: string; short_name: string }[];
  const wallets = (await db.query(`SELECT code, name FROM wallet_providers${where}`)) as { code: string; name: string }[];
  return { banks: new Map(banks.map((b) => [b.bin, b.short_name])), wallets: new Map(wallets.map((w) => [w.code, w.name])) };
}

export interface CommuneRef {
  id: number;
  code: string;
  name: string;
  path: string;
  level: string;
  active: number;
}

export interface NearestPoint {
  id: number;
  kind: PointKind;
  name: string;
  address: string;
  openingHours: string | null;
}

/**
 * The active point of an operator in a commune for a recipient: the nearest to the recipient's coordinates when both
 * have them, else the lowest id. One query on ix_cash_out_points_lookup (operator_type, operator_code, area_id, active),
 * whose few rows per commune are ordered in memory by the server.
 */
export async function nearestPoint(
  db: DataSource | EntityManager,
  q: { operatorType: OperatorType; operatorCode: string; areaId: number; latitude?: number | null; longitude?: number | null },
): Promise<NearestPoint | null> {
  const near = q.latitude !== null && q.latitude !== undefined && q.longitude !== null && q.longitude !== undefined;
  // an equirectangular distance is exact enough inside one commune and orders the same as the great circle there
  const order = near ? `(cp.latitude IS NULL), POW(cp.latitude - ?, 2) + POW((cp.longitude - ?) * COS(RADIANS(?)), 2), cp.id` : 'cp.id';
  const [r] = (await db.query(
    `SELECT cp.id, cp.kind, cp.name, cp.address, cp.opening_hours FROM cash_out_points cp
     WHERE cp.operator_type = ? AND cp.operator_code = ? AND cp.area_id = ? AND cp.active = 1
     ORDER BY ${order} LIMIT 1`,
    [q.operatorType, q.operatorCode, q.areaId, ...(near ? [q.latitude, q.longitude, q.latitude] : [])],
  )) as { id: number; kind: PointKind; name: string; address: string; opening_hours: string | null }[];
  return r ? { id: r.id, kind: r.kind, name: r.name, address: r.address, openingHours: r.opening_hours } : null;
}

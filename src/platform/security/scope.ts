import { forbidden, notFound } from '../errors';
import type { Principal } from './principal';

/**
 * The one helper that limits queries to the caller's area scope. Areas carry a
 * materialised path (`/1/4/17/`); a scope is every area whose path starts with
 * the scope root's. `column` holds an area id.
 */
export function areaScopeSql(p: Pick<Principal, 'areaPath'>, column: string): { sql: string; params: string[] } {
  if (!p.areaPath) return { sql: '1=1', params: [] };
  return { sql: `${column} IN (SELECT scope_a.id FROM areas scope_a WHERE scope_a.path LIKE ?)`, params: [`${p.areaPath}%`] };
}

/** The same filter where the query already joins the area row: `pathColumn` is that row's path (no subquery, index-order friendly). */
export function areaPathScopeSql(p: Pick<Principal, 'areaPath'>, pathColumn: string): { sql: string; params: string[] } {
  if (!p.areaPath) return { sql: '1=1', params: [] };
  return { sql: `${pathColumn} LIKE ?`, params: [`${p.areaPath}%`] };
}

/** The same filter on a TypeORM query builder (named parameters). */
export function applyAreaScope<T extends WhereCapable>(qb: T, p: Pick<Principal, 'areaPath'>, column: string): T {
  if (p.areaPath)
    qb.andWhere(`${column} IN (SELECT scope_a.id FROM areas scope_a WHERE scope_a.path LIKE :scopePath)`, { scopePath: `${p.areaPath}%` });
  return qb;
}

interface WhereCapable {
  andWhere(where: string, parameters?: Record<string, unknown>): unknown;
}

/** Whether an object in the area with this path (null = no area) is inside the caller's scope. */
export function inAreaScope(p: Pick<Principal, 'areaPath'>, areaPath: string | null): boolean {
  if (!p.areaPath) return true;
  return areaPath !== null && areaPath.startsWith(p.areaPath);
}

/**
 * An object addressed by its id that lies outside the caller's scope answers as a missing one does (404, the same
 * code and message), so that ids outside the scope reveal nothing, not even that they exist. An area the caller names
 * in a request (areaId, parentId) outside the scope is refused instead: assertAreaScope, 403 AREA_OUT_OF_SCOPE.
 */
export function assertVisible(p: Pick<Principal, 'areaPath'>, areaPath: string | null, notFoundCode: string, message: string): void {
  if (!inAreaScope(p, areaPath)) throw notFound(notFoundCode, message);
}

export function assertAreaScope(p: Pick<Principal, 'areaPath'>, areaPath: string | null, what = 'this object'): void {
  if (!inAreaScope(p, areaPath)) {
    throw forbidden('AREA_OUT_OF_SCOPE', `${what} is outside your area`);
  }
}

import { areaPathScopeSql, type Principal } from '../../platform/security';

/** Scoped to the whole tree: no scope, or the scope of a root area (its path has one segment). */
export function coversWholeTree(p: Pick<Principal, 'areaPath'>): boolean {
  return p.areaPath === null || /^\/\d+\/$/.test(p.areaPath);
}

/**
 * The area filter of a list: none for the whole tree, which also sees lines and exceptions of no area (references
 * that are no payment of ours); else the user's subtree.
 */
export function scopeSql(p: Pick<Principal, 'areaPath'>, pathColumn: string): { sql: string; params: string[] } {
  return coversWholeTree(p) ? { sql: '1=1', params: [] } : areaPathScopeSql(p, pathColumn);
}

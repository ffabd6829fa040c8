import type { DataSource } from 'typeorm';
import { forbidden, invalid } from '../../platform/errors';
import { inAreaScope, type Principal } from '../../platform/security';

export interface AreaRef {
  id: number;
  code: string;
  name: string;
  path: string;
  depth: number;
}

/**
 * The area a report or export covers: the requested one (which must exist and lie inside the caller's scope), or
 * else the root of the caller's scope; null for an unscoped caller who asked for no area (everything).
 */
export async function resolveArea(ds: DataSource, p: Principal, areaId: number | undefined): Promise<AreaRef | null> {
  const id = areaId ?? p.areaId;
  if (id === null) return null;
  const [a] = (await ds.query('SELECT id, code, name, path, depth FROM areas WHERE id = ?', [id])) as AreaRef[];
  if (!a) throw invalid('AREA_NOT_FOUND', `areaId: no area with id ${id}`, { path: 'areaId' });
  if (!inAreaScope(p, a.path)) throw forbidden('AREA_OUT_OF_SCOPE', 'areaId: that area is outside your scope');
  return { id: a.id, code: a.code, name: a.name, path: a.path, depth: Number(a.depth) };
}

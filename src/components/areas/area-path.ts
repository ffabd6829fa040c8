import type { EntityManager } from 'typeorm';
import { invalid } from '../../platform/errors';

/** The materialised path of an area (`/1/4/17/`); invalid input when it does not exist. */
export async function areaPathOf(em: EntityManager, areaId: number, field = 'areaId'): Promise<string> {
  const [row] = (await em.query('SELECT path FROM areas WHERE id = ?', [areaId])) as { path: string }[];
  if (!row)
    throw invalid('UNKNOWN_AREA', `${field}: no area with id ${areaId}`, [{ location: 'body', path: field, message: 'unknown area' }]);
  return row.path;
}

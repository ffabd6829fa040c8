import { z } from 'zod';
import { invalid } from '../errors';

/**
 * The one pagination style of every list: keyset pagination. `limit` (1-200,
 * default 50) and an opaque `cursor` from the previous page's `nextCursor`.
 * Deep pages cost the same as the first one, even over millions of rows.
 */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('Items per page, 1-200.'),
  cursor: z.string().max(512).optional().describe('nextCursor of the previous page; omit for the first page.'),
};

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as cursor to get the next page; null on the last page.'),
  });
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type CursorValue = string | number;

export function encodeCursor(values: CursorValue[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): CursorValue[] | null {
  if (!cursor) return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v;
  } catch {
    /* fall through */
  }
  throw invalid('INVALID_CURSOR', 'cursor is not one this list issued; start again without it', { location: 'query', path: 'cursor' });
}

export interface KeyColumn {
  /** SQL expression, e.g. `u.id` */
  expr: string;
  dir: 'ASC' | 'DESC';
}

/**
 * WHERE fragment that continues after the cursor for an ORDER BY over `keys`
 * (the last key must be unique), written without row constructors so that
 * both MySQL and MariaDB use the index.
 */
export function keysetWhere(keys: KeyColumn[], cursor: CursorValue[] | null): { sql: string; params: CursorValue[] } {
  if (!cursor) return { sql: '1=1', params: [] };
  const ors: string[] = [];
  const params: CursorValue[] = [];
  for (let i = 0; i < keys.length; i++) {
    const ands: string[] = [];
    for (let j = 0; j < i; j++) {
      ands.push(`${keys[j]!.expr} = ?`);
      params.push(cursor[j]!);
    }
    ands.push(`${keys[i]!.expr} ${keys[i]!.dir === 'ASC' ? '>' : '<'} ?`);
    params.push(cursor[i]!);
    ors.push(`(${ands.join(' AND ')})`);
  }
  return { sql: `(${ors.join(' OR ')})`, params };
}

export function orderBy(keys: KeyColumn[]): string {
  return keys.map((k) => `${k.expr} ${k.dir}`).join(', ');
}

/** Cuts the one extra row fetched to know whether a next page exists. */
export function finishPage<R, T>(rows: R[], limit: number, cursorOf: (row: R) => CursorValue[], map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { items: kept.map(map), nextCursor: more ? encodeCursor(cursorOf(kept[kept.length - 1]!)) : null };
}

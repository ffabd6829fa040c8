/** Small pieces of SQL text and driver-error reading that every component needs the same way. */

/** The driver's error for a violated unique key (MariaDB and MySQL both answer ER_DUP_ENTRY). */
export function isDuplicateKey(e: unknown): boolean {
  return (e as { code?: string } | null)?.code === 'ER_DUP_ENTRY';
}

/** Escapes LIKE's wildcards and its escape character, so that user text matches only itself. */
export function escapeLike(text: string): string {
  return text.replace(/[%_\\]/g, '\\$&');
}

/** A LIKE pattern for values starting with `prefix` (an area path, a name typed so far). */
export const likePrefix = (prefix: string): string => `${escapeLike(prefix)}%`;

/** A LIKE pattern for values containing `text`. */
export const likeContains = (text: string): string => `%${escapeLike(text)}%`;

/** `?, ?, ?` for an IN list of n values. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** `(?, ?), (?, ?)` for a multi-row VALUES list of `rows` rows of `width` columns. */
export const rowMarks = (rows: number, width: number): string => {
  const row = `(${marks(width)})`;
  return Array.from({ length: rows }, () => row).join(', ');
};

/**
 * `'a', 'b'`: constants of the code (statuses of a state module) as SQL literals, for statements whose text is built
 * once; never for values that come from outside (those are parameters).
 */
export const literals = (constants: readonly string[]): string => constants.map((c) => `'${c.replace(/'/g, "''")}'`).join(', ');

import type { DataSource } from 'typeorm';
import type { Config } from '../../../config';
import { AppError } from '../errors';
import type { Actor } from '../security';
import { DataCipher } from './index';

/** A column holding DataCipher ciphertexts, and how its values were sealed. */
export interface EncryptedColumn {
  table: string;
  /** Single-column primary key: pages are read and updated by it. */
  id: string;
  column: string;
  /** The associated data each value was sealed with. */
  aad: (id: string) => string;
}

/**
 * A sealed column as its owning component declares it: only the owner writes its table, so the owner hands rotation
 * the write of a page of re-encrypted values (usually `writeReencryptedPage` for its own table). The whole list is
 * assembled from the owners in src/sealed-columns.ts; a test compares it with the schema.
 */
export interface SealedColumn extends EncryptedColumn {
  write: ReencryptWriter;
}

/** A column its owner rewrites with the usual statement (`writeReencryptedPage`); owners call this in their own module. */
export function ownedColumn(c: EncryptedColumn): SealedColumn {
  return { ...c, write: (ds, page) => writeReencryptedPage(ds, c, page) };
}

export type Keyring = Pick<Config, 'dataKeys' | 'dataActiveKeyId'>;

/** One value re-encrypted, to be written only where the column still holds `old`. */
export interface ReencryptedValue {
  id: string;
  old: Buffer;
  next: Buffer;
}

/** Writes one page of a column's re-encrypted values (only where each still holds its old value); answers the rows changed. */
export type ReencryptWriter = (ds: DataSource, page: readonly ReencryptedValue[]) => Promise<number>;

/** The narrow part of the audit trail this needs (components/audit's AuditService); platform code imports no component. */
export interface RotationAudit {
  recordAlone(
    actor: Actor,
    input: { action: string; entityType: string; entityId?: string | null; after?: Record<string, unknown> },
  ): Promise<{ id: string }>;
}

export interface KeyCount {
  /** null: the value is not a version-1 DataCipher ciphertext */
  keyId: string | null;
  rows: number;
  /** active: already current; old: in the keyring, to re-encrypt; unknown: not in the keyring, nothing can decrypt it */
  state: 'active' | 'old' | 'unknown';
}

export interface ColumnRotation {
  table: string;
  column: string;
  /** Non-null values by the key that sealed them, counted before any change. */
  found: KeyCount[];
  /** Values re-encrypted under the active key (0 on a dry run). */
  reencrypted: number;
  /** Values rewritten by someone else between our read and our write, left as they were written. */
  changedConcurrently: number;
  /** Values under a known key that did not decrypt (corrupt, or sealed with other associated data); left alone. */
  unreadable: number;
  /** The first few ids of unreadable values. */
  unreadableIds: string[];
}

export interface RotationReport {
  activeKeyId: string;
  dryRun: boolean;
  columns: ColumnRotation[];
  /** The audit event of the run (none on a dry run). */
  auditEventId: string | null;
}

export interface RotationOptions {
  actor: Actor;
  /** Every sealed column, each with its owner's writer (SEALED_COLUMNS of src/sealed-columns.ts). */
  columns: readonly SealedColumn[];
  dryRun?: boolean;
  batchSize?: number;
}

const IDENT = /^[a-z][a-z0-9_]{0,63}$/;
const UNREADABLE_IDS_KEPT = 20;

function quoted(name: string): string {
  if (!IDENT.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `\`${name}\``;
}

/** What DataCipher writes before the IV: version 1, key id length, key id. */
function headerOf(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  return Buffer.concat([Buffer.from([1, id.length]), id]);
}

function keyIdOfHeader(head: Buffer): string | null {
  return head.length >= 2 && head[0] === 1 && head.length === 2 + head[1]! ? head.subarray(2).toString('ascii') : null;
}

async function countByKey(ds: DataSource, col: EncryptedColumn, keyring: Keyring): Promise<KeyCount[]> {
  const c = quoted(col.column);
  // one pass over the table; the header's length is in its second byte
  const rows = (await ds.query(
    `SELECT LEFT(${c}, 2 + ASCII(SUBSTRING(${c}, 2, 1))) AS head, COUNT(*) AS n FROM ${quoted(col.table)} WHERE ${c} IS NOT NULL GROUP BY head`,
  )) as { head: Buffer | string; n: string | number }[];
  const counts = new Map<string | null, number>();
  for (const r of rows) {
    const keyId = keyIdOfHeader(Buffer.isBuffer(r.head) ? r.head : Buffer.from(r.head, 'binary'));
    counts.set(keyId, (counts.get(keyId) ?? 0) + Number(r.n));
  }
  return [...counts].map(([keyId, n]) => ({
    keyId,
    rows: n,
    state: keyId === keyring.dataActiveKeyId ? 'active' : keyId !== null && keyring.dataKeys.has(keyId) ? 'old' : 'unknown',
  }));
}

interface TableShape {
  /** The id column is an integer: ids are bound as numbers, so that the join below is a primary-key lookup on MySQL 8 too. */
  integerId: boolean;
  /** Columns set on any change (`ON UPDATE CURRENT_TIMESTAMP`): a re-encryption changes no content, so they keep their value. */
  autoUpdated: string[];
}

async function shapeOf(ds: DataSource, col: EncryptedColumn): Promise<TableShape> {
  const rows = (await ds.query(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, EXTRA AS extra FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [col.table],
  )) as { name: string; type: string; extra: string | null }[];
  const id = rows.find((r) => r.name === col.id);
  if (!id) throw new Error(`${col.table} has no column ${col.id}`);
  return { integerId: /int$/i.test(id.type), autoUpdated: rows.filter((r) => /on update/i.test(r.extra ?? '')).map((r) => r.name) };
}

/** Shapes read once per database and table: a page write must not ask information_schema every time. */
const shapes = new WeakMap<DataSource, Map<string, Promise<TableShape>>>();
function cachedShape(ds: DataSource, col: EncryptedColumn): Promise<TableShape> {
  let byTable = shapes.get(ds);
  if (!byTable) shapes.set(ds, (byTable = new Map()));
  let shape = byTable.get(col.table);
  if (!shape) {
    shape = shapeOf(ds, col);
    shape.catch(() => byTable.delete(col.table));
    byTable.set(col.table, shape);
  }
  return shape;
}

/** Re-encrypts one column page by page, each page written by the column's owner. */
async function rotateColumn(
  ds: DataSource,
  cipher: DataCipher,
  activeKeyId: string,
  col: SealedColumn,
  batchSize: number,
  out: ColumnRotation,
) {
  const t = quoted(col.table);
  const id = quoted(col.id);
  const c = quoted(col.column);
  const current = headerOf(activeKeyId);
  const shape = await cachedShape(ds, col);
  const bound = (v: string | number): string | number | bigint => (shape.integerId ? BigInt(v) : v);
  let after: string | number | null = null;
  for (;;) {
    // the key id is inside the blob: values already under the active key are skipped by comparing its header in SQL
    const rows = (await ds.query(
      `SELECT ${id} AS id, ${c} AS v FROM ${t}
       WHERE ${after === null ? '' : `${id} > ? AND `}${c} IS NOT NULL AND LEFT(${c}, ${current.length}) <> ?
       ORDER BY ${id} LIMIT ${batchSize}`,
      after === null ? [current] : [bound(after), current],
    )) as { id: string | number; v: Buffer }[];
    if (!rows.length) return;
    after = rows[rows.length - 1]!.id;
    const page: ReencryptedValue[] = [];
    for (const r of rows) {
      const aad = col.aad(String(r.id));
      try {
        page.push({ id: String(r.id), old: r.v, next: cipher.encrypt(cipher.decrypt(r.v, aad), aad) });
      } catch {
        out.unreadable += 1;
        if (out.unreadableIds.length < UNREADABLE_IDS_KEPT) out.unreadableIds.push(String(r.id));
      }
    }
    if (!page.length) continue;
    const updated = await col.write(ds, page);
    out.reencrypted += updated;
    out.changedConcurrently += page.length - updated;
  }
}

/**
 * The usual owner's write of a page of re-encrypted values of its own column: one statement, so one transaction per
 * page. Invariant: a value changed since it was read no longer equals its old blob and keeps the newer value; columns
 * set on any change (`updated_at`) keep theirs, since a re-encryption changes no content.
 */
export async function writeReencryptedPage(ds: DataSource, col: EncryptedColumn, page: readonly ReencryptedValue[]): Promise<number> {
  if (!page.length) return 0;
  const shape = await cachedShape(ds, col);
  const t = quoted(col.table);
  const id = quoted(col.id);
  const c = quoted(col.column);
  const bound = (v: string): string | bigint => (shape.integerId ? BigInt(v) : v);
  const keep = shape.autoUpdated.map((k) => `, t.${quoted(k)} = t.${quoted(k)}`).join('');
  // One statement, so one transaction per page. The page is a derived table of SELECTs joined by primary key:
  // portable to MySQL 8 and MariaDB (unlike VALUES lists), and linear where CASE id WHEN … is quadratic in the page size.
  // A value changed since it was read no longer equals its old blob, so it keeps the newer value.
  const values = page.map((_, i) => (i === 0 ? 'SELECT ? AS id, ? AS old_v, ? AS new_v' : 'SELECT ?, ?, ?')).join(' UNION ALL ');
  const res = (await ds.query(
    `UPDATE ${t} t JOIN (${values}) v ON t.${id} = v.id AND t.${c} = v.old_v SET t.${c} = v.new_v${keep}`,
    page.flatMap((p) => [bound(p.id), p.old, p.next]),
  )) as { affectedRows?: number };
  return res.affectedRows ?? 0;
}

/**
 * Re-encrypts under the active key every value of the registered columns
 * sealed with another key of the keyring, page by page in primary-key order.
 * Refuses, before changing anything, when a value is under a key the keyring
 * lacks. Restartable: values already under the active key are not read again.
 * A dry run only counts the values by key. A real run records one audit event.
 */
export async function rotateDataKeys(
  ds: DataSource,
  audit: RotationAudit,
  keyring: Keyring,
  opts: RotationOptions,
): Promise<RotationReport> {
  const columns = opts.columns;
  const batchSize = opts.batchSize ?? 2000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  const activeKeyId = keyring.dataActiveKeyId;
  // re-encryption computes no lookup hash, so this cipher needs no HMAC key (DATA_HMAC_KEY is not rotated here)
  const cipher = new DataCipher(keyring.dataKeys, activeKeyId, '');
  const report: RotationReport = { activeKeyId, dryRun: !!opts.dryRun, columns: [], auditEventId: null };
  for (const col of columns) {
    report.columns.push({
      table: col.table,
      column: col.column,
      found: await countByKey(ds, col, keyring),
      reencrypted: 0,
      changedConcurrently: 0,
      unreadable: 0,
      unreadableIds: [],
    });
  }
  if (report.dryRun) return report;

  const unknown = report.columns.flatMap((c) =>
    c.found.filter((k) => k.state === 'unknown').map((k) => ({ table: c.table, column: c.column, keyId: k.keyId, rows: k.rows })),
  );
  if (unknown.length) {
    const what = unknown.map(
      (u) => `${u.table}.${u.column}: ${u.rows} under ${u.keyId === null ? 'no recognisable key' : `key ${u.keyId}`}`,
    );
    throw new AppError(
      'conflict',
      'DATA_KEY_UNKNOWN',
      `values are sealed with keys missing from DATA_KEYS (${what.join('; ')}); add those keys and run again, nothing was changed`,
      unknown,
    );
  }

  let failure: unknown = null;
  try {
    for (const [i, col] of columns.entries()) await rotateColumn(ds, cipher, activeKeyId, col, batchSize, report.columns[i]!);
  } catch (e) {
    failure = e;
  }
  // recorded even when a page failed part way: the pages before it stay re-encrypted
  const event = await audit
    .recordAlone(opts.actor, {
      action: 'data_key.rotation',
      entityType: 'data_key',
      entityId: activeKeyId,
      after: {
        activeKeyId,
        completed: failure === null,
        ...(failure === null ? {} : { error: failure instanceof Error ? failure.message : String(failure) }),
        columns: report.columns.map((c) => ({
          table: c.table,
          column: c.column,
          found: c.found,
          reencrypted: c.reencrypted,
          changedConcurrently: c.changedConcurrently,
          unreadable: c.unreadable,
        })),
      },
    })
    .catch((e: unknown) => {
      if (failure === null) throw e;
      return null;
    });
  if (failure !== null) throw failure;
  report.auditEventId = event?.id ?? null;
  return report;
}

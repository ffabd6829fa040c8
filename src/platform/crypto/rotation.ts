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
 * Every column of the schema that holds DataCipher ciphertexts; a new one must
 * be added here (a test compares this list with the schema). The staging
 * tables of roll imports are left out: each import run drops and refills its
 * own from the file.
 */
export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  { table: 'beneficiaries', id: 'id', column: 'national_id_enc', aad: () => 'nid' },
  { table: 'beneficiaries', id: 'id', column: 'phone_enc', aad: () => 'phone' },
  { table: 'enrolments', id: 'id', column: 'account_enc', aad: () => 'account' },
  { table: 'enrolments', id: 'id', column: 'wallet_enc', aad: () => 'wallet' },
  { table: 'payments', id: 'id', column: 'account_enc', aad: () => 'account' },
  { table: 'payments', id: 'id', column: 'wallet_enc', aad: () => 'wallet' },
  { table: 'users', id: 'id', column: 'totp_secret', aad: (id) => `totp:${id}` },
  { table: 'idempotency_keys', id: 'id', column: 'response_body', aad: (id) => `idempotency:${id}` },
  { table: 'providers', id: 'id', column: 'secret_enc', aad: (id) => `provider:${id}` },
  { table: 'sms_gateways', id: 'id', column: 'secret_enc', aad: (id) => `sms-gateway:${id}` },
  { table: 'role_grants', id: 'id', column: 'password_part_enc', aad: (id) => `role-grant:${id}` },
];

export type Keyring = Pick<Config, 'dataKeys' | 'dataActiveKeyId'>;

/** One value re-encrypted, to be written only where the column still holds `old`. */
export interface ReencryptedValue {
  id: string;
  old: Buffer;
  next: Buffer;
}

/** Writes one page of a column's re-encrypted values (only where each still holds its old value); answers the rows changed. */
export type ReencryptWriter = (ds: DataSource, column: string, page: readonly ReencryptedValue[]) => Promise<number>;

/**
 * Tables whose component alone writes them (docs/architecture.md): rotation never writes these itself but hands each
 * page to the owner's writer (RotationOptions.writers; for payments, reencryptPaymentDestinations of components/payments).
 */
export const OWNER_WRITTEN_TABLES: ReadonlySet<string> = new Set(['payments']);

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
  dryRun?: boolean;
  batchSize?: number;
  columns?: readonly EncryptedColumn[];
  /** The owner's writer of each table of OWNER_WRITTEN_TABLES, by table name. */
  writers?: Readonly<Record<string, ReencryptWriter>>;
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

/** Re-encrypts one column page by page: its own writer for a table of OWNER_WRITTEN_TABLES, else writePage. */
async function rotateColumn(
  ds: DataSource,
  cipher: DataCipher,
  activeKeyId: string,
  col: EncryptedColumn,
  batchSize: number,
  out: ColumnRotation,
  writer: ReencryptWriter | undefined,
) {
  const t = quoted(col.table);
  const id = quoted(col.id);
  const c = quoted(col.column);
  const current = headerOf(activeKeyId);
  const shape = await shapeOf(ds, col);
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
    const updated = writer ? await writer(ds, col.column, page) : await writePage(ds, col, shape, page);
    out.reencrypted += updated;
    out.changedConcurrently += page.length - updated;
  }
}

/** The write of a page of a table no component keeps to itself (see OWNER_WRITTEN_TABLES). */
async function writePage(ds: DataSource, col: EncryptedColumn, shape: TableShape, page: readonly ReencryptedValue[]): Promise<number> {
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
  const columns = opts.columns ?? ENCRYPTED_COLUMNS;
  const ownerless = columns.filter((c) => OWNER_WRITTEN_TABLES.has(c.table) && !opts.writers?.[c.table]);
  if (ownerless.length) throw new Error(`${ownerless.map((c) => c.table).join(', ')}: rotation needs the owning component's writer`);
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
    for (const [i, col] of columns.entries())
      await rotateColumn(ds, cipher, activeKeyId, col, batchSize, report.columns[i]!, opts.writers?.[col.table]);
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

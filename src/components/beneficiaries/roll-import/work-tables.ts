import type { DataSource } from 'typeorm';
import { FINGERPRINT_BYTES } from './repeats';

/**
 * The tables one run of an import works in, all named after the import (they are dropped when the run ends, however it
 * ends). The import's rows go to `staging`; each of the others belongs to one phase.
 */
export interface WorkTables {
  /** The file's rows as validated, with their keyed hashes, masks and (when encrypted while reading) ciphertexts. */
  staging: string;
  /** The keyed-hash prefixes of the national IDs and accounts seen on more than one row while reading (RepeatFinder). */
  candidates: string;
  /** The rows of the file that the checks within the file look at: those with a candidate prefix (checks.ts). */
  repeats: string;
  /** The national IDs on more than one row of the file (checks.ts). */
  multi: string;
  /** The rows the merge has to write, with the stored person and enrolment they match (checks.ts, merge.ts). */
  diff: string;
  /** Ciphertexts made after the checks for rows staged without them (fill.ts). */
  fill: string;
}

export function workTablesOf(importId: string): WorkTables {
  const staging = `roll_import_rows_${importId}`;
  return {
    staging,
    candidates: `${staging}_cand`,
    repeats: `${staging}_repeat`,
    multi: `${staging}_multi`,
    diff: `${staging}_diff`,
    fill: `${staging}_fill`,
  };
}

/** Every table of the run, for DROP TABLE. */
const allOf = (t: WorkTables): string => [t.staging, t.diff, t.multi, t.fill, t.candidates, t.repeats].join(', ');

/** The staging and candidate tables, new and empty (those a stopped run left behind are dropped first). */
export async function createWorkTables(ds: DataSource, t: WorkTables): Promise<void> {
  await dropWorkTables(ds, t);
  await ds.query(`CREATE TABLE ${t.staging} LIKE roll_import_rows`);
  await ds.query(
    `CREATE TABLE ${t.candidates} (kind TINYINT UNSIGNED NOT NULL, prefix BINARY(${FINGERPRINT_BYTES}) NOT NULL,
       PRIMARY KEY (kind, prefix)) ENGINE=InnoDB`,
  );
  // Loaded without secondary indexes: the checks within the file look at the few rows whose national ID or account
  // is on another row too, found while reading (RepeatFinder), and everything else finds a row by its number. The
  // table holds one import: its primary key is the row number alone.
  await ds.query(
    `ALTER TABLE ${t.staging} DROP PRIMARY KEY, ADD PRIMARY KEY (row_no),
       DROP INDEX ix_import_rows_nid, DROP INDEX ix_import_rows_account, DROP INDEX ix_import_rows_wallet,
       MODIFY national_id_enc VARBINARY(128) NULL, ADD COLUMN person_row INT UNSIGNED NULL`,
  );
}

export async function dropWorkTables(ds: DataSource, t: WorkTables): Promise<void> {
  await ds.query(`DROP TABLE IF EXISTS ${allOf(t)}`);
}

import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../../platform/crypto';
import { AppError } from '../../../platform/errors';
import { mapHeader, type Column } from '../roll-columns';
import { validateRow } from '../roll-validation';
import { readRollFile } from './file-reader';
import { cellValues, headerNames, isBlank, loadReference } from './file-rows';
import { stageRow, type STAGE_COLUMNS, type StagedRow } from './stage';
import type { ImportRow } from './types';
import type { WorkTables } from './work-tables';

/** What the fill pass writes for a row: its keyed hashes (to compare with those staged) and ciphertexts. */
const FILL_COLUMNS = [
  'national_id_hash',
  'national_id_enc',
  'phone_hash',
  'phone_enc',
  'account_hash',
  'account_enc',
  'wallet_hash',
  'wallet_enc',
] as const satisfies readonly (typeof STAGE_COLUMNS)[number][];

/** A row of the fill table: its number, then FILL_COLUMNS. */
type FillRow = [rowNo: number, ...values: StagedRow[(typeof FILL_COLUMNS)[number]][]];

/** Rows per INSERT into the fill table. */
const FILL_BATCH = 1000;

/**
 * Encrypts what the merge writes and the reading left unencrypted (read.ts, sealWhileReading): the rows of the diff (people
 * and enrolments new or changed), or every accepted row of a first import. The file is read again and only those rows
 * are validated again and encrypted; each one's keyed hashes must be those staged for it (the same value is
 * encrypted as was checked), or the import is refused: the file changed under it. Afterwards no row the merge writes
 * lacks a ciphertext its hash calls for. Returns the number of rows encrypted here.
 */
export async function fill(
  ds: DataSource,
  cipher: DataCipher,
  imp: ImportRow,
  filePath: string,
  tables: WorkTables,
  onRoll: boolean,
): Promise<number> {
  const t = tables.staging;
  const missing = `(r.national_id_enc IS NULL OR (r.phone_hash IS NOT NULL AND r.phone_enc IS NULL)
    OR (r.account_hash IS NOT NULL AND r.account_enc IS NULL) OR (r.wallet_hash IS NOT NULL AND r.wallet_enc IS NULL))`;
  const from = onRoll ? `${tables.diff} d JOIN ${t} r ON r.row_no = d.row_no WHERE` : `${t} r WHERE r.rejected = 0 AND`;
  // the row numbers, a page at a time, into one typed array (4 bytes a row)
  let needed = new Uint32Array(1024);
  let count = 0;
  for (let after = 0; ;) {
    const page = (await ds.query(`SELECT r.row_no FROM ${from} ${missing} AND r.row_no > ? ORDER BY r.row_no LIMIT 50000`, [after])) as {
      row_no: number;
    }[];
    if (!page.length) break;
    if (count + page.length > needed.length) {
      const grown = new Uint32Array(Math.max(needed.length * 2, count + page.length));
      grown.set(needed.subarray(0, count));
      needed = grown;
    }
    for (const p of page) needed[count++] = Number(p.row_no);
    after = Number(page[page.length - 1]!.row_no);
  }
  if (count === 0) return 0;

  const changed = () => new AppError('invalid', 'FILE_CHANGED', 'the file changed while it was being imported; upload it again');
  const ft = tables.fill;
  await ds.query(`DROP TABLE IF EXISTS ${ft}`);
  await ds.query(`CREATE TABLE ${ft} (PRIMARY KEY (row_no)) ENGINE=InnoDB SELECT row_no, ${FILL_COLUMNS.join(', ')} FROM ${t} WHERE FALSE`);
  const ref = await loadReference(ds, imp);
  const c = cipher;
  let header: Partial<Record<Column, number>> | null = null;
  let k = 0;
  let batch: FillRow[] = [];
  const write = async () => {
    if (batch.length) await ds.query(`INSERT INTO ${ft} (row_no, ${FILL_COLUMNS.join(', ')}) VALUES ?`, [batch]);
    batch = [];
  };
  // only the rows to encrypt are split into cells (plain CSV), once the header has been seen
  let p = 0;
  const keep = (rowNo: number): boolean => {
    if (header === null) return true;
    while (p < count && needed[p]! < rowNo) p += 1;
    return p < count && needed[p] === rowNo;
  };
  for await (const fileRows of readRollFile(filePath, imp.format, keep)) {
    for (const { rowNo, cells } of fileRows) {
      if (k === count) break;
      if (isBlank(cells, 0)) continue;
      if (!header) {
        const mapped = mapHeader(headerNames(cells));
        if (mapped.problems.length) throw changed();
        header = mapped.index;
        continue;
      }
      if (rowNo < needed[k]!) continue;
      if (rowNo > needed[k]!) throw changed(); // a row number the file no longer has
      k += 1;
      const row = validateRow(cellValues(cells, header, []), ref).row;
      if (!row) throw changed();
      // the staging row as reading makes it (areas and programmes are not filled)
      const staged = stageRow(c, imp.id, { rowNo, row, areaId: 0, programmeId: 0 }, true);
      batch.push([rowNo, ...FILL_COLUMNS.map((col) => staged[col])]);
      if (batch.length >= FILL_BATCH) await write();
    }
    if (k === count) break;
  }
  await write();
  if (k !== count) throw changed();
  // only where every keyed hash is the one staged: the ciphertext holds the value the checks saw
  await ds.query(
    `UPDATE ${t} r JOIN ${ft} f ON f.row_no = r.row_no
     SET r.national_id_enc = f.national_id_enc, r.phone_enc = f.phone_enc, r.account_enc = f.account_enc, r.wallet_enc = f.wallet_enc
     WHERE r.national_id_hash = f.national_id_hash AND r.phone_hash <=> f.phone_hash AND r.account_hash <=> f.account_hash
       AND r.wallet_hash <=> f.wallet_hash`,
  );
  const [{ n }] = (await ds.query(`SELECT COUNT(*) AS n FROM ${from} ${missing}`)) as [{ n: string | number }];
  if (Number(n) !== 0) throw changed();
  await ds.query(`DROP TABLE IF EXISTS ${ft}`);
  return count;
}

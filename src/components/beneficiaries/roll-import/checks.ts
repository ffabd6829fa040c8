import type { DataSource } from 'typeorm';
import { PERSON_OUT_OF_SCOPE_MESSAGE } from '../roll-problems';
import { FINGERPRINT_BYTES } from './repeats';
import { settleAll } from './settle';
import type { ImportRow } from './types';
import type { WorkTables } from './work-tables';

/**
 * A stored person (b) whose commune or phone differs from the file's row (r); an empty phone in the file keeps the
 * stored one.
 */
export const PERSON_CHANGED = `(b.area_id <> r.area_id OR (r.phone_hash IS NOT NULL AND NOT (b.phone_hash <=> r.phone_hash)))`;

/** A stored enrolment (e) that differs from the file's row (r). */
export const ENROLMENT_CHANGED = `(e.coefficient_x100 <> r.coefficient_x100 OR e.start_period <> r.start_period OR NOT (e.end_period <=> r.end_period)
  OR e.channel <> r.channel OR NOT (e.bank_bin <=> r.bank_bin) OR NOT (e.account_hash <=> r.account_hash)
  OR NOT (CAST(e.account_name AS BINARY) <=> CAST(r.account_name AS BINARY)) OR NOT (e.wallet_provider <=> r.wallet_provider)
  OR NOT (e.wallet_hash <=> r.wallet_hash))`;

/** What the checks found out besides the problems they wrote. */
export interface Checked {
  /** Whether anyone of the file is on the roll already (then the diff table holds the rows to write). */
  onRoll: boolean;
  /** The rows the checks within the file looked at (those with a candidate prefix). */
  rowsChecked: number;
}

/**
 * The second phase, under the import lock: the conflicts that only the whole file and the stored roll reveal. Each
 * offending row is reported and marked rejected, so that the merge leaves it out.
 */
export async function check(ds: DataSource, imp: ImportRow, tables: WorkTables, candidates: number): Promise<Checked> {
  const id = imp.id;
  const t = tables.staging;
  let rowsChecked = 0;
  const problem = (sql: string, params: unknown[] = []) =>
    ds.query(`INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message) ${sql}`, [id, ...params]);

  const accounts = [
    ['account_hash', 'account_number', 'bank account', 'account_new'],
    ['wallet_hash', 'wallet_id', 'wallet', 'wallet_new'],
  ] as const;
  // The checks within the file look only at the rows whose national ID or account may be on another row too: those
  // whose keyed hash begins as one seen twice while reading (RepeatFinder; a superset, as fingerprints can collide).
  // Every row of a group these checks report is among them, so grouping them finds exactly what grouping the whole
  // file would: copied out in one pass over the file, with the indexes the checks need.
  const rt = tables.repeats;
  const inFile = async () => {
    const ct = tables.candidates;
    const columns = `row_no, national_id_hash, programme_id, full_name, date_of_birth, gender, phone_hash, area_id, account_hash, wallet_hash`;
    await ds.query(
      `CREATE TABLE ${rt} (PRIMARY KEY (row_no), KEY ix_nid (national_id_hash, programme_id), KEY ix_account (account_hash),
         KEY ix_wallet (wallet_hash)) ENGINE=InnoDB SELECT ${columns} FROM ${t} WHERE FALSE`,
    );
    if (candidates > 0) {
      // in two halves of the file at once (one statement runs on one core of the server); IN (subquery), which the
      // server answers from a hash of the candidates, is much cheaper here than joining the candidates
      const [{ n: last }] = (await ds.query(`SELECT IFNULL(MAX(row_no), 0) AS n FROM ${t}`)) as [{ n: number | string }];
      const half = Math.ceil(Number(last) / 2);
      const copy = (from: number, to: number) =>
        ds.query(
          `INSERT INTO ${rt} (${columns}) SELECT ${columns.replace(/(\w+)/g, 'r.$1')}
           FROM ${t} r WHERE r.row_no BETWEEN ? AND ? AND (LEFT(r.national_id_hash, ${FINGERPRINT_BYTES}) IN (SELECT prefix FROM ${ct} WHERE kind = 0)
             OR LEFT(r.account_hash, ${FINGERPRINT_BYTES}) IN (SELECT prefix FROM ${ct} WHERE kind = 1)
             OR LEFT(r.wallet_hash, ${FINGERPRINT_BYTES}) IN (SELECT prefix FROM ${ct} WHERE kind = 1))`,
          [from, to],
        );
      await settleAll([copy(0, half), copy(half + 1, Number(last))]);
    }
    const [{ n: checked }] = (await ds.query(`SELECT COUNT(*) AS n FROM ${rt}`)) as [{ n: string | number }];
    rowsChecked = Number(checked);
    // Each check groups those rows once and then finds the rows of the groups it reports (STRAIGHT_JOIN: left to
    // itself, MariaDB ran the grouping again for every row, "LATERAL DERIVED"). They run one after the other (problems
    // of one row keep the order of the checks), beside the roll comparison below.
    // For the merge's person ids of a first import (below): the national IDs on several rows.
    await ds.query(
      `CREATE TABLE ${tables.multi} (national_id_hash BINARY(32) NOT NULL PRIMARY KEY) ENGINE=InnoDB
       SELECT national_id_hash FROM ${rt} GROUP BY national_id_hash HAVING COUNT(*) > 1`,
    );
    await problem(
      `SELECT ?, r.row_no, 'programme_code', 'DUPLICATE_IN_FILE',
       LEFT(CONCAT('the same person and programme are on rows ', d.rows_list, '; keep one row'), 500)
     FROM (SELECT national_id_hash, programme_id, GROUP_CONCAT(row_no ORDER BY row_no SEPARATOR ', ') AS rows_list
           FROM ${rt} GROUP BY national_id_hash, programme_id HAVING COUNT(*) > 1) d
       STRAIGHT_JOIN ${rt} r ON r.national_id_hash = d.national_id_hash AND r.programme_id = d.programme_id`,
    );
    await problem(
      `SELECT ?, r.row_no, 'national_id', 'PERSON_DIFFERS_IN_FILE',
       LEFT(CONCAT('the same national ID has different personal data (name, birth date, gender, area or phone) on rows ', d.rows_list), 500)
     FROM (SELECT national_id_hash, GROUP_CONCAT(row_no ORDER BY row_no SEPARATOR ', ') AS rows_list FROM ${rt}
           GROUP BY national_id_hash
           HAVING COUNT(DISTINCT CAST(full_name AS BINARY), date_of_birth, gender, IFNULL(phone_hash, ''), area_id) > 1) d
       STRAIGHT_JOIN ${rt} r ON r.national_id_hash = d.national_id_hash`,
    );
    for (const [hash, column, what] of accounts) {
      await problem(
        `SELECT ?, r.row_no, '${column}', 'SHARED_ACCOUNT',
         LEFT(CONCAT('the same ${what} is given for different people on rows ', d.rows_list), 500)
       FROM (SELECT ${hash}, GROUP_CONCAT(row_no ORDER BY row_no SEPARATOR ', ') AS rows_list FROM ${rt}
             WHERE ${hash} IS NOT NULL GROUP BY ${hash} HAVING COUNT(DISTINCT national_id_hash) > 1) d
         STRAIGHT_JOIN ${rt} r ON r.${hash} = d.${hash}`,
      );
    }
  };

  // Against the roll. Is anyone of the file on it? If not (a first import), no stored person can conflict, and every
  // account of the file is checked against the roll's.
  const d = tables.diff;
  const compare = async (): Promise<boolean> => {
    const [{ n: found }] = (await ds.query(
      `SELECT EXISTS (SELECT 1 FROM ${t} r JOIN beneficiaries b ON b.national_id_hash = r.national_id_hash) AS n`,
    )) as [{ n: number | string }];
    if (Number(found) !== 1) return false;
    // One pass over the file and the roll finds every row that differs from what is stored: a new person or enrolment,
    // a person who moved commune or changed phone, an enrolment that differs, a person whose name, birth date or gender
    // disagree (PERSON_CONFLICT), and whether the row's account or wallet is new for that enrolment. The merge writes
    // only these rows, and the account checks below look only at new accounts: an account already stored for the same
    // person and programme cannot be another person's, since neither an import nor an edit lets two people share one.
    // A file that changes nothing leaves this table empty.
    await ds.query(
      `CREATE TABLE ${d} (row_no INT UNSIGNED NOT NULL, beneficiary_id BIGINT UNSIGNED NULL, enrolment_id BIGINT UNSIGNED NULL,
       person_changed TINYINT(1) NOT NULL, enrolment_changed TINYINT(1) NOT NULL, conflict VARCHAR(100) NULL,
       account_new TINYINT(1) NOT NULL, wallet_new TINYINT(1) NOT NULL, PRIMARY KEY (row_no)) ENGINE=InnoDB`,
    );
    const conflict = `NULLIF(CONCAT_WS(', ', IF(CAST(b.full_name AS BINARY) <> CAST(r.full_name AS BINARY), 'full_name', NULL),
    IF(b.date_of_birth <> r.date_of_birth, 'date_of_birth', NULL), IF(b.gender <> r.gender, 'gender', NULL)), '')`;
    // in two halves of the file at once: one statement runs on one core of the database server
    const [{ n: last }] = (await ds.query(`SELECT IFNULL(MAX(row_no), 0) AS n FROM ${t}`)) as [{ n: number | string }];
    const half = Math.ceil(Number(last) / 2);
    const diffPass = (from: number, to: number) =>
      ds.query(
        `INSERT INTO ${d} (row_no, beneficiary_id, enrolment_id, person_changed, enrolment_changed, conflict, account_new, wallet_new)
       SELECT r.row_no, b.id, e.id, IFNULL(${PERSON_CHANGED}, 0), IFNULL(${ENROLMENT_CHANGED}, 0), ${conflict},
              r.account_hash IS NOT NULL AND NOT (e.account_hash <=> r.account_hash),
              r.wallet_hash IS NOT NULL AND NOT (e.wallet_hash <=> r.wallet_hash)
       FROM ${t} r LEFT JOIN beneficiaries b ON b.national_id_hash = r.national_id_hash
         LEFT JOIN enrolments e ON e.beneficiary_id = b.id AND e.programme_id = r.programme_id
       WHERE r.row_no BETWEEN ? AND ?
         AND (b.id IS NULL OR e.id IS NULL OR ${PERSON_CHANGED} OR ${ENROLMENT_CHANGED} OR ${conflict} IS NOT NULL)`,
        [from, to],
      );
    await settleAll([diffPass(0, half), diffPass(half + 1, Number(last))]);
    return true;
  };
  const [, onRoll] = await settleAll([inFile(), compare()]);
  if (onRoll) {
    await problem(
      `SELECT ?, r.row_no, 'national_id', 'PERSON_CONFLICT',
         CONCAT('this national ID is on the roll with a different ', d.conflict, '; correct the file, or the stored record first')
       FROM ${d} d JOIN ${t} r ON r.row_no = d.row_no WHERE d.conflict IS NOT NULL`,
    );
  }
  if (imp.scope_area_id !== null) {
    // the message tells nothing of where the person is; the area is kept for readers whose scope covers it
    await ds.query(
      `INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message, area_id)
       SELECT ?, r.row_no, 'national_id', 'PERSON_OUT_OF_SCOPE', ?, b.area_id
       FROM ${t} r JOIN beneficiaries b ON b.national_id_hash = r.national_id_hash JOIN areas a ON a.id = b.area_id
       WHERE a.path NOT LIKE CONCAT((SELECT s.path FROM areas s WHERE s.id = ?), '%')`,
      [id, PERSON_OUT_OF_SCOPE_MESSAGE, imp.scope_area_id],
    );
  }
  for (const [hash, column, what, isNew] of accounts) {
    const rows = onRoll ? `${d} d JOIN ${t} r ON r.row_no = d.row_no AND d.${isNew} = 1` : `${t} r`;
    await problem(
      `SELECT DISTINCT ?, r.row_no, '${column}', 'SHARED_ACCOUNT', 'this ${what} is already on the roll for another person'
       FROM ${rows} JOIN enrolments e ON e.${hash} = r.${hash} JOIN beneficiaries b ON b.id = e.beneficiary_id
       WHERE r.${hash} IS NOT NULL AND b.national_id_hash <> r.national_id_hash`,
    );
  }
  await ds.query(`UPDATE ${t} r JOIN roll_import_problems p ON p.import_id = ? AND p.row_no = r.row_no SET r.rejected = 1`, [id]);
  // the merge writes the diff's rows: none that was rejected
  if (onRoll) await ds.query(`DELETE d FROM ${d} d JOIN ${t} r ON r.row_no = d.row_no WHERE r.rejected = 1`);
  else {
    // For the merge's person ids (merge.ts, insertAll): a person on several accepted rows (several programmes) is the person of
    // the first of them. Committed here, so that the merge's second connection sees it too.
    await ds.query(
      `UPDATE ${t} r JOIN ${rt} x ON x.row_no = r.row_no JOIN (
         SELECT y.national_id_hash, MIN(y.row_no) AS first_row
         FROM ${tables.multi} m STRAIGHT_JOIN ${rt} y ON y.national_id_hash = m.national_id_hash JOIN ${t} z ON z.row_no = y.row_no
         WHERE z.rejected = 0 GROUP BY y.national_id_hash) g ON g.national_id_hash = x.national_id_hash
       SET r.person_row = g.first_row WHERE r.rejected = 0`,
    );
  }
  return { onRoll, rowsChecked };
}

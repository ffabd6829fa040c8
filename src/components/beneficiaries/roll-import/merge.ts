import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type winston from 'winston';
import type { Actor } from '../../../platform/security';
import type { AuditService } from '../../audit';
import { ENROLMENT_CHANGED, PERSON_CHANGED } from './checks';
import { settleAll } from './settle';
import type { ImportRow, Parents, RollImportReport } from './types';
import type { WorkTables } from './work-tables';
import { XaBranch, xidOf } from './xa';

const PERSON_COLUMNS = `national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search, date_of_birth,
  gender, phone_hash, phone_enc, phone_masked, area_id`;
const ENROLMENT_COLUMNS = `programme_id, coefficient_x100, start_period, end_period, channel, bank_bin, account_hash, account_enc,
  account_masked, account_name, wallet_provider, wallet_hash, wallet_enc, wallet_masked, name_mismatch`;

/** What the merge works with. */
export interface MergeInput {
  ds: DataSource;
  audit: AuditService;
  log: winston.Logger;
  imp: ImportRow;
  tables: WorkTables;
  /** Data rows read from the file. */
  read: number;
  /** Whether anyone of the file is on the roll already (checks.ts). */
  onRoll: boolean;
  parents: Parents;
  /** Staged rows whose account name does not match the person's. */
  stagedMismatches: number;
  /** The database's name when a first import may insert its enrolments in an XA branch beside its people, else null. */
  xaDatabase: string | null;
  /** Runs between the merge's commit and the commit of its XA branch (tests). */
  afterDecision?: () => Promise<void>;
}

/**
 * The last phase, in one transaction on `runner`, which holds the import lock: new people and enrolments inserted,
 * changed ones updated with their history, the import completed and audited. Returns how many people and enrolments
 * were created or updated, and how the merge went.
 */
export async function merge(
  runner: QueryRunner,
  { ds, audit, log, imp, tables, read, onRoll, parents, stagedMismatches, xaDatabase, afterDecision }: MergeInput,
): Promise<{ written: number; kind: RollImportReport['merge'] }> {
  const t = tables.staging;
  const id = imp.id;
  const by = imp.uploaded_by;
  // The enrolments of a first import are inserted by a second connection at the same time as the people (an XA
  // branch, committed with this transaction: see insertAll), when the server lets this user recover XA branches.
  const parallel = !onRoll && xaDatabase !== null;
  let branch: XaBranch | null = null;
  // Nobody of the file on the roll: the merge only inserts (people and enrolments no one else can see before the
  // commit) and reads no stored row it writes back, so READ COMMITTED spares the shared locks REPEATABLE READ would
  // take on every staging and person row read. A merge that updates stored rows keeps REPEATABLE READ: its shared
  // locks keep an edit from slipping between a history row and its update.
  // The first import's foreign keys are checked once per referenced row instead of once per inserted row (insertAll).
  // The first import of a roll (no person stored at all: only imports create people, and this one holds the import
  // lock) inserts into empty tables. Without unique checks, MariaDB (10.6+) then buffers the rows and builds each
  // index sorted, page by page, instead of one index entry at a time, at a fraction of the server's CPU. Nothing is
  // lost by it: the checks have refused every national ID and person-programme pair on two rows of the file, ids are
  // given explicitly (the primary key is always checked), and the roll is empty; a server without the bulk path
  // (MySQL) just inserts as before.
  const bulk = !onRoll && (await rollEmpty(ds));
  const kind = bulk ? 'bulk' : onRoll ? 'update' : 'insert';
  let committed = false;
  try {
    if (!onRoll) await runner.query(`SET SESSION foreign_key_checks = 0, unique_checks = ${bulk ? 0 : 1}`);
    if (parallel) branch = await XaBranch.start(ds, xidOf(xaDatabase, id), bulk);
    await runner.startTransaction(onRoll ? undefined : 'READ COMMITTED');
    const em = runner.manager;
    const counts = onRoll ? await mergeIn(em, tables, id, by) : await insertAll(em, t, id, by, parents, branch);
    // the account-name mismatches merged: those staged, less those of rows the checks refused (a problem each)
    const [{ n: refusedMismatches }] = (await em.query(
      `SELECT COUNT(*) AS n FROM (SELECT DISTINCT row_no FROM roll_import_problems WHERE import_id = ? AND row_no > 0) p
       JOIN ${t} r ON r.row_no = p.row_no WHERE r.name_mismatch = 1`,
      [id],
    )) as [{ n: string }];
    const nameMismatches = stagedMismatches - Number(refusedMismatches);
    const [{ n: invalid }] = (await em.query(
      'SELECT COUNT(DISTINCT row_no) AS n FROM roll_import_problems WHERE import_id = ? AND row_no > 0',
      [id],
    )) as [{ n: string }];
    const rowsValid = read - Number(invalid);
    // with a branch, the import becomes completed when the branch commits, after the people: nobody sees it completed
    // with its enrolments missing (while the two commits happen, it is still running)
    await (branch ?? em).query(
      `UPDATE roll_imports SET status = 'completed', phase = NULL, rows_valid = ?, rows_invalid = ?, beneficiaries_created = ?,
         enrolments_created = ?, enrolments_updated = ?, enrolments_unchanged = ?, name_mismatches = ?, finished_at = CURRENT_TIMESTAMP(3)
       WHERE id = ?`,
      [
        rowsValid,
        Number(invalid),
        counts.beneficiariesCreated,
        counts.enrolmentsCreated,
        counts.enrolmentsUpdated,
        rowsValid - counts.enrolmentsCreated - counts.enrolmentsUpdated,
        nameMismatches,
        id,
      ],
    );
    const [u] = (await em.query('SELECT username, roles FROM users WHERE id = ?', [by])) as { username: string; roles: string }[];
    const actor: Actor = {
      userId: by,
      username: u?.username ?? 'unknown',
      roles: (u?.roles ?? '').split(','),
      requestId: imp.request_id,
      source: 'worker',
    };
    await audit.record(em, actor, {
      action: 'roll.import_completed',
      entityType: 'roll_import',
      entityId: id,
      areaId: imp.scope_area_id,
      after: { rowsRead: read, rowsValid, rowsInvalid: Number(invalid), ...counts, nameMismatches },
    });
    // The decision: the branch is prepared (it can no longer fail to commit), and this commit writes the people and the
    // audit event of the completed import; recoverMerges commits a branch whose import has that event, should this
    // process stop before the branch's commit below.
    await branch?.prepare();
    await runner.commitTransaction();
    committed = true;
    await afterDecision?.();
    if (branch) await branch.commit(ds, log);
    return { written: counts.beneficiariesCreated + counts.enrolmentsCreated + counts.enrolmentsUpdated, kind };
  } catch (e) {
    if (!committed) {
      if (branch)
        await branch.rollback().catch((x: unknown) => log.error('roll import: XA rollback failed', { importId: id, error: String(x) }));
      if (runner.isTransactionActive) await runner.rollbackTransaction();
    }
    throw e;
  } finally {
    if (!onRoll) await runner.query('SET SESSION foreign_key_checks = 1, unique_checks = 1');
    await branch?.release();
  }
}

/** Nobody on the roll at all: no person and no enrolment stored, in any area. */
async function rollEmpty(ds: DataSource): Promise<boolean> {
  const [r] = (await ds.query('SELECT EXISTS (SELECT 1 FROM beneficiaries) AS b, EXISTS (SELECT 1 FROM enrolments) AS e')) as [
    { b: number | string; e: number | string },
  ];
  return Number(r.b) === 0 && Number(r.e) === 0;
}

/**
 * A first import (nobody of the file on the roll): every accepted row is a new enrolment, every accepted person a new
 * person. People get their ids here (the largest stored id + the row number of their first accepted row: ids keep
 * file order, with gaps where rows were refused; only imports create people, one at a time under the import lock), so
 * the enrolments need no lookup of the person and can be inserted beside them, by `branch` on another connection
 * (the two inserts are each bound by index maintenance on one core of the server; the whole of the merge then takes
 * about as long as the people alone). Both run without per-row foreign-key checks: the people and enrolments refer to
 * people of this same merge and to areas, programmes, banks and wallet providers that are share-locked here until
 * the commit, the guarantee the per-row checks give (a missing one fails the import, which is then retried).
 */
async function insertAll(em: EntityManager, t: string, id: string, by: number, parents: Parents, branch: XaBranch | null) {
  const affected = (r: unknown) => (r as { affectedRows?: number }).affectedRows ?? 0;
  const lock = async (table: string, key: string, values: (number | string)[]) => {
    if (!values.length) return;
    const found = (await em.query(`SELECT ${key} FROM ${table} WHERE ${key} IN (?) LOCK IN SHARE MODE`, [values])) as unknown[];
    if (found.length !== values.length) throw new Error(`roll import ${id}: a ${table} row of the file was removed during the import`);
  };
  await lock('areas', 'id', [...parents.areas]);
  await lock('programmes', 'id', [...parents.programmes]);
  await lock('banks', 'bin', [...parents.banks]);
  await lock('wallet_providers', 'code', [...parents.wallets]);
  const [{ n: base }] = (await em.query('SELECT IFNULL(MAX(id), 0) AS n FROM beneficiaries')) as [{ n: string | number }];
  const r = (cols: string) => cols.replace(/(\w+)/g, 'r.$1');
  const people = () =>
    em.query(
      `INSERT INTO beneficiaries (id, ${PERSON_COLUMNS}, created_by, updated_by, import_id)
       SELECT ? + r.row_no, ${r(PERSON_COLUMNS)}, ?, ?, ? FROM ${t} r WHERE r.rejected = 0 AND IFNULL(r.person_row, r.row_no) = r.row_no`,
      [Number(base), by, by, id],
    );
  const enrolmentSql = `INSERT INTO enrolments (beneficiary_id, ${ENROLMENT_COLUMNS}, status, created_by, updated_by, import_id)
    SELECT ? + IFNULL(r.person_row, r.row_no), ${r(ENROLMENT_COLUMNS)}, 'active', ?, ?, ? FROM ${t} r WHERE r.rejected = 0`;
  const enrolmentParams = [Number(base), by, by, id];
  let created: [unknown, unknown];
  if (branch) {
    created = await settleAll([people(), branch.query(enrolmentSql, enrolmentParams)]);
  } else {
    created = [await people(), await em.query(enrolmentSql, enrolmentParams)];
  }
  return {
    beneficiariesCreated: affected(created[0]),
    enrolmentsCreated: affected(created[1]),
    enrolmentsUpdated: 0,
  };
}

/** Someone of the file is on the roll: the check's diff table holds the accepted rows to write. */
async function mergeIn(em: EntityManager, tables: WorkTables, id: string, by: number) {
  const affected = (r: unknown) => (r as { affectedRows?: number }).affectedRows ?? 0;
  const t = tables.staging;
  const d = tables.diff;

  // the people the merge creates: those the diff found missing
  const count = async (sql: string) => Number(((await em.query(sql)) as [{ n: string }])[0].n);
  const createdPeople = await count(
    `SELECT COUNT(DISTINCT r.national_id_hash) AS n FROM ${d} d JOIN ${t} r ON r.row_no = d.row_no WHERE d.beneficiary_id IS NULL`,
  );
  const r = (cols: string) => cols.replace(/(\w+)/g, 'r.$1');
  // Rows are inserted in file order: the diff is read along its primary key, the row number. A person on several rows,
  // or already on the roll, meets the unique key and is left as stored (their changes are handled below).
  const insertPeople = (from: string) =>
    em.query(
      `INSERT INTO beneficiaries (${PERSON_COLUMNS}, created_by, updated_by, import_id)
       SELECT ${r(PERSON_COLUMNS)}, ?, ?, ? ${from}
       ON DUPLICATE KEY UPDATE beneficiaries.id = beneficiaries.id`,
      [by, by, id],
    );
  // leaves out a person and programme already enrolled
  const insertEnrolments = (from: string, where: string, unseen: boolean) =>
    em.query(
      `INSERT INTO enrolments (beneficiary_id, ${ENROLMENT_COLUMNS}, status, created_by, updated_by, import_id)
       SELECT b.id, ${r(ENROLMENT_COLUMNS)}, 'active', ?, ?, ? ${from}
         STRAIGHT_JOIN beneficiaries b ON b.national_id_hash = r.national_id_hash
         ${unseen ? 'LEFT JOIN enrolments e ON e.beneficiary_id = b.id AND e.programme_id = r.programme_id' : ''}
       WHERE ${where} ${unseen ? 'AND e.id IS NULL' : ''}`,
      [by, by, id],
    );

  if (createdPeople > 0) await insertPeople(`FROM ${d} d JOIN ${t} r ON r.row_no = d.row_no WHERE d.beneficiary_id IS NULL`);

  // the first row of each changed person carries their personal data (the check made all of their rows agree)
  const changedPeople = `(SELECT MIN(row_no) AS row_no, beneficiary_id FROM ${d} WHERE person_changed = 1 GROUP BY beneficiary_id) f
    JOIN ${t} r ON r.row_no = f.row_no JOIN beneficiaries b ON b.id = f.beneficiary_id`;
  await em.query(
    `INSERT INTO roll_history (beneficiary_id, change_type, before_state, after_state, changed_by, import_id)
     SELECT b.id, 'beneficiary.updated', JSON_OBJECT('areaId', b.area_id, 'phone', b.phone_masked),
            JSON_OBJECT('areaId', r.area_id, 'phone', IFNULL(r.phone_masked, b.phone_masked)), ?, ?
     FROM ${changedPeople} WHERE ${PERSON_CHANGED}`,
    [by, id],
  );
  await em.query(
    `UPDATE ${changedPeople}
     SET b.area_id = r.area_id, b.phone_hash = IFNULL(r.phone_hash, b.phone_hash), b.phone_enc = IFNULL(r.phone_enc, b.phone_enc),
         b.phone_masked = IFNULL(r.phone_masked, b.phone_masked), b.updated_by = ?, b.import_id = ?
     WHERE ${PERSON_CHANGED}`,
    [by, id],
  );

  const state = (a: string) =>
    `JSON_OBJECT('coefficientX100', ${a}.coefficient_x100, 'startPeriod', ${a}.start_period, 'endPeriod', ${a}.end_period,
      'channel', ${a}.channel, 'bankBin', ${a}.bank_bin, 'account', ${a}.account_masked, 'accountName', ${a}.account_name,
      'walletProvider', ${a}.wallet_provider, 'wallet', ${a}.wallet_masked)`;
  const changedEnrolments = `${d} d JOIN ${t} r ON r.row_no = d.row_no JOIN enrolments e ON e.id = d.enrolment_id`;
  const updated = affected(
    await em.query(
      `INSERT INTO roll_history (beneficiary_id, enrolment_id, change_type, before_state, after_state, changed_by, import_id)
       SELECT e.beneficiary_id, e.id, 'enrolment.updated', ${state('e')}, ${state('r')}, ?, ?
       FROM ${changedEnrolments} WHERE d.enrolment_changed = 1 AND ${ENROLMENT_CHANGED}`,
      [by, id],
    ),
  );
  await em.query(
    `UPDATE ${changedEnrolments}
     SET e.coefficient_x100 = r.coefficient_x100, e.start_period = r.start_period, e.end_period = r.end_period, e.channel = r.channel,
         e.bank_bin = r.bank_bin, e.account_hash = r.account_hash, e.account_enc = r.account_enc, e.account_masked = r.account_masked,
         e.account_name = r.account_name, e.wallet_provider = r.wallet_provider, e.wallet_hash = r.wallet_hash, e.wallet_enc = r.wallet_enc,
         e.wallet_masked = r.wallet_masked, e.name_mismatch = r.name_mismatch, e.version = e.version + 1, e.updated_by = ?, e.import_id = ?
     WHERE d.enrolment_changed = 1 AND ${ENROLMENT_CHANGED}`,
    [by, id],
  );
  const inserted = await insertEnrolments(`FROM ${d} d JOIN ${t} r ON r.row_no = d.row_no`, 'd.enrolment_id IS NULL', true);
  return {
    beneficiariesCreated: createdPeople,
    enrolmentsCreated: affected(inserted),
    enrolmentsUpdated: updated,
  };
}

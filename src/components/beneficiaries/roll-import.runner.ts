import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type winston from 'winston';
import type { DataCipher } from '../../platform/crypto';
import { withNamedLock } from '../../platform/db';
import { AppError } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import { STAGE_COLUMNS, stageRow, type StageInput } from './roll-stage';
import { FINGERPRINT_BYTES, type Candidate } from './roll-repeats';
import { InProcessStager, LocalInfileStager, type Stager } from './roll-stager';
import { importOfXid, XaBranch, XID_DATABASE, xidOf } from './roll-xa';
import { DATE_CELL, fileError, NUMERIC_CELL, plainCell, readRollFile, type RollFormat } from './roll-file.reader';
import { COLUMNS, mapHeader, validateRow, type Column, type RowProblem } from './roll-validation';
import { PERSON_OUT_OF_SCOPE_MESSAGE } from './roll-problems';

/** The import lock (see run): per database, as the server's named locks are server-wide. */
const MERGE_LOCK = 'roll_import_merge';
const MERGE_LOCK_WAIT_S = 600;

/** Runs of one import whose worker died (started, never ended) before its next start fails it (startRun). */
export const MAX_UNFINISHED_RUNS = 2;

/** Rows per multi-row INSERT into the staging table. */
const STAGE_BATCH = 2000;
/** Staging inserts running while the file is read on. */
const STAGE_IN_FLIGHT = 2;
/** Candidates (RepeatFinder) per multi-row INSERT while reading. */
const CANDIDATE_BATCH = 2000;
/** Problems per multi-row INSERT while reading. */
const PROBLEM_BATCH = 1000;
/** How often progress is written while reading. */
const PROGRESS_EVERY = 20_000;

interface AreaRef {
  id: number;
  path: string;
  level: string;
}

interface ImportRow {
  id: string;
  file_name: string;
  format: RollFormat;
  status: string;
  uploaded_by: number;
  scope_area_id: number | null;
  request_id: string | null;
}

/** The rows every accepted row refers to (the foreign keys of people and enrolments), as the file named them. */
interface Parents {
  areas: Set<number>;
  programmes: Set<number>;
  banks: Set<string>;
  wallets: Set<string>;
}

interface Problem {
  rowNo: number;
  column: string | null;
  code: string;
  message: string;
}

/** A row's cells by column (the header's index), with the spreadsheet's typed cells turned into text as the contract says. */
function cellValues(cells: string[], header: Partial<Record<Column, number>>, rowProblems: RowProblem[]): Partial<Record<Column, string>> {
  const values: Partial<Record<Column, string>> = {};
  for (const col of COLUMNS) {
    const i = header[col.key];
    if (i === undefined) continue;
    let v = cells[i] ?? '';
    if (v.startsWith(NUMERIC_CELL)) {
      v = v.slice(NUMERIC_CELL.length);
      const fixed = FIXED_LENGTH_DIGITS[col.key];
      if (fixed && /^\d+$/.test(v) && v.length < fixed) v = v.padStart(fixed, '0');
      else if (col.key === 'account_number') {
        rowProblems.push({
          column: 'account_number',
          code: 'NUMBER_CELL',
          message:
            'the account number is stored as a number in the spreadsheet, which loses leading zeros and long digits; format the column as Text',
        });
      }
    } else if (v.startsWith(DATE_CELL)) {
      v = v.slice(DATE_CELL.length);
      // Excel turns a month typed as 2024-01 into the date 2024-01-01
      if (col.key === 'start_period' || col.key === 'end_period') v = v.slice(0, 7);
    }
    values[col.key] = v;
  }
  return values;
}

/**
 * A stored person (b) whose commune or phone differs from the file's row (r); an empty phone in the file keeps the
 * stored one.
 */
const PERSON_CHANGED = `(b.area_id <> r.area_id OR (r.phone_hash IS NOT NULL AND NOT (b.phone_hash <=> r.phone_hash)))`;

/** A stored enrolment (e) that differs from the file's row (r). */
const ENROLMENT_CHANGED = `(e.coefficient_x100 <> r.coefficient_x100 OR e.start_period <> r.start_period OR NOT (e.end_period <=> r.end_period)
  OR e.channel <> r.channel OR NOT (e.bank_bin <=> r.bank_bin) OR NOT (e.account_hash <=> r.account_hash)
  OR NOT (CAST(e.account_name AS BINARY) <=> CAST(r.account_name AS BINARY)) OR NOT (e.wallet_provider <=> r.wallet_provider)
  OR NOT (e.wallet_hash <=> r.wallet_hash))`;

const PERSON_COLUMNS = `national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search, date_of_birth,
  gender, phone_hash, phone_enc, phone_masked, area_id`;
const ENROLMENT_COLUMNS = `programme_id, coefficient_x100, start_period, end_period, channel, bank_bin, account_hash, account_enc,
  account_masked, account_name, wallet_provider, wallet_hash, wallet_enc, wallet_masked, name_mismatch`;

/** The rows of an import that the merge has to write, with the stored person and enrolment they match (see mergeIn). */
const diffTable = (staging: string): string => `${staging}_diff`;

/** Ciphertexts made after the checks for rows staged without them (see fill). */
const fillTable = (staging: string): string => `${staging}_fill`;

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

/** Rows per INSERT into the fill table. */
const FILL_BATCH = 1000;

/** The national IDs on more than one row of an import's file (see check). */
const multiTable = (staging: string): string => `${staging}_multi`;

/** The keyed-hash prefixes of the national IDs and accounts seen on more than one row while reading (RepeatFinder). */
const candidateTable = (staging: string): string => `${staging}_cand`;

/** The rows of an import's file that the checks within the file look at: those with a candidate prefix (see check). */
const repeatTable = (staging: string): string => `${staging}_repeat`;

/** The tables of an import besides its staging table. */
const workTables = (staging: string): string =>
  [diffTable, multiTable, fillTable, candidateTable, repeatTable].map((f) => f(staging)).join(', ');

const NOT_SPACE = /\S/;

/** A header row's column names: empty cells after the last name are no columns (Excel keeps cells merely formatted). */
function headerNames(cells: string[]): string[] {
  const names = cells.map(plainCell);
  while (names.length > 0 && names[names.length - 1]!.trim() === '') names.pop();
  return names;
}

/** Whether every cell from `from` on is empty or spaces (most rows: the first cell says no). */
function isBlank(cells: string[], from: number): boolean {
  for (let i = from; i < cells.length; i++) {
    const c = cells[i]!;
    if (c.length !== 0 && NOT_SPACE.test(c)) return false;
  }
  return true;
}

/** Promise.all that waits for every statement to end before throwing the first failure (none is left running). */
async function settleAll<T extends readonly unknown[]>(all: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const out = await Promise.allSettled(all);
  const failed = out.find((o) => o.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return out.map((o) => (o as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

const FIXED_LENGTH_DIGITS: Partial<Record<Column, number>> = { national_id: 12, phone: 10, wallet_id: 10 };

/** roll_import_problems.column_name: an unknown header is reported under its own name, which may be longer. */
const PROBLEM_COLUMN_MAX = 64;

const problemColumn = (c: string | null): string | null => (c === null ? null : [...c].slice(0, PROBLEM_COLUMN_MAX).join(''));

/** A header row that is one cell holding the other separators: the file was saved with `;` or tabs, not commas. */
function wrongDelimiter(names: string[]): { column: null; code: string; message: string } | null {
  if (names.length !== 1) return null;
  const sep = names[0]!.includes(';') ? 'semicolons' : names[0]!.includes('\t') ? 'tabs' : null;
  if (!sep) return null;
  return {
    column: null,
    code: 'WRONG_DELIMITER',
    message: `the header row is a single cell: the file is separated by ${sep}, not commas; save it as "CSV UTF-8 (comma delimited)"`,
  };
}

/**
 * Runs one roll import: streams the file, validates every row, stages the
 * valid ones, finds conflicts with set-based SQL, and merges into the roll in
 * one transaction (new people and enrolments inserted, changed enrolments
 * updated with their history, identical ones left alone). A file that cannot
 * be read as a whole imports nothing.
 */
export class RollImportRunner {
  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    private readonly log: winston.Logger,
  ) {}

  /**
   * How rows reach the staging table: `auto` streams them with LOAD DATA LOCAL INFILE when the server allows it and
   * falls back to multi-row INSERTs when it refuses; `insert` always uses INSERTs (tests of the fallback).
   */
  stagingMode: 'auto' | 'insert' = 'auto';

  /**
   * LOAD DATA staging makes the rows' hashes, ciphertexts and bytes in a worker thread while this one reads and
   * validates the file (two cores instead of one); false makes them here (same bytes).
   */
  stagingThread = true;

  /**
   * A first import inserts its enrolments on a second connection beside its people (an XA branch committed with the
   * merge); false inserts them after the people in the one transaction (also what happens when XA RECOVER is not
   * allowed to the service's database user).
   */
  parallelMerge = true;

  /** Tests only: runs between the merge's commit and the commit of its XA branch (a process stopping there). */
  afterDecision: (() => Promise<void>) | null = null;

  /** Tests: runs after the checks, before `fill` reads the file again. */
  beforeFill: ((filePath: string) => Promise<void>) | null = null;

  /** The database's name when XA branches can be used and recovered here, else null (see xaUsable). */
  private xaDatabase: string | null | undefined = undefined;

  /**
   * Whether this database user can see prepared XA branches (so that recoverMerges can finish an interrupted merge),
   * and the database's name fits the branches' ids.
   */
  private async xaUsable(): Promise<boolean> {
    if (this.xaDatabase === undefined) {
      try {
        const [{ db }] = (await this.ds.query('SELECT DATABASE() AS db')) as [{ db: string | null }];
        await this.ds.query('XA RECOVER');
        this.xaDatabase = db !== null && XID_DATABASE.test(db) ? db : null;
      } catch (e) {
        this.log.warn('roll import: XA RECOVER not allowed; first imports merge on one connection', { error: String(e) });
        this.xaDatabase = null;
      }
    }
    return this.xaDatabase !== null;
  }

  /**
   * Finishes the merges a stopped process left half-committed: a prepared enrolment branch is committed when the main
   * transaction of its merge committed (its `roll.import_completed` audit event exists), rolled back otherwise. Only
   * under the import lock, where no merge is running.
   */
  async recoverMerges(): Promise<void> {
    if (!(await this.xaUsable())) return;
    const branches = (await this.ds.query('XA RECOVER')) as { data: string | Buffer }[];
    for (const b of branches) {
      const xid = String(b.data);
      const importId = importOfXid(this.xaDatabase!, xid);
      if (importId === null) continue;
      const [{ n: decided }] = (await this.ds.query(
        `SELECT EXISTS (SELECT 1 FROM audit_events WHERE entity_type = 'roll_import' AND entity_id = ? AND action = 'roll.import_completed') AS n`,
        [importId],
      )) as [{ n: number | string }];
      const verb = Number(decided) === 1 ? 'COMMIT' : 'ROLLBACK';
      await this.ds.query(`XA ${verb} '${xidOf(this.xaDatabase!, importId)}'`);
      this.log.warn('roll import: interrupted merge finished', { importId, outcome: verb.toLowerCase() });
    }
  }

  /** recoverMerges under the import lock, waiting for a running merge to end. */
  private async recoverUnderLock(): Promise<void> {
    const busy = new AppError('unavailable', 'IMPORT_BUSY', 'another import is merging; will retry');
    await withNamedLock(this.ds, MERGE_LOCK, { waitSeconds: MERGE_LOCK_WAIT_S, busy: () => busy }, () => this.recoverMerges()).catch(
      (e: unknown) => {
        // a merge running that long recovers for itself when it ends
        if (e !== busy) throw e;
      },
    );
  }

  /** How long the last run's reader waited for the staging thread and for the server (LOAD DATA only). */
  lastWaits: { threadMs: number; serverMs: number; problemsMs: number } | null = null;

  /** How the last run staged its rows. */
  lastStaging: 'load' | 'insert' | null = null;

  /** Whether to encrypt while reading: as the first batch suggests (sealWhileReading), always, or never (tests). */
  sealing: 'auto' | 'always' | 'never' = 'auto';

  /** Staging batches (2,000 rows) between two looks at whether to encrypt while reading (sealWhileReading). */
  probeEvery = 25;

  /** Whether the last run encrypted every row while reading, and how many rows `fill` encrypted afterwards. */
  lastFill: { sealedWhileReading: boolean; filled: number } | null = null;

  /** How the last run merged: inserts only, into an empty roll without unique checks (bulk), or with updates. */
  lastMerge: 'bulk' | 'insert' | 'update' | null = null;

  /** The last run's candidates for repeats (RepeatFinder) and the rows the checks within the file looked at. */
  lastRepeats: { candidates: number; rowsChecked: number } | null = null;

  /** Phase durations of the last run, for benchmarks and logs. */
  lastTimings: { readMs: number; checkMs: number; mergeMs: number; analyzeMs: number } | null = null;

  private staging(id: string): string {
    return `roll_import_rows_${id}`;
  }

  async run(importId: string, filePath: string): Promise<void> {
    const load = async () => ((await this.ds.query('SELECT * FROM roll_imports WHERE id = ?', [importId])) as ImportRow[])[0];
    let imp = await load();
    if (!imp) throw new AppError('not_found', 'IMPORT_NOT_FOUND', `no roll import ${importId}`);
    if (imp.status === 'running') {
      // a job delivered again after its process stopped: a merge it left between its two commits is finished first
      await this.recoverUnderLock();
      imp = (await load())!;
    }
    if (imp.status === 'completed' || imp.status === 'failed') return; // a redelivered job: the outcome stands
    const id = String(imp.id);
    const table = this.staging(id);
    await this.ds.query(
      `UPDATE roll_imports SET status = 'running', phase = 'reading', started_at = CURRENT_TIMESTAMP(3), rows_read = 0, rows_valid = 0,
        rows_invalid = 0, error_code = NULL, error_message = NULL WHERE id = ?`,
      [id],
    );
    await this.ds.query('DELETE FROM roll_import_problems WHERE import_id = ?', [id]);
    await this.ds.query(`DROP TABLE IF EXISTS ${table}, ${workTables(table)}`);
    await this.ds.query(`CREATE TABLE ${table} LIKE roll_import_rows`);
    await this.ds.query(
      `CREATE TABLE ${candidateTable(table)} (kind TINYINT UNSIGNED NOT NULL, prefix BINARY(${FINGERPRINT_BYTES}) NOT NULL,
         PRIMARY KEY (kind, prefix)) ENGINE=InnoDB`,
    );
    // Loaded without secondary indexes: the checks within the file look at the few rows whose national ID or account
    // is on another row too, found while reading (RepeatFinder), and everything else finds a row by its number. The
    // table holds one import: its primary key is the row number alone.
    await this.ds.query(
      `ALTER TABLE ${table} DROP PRIMARY KEY, ADD PRIMARY KEY (row_no),
         DROP INDEX ix_import_rows_nid, DROP INDEX ix_import_rows_account, DROP INDEX ix_import_rows_wallet,
         MODIFY national_id_enc VARBINARY(128) NULL, ADD COLUMN person_row INT UNSIGNED NULL`,
    );
    try {
      const t0 = Date.now();
      const { read, parents, sealed, candidates, mismatches } = await this.readAndStage(imp, filePath, table);
      const t1 = Date.now();
      await this.ds.query("UPDATE roll_imports SET phase = 'checking', rows_read = ? WHERE id = ?", [read, id]);
      // One import at a time from the checks against the roll to the end of the merge: two imports touching the same
      // people must not interleave, and the rows the check finds to write (the diff) stay those to write. Only imports
      // create people; an edit through the API in between is re-checked by every update of the merge.
      let t2 = 0;
      const busy = () => new AppError('unavailable', 'IMPORT_BUSY', 'another import is merging; will retry');
      const changed = await withNamedLock(this.ds, MERGE_LOCK, { waitSeconds: MERGE_LOCK_WAIT_S, busy }, async (runner) => {
        await this.recoverMerges();
        const onRoll = await this.check(imp, table, candidates);
        await this.beforeFill?.(filePath);
        // every row encrypted while reading: nothing for the fill pass to look for
        const filled = sealed ? 0 : await this.fill(imp, filePath, table, onRoll);
        this.lastFill = { sealedWhileReading: sealed, filled };
        t2 = Date.now();
        return this.merge(runner, imp, table, read, onRoll, parents, mismatches);
      });
      const t3 = Date.now();
      // The roll's statistics are refreshed here, by the import that changed it, so that searches keep their plans:
      // InnoDB's own recalculation is switched off for these tables (migration RollStatsByImport: on MariaDB it spins
      // beside a large insert). A few index pages sampled: milliseconds, even over a million people.
      if (changed > 0) await this.ds.query('ANALYZE TABLE beneficiaries, enrolments');
      this.lastTimings = { readMs: t1 - t0, checkMs: t2 - t1, mergeMs: t3 - t2, analyzeMs: Date.now() - t3 };
      this.log.info('roll import completed', { importId: id, rows: read, ...this.lastTimings });
    } catch (e) {
      if (e instanceof AppError && e.kind === 'invalid') {
        await this.fail(id, e);
        return;
      }
      throw e;
    } finally {
      await this.ds.query(`DROP TABLE IF EXISTS ${table}, ${workTables(table)}`);
    }
  }

  /** Marks the import failed as a whole: nothing of it was merged. */
  async fail(id: string, e: AppError): Promise<void> {
    const failed = await this.ds.transaction(async (em) => {
      // an import already completed or failed keeps its outcome (a job delivered again must not turn it into another)
      const res = (await em.query(
        `UPDATE roll_imports SET status = 'failed', phase = NULL, error_code = ?, error_message = ?, finished_at = CURRENT_TIMESTAMP(3)
         WHERE id = ? AND status IN ('queued', 'running')`,
        [e.code, e.message.slice(0, 1000), id],
      )) as { affectedRows?: number };
      if (!res.affectedRows) return false;
      await em.query('INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message) VALUES (?, 0, NULL, ?, ?)', [
        id,
        e.code,
        e.message.slice(0, 500),
      ]);
      return true;
    });
    if (failed) this.log.warn('roll import refused', { importId: id, code: e.code });
  }

  /**
   * Counts a run of the import as started, in one conditional UPDATE (two deliveries at once count twice). When two
   * runs before it never ended (their worker died on the file, most likely out of memory), the import is failed with
   * WORKER_CRASHED instead, and false says not to run it.
   */
  async startRun(id: string): Promise<boolean> {
    await this.ds.query('INSERT IGNORE INTO roll_import_runs (import_id) VALUES (?)', [id]);
    const res = (await this.ds.query('UPDATE roll_import_runs SET unfinished = unfinished + 1 WHERE import_id = ? AND unfinished < ?', [
      id,
      MAX_UNFINISHED_RUNS,
    ])) as { affectedRows?: number };
    if (res.affectedRows) return true;
    // a merge the dead run left between its two commits is finished first: it may have completed the import
    await this.recoverUnderLock();
    await this.fail(
      id,
      new AppError(
        'invalid',
        'WORKER_CRASHED',
        'the import stopped its worker twice, so it is not run again; the file may be malformed: check it, save it again (or as CSV UTF-8) and upload it again',
      ),
    );
    return false;
  }

  /** The run that startRun counted ended in a live process, however it ended. */
  async endRun(id: string): Promise<void> {
    await this.ds.query('UPDATE roll_import_runs SET unfinished = unfinished - 1 WHERE import_id = ? AND unfinished > 0', [id]);
  }

  private async reference(imp: ImportRow) {
    const areas = new Map<string, AreaRef>();
    for (const a of (await this.ds.query('SELECT id, code, path, level FROM areas WHERE active = 1')) as (AreaRef & { code: string })[]) {
      areas.set(a.code, { id: a.id, path: a.path, level: a.level });
    }
    const programmes = new Map<string, number>();
    for (const p of (await this.ds.query('SELECT id, code FROM programmes WHERE active = 1')) as { id: number; code: string }[]) {
      programmes.set(p.code, p.id);
    }
    const banks = new Set(((await this.ds.query('SELECT bin FROM banks WHERE active = 1')) as { bin: string }[]).map((b) => b.bin));
    const wallets = new Set(
      ((await this.ds.query('SELECT code FROM wallet_providers WHERE active = 1')) as { code: string }[]).map((w) => w.code),
    );
    let scopePath: string | null = null;
    if (imp.scope_area_id !== null) {
      const [s] = (await this.ds.query('SELECT path FROM areas WHERE id = ?', [imp.scope_area_id])) as { path: string }[];
      scopePath = s?.path ?? '/none/';
    }
    return { areas, programmes, banks, wallets, scopePath };
  }

  /**
   * Whether to encrypt while reading. Most rows of a monthly file are people and enrolments the roll holds unchanged,
   * which the merge does not write: their ciphertexts would be made for nothing (node:crypto's AES-GCM is the largest
   * cost of reading, about 5 µs a value). So a batch decides (the first, then one in `probeEvery`, for the batches up to
   * the next): when four in five of its people are on the roll
   * already, the rows are staged with their keyed hashes and masks but without ciphertexts, and `fill` encrypts, once
   * the checks know them, only the rows the merge writes. Otherwise (a first import) everything is encrypted while
   * reading, as the merge writes every row. Either way the merge finds every ciphertext it writes (fill checks it).
   */
  private async sealWhileReading(batch: StageInput[]): Promise<boolean> {
    if (this.sealing !== 'auto') return this.sealing === 'always';
    const hashes = [...new Set(batch.map((b) => b.row.nationalId))].map((n) => this.cipher.lookupHash('nid', n));
    const [{ n }] = (await this.ds.query('SELECT COUNT(*) AS n FROM beneficiaries WHERE national_id_hash IN (?)', [hashes])) as [
      { n: string | number },
    ];
    // encrypting a row afterwards costs about twice as much as while reading (a second read of the file, one thread,
    // an INSERT and an UPDATE of its staging row): worth it when at most a fifth of the rows are new or changed
    return Number(n) < hashes.length * 0.8;
  }

  private async readAndStage(
    imp: ImportRow,
    filePath: string,
    table: string,
  ): Promise<{ read: number; parents: Parents; sealed: boolean; candidates: number; mismatches: number }> {
    const ref = await this.reference(imp);
    const refData = { isKnownBank: (b: string) => ref.banks.has(b), isKnownWalletProvider: (w: string) => ref.wallets.has(w) };
    let header: Partial<Record<Column, number>> | null = null;
    let headerWidth = 0;
    let read = 0;
    let valid = 0;
    let invalid = 0;
    /** Staged rows whose account name does not match the person's. */
    let mismatches = 0;
    let staged: StageInput[] = [];
    let problems: Problem[] = [];
    const parents: Parents = { areas: new Set(), programmes: new Set(), banks: new Set(), wallets: new Set() };
    const loader =
      this.stagingMode === 'auto' ? await LocalInfileStager.open(this.ds, this.cipher, table, imp.id, this.stagingThread) : null;
    const stager: Stager = loader ?? new InProcessStager(this.ds, this.cipher, table, STAGE_IN_FLIGHT);
    this.lastStaging = loader ? 'load' : 'insert';
    this.lastWaits = loader?.waited ?? null;
    // batches are written while the next ones are read
    const inFlight: Promise<unknown>[] = [];
    // problems are written in groups of PROBLEM_BATCH (each write is a commit), rows in batches of STAGE_BATCH
    // whether to encrypt while reading: decided by the first batch and looked at again every `probeEvery` batches, so
    // that a file whose rows change character half-way (a new district after known ones) is not encrypted afterwards
    // row by row in the fill pass (about twice the cost)
    let seal = true;
    let batches = 0;
    let allSealed = true;
    // what may be on several rows (RepeatFinder), written as it is found: nothing of it is held for the whole file
    let candidates = 0;
    const writeCandidates = async (): Promise<unknown> => {
      const found: Candidate[] = stager.repeats.take();
      candidates += found.length;
      return found.length ? this.ds.query(`INSERT IGNORE INTO ${candidateTable(table)} (kind, prefix) VALUES ?`, [found]) : null;
    };
    const flush = async (last = false) => {
      const rows = staged;
      staged = [];
      if (rows.length) {
        if (batches++ % this.probeEvery === 0) seal = await this.sealWhileReading(rows);
        allSealed &&= seal;
        await stager.stage(imp.id, rows, seal);
      }
      if (stager.repeats.waiting >= CANDIDATE_BATCH) inFlight.push(writeCandidates());
      if ((last || problems.length >= PROBLEM_BATCH) && problems.length) {
        const probs = problems;
        problems = [];
        inFlight.push(
          this.ds.query('INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message) VALUES ?', [
            probs.map((p) => [imp.id, p.rowNo, problemColumn(p.column), p.code, p.message.slice(0, 500)]),
          ]),
        );
      }
      // at most STAGE_IN_FLIGHT writes of problems and candidates at a time
      if (inFlight.length > STAGE_IN_FLIGHT) {
        const t = performance.now();
        while (inFlight.length > STAGE_IN_FLIGHT) await inFlight.shift();
        if (loader) loader.waited.problemsMs += performance.now() - t;
      }
    };

    let progress: Promise<unknown> | null = null;
    let progressError: unknown = null;
    let finished = false;
    try {
      for await (const fileRows of readRollFile(filePath, imp.format))
        for (const { rowNo, cells } of fileRows) {
          // a blank row (an empty line, or only empty cells) holds no data; it still counts for the row numbers after it
          if (isBlank(cells, 0)) continue;
          if (!header) {
            const names = headerNames(cells);
            const delimiter = wrongDelimiter(names);
            const mapped = delimiter ? { index: {}, problems: [delimiter] } : mapHeader(names);
            if (mapped.problems.length) {
              const e = fileError('BAD_HEADER', mapped.problems.map((p) => p.message).join('; '));
              (e as { details?: unknown }).details = mapped.problems;
              await this.ds.query('INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message) VALUES ?', [
                mapped.problems.map((p) => [imp.id, rowNo, problemColumn(p.column), p.code, p.message.slice(0, 500)]),
              ]);
              throw e;
            }
            header = mapped.index;
            headerWidth = names.length;
            continue;
          }
          read += 1;
          const rowProblems: RowProblem[] = [];
          const values = cellValues(cells, header, rowProblems);
          const extra = cells.length > headerWidth && !isBlank(cells, headerWidth);
          const result = validateRow(values, refData);
          rowProblems.push(...result.problems);
          const row = result.row;
          let area: AreaRef | undefined;
          let programmeId: number | undefined;
          if (row) {
            area = ref.areas.get(row.areaCode);
            if (!area)
              rowProblems.push({ column: 'area_code', code: 'UNKNOWN_AREA', message: `no administrative unit with code ${row.areaCode}` });
            else if (area.level !== 'commune') {
              rowProblems.push({
                column: 'area_code',
                code: 'AREA_NOT_COMMUNE',
                message: `${row.areaCode} is a ${area.level}; give the commune the person is paid in`,
              });
            } else if (ref.scopePath && !area.path.startsWith(ref.scopePath)) {
              rowProblems.push({ column: 'area_code', code: 'AREA_OUT_OF_SCOPE', message: `${row.areaCode} is outside your area` });
            }
            programmeId = ref.programmes.get(row.programmeCode);
            if (programmeId === undefined) {
              rowProblems.push({
                column: 'programme_code',
                code: 'UNKNOWN_PROGRAMME',
                message: `no active programme ${row.programmeCode}`,
              });
            }
          }
          if (extra)
            problems.push({ rowNo, column: null, code: 'EXTRA_CELLS', message: 'the row has more cells than the header has columns' });
          if (rowProblems.length || extra || !row) {
            invalid += 1;
            for (const p of rowProblems) problems.push({ rowNo, column: p.column, code: p.code, message: p.message });
          } else {
            valid += 1;
            if (row.nameMismatch) mismatches += 1;
            staged.push({ rowNo, row, areaId: area!.id, programmeId: programmeId! });
            parents.areas.add(area!.id);
            parents.programmes.add(programmeId!);
            if (row.bankCode) parents.banks.add(row.bankCode);
            if (row.walletProvider) parents.wallets.add(row.walletProvider);
          }
          if (staged.length >= STAGE_BATCH || problems.length >= PROBLEM_BATCH) await flush();
          // progress is written beside the reading, never waited for (each write is a commit, tens of milliseconds
          // while the staging load fills the redo log); one at a time, so that a later count is never overtaken
          if (read % PROGRESS_EVERY === 0 && !progress) {
            progress = this.ds
              .query('UPDATE roll_imports SET rows_read = ?, rows_valid = ?, rows_invalid = ? WHERE id = ?', [read, valid, invalid, imp.id])
              .then(
                () => (progress = null),
                (e: unknown) => {
                  progress = null;
                  progressError ??= e;
                },
              );
          }
        }
      await flush(true);
      await settleAll(inFlight.splice(0));
      await progress;
      if (progressError) throw progressError;
      await stager.finish();
      finished = true;
      await writeCandidates(); // those of the last batches
    } finally {
      // a file that failed half-way still stops its staging threads
      if (!finished) {
        await stager.finish().catch(() => undefined);
        await Promise.allSettled(inFlight.splice(0)); // the reading's own failure is the one thrown
      }
    }
    if (!header) throw fileError('EMPTY_FILE', 'the file is empty: it needs a header row and at least one data row');
    if (read === 0) throw fileError('EMPTY_FILE', 'the file has a header but no data rows');
    await this.ds.query('UPDATE roll_imports SET rows_read = ?, rows_valid = ?, rows_invalid = ? WHERE id = ?', [
      read,
      valid,
      invalid,
      imp.id,
    ]);
    return { read, parents, sealed: allSealed, candidates, mismatches };
  }

  /** Conflicts that only the whole file and the stored roll reveal; each offending row is reported and left out. */
  /** Returns whether anyone of the file is on the roll already (then the diff table holds the rows to write). */
  private async check(imp: ImportRow, t: string, candidates: number): Promise<boolean> {
    const id = imp.id;
    const problem = (sql: string, params: unknown[] = []) =>
      this.ds.query(`INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message) ${sql}`, [id, ...params]);

    const accounts = [
      ['account_hash', 'account_number', 'bank account', 'account_new'],
      ['wallet_hash', 'wallet_id', 'wallet', 'wallet_new'],
    ] as const;
    // The checks within the file look only at the rows whose national ID or account may be on another row too: those
    // whose keyed hash begins as one seen twice while reading (RepeatFinder; a superset, as fingerprints can collide).
    // Every row of a group these checks report is among them, so grouping them finds exactly what grouping the whole
    // file would: copied out in one pass over the file, with the indexes the checks need.
    const rt = repeatTable(t);
    const inFile = async () => {
      const ct = candidateTable(t);
      const columns = `row_no, national_id_hash, programme_id, full_name, date_of_birth, gender, phone_hash, area_id, account_hash, wallet_hash`;
      await this.ds.query(
        `CREATE TABLE ${rt} (PRIMARY KEY (row_no), KEY ix_nid (national_id_hash, programme_id), KEY ix_account (account_hash),
           KEY ix_wallet (wallet_hash)) ENGINE=InnoDB SELECT ${columns} FROM ${t} WHERE FALSE`,
      );
      if (candidates > 0) {
        // in two halves of the file at once (one statement runs on one core of the server); IN (subquery), which the
        // server answers from a hash of the candidates, is about three times cheaper here than joining the candidates
        const [{ n: last }] = (await this.ds.query(`SELECT IFNULL(MAX(row_no), 0) AS n FROM ${t}`)) as [{ n: number | string }];
        const half = Math.ceil(Number(last) / 2);
        const copy = (from: number, to: number) =>
          this.ds.query(
            `INSERT INTO ${rt} (${columns}) SELECT ${columns.replace(/(\w+)/g, 'r.$1')}
             FROM ${t} r WHERE r.row_no BETWEEN ? AND ? AND (LEFT(r.national_id_hash, ${FINGERPRINT_BYTES}) IN (SELECT prefix FROM ${ct} WHERE kind = 0)
               OR LEFT(r.account_hash, ${FINGERPRINT_BYTES}) IN (SELECT prefix FROM ${ct} WHERE kind = 1)
               OR LEFT(r.wallet_hash, ${FINGERPRINT_BYTES}) IN (SELECT prefix FROM ${ct} WHERE kind = 1))`,
            [from, to],
          );
        await settleAll([copy(0, half), copy(half + 1, Number(last))]);
      }
      const [{ n: checked }] = (await this.ds.query(`SELECT COUNT(*) AS n FROM ${rt}`)) as [{ n: string | number }];
      this.lastRepeats = { candidates, rowsChecked: Number(checked) };
      // Each check groups those rows once and then finds the rows of the groups it reports (STRAIGHT_JOIN: left to
      // itself, MariaDB ran the grouping again for every row, "LATERAL DERIVED"). They run one after the other (problems
      // of one row keep the order of the checks), beside the roll comparison below.
      // For the merge's person ids of a first import (below): the national IDs on several rows.
      await this.ds.query(
        `CREATE TABLE ${multiTable(t)} (national_id_hash BINARY(32) NOT NULL PRIMARY KEY) ENGINE=InnoDB
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
    const d = diffTable(t);
    const compare = async (): Promise<boolean> => {
      const [{ n: found }] = (await this.ds.query(
        `SELECT EXISTS (SELECT 1 FROM ${t} r JOIN beneficiaries b ON b.national_id_hash = r.national_id_hash) AS n`,
      )) as [{ n: number | string }];
      if (Number(found) !== 1) return false;
      // One pass over the file and the roll finds every row that differs from what is stored: a new person or enrolment,
      // a person who moved commune or changed phone, an enrolment that differs, a person whose name, birth date or gender
      // disagree (PERSON_CONFLICT), and whether the row's account or wallet is new for that enrolment. The merge writes
      // only these rows, and the account checks below look only at new accounts: an account already stored for the same
      // person and programme cannot be another person's, since neither an import nor an edit lets two people share one.
      // A file that changes nothing leaves this table empty.
      await this.ds.query(
        `CREATE TABLE ${d} (row_no INT UNSIGNED NOT NULL, beneficiary_id BIGINT UNSIGNED NULL, enrolment_id BIGINT UNSIGNED NULL,
         person_changed TINYINT(1) NOT NULL, enrolment_changed TINYINT(1) NOT NULL, conflict VARCHAR(100) NULL,
         account_new TINYINT(1) NOT NULL, wallet_new TINYINT(1) NOT NULL, PRIMARY KEY (row_no)) ENGINE=InnoDB`,
      );
      const conflict = `NULLIF(CONCAT_WS(', ', IF(CAST(b.full_name AS BINARY) <> CAST(r.full_name AS BINARY), 'full_name', NULL),
      IF(b.date_of_birth <> r.date_of_birth, 'date_of_birth', NULL), IF(b.gender <> r.gender, 'gender', NULL)), '')`;
      // in two halves of the file at once: one statement runs on one core of the database server
      const [{ n: last }] = (await this.ds.query(`SELECT IFNULL(MAX(row_no), 0) AS n FROM ${t}`)) as [{ n: number | string }];
      const half = Math.ceil(Number(last) / 2);
      const diffPass = (from: number, to: number) =>
        this.ds.query(
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
      await this.ds.query(
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
    await this.ds.query(`UPDATE ${t} r JOIN roll_import_problems p ON p.import_id = ? AND p.row_no = r.row_no SET r.rejected = 1`, [id]);
    // the merge writes the diff's rows: none that was rejected
    if (onRoll) await this.ds.query(`DELETE d FROM ${d} d JOIN ${t} r ON r.row_no = d.row_no WHERE r.rejected = 1`);
    else {
      // For the merge's person ids (insertAll): a person on several accepted rows (several programmes) is the person of
      // the first of them. Committed here, so that the merge's second connection sees it too.
      await this.ds.query(
        `UPDATE ${t} r JOIN ${rt} x ON x.row_no = r.row_no JOIN (
           SELECT y.national_id_hash, MIN(y.row_no) AS first_row
           FROM ${multiTable(t)} m STRAIGHT_JOIN ${rt} y ON y.national_id_hash = m.national_id_hash JOIN ${t} z ON z.row_no = y.row_no
           WHERE z.rejected = 0 GROUP BY y.national_id_hash) g ON g.national_id_hash = x.national_id_hash
         SET r.person_row = g.first_row WHERE r.rejected = 0`,
      );
    }
    return onRoll;
  }

  /** In one transaction on `runner`, which holds the import lock. Returns how many people and enrolments were created or updated. */
  /**
   * Encrypts what the merge writes and the reading left unencrypted (see sealWhileReading): the rows of the diff (people
   * and enrolments new or changed), or every accepted row of a first import. The file is read again and only those rows
   * are validated again and encrypted; each one's keyed hashes must be those staged for it (the same value is
   * encrypted as was checked), or the import is refused: the file changed under it. Afterwards no row the merge writes
   * lacks a ciphertext its hash calls for. Returns the number of rows encrypted here.
   */
  private async fill(imp: ImportRow, filePath: string, t: string, onRoll: boolean): Promise<number> {
    const missing = `(r.national_id_enc IS NULL OR (r.phone_hash IS NOT NULL AND r.phone_enc IS NULL)
      OR (r.account_hash IS NOT NULL AND r.account_enc IS NULL) OR (r.wallet_hash IS NOT NULL AND r.wallet_enc IS NULL))`;
    const from = onRoll ? `${diffTable(t)} d JOIN ${t} r ON r.row_no = d.row_no WHERE` : `${t} r WHERE r.rejected = 0 AND`;
    // the row numbers, a page at a time, into one typed array (4 bytes a row)
    let needed = new Uint32Array(1024);
    let count = 0;
    for (let after = 0; ;) {
      const page = (await this.ds.query(`SELECT r.row_no FROM ${from} ${missing} AND r.row_no > ? ORDER BY r.row_no LIMIT 50000`, [
        after,
      ])) as { row_no: number }[];
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
    const ft = fillTable(t);
    await this.ds.query(`DROP TABLE IF EXISTS ${ft}`);
    await this.ds.query(
      `CREATE TABLE ${ft} (PRIMARY KEY (row_no)) ENGINE=InnoDB SELECT row_no, ${FILL_COLUMNS.join(', ')} FROM ${t} WHERE FALSE`,
    );
    const ref = await this.reference(imp);
    const refData = { isKnownBank: (b: string) => ref.banks.has(b), isKnownWalletProvider: (w: string) => ref.wallets.has(w) };
    const c = this.cipher;
    let header: Partial<Record<Column, number>> | null = null;
    let k = 0;
    let batch: unknown[][] = [];
    const write = async () => {
      if (batch.length) await this.ds.query(`INSERT INTO ${ft} (row_no, ${FILL_COLUMNS.join(', ')}) VALUES ?`, [batch]);
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
        const row = validateRow(cellValues(cells, header, []), refData).row;
        if (!row) throw changed();
        // the staging row as reading makes it (areas and programmes are not filled)
        const staged = stageRow(c, imp.id, { rowNo, row, areaId: 0, programmeId: 0 }, true);
        batch.push([rowNo, ...FILL_COLUMNS.map((col) => staged[STAGE_COLUMNS.indexOf(col)])]);
        if (batch.length >= FILL_BATCH) await write();
      }
      if (k === count) break;
    }
    await write();
    if (k !== count) throw changed();
    // only where every keyed hash is the one staged: the ciphertext holds the value the checks saw
    await this.ds.query(
      `UPDATE ${t} r JOIN ${ft} f ON f.row_no = r.row_no
       SET r.national_id_enc = f.national_id_enc, r.phone_enc = f.phone_enc, r.account_enc = f.account_enc, r.wallet_enc = f.wallet_enc
       WHERE r.national_id_hash = f.national_id_hash AND r.phone_hash <=> f.phone_hash AND r.account_hash <=> f.account_hash
         AND r.wallet_hash <=> f.wallet_hash`,
    );
    const [{ n }] = (await this.ds.query(`SELECT COUNT(*) AS n FROM ${from} ${missing}`)) as [{ n: string | number }];
    if (Number(n) !== 0) throw changed();
    await this.ds.query(`DROP TABLE IF EXISTS ${ft}`);
    return count;
  }

  private async merge(
    runner: QueryRunner,
    imp: ImportRow,
    t: string,
    read: number,
    onRoll: boolean,
    parents: Parents,
    stagedMismatches: number,
  ): Promise<number> {
    const id = imp.id;
    const by = imp.uploaded_by;
    await this.ds.query("UPDATE roll_imports SET phase = 'merging' WHERE id = ?", [id]);
    // The enrolments of a first import are inserted by a second connection at the same time as the people (an XA
    // branch, committed with this transaction: see insertAll), when the server lets this user recover XA branches.
    const parallel = !onRoll && this.parallelMerge && (await this.xaUsable());
    let branch: XaBranch | null = null;
    // Nobody of the file on the roll: the merge only inserts (people and enrolments no one else can see before the
    // commit) and reads no stored row it writes back, so READ COMMITTED spares the shared locks REPEATABLE READ would
    // take on every staging and person row read (10-15% of a first import's merge). A merge that updates stored rows
    // keeps REPEATABLE READ: its shared locks keep an edit from slipping between a history row and its update.
    // The first import's foreign keys are checked once per referenced row instead of once per inserted row (insertAll).
    // The first import of a roll (no person stored at all: only imports create people, and this one holds the import
    // lock) inserts into empty tables. Without unique checks, MariaDB (10.6+) then buffers the rows and builds each
    // index sorted, page by page, instead of one index entry at a time: people 19 -> 11 s, enrolments 14 -> 10 s of
    // server CPU a million rows. Nothing is lost by it: the checks have refused every national ID and person-programme
    // pair on two rows of the file, ids are given explicitly (the primary key is always checked), and the roll is
    // empty; a server without the bulk path (MySQL) just inserts as before.
    const bulk = !onRoll && (await this.rollEmpty());
    this.lastMerge = bulk ? 'bulk' : onRoll ? 'update' : 'insert';
    let committed = false;
    try {
      if (!onRoll) await runner.query(`SET SESSION foreign_key_checks = 0, unique_checks = ${bulk ? 0 : 1}`);
      if (parallel) branch = await XaBranch.start(this.ds, xidOf(this.xaDatabase!, id), bulk);
      await runner.startTransaction(onRoll ? undefined : 'READ COMMITTED');
      const em = runner.manager;
      const counts = onRoll ? await this.mergeIn(em, t, id, by) : await this.insertAll(em, t, id, by, parents, branch);
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
      await this.audit.record(em, actor, {
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
      await this.afterDecision?.();
      if (branch) await branch.commit(this.ds, this.log);
      return counts.beneficiariesCreated + counts.enrolmentsCreated + counts.enrolmentsUpdated;
    } catch (e) {
      if (!committed) {
        if (branch)
          await branch
            .rollback()
            .catch((x: unknown) => this.log.error('roll import: XA rollback failed', { importId: id, error: String(x) }));
        if (runner.isTransactionActive) await runner.rollbackTransaction();
      }
      throw e;
    } finally {
      if (!onRoll) await runner.query('SET SESSION foreign_key_checks = 1, unique_checks = 1');
      await branch?.release();
    }
  }

  /** Nobody on the roll at all: no person and no enrolment stored, in any area. */
  private async rollEmpty(): Promise<boolean> {
    const [r] = (await this.ds.query('SELECT EXISTS (SELECT 1 FROM beneficiaries) AS b, EXISTS (SELECT 1 FROM enrolments) AS e')) as [
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
  private async insertAll(em: EntityManager, t: string, id: string, by: number, parents: Parents, branch: XaBranch | null) {
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
  private async mergeIn(em: EntityManager, t: string, id: string, by: number) {
    const affected = (r: unknown) => (r as { affectedRows?: number }).affectedRows ?? 0;
    const d = diffTable(t);

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
}

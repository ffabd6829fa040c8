import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../../platform/crypto';
import { mapHeader, type Column } from '../roll-columns';
import type { RowProblem } from '../roll-row';
import { validateRow } from '../roll-validation';
import { fileError, readRollFile } from './file-reader';
import { cellValues, headerNames, isBlank, loadReference, type AreaRef } from './file-rows';
import type { Candidate } from './repeats';
import { settleAll } from './settle';
import type { StageInput } from './stage';
import { InProcessStager, LocalInfileStager, type Stager } from './stager';
import type { ImportRow, Parents, RollImportOptions, RollImportReport } from './types';
import type { WorkTables } from './work-tables';

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

/** The options of a runner that the reading follows. */
export type ReadOptions = Required<Pick<RollImportOptions, 'stagingMode' | 'stagingThread' | 'sealing' | 'probeEvery'>>;

/** What reading the file left in the staging table. */
export interface Staged {
  /** Data rows read. */
  read: number;
  parents: Parents;
  /** Whether every row was encrypted while reading. */
  sealed: boolean;
  /** Candidates for repeats written to the candidate table. */
  candidates: number;
  /** Staged rows whose account name does not match the person's. */
  mismatches: number;
  staging: RollImportReport['staging'];
  waits: RollImportReport['waits'];
}

interface Problem {
  rowNo: number;
  column: string | null;
  code: string;
  message: string;
}

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
 * Whether to encrypt while reading. Most rows of a monthly file are people and enrolments the roll holds unchanged,
 * which the merge does not write: their ciphertexts would be made for nothing (node:crypto's AES-GCM is the largest
 * cost of reading). So a batch decides (the first, then one in `probeEvery`, for the batches up to the next): when
 * four in five of its people are on the roll already, the rows are staged with their keyed hashes and masks but
 * without ciphertexts, and the fill pass encrypts, once the checks know them, only the rows the merge writes. Otherwise (a first import) everything is encrypted while
 * reading, as the merge writes every row. Either way the merge finds every ciphertext it writes (fill.ts checks it).
 */
async function sealWhileReading(
  ds: DataSource,
  cipher: DataCipher,
  sealing: ReadOptions['sealing'],
  batch: StageInput[],
): Promise<boolean> {
  if (sealing !== 'auto') return sealing === 'always';
  const hashes = [...new Set(batch.map((b) => b.row.nationalId))].map((n) => cipher.lookupHash('nid', n));
  const [{ n }] = (await ds.query('SELECT COUNT(*) AS n FROM beneficiaries WHERE national_id_hash IN (?)', [hashes])) as [
    { n: string | number },
  ];
  // encrypting a row afterwards costs about twice as much as while reading (a second read of the file, one thread,
  // an INSERT and an UPDATE of its staging row): worth it when at most a fifth of the rows are new or changed
  return Number(n) < hashes.length * 0.8;
}

/**
 * The first phase: streams the file, validates every row (reporting each problem with its row and column), and stages
 * the valid rows with their keyed hashes, masks and, where worth it, ciphertexts. Progress is written as it goes. A
 * file that cannot be read as a whole (no header, a bad header, no data row, unreadable) throws an `invalid` AppError.
 */
export async function readAndStage(
  ds: DataSource,
  cipher: DataCipher,
  imp: ImportRow,
  filePath: string,
  t: WorkTables,
  options: ReadOptions,
): Promise<Staged> {
  const ref = await loadReference(ds, imp);
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
  const loader = options.stagingMode === 'auto' ? await LocalInfileStager.open(ds, cipher, t.staging, imp.id, options.stagingThread) : null;
  const stager: Stager = loader ?? new InProcessStager(ds, cipher, t.staging, STAGE_IN_FLIGHT);
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
    return found.length ? ds.query(`INSERT IGNORE INTO ${t.candidates} (kind, prefix) VALUES ?`, [found]) : null;
  };
  const flush = async (last = false) => {
    const rows = staged;
    staged = [];
    if (rows.length) {
      if (batches++ % options.probeEvery === 0) seal = await sealWhileReading(ds, cipher, options.sealing, rows);
      allSealed &&= seal;
      await stager.stage(imp.id, rows, seal);
    }
    if (stager.repeats.waiting >= CANDIDATE_BATCH) inFlight.push(writeCandidates());
    if ((last || problems.length >= PROBLEM_BATCH) && problems.length) {
      const probs = problems;
      problems = [];
      inFlight.push(
        ds.query('INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message) VALUES ?', [
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
            await ds.query('INSERT INTO roll_import_problems (import_id, row_no, column_name, code, message) VALUES ?', [
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
        const result = validateRow(values, ref);
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
          progress = ds
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
  await ds.query('UPDATE roll_imports SET rows_read = ?, rows_valid = ?, rows_invalid = ? WHERE id = ?', [read, valid, invalid, imp.id]);
  return { read, parents, sealed: allSealed, candidates, mismatches, staging: loader ? 'load' : 'insert', waits: loader?.waited ?? null };
}

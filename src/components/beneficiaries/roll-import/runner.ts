import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { DataCipher } from '../../../platform/crypto';
import { withNamedLock } from '../../../platform/db';
import { AppError } from '../../../platform/errors';
import type { AuditService } from '../../audit';
import { check } from './checks';
import { fill } from './fill';
import { merge } from './merge';
import { readAndStage } from './read';
import { DEFAULT_OPTIONS, type ImportRow, type RollImportOptions, type RollImportReport } from './types';
import { createWorkTables, dropWorkTables, workTablesOf } from './work-tables';
import { recoverMerges, xaDatabaseOf } from './xa';

/** The import lock (see run): per database, as the server's named locks are server-wide. */
const MERGE_LOCK = 'roll_import_merge';
const MERGE_LOCK_WAIT_S = 600;

/** Runs of one import whose worker died (started, never ended) before its next start fails it (startRun). */
export const MAX_UNFINISHED_RUNS = 2;

/**
 * Runs one roll import, phase by phase: reads the file, validating every row and staging the valid ones (read.ts);
 * under the import lock, finds the conflicts with set-based SQL (checks.ts), encrypts what the merge writes and reading
 * left unencrypted (fill.ts), and merges into the roll in one transaction (merge.ts: new people and enrolments
 * inserted, changed enrolments updated with their history, identical ones left alone). A file that cannot be read as a
 * whole imports nothing. Each run works in tables of its own (work-tables.ts).
 */
export class RollImportRunner {
  private readonly options: RollImportOptions & typeof DEFAULT_OPTIONS;

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    private readonly log: winston.Logger,
    options: RollImportOptions = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
  }

  /** The database's name when XA branches can be used and recovered here, else null; looked up once. */
  private xaDatabase: Promise<string | null> | null = null;

  private xa(): Promise<string | null> {
    this.xaDatabase ??= xaDatabaseOf(this.ds, this.log);
    return this.xaDatabase;
  }

  /** Finishes the merges a stopped process left between their two commits (xa.ts). Only under the import lock. */
  async recoverMerges(): Promise<void> {
    const database = await this.xa();
    if (database !== null) await recoverMerges(this.ds, database, this.log);
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

  /**
   * Runs the import of the file at `filePath`. Returns what the run did, or null when there was nothing to run (the
   * import is completed or failed already) or the file was refused as a whole (the import is then failed, with why).
   */
  async run(importId: string, filePath: string): Promise<RollImportReport | null> {
    const load = async () => ((await this.ds.query('SELECT * FROM roll_imports WHERE id = ?', [importId])) as ImportRow[])[0];
    let imp = await load();
    if (!imp) throw new AppError('not_found', 'IMPORT_NOT_FOUND', `no roll import ${importId}`);
    if (imp.status === 'running') {
      // a job delivered again after its process stopped: a merge it left between its two commits is finished first
      await this.recoverUnderLock();
      imp = (await load())!;
    }
    if (imp.status === 'completed' || imp.status === 'failed') return null; // a redelivered job: the outcome stands
    const id = String(imp.id);
    const tables = workTablesOf(id);
    const { ds, options } = this;
    await ds.query(
      `UPDATE roll_imports SET status = 'running', phase = 'reading', started_at = CURRENT_TIMESTAMP(3), rows_read = 0, rows_valid = 0,
        rows_invalid = 0, error_code = NULL, error_message = NULL WHERE id = ?`,
      [id],
    );
    await ds.query('DELETE FROM roll_import_problems WHERE import_id = ?', [id]);
    await createWorkTables(ds, tables);
    try {
      const t0 = Date.now();
      const staged = await readAndStage(ds, this.cipher, imp, filePath, tables, options);
      const t1 = Date.now();
      await ds.query("UPDATE roll_imports SET phase = 'checking', rows_read = ? WHERE id = ?", [staged.read, id]);
      // One import at a time from the checks against the roll to the end of the merge: two imports touching the same
      // people must not interleave, and the rows the check finds to write (the diff) stay those to write. Only imports
      // create people; an edit through the API in between is re-checked by every update of the merge.
      let t2 = 0;
      const busy = () => new AppError('unavailable', 'IMPORT_BUSY', 'another import is merging; will retry');
      const merged = await withNamedLock(ds, MERGE_LOCK, { waitSeconds: MERGE_LOCK_WAIT_S, busy }, async (runner) => {
        await this.recoverMerges();
        const checked = await check(ds, imp, tables, staged.candidates);
        await options.beforeFill?.(filePath);
        // every row encrypted while reading: nothing for the fill pass to look for
        const filled = staged.sealed ? 0 : await fill(ds, this.cipher, imp, filePath, tables, checked.onRoll);
        t2 = Date.now();
        await ds.query("UPDATE roll_imports SET phase = 'merging' WHERE id = ?", [id]);
        const result = await merge(runner, {
          ds,
          audit: this.audit,
          log: this.log,
          imp,
          tables,
          read: staged.read,
          onRoll: checked.onRoll,
          parents: staged.parents,
          stagedMismatches: staged.mismatches,
          xaDatabase: options.parallelMerge ? await this.xa() : null,
          afterDecision: options.afterDecision,
        });
        return { ...result, filled, rowsChecked: checked.rowsChecked };
      });
      const t3 = Date.now();
      // The roll's statistics are refreshed here, by the import that changed it, so that searches keep their plans:
      // InnoDB's own recalculation is switched off for these tables (migration RollStatsByImport: on MariaDB it spins
      // beside a large insert). A few index pages are sampled, which is quick even over a large roll.
      if (merged.written > 0) await ds.query('ANALYZE TABLE beneficiaries, enrolments');
      const report: RollImportReport = {
        importId: id,
        rows: staged.read,
        staging: staged.staging,
        waits: staged.waits,
        fill: { sealedWhileReading: staged.sealed, filled: merged.filled },
        merge: merged.kind,
        repeats: { candidates: staged.candidates, rowsChecked: merged.rowsChecked },
        timings: { readMs: t1 - t0, checkMs: t2 - t1, mergeMs: t3 - t2, analyzeMs: Date.now() - t3 },
      };
      this.log.info('roll import completed', { importId: id, rows: staged.read, ...report.timings });
      return report;
    } catch (e) {
      if (e instanceof AppError && e.kind === 'invalid') {
        await this.fail(id, e);
        return null;
      }
      throw e;
    } finally {
      await dropWorkTables(ds, tables);
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
}

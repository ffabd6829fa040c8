import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../../../config';
import { AppError, conflict, forbidden, invalid, notFound, unavailable } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import type { ReceivedFile } from '../../platform/http/upload';
import { areaPathScopeSql, assertVisible, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { parseReference } from '../payments/payment-states';
import type { Provider, ProvidersService } from '../providers';
import { CATEGORIES, matchStatement, type Category, type MatchTotals } from './matcher';
import { checkHeader, readStatement, type ParsedLine, type StatementFormat } from './statement-file';
import { insertStager, localInfileStager, type StageRow } from './statement-stage';
import { isDuplicateKey, marks, withNamedLock } from '../../platform/db';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
/** How long a second processing of one statement waits for the first before giving up (and being retried). */
const PROCESS_LOCK_WAIT_S = 300;
/** Resolutions staff may give an exception; a write-off needs a second person. */
export const RESOLUTIONS = ['resent', 'refunded', 'written_off', 'corrected', 'no_action'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface StatementView {
  id: string;
  provider: { id: number; name: string };
  businessDate: string;
  source: string;
  sha256: string;
  fileName: string | null;
  lineCount: number;
  totalAmount: number;
  status: string;
  problems: unknown;
  supersededBy: string | null;
  receivedBy: string;
  receivedAt: string;
  runId: string | null;
}

export interface RunView {
  id: string;
  provider: { id: number; name: string };
  businessDate: string;
  statementId: string;
  status: string;
  supersededBy: string | null;
  lineCount: number;
  totals: Record<Category, { count: number; amount: number }>;
  settled: number;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export interface ExceptionView {
  id: string;
  runId: string;
  provider: { id: number; name: string };
  businessDate: string;
  category: string;
  reference: string;
  batchId: string | null;
  lineNo: number | null;
  areaId: number | null;
  statement: { status: string | null; amount: number | null };
  service: { status: string | null; amount: number | null };
  status: string;
  version: number;
  assignedTo: number | null;
  resolution: string | null;
  resolutionNote: string | null;
  resolutionBatchId: string | null;
  proposedBy: number | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  createdAt: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- database rows, read column by column into typed views
type Row = Record<string, any>;
/** Told how long each phase of loading and matching took (the benchmark prints them). */
export type PhaseTimer = (phase: string, ms: number) => void;
const iso = (d: Date | string | null) => (d === null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString());
/** A DATE column as YYYY-MM-DD (the connection's time zone is UTC, so a Date is that day's UTC midnight). */
const day = (d: Date | string) => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

/** [start, end) of a business date in Asia/Ho_Chi_Minh (UTC+7, no daylight saving). */
export function businessDay(date: string): { start: Date; end: Date } {
  const start = new Date(`${date}T00:00:00+07:00`);
  return { start, end: new Date(start.getTime() + DAY_MS) };
}

/** The business date (Asia/Ho_Chi_Minh) `days` before the one holding `now`. */
export function businessDateBefore(now: Date, days = 1): string {
  return new Date(now.getTime() + 7 * 3_600_000 - days * DAY_MS).toISOString().slice(0, 10);
}

function checkDate(date: string): string {
  if (
    !DATE.test(date) ||
    Number.isNaN(Date.parse(`${date}T00:00:00Z`)) ||
    new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date
  ) {
    throw invalid('INVALID_DATE', `business date must be a real date YYYY-MM-DD, not "${date}"`);
  }
  if (Date.parse(`${date}T00:00:00+07:00`) > Date.now()) throw invalid('DATE_IN_FUTURE', `${date} has not begun yet`);
  return date;
}

/** Scoped to the whole tree: no scope, or the scope of a root area (its path has one segment). */
export function coversWholeTree(p: Pick<Principal, 'areaPath'>): boolean {
  return p.areaPath === null || /^\/\d+\/$/.test(p.areaPath);
}

/** The area filter of a list: none for the whole tree (which also sees lines and exceptions of no area: references not ours). */
function scopeSql(p: Pick<Principal, 'areaPath'>, pathColumn: string): { sql: string; params: string[] } {
  return coversWholeTree(p) ? { sql: '1=1', params: [] } : areaPathScopeSql(p, pathColumn);
}

function actorOfRow(userId: number | null, username: string): Actor {
  return { userId, username, roles: [], requestId: null, source: 'worker' };
}

/**
 * Statements in (fetched from the provider on schedule or on demand, or
 * uploaded by staff; a pay point's results file for the cash provider), kept
 * as files and loaded by the worker, matched line by line against the
 * payments; runs with their totals, exceptions that staff work, and the
 * reconciliation view of a batch.
 */
export class ReconciliationService {
  private readonly dir: string;
  /**
   * How lines reach the staging table: `auto` streams them with LOAD DATA LOCAL INFILE when the server allows it
   * (MariaDB's default) and falls back to multi-row INSERTs when it does not (MySQL 8's default); `insert` always inserts.
   */
  stagingMode: 'auto' | 'insert' = 'auto';

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly providers: ProvidersService,
    private readonly cfg: Pick<Config, 'importDir'>,
    private readonly log: winston.Logger,
    /** queue the loading and matching of a received statement (the worker's sweep queues it again if this is lost) */
    private readonly queue: (statementId: string) => Promise<void>,
  ) {
    this.dir = path.join(cfg.importDir, 'statements');
  }

  // ---- intake --------------------------------------------------------------------------------------------

  private async provider(name: string): Promise<Provider> {
    try {
      return await this.providers.getByName(name);
    } catch {
      throw invalid('PROVIDER_NOT_FOUND', `no provider named "${name}"`);
    }
  }

  /** An uploaded statement (or, for a `file` provider, a pay point results file). Identical content again: the same statement. */
  async upload(
    actor: Actor,
    providerName: string,
    date: string,
    file: ReceivedFile,
  ): Promise<{ statement: StatementView; created: boolean }> {
    try {
      const provider = await this.provider(providerName);
      checkDate(date);
      const format: StatementFormat = provider.kind === 'file' ? 'paypoint' : 'provider';
      await checkHeader(file.path, format);
      return await this.intake(actor, provider, date, 'uploaded', file.path, file.fileName, file.sha256);
    } finally {
      await rm(file.path, { force: true });
    }
  }

  /** Asks the provider for its statement of `date` (signature checked by the adapter) and takes it in. */
  async fetch(actor: Actor, providerName: string, date: string): Promise<{ statement: StatementView; created: boolean }> {
    const provider = await this.provider(providerName);
    checkDate(date);
    if (provider.kind === 'file') throw invalid('PROVIDER_HAS_NO_API', `${provider.name} is a pay point provider: upload its results file`);
    const adapter = await this.providers.adapterFor(provider.id);
    if (!adapter) throw conflict('PROVIDER_HAS_NO_API', `${provider.name} has no adapter to ask`);
    await mkdir(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `fetch-${provider.id}-${date}-${process.pid}-${Date.now()}.part`);
    try {
      // streamed to a file as it arrives, its signature checked on the way: a statement of any size, memory flat
      const { sha256 } = await adapter.statementTo(date, tmp);
      try {
        await checkHeader(tmp, 'provider');
      } catch (e) {
        throw new AppError(
          'internal',
          'PROVIDER_BAD_RESPONSE',
          `${provider.name}'s statement is outside the contract: ${(e as Error).message}`,
        );
      }
      return await this.intake(actor, provider, date, 'fetched', tmp, `${provider.name}-${date}.csv`, sha256);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Every active API provider's statement of the business date before `now`: the daily job. */
  async fetchAll(actor: Actor, now = new Date()): Promise<{ fetched: number; failed: number; date: string }> {
    const date = businessDateBefore(now);
    let fetched = 0;
    let failed = 0;
    for (const p of await this.providers.list({ active: true })) {
      if (p.kind === 'file') continue;
      try {
        await this.fetch(actor, p.name, date);
        fetched += 1;
      } catch (err) {
        failed += 1;
        this.log.warn('fetching a statement failed; the next run or staff will fetch it', { provider: p.name, date, err });
      }
    }
    return { fetched, failed, date };
  }

  private async intake(
    actor: Actor,
    provider: Provider,
    date: string,
    source: 'uploaded' | 'fetched',
    filePath: string,
    fileName: string,
    sha256: string,
  ): Promise<{ statement: StatementView; created: boolean }> {
    const existing = (await this.ds.query('SELECT id FROM statements WHERE provider_id = ? AND business_date = ? AND sha256 = ?', [
      provider.id,
      date,
      sha256,
    ])) as { id: string }[];
    if (existing[0]) return { statement: await this.statementById(String(existing[0].id)), created: false };
    await mkdir(this.dir, { recursive: true });
    let id: string;
    try {
      id = await this.ds.transaction(async (em) => {
        const res = (await em.query(
          `INSERT INTO statements (provider_id, business_date, source, sha256, file_name, status, received_by, received_by_name)
           VALUES (?, ?, ?, ?, ?, 'received', ?, ?)`,
          [provider.id, date, source, sha256, fileName.slice(0, 255), actor.userId, actor.username],
        )) as { insertId: number };
        const sid = String(res.insertId);
        await rename(filePath, this.file(sid)).catch(async () => {
          // another file system: copy through a write
          const { copyFile } = await import('node:fs/promises');
          await copyFile(filePath, this.file(sid));
        });
        await this.audit.record(em, actor, {
          action: 'reconciliation.statement_received',
          entityType: 'statement',
          entityId: sid,
          after: { provider: provider.name, businessDate: date, source, sha256, fileName },
        });
        return sid;
      });
    } catch (e) {
      if (isDuplicateKey(e)) {
        const again = (await this.ds.query('SELECT id FROM statements WHERE provider_id = ? AND business_date = ? AND sha256 = ?', [
          provider.id,
          date,
          sha256,
        ])) as { id: string }[];
        return { statement: await this.statementById(String(again[0]!.id)), created: false };
      }
      throw e;
    }
    await this.queue(id).catch((err: unknown) => this.log.warn('queueing a statement failed; the sweeper will', { statementId: id, err }));
    return { statement: await this.statementById(id), created: true };
  }

  private file(statementId: string): string {
    return path.join(this.dir, `statement-${statementId}.csv`);
  }

  // ---- loading and matching (the worker) -----------------------------------------------------------------

  /**
   * Loads a received statement's lines and matches them; safe to run again
   * after a crash at any point (a half load is deleted and redone; matching is
   * one transaction). A statement with any bad line is rejected whole.
   */
  async process(statementId: string, onPhase?: PhaseTimer): Promise<{ status: string; runId: string | null }> {
    const [of] = (await this.ds.query('SELECT provider_id, business_date FROM statements WHERE id = ?', [statementId])) as Row[];
    if (!of) throw notFound('STATEMENT_NOT_FOUND', `no statement ${statementId}`);
    // one process at a time per provider and day, whatever queued it (a job replayed after a stall, the sweeper): a
    // correction supersedes the statement matched before it, so two statements of one day are never matched at once.
    const name = `statements-${Number(of.provider_id)}-${day(of.business_date)}`;
    return withNamedLock(
      this.ds,
      name,
      {
        waitSeconds: PROCESS_LOCK_WAIT_S,
        // thrown, so that the job is tried again later (by then the other one has finished, and this finds it done)
        busy: () =>
          unavailable('STATEMENT_BUSY', `statement ${statementId} or another of its provider and day is being processed elsewhere`),
      },
      () => this.processLocked(statementId, onPhase),
    );
  }

  private async processLocked(statementId: string, onPhase?: PhaseTimer): Promise<{ status: string; runId: string | null }> {
    const [s] = (await this.ds.query(
      `SELECT s.*, pv.name AS provider_name, pv.kind AS provider_kind FROM statements s JOIN providers pv ON pv.id = s.provider_id WHERE s.id = ?`,
      [statementId],
    )) as Row[];
    if (!s) throw notFound('STATEMENT_NOT_FOUND', `no statement ${statementId}`);
    if (s.status === 'matched' || s.status === 'rejected') return { status: s.status, runId: await this.runIdOf(statementId) };
    const date = day(s.business_date);
    const format: StatementFormat = s.provider_kind === 'file' ? 'paypoint' : 'provider';
    const actor = actorOfRow(s.received_by === null ? null : Number(s.received_by), s.received_by_name);
    await this.ds.query("UPDATE statements SET status = 'loading' WHERE id = ? AND status = 'received'", [statementId]);
    // the lines are staged in a temporary table of this connection; they reach statement_lines only with the match's commit
    const qr = this.ds.createQueryRunner();
    await qr.connect();
    try {
      await qr.query('DROP TEMPORARY TABLE IF EXISTS recon_stage');
      await qr.query(`CREATE TEMPORARY TABLE recon_stage (
        line_no INT UNSIGNED NOT NULL, batch_id BIGINT UNSIGNED NOT NULL, seq BIGINT UNSIGNED NOT NULL,
        reference VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, transfer_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, amount BIGINT NULL, currency CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NULL,
        failure_code VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL, occurred_at VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        PRIMARY KEY (line_no)) ENGINE=InnoDB`);
      let totals: { count: number; amount: number };
      try {
        const started = Date.now();
        totals = await this.stage(qr, statementId, format, date);
        onPhase?.('load', Date.now() - started);
      } catch (e) {
        const err = e as { code?: string; message?: string; details?: unknown; kind?: string };
        if (err.kind !== 'invalid') throw e;
        await this.ds.transaction(async (em) => {
          await em.query("UPDATE statements SET status = 'rejected', problems = ? WHERE id = ?", [
            JSON.stringify({ code: err.code, message: err.message, details: err.details ?? null }),
            statementId,
          ]);
          await this.audit.record(em, actor, {
            action: 'reconciliation.statement_rejected',
            entityType: 'statement',
            entityId: statementId,
            after: { code: err.code, message: err.message },
          });
        });
        return { status: 'rejected', runId: null };
      }
      const runId = await this.match(qr, statementId, Number(s.provider_id), s.provider_name, date, actor, totals, onPhase);
      return { status: 'matched', runId };
    } finally {
      await qr.query('DROP TEMPORARY TABLE IF EXISTS recon_stage').catch(() => undefined);
      await qr.release();
    }
  }

  /** Reads and checks the file, staging its lines (reference resolved to batch and seq) on `qr`. Throws `invalid` on any bad line. */
  private async stage(
    qr: QueryRunner,
    statementId: string,
    format: StatementFormat,
    date: string,
  ): Promise<{ count: number; amount: number }> {
    const batchOfPrefix = new Map<string, string>();
    let refs: (ReturnType<typeof parseReference> | undefined)[] = [];
    const resolve = async (lines: ParsedLine[]) => {
      const unknown = new Set<string>();
      refs = lines.map((l) => parseReference(l.reference));
      for (const r of refs) if (r && !batchOfPrefix.has(r.prefix)) unknown.add(r.prefix);
      if (unknown.size) {
        const rows = (await this.ds.query(`SELECT id, reference_prefix FROM batches WHERE reference_prefix IN (${marks(unknown.size)})`, [
          ...unknown,
        ])) as { id: string; reference_prefix: string }[];
        for (const p of unknown) batchOfPrefix.set(p, '0');
        for (const r of rows) batchOfPrefix.set(r.reference_prefix, String(r.id));
      }
    };
    let count = 0;
    let amount = 0;
    const stager = (this.stagingMode === 'auto' ? await localInfileStager(qr) : null) ?? insertStager(qr);
    try {
      for await (const group of readStatement(this.file(statementId), format, { businessDate: date })) {
        await resolve(group);
        const rows: StageRow[] = [];
        for (let i = 0; i < group.length; i++) {
          const l = group[i]!;
          const r = refs[i];
          const batch = r ? batchOfPrefix.get(r.prefix)! : '0';
          rows.push({
            lineNo: l.lineNo,
            batchId: batch,
            seq: batch === '0' ? '0' : r!.seq,
            reference: l.reference,
            transferId: l.transferId,
            status: l.status,
            amount: l.amount,
            currency: l.currency,
            failureCode: l.failureCode,
            occurredAt: l.occurredAt,
          });
          count += 1;
          amount += l.amount ?? 0;
        }
        await stager.add(rows);
      }
    } catch (e) {
      await stager.abandon();
      throw e;
    }
    await stager.finish();
    return { count, amount };
  }

  private async match(
    qr: QueryRunner,
    statementId: string,
    providerId: number,
    providerName: string,
    date: string,
    actor: Actor,
    lines: { count: number; amount: number },
    onPhase?: PhaseTimer,
  ): Promise<string> {
    const { start, end } = businessDay(date);
    try {
      await qr.startTransaction('REPEATABLE READ');
      const [locked] = (await qr.query('SELECT status FROM statements WHERE id = ? FOR UPDATE', [statementId])) as { status: string }[];
      if (locked?.status !== 'loading') {
        await qr.rollbackTransaction();
        return (await this.runIdOf(statementId))!;
      }
      const ins = (await qr.query(
        `INSERT INTO recon_runs (provider_id, business_date, statement_id, status, started_by, started_by_name) VALUES (?, ?, ?, 'running', ?, ?)`,
        [providerId, date, statementId, actor.userId, actor.username],
      )) as { insertId: number };
      const runId = String(ins.insertId);
      // an earlier statement of the same provider and day is replaced: its run and open exceptions close. Before the
      // match, so that the correction is judged alone: a payment it leaves out is missing, whatever the replaced one said
      const older = (await qr.query(
        `SELECT s.id, r.id AS run_id FROM statements s LEFT JOIN recon_runs r ON r.statement_id = s.id
         WHERE s.provider_id = ? AND s.business_date = ? AND s.id <> ? AND s.superseded_by IS NULL AND s.status = 'matched'`,
        [providerId, date, statementId],
      )) as { id: string; run_id: string | null }[];
      for (const o of older) {
        await qr.query('UPDATE statements SET superseded_by = ? WHERE id = ?', [statementId, o.id]);
        if (o.run_id === null) continue;
        await qr.query("UPDATE recon_runs SET status = 'superseded', superseded_by = ? WHERE id = ?", [runId, o.run_id]);
        await qr.query(
          `UPDATE recon_exceptions SET status = 'resolved', resolution = 'superseded', resolution_note = ?, resolved_by = ?, resolved_by_name = ?,
             resolved_at = CURRENT_TIMESTAMP(3), version = version + 1
           WHERE run_id = ? AND status <> 'resolved'`,
          [`replaced by statement ${statementId}`, actor.userId, actor.username, o.run_id],
        );
      }
      const t = await matchStatement(
        qr,
        { statementId, runId, providerId, providerName, businessDate: date, dayStart: start, dayEnd: end },
        onPhase,
      );
      const c = t.byCategory;
      await qr.query(
        `UPDATE recon_runs SET status = 'done', finished_at = CURRENT_TIMESTAMP(3), line_count = ?, settled_count = ?,
           matched_count = ?, matched_amount = ?, amount_mismatch_count = ?, amount_mismatch_amount = ?,
           status_mismatch_count = ?, status_mismatch_amount = ?, missing_count = ?, missing_amount = ?,
           unknown_count = ?, unknown_amount = ?, duplicate_count = ?, duplicate_amount = ?
         WHERE id = ?`,
        [
          t.lineCount,
          t.settled,
          c.matched.count,
          c.matched.amount,
          c.amount_mismatch.count,
          c.amount_mismatch.amount,
          c.status_mismatch.count,
          c.status_mismatch.amount,
          c.missing.count,
          c.missing.amount,
          c.unknown.count,
          c.unknown.amount,
          c.duplicate.count,
          c.duplicate.amount,
          runId,
        ],
      );
      await qr.query("UPDATE statements SET status = 'matched', line_count = ?, total_amount = ? WHERE id = ?", [
        lines.count,
        lines.amount,
        statementId,
      ]);
      await this.audit.record(qr.manager, actor, {
        action: 'reconciliation.run_completed',
        entityType: 'recon_run',
        entityId: runId,
        after: {
          provider: providerName,
          businessDate: date,
          statementId,
          lines: t.lineCount,
          settled: t.settled,
          totals: summary(t),
          superseded: older.map((o) => o.run_id),
        },
      });
      const committing = Date.now();
      await qr.commitTransaction();
      onPhase?.('commit', Date.now() - committing);
      this.log.info('statement matched', {
        statementId,
        runId,
        provider: providerName,
        businessDate: date,
        lines: t.lineCount,
        settled: t.settled,
      });
      return runId;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction();
      throw e;
    }
  }

  /** Statements received but not matched (queueing lost, a worker died): queue them again. */
  async unfinished(): Promise<string[]> {
    const rows = (await this.ds.query("SELECT id FROM statements WHERE status IN ('received', 'loading') ORDER BY id")) as {
      id: string;
    }[];
    return rows.map((r) => String(r.id));
  }

  private async runIdOf(statementId: string): Promise<string | null> {
    const [r] = (await this.ds.query('SELECT id FROM recon_runs WHERE statement_id = ?', [statementId])) as { id: string }[];
    return r ? String(r.id) : null;
  }

  // ---- reading ----------------------------------------------------------------------------------------------

  async statementById(id: string): Promise<StatementView> {
    const [r] = (await this.ds.query(
      `SELECT s.*, pv.name AS provider_name, r.id AS run_id FROM statements s JOIN providers pv ON pv.id = s.provider_id
       LEFT JOIN recon_runs r ON r.statement_id = s.id WHERE s.id = ?`,
      [id],
    )) as Row[];
    if (!r) throw notFound('STATEMENT_NOT_FOUND', `no statement ${id}`);
    return statementView(r);
  }

  async listStatements(
    f: { provider?: string | undefined; from?: string | undefined; to?: string | undefined },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<StatementView>> {
    const { sql, params } = listFilter('s', f, page.cursor);
    const rows = (await this.ds.query(
      `SELECT s.*, pv.name AS provider_name, r.id AS run_id FROM statements s JOIN providers pv ON pv.id = s.provider_id
       LEFT JOIN recon_runs r ON r.statement_id = s.id WHERE ${sql} ORDER BY s.id DESC LIMIT ?`,
      [...params, page.limit + 1],
    )) as Row[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], statementView);
  }

  async run(id: string): Promise<RunView> {
    const [r] = (await this.ds.query(
      'SELECT r.*, pv.name AS provider_name FROM recon_runs r JOIN providers pv ON pv.id = r.provider_id WHERE r.id = ?',
      [id],
    )) as Row[];
    if (!r) throw notFound('RUN_NOT_FOUND', `no reconciliation run ${id}`);
    return runView(r);
  }

  async listRuns(
    f: { provider?: string | undefined; from?: string | undefined; to?: string | undefined; status?: string | undefined },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<RunView>> {
    const { sql, params } = listFilter('r', f, page.cursor);
    const rows = (await this.ds.query(
      `SELECT r.*, pv.name AS provider_name FROM recon_runs r JOIN providers pv ON pv.id = r.provider_id
       WHERE ${sql} ORDER BY r.id DESC LIMIT ?`,
      [...params, page.limit + 1],
    )) as Row[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], runView);
  }

  /** A run as a user scoped to part of the tree sees it: totals over the payments of that part only. */
  async scoped(p: Principal, run: RunView): Promise<RunView> {
    if (coversWholeTree(p)) return run;
    const rows = (await this.ds.query(
      `SELECT l.category, COUNT(*) AS n, COALESCE(SUM(COALESCE(l.amount, l.service_amount, 0)), 0) AS amount, SUM(l.settled) AS settled
       FROM statement_lines l JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq JOIN areas a ON a.id = p.area_id
       WHERE l.statement_id = ? AND l.category <> 'unknown' AND a.path LIKE ? GROUP BY l.category`,
      [run.statementId, `${p.areaPath}%`],
    )) as { category: Category; n: string; amount: string; settled: string }[];
    const [missing] = (await this.ds.query(
      "SELECT COUNT(*) AS n, COALESCE(SUM(service_amount), 0) AS amount FROM recon_exceptions WHERE run_id = ? AND category = 'missing' AND area_path LIKE ?",
      [run.id, `${p.areaPath}%`],
    )) as { n: string; amount: string }[];
    const totals = Object.fromEntries(CATEGORIES.map((c) => [c, { count: 0, amount: 0 }])) as RunView['totals'];
    let lineCount = 0;
    let settled = 0;
    for (const r of rows) {
      totals[r.category] = { count: Number(r.n), amount: Number(r.amount) };
      lineCount += Number(r.n);
      settled += Number(r.settled);
    }
    totals.missing = { count: Number(missing!.n), amount: Number(missing!.amount) };
    return { ...run, totals, lineCount, settled };
  }

  /** A run's lines in payment order, by category; scoped users see the lines of payments in their area only. */
  async lines(
    p: Principal,
    runId: string,
    f: { category?: string | undefined },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<Record<string, unknown>>> {
    const run = await this.run(runId);
    const where = ['l.statement_id = ?'];
    const params: unknown[] = [run.statementId];
    if (f.category) {
      where.push('l.category = ?');
      params.push(f.category);
    }
    const scope = scopeSql(p, 'a.path');
    where.push(scope.sql);
    params.push(...scope.params);
    const cursor = decodeCursor(page.cursor, 3);
    if (cursor) {
      where.push('(l.batch_id > ? OR (l.batch_id = ? AND (l.seq > ? OR (l.seq = ? AND l.line_no > ?))))');
      params.push(cursor[0]!, cursor[0]!, cursor[1]!, cursor[1]!, cursor[2]!);
    }
    const rows = (await this.ds.query(
      `SELECT l.*, p.area_id FROM statement_lines l
       LEFT JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq AND l.category <> 'unknown'
       LEFT JOIN areas a ON a.id = p.area_id
       WHERE ${where.join(' AND ')} ORDER BY l.batch_id, l.seq, l.line_no LIMIT ?`,
      [...params, page.limit + 1],
    )) as Row[];
    return finishPage(
      rows,
      page.limit,
      (r) => [String(r.batch_id), String(r.seq), Number(r.line_no)],
      (r) => ({
        lineNo: Number(r.line_no),
        reference: r.reference,
        transferId: r.transfer_id,
        status: r.status,
        amount: r.amount === null ? null : Number(r.amount),
        currency: r.currency,
        failureCode: r.failure_code,
        occurredAt: r.occurred_at,
        category: r.category,
        settled: r.settled === 1,
        service: { status: r.service_status, amount: r.service_amount === null ? null : Number(r.service_amount) },
        batchId: r.batch_id === '0' || Number(r.batch_id) === 0 ? null : String(r.batch_id),
        areaId: r.area_id === null ? null : Number(r.area_id),
      }),
    );
  }

  // ---- exceptions -------------------------------------------------------------------------------------------

  async exceptions(
    p: Principal,
    f: {
      status?: string | undefined;
      category?: string | undefined;
      provider?: string | undefined;
      runId?: string | undefined;
      batchId?: string | undefined;
      assignedTo?: number | undefined;
      from?: string | undefined;
      to?: string | undefined;
    },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<ExceptionView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const scope = scopeSql(p, 'e.area_path');
    where.push(scope.sql);
    params.push(...scope.params);
    const eq: [string, unknown][] = [
      ['e.status', f.status],
      ['e.category', f.category],
      ['pv.name', f.provider],
      ['e.run_id', f.runId],
      ['e.batch_id', f.batchId],
      ['e.assigned_to', f.assignedTo],
    ];
    for (const [col, v] of eq) {
      if (v === undefined) continue;
      where.push(`${col} = ?`);
      params.push(v);
    }
    if (f.from) {
      where.push('e.business_date >= ?');
      params.push(f.from);
    }
    if (f.to) {
      where.push('e.business_date <= ?');
      params.push(f.to);
    }
    const cursor = decodeCursor(page.cursor, 1);
    if (cursor) {
      where.push('e.id < ?');
      params.push(cursor[0]!);
    }
    const rows = (await this.ds.query(
      `SELECT e.*, pv.name AS provider_name FROM recon_exceptions e JOIN providers pv ON pv.id = e.provider_id
       WHERE ${where.join(' AND ')} ORDER BY e.id DESC LIMIT ?`,
      [...params, page.limit + 1],
    )) as Row[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], exceptionView);
  }

  private async exceptionRow(em: EntityManager | DataSource, p: Principal, id: string, lock = false): Promise<Row> {
    const [r] = (await em.query(
      `SELECT e.*, pv.name AS provider_name FROM recon_exceptions e JOIN providers pv ON pv.id = e.provider_id WHERE e.id = ?${lock ? ' FOR UPDATE' : ''}`,
      [id],
    )) as Row[];
    if (!r) throw notFound('EXCEPTION_NOT_FOUND', `no reconciliation exception ${id}`);
    if (!coversWholeTree(p)) assertVisible(p, r.area_path, 'EXCEPTION_NOT_FOUND', `no reconciliation exception ${id}`);
    return r;
  }

  async exception(p: Principal, id: string): Promise<ExceptionView & { notes: unknown[] }> {
    const r = await this.exceptionRow(this.ds, p, id);
    const notes = (await this.ds.query('SELECT * FROM recon_exception_notes WHERE exception_id = ? ORDER BY id', [id])) as Row[];
    return {
      ...exceptionView(r),
      notes: notes.map((n) => ({
        id: String(n.id),
        kind: n.kind,
        body: n.body,
        userId: n.user_id,
        username: n.username,
        createdAt: iso(n.created_at),
      })),
    };
  }

  private async change(
    actor: Actor,
    p: Principal,
    id: string,
    version: number | undefined,
    fn: (
      em: EntityManager,
      r: Row,
    ) => Promise<{ action: string; note: { kind: string; body: string | null }; set: Record<string, unknown> }>,
  ): Promise<ExceptionView> {
    await this.ds.transaction(async (em) => {
      const r = await this.exceptionRow(em, p, id, true);
      if (version !== undefined && Number(r.version) !== version) {
        throw conflict('EXCEPTION_CHANGED', `exception ${id} changed since you read it (version ${r.version}); read it again`, {
          version: Number(r.version),
        });
      }
      const { action, note, set } = await fn(em, r);
      const cols = Object.keys(set);
      await em.query(
        `UPDATE recon_exceptions SET ${cols.map((c) => `${c} = ?`).join(', ')}${cols.length ? ', ' : ''}version = version + 1 WHERE id = ?`,
        [...cols.map((c) => set[c]), id],
      );
      await em.query('INSERT INTO recon_exception_notes (exception_id, kind, body, user_id, username) VALUES (?, ?, ?, ?, ?)', [
        id,
        note.kind,
        note.body,
        actor.userId,
        actor.username,
      ]);
      await this.audit.record(em, actor, {
        action,
        entityType: 'recon_exception',
        entityId: id,
        areaId: r.area_id === null ? null : Number(r.area_id),
        before: { status: r.status, assignedTo: r.assigned_to, resolution: r.resolution },
        after: { ...set, note: note.body },
      });
    });
    return exceptionView(await this.exceptionRow(this.ds, p, id));
  }

  async assign(actor: Actor, p: Principal, id: string, userId: number, version?: number): Promise<ExceptionView> {
    return this.change(actor, p, id, version, async (em, r) => {
      if (r.status === 'resolved') throw conflict('EXCEPTION_RESOLVED', `exception ${id} is resolved`);
      const [u] = (await em.query(
        `SELECT u.id, u.username, u.roles, a.path FROM users u LEFT JOIN areas a ON a.id = u.area_id WHERE u.id = ? AND u.active = 1`,
        [userId],
      )) as Row[];
      if (!u) throw invalid('USER_NOT_FOUND', `no active user ${userId}`);
      const roles = String(u.roles).split(',');
      if (!roles.some((x) => x === 'staff' || x === 'admin')) throw invalid('USER_CANNOT_WORK_EXCEPTIONS', `${u.username} is not staff`);
      if (u.path !== null && (r.area_path === null || !String(r.area_path).startsWith(u.path))) {
        throw invalid('USER_OUT_OF_SCOPE', `${u.username}'s area does not cover this exception`);
      }
      return {
        action: 'reconciliation.exception_assigned',
        note: { kind: 'assigned', body: `assigned to ${u.username}` },
        set: { assigned_to: userId, assigned_at: new Date() },
      };
    });
  }

  async comment(actor: Actor, p: Principal, id: string, body: string): Promise<ExceptionView> {
    return this.change(actor, p, id, undefined, async () => ({
      action: 'reconciliation.exception_commented',
      note: { kind: 'comment', body },
      set: {},
    }));
  }

  /**
   * Resolves an exception with a reason. A write-off is only proposed: a
   * second person confirms it (confirmWriteOff). `resent` names the batch that
   * pays it again, which must hold the payment's beneficiary and month live.
   */
  async resolve(
    actor: Actor,
    p: Principal,
    id: string,
    input: { resolution: Resolution; note: string; batchId?: string | undefined; version?: number | undefined },
  ): Promise<ExceptionView> {
    return this.change(actor, p, id, input.version, async (em, r) => {
      if (r.status === 'resolved') throw conflict('EXCEPTION_RESOLVED', `exception ${id} is already resolved (${r.resolution})`);
      if (r.status === 'writeoff_proposed')
        throw conflict('WRITEOFF_PENDING', `a write-off of exception ${id} waits for a second person: confirm or reject it`);
      if (input.resolution === 'resent') {
        if (!input.batchId) throw invalid('BATCH_REQUIRED', 'a "resent" resolution names the batch that pays it again (batchId)');
        if (Number(r.batch_id) === 0) throw invalid('NOT_A_PAYMENT', 'this line is no payment of ours: nothing to resend');
        const [again] = (await em.query(
          `SELECT n.batch_id FROM payments o JOIN payments n ON n.beneficiary_id = o.beneficiary_id AND n.programme_id = o.programme_id
             AND n.period = o.period AND n.slot = o.slot AND n.live = 1
           WHERE o.batch_id = ? AND o.seq = ? AND n.batch_id = ?`,
          [r.batch_id, r.seq, input.batchId],
        )) as Row[];
        if (!again) throw invalid('BATCH_DOES_NOT_PAY_IT', `batch ${input.batchId} holds no live payment of this person and month`);
      } else if (input.batchId) {
        throw invalid('BATCH_NOT_EXPECTED', 'batchId goes only with the "resent" resolution');
      }
      if (input.resolution === 'written_off') {
        return {
          action: 'reconciliation.writeoff_proposed',
          note: { kind: 'writeoff_proposed', body: input.note },
          set: {
            status: 'writeoff_proposed',
            resolution: 'written_off',
            resolution_note: input.note,
            proposed_by: actor.userId,
            proposed_at: new Date(),
          },
        };
      }
      return {
        action: 'reconciliation.exception_resolved',
        note: { kind: 'resolved', body: input.note },
        set: {
          status: 'resolved',
          resolution: input.resolution,
          resolution_note: input.note,
          resolution_batch_id: input.batchId ?? null,
          resolved_by: actor.userId,
          resolved_by_name: actor.username,
          resolved_at: new Date(),
        },
      };
    });
  }

  /** The second person of a write-off: never the one who proposed it. */
  async confirmWriteOff(actor: Actor, p: Principal, id: string, note: string, version?: number): Promise<ExceptionView> {
    return this.change(actor, p, id, version, async (_em, r) => {
      if (r.status !== 'writeoff_proposed') throw conflict('NO_WRITEOFF_PROPOSED', `exception ${id} has no write-off waiting`);
      if (r.proposed_by !== null && Number(r.proposed_by) === actor.userId) {
        throw forbidden('FOUR_EYES', 'a write-off needs a second person: you proposed this one');
      }
      return {
        action: 'reconciliation.writeoff_confirmed',
        note: { kind: 'writeoff_confirmed', body: note },
        set: { status: 'resolved', resolved_by: actor.userId, resolved_by_name: actor.username, resolved_at: new Date() },
      };
    });
  }

  async rejectWriteOff(actor: Actor, p: Principal, id: string, note: string, version?: number): Promise<ExceptionView> {
    return this.change(actor, p, id, version, async (_em, r) => {
      if (r.status !== 'writeoff_proposed') throw conflict('NO_WRITEOFF_PROPOSED', `exception ${id} has no write-off waiting`);
      return {
        action: 'reconciliation.writeoff_rejected',
        note: { kind: 'writeoff_rejected', body: note },
        set: { status: 'open', resolution: null, resolution_note: null, proposed_by: null, proposed_at: null },
      };
    });
  }

  // ---- the batch view ---------------------------------------------------------------------------------------

  /**
   * Where a batch's money stands: approved = paid + failed + returned +
   * unresolved (still on its way or in review), to the đồng; the open
   * reconciliation exceptions of its payments by category.
   */
  async batchView(p: Principal, batchId: string): Promise<Record<string, unknown>> {
    const [b] = (await this.ds.query(
      'SELECT b.id, b.status, b.area_id, a.path FROM batches b JOIN areas a ON a.id = b.area_id WHERE b.id = ?',
      [batchId],
    )) as Row[];
    if (!b) throw notFound('BATCH_NOT_FOUND', `no batch ${batchId}`);
    assertVisible(p, b.path, 'BATCH_NOT_FOUND', `no batch ${batchId}`);
    const scope = areaPathScopeSql(p, 'a.path');
    const rows = (await this.ds.query(
      `SELECT CASE WHEN p.status = 'succeeded' THEN 'paid' WHEN p.status IN ('failed', 'returned') THEN p.status ELSE 'unresolved' END AS k,
         COUNT(*) AS n, COALESCE(SUM(p.amount), 0) AS amount
       FROM payments p JOIN areas a ON a.id = p.area_id
       WHERE p.batch_id = ? AND p.review = 'included' AND p.status NOT IN ('held', 'excluded', 'cancelled') AND ${scope.sql}
       GROUP BY k`,
      [batchId, ...scope.params],
    )) as { k: string; n: string; amount: string }[];
    const totals: Record<string, { count: number; amount: number }> = {};
    for (const k of ['paid', 'failed', 'returned', 'unresolved']) totals[k] = { count: 0, amount: 0 };
    let count = 0;
    let amount = 0;
    for (const r of rows) {
      totals[r.k] = { count: Number(r.n), amount: Number(r.amount) };
      count += Number(r.n);
      amount += Number(r.amount);
    }
    const ex = (await this.ds.query(
      `SELECT e.category, COUNT(*) AS n, COALESCE(SUM(COALESCE(e.service_amount, e.statement_amount, 0)), 0) AS amount
       FROM recon_exceptions e WHERE e.batch_id = ? AND e.status <> 'resolved' AND ${areaPathScopeSql(p, 'e.area_path').sql}
       GROUP BY e.category`,
      [batchId, ...areaPathScopeSql(p, 'e.area_path').params],
    )) as { category: string; n: string; amount: string }[];
    return {
      batchId: String(b.id),
      status: b.status,
      approved: { count, amount },
      ...totals,
      openExceptions: ex.map((e) => ({ category: e.category, count: Number(e.n), amount: Number(e.amount) })),
    };
  }
}

/** The WHERE of a newest-first list of statements (`s`) or runs (`r`): provider by name, business dates, status, cursor. */
function listFilter(
  alias: 's' | 'r',
  f: { provider?: string | undefined; from?: string | undefined; to?: string | undefined; status?: string | undefined },
  cursor: string | undefined,
): { sql: string; params: unknown[] } {
  const where: string[] = ['1=1'];
  const params: unknown[] = [];
  const add = (cond: string, v: unknown) => {
    if (v === undefined) return;
    where.push(cond);
    params.push(v);
  };
  add('pv.name = ?', f.provider);
  add(`${alias}.business_date >= ?`, f.from);
  add(`${alias}.business_date <= ?`, f.to);
  add(`${alias}.status = ?`, f.status);
  add(`${alias}.id < ?`, decodeCursor(cursor, 1)?.[0]);
  return { sql: where.join(' AND '), params };
}

function summary(t: MatchTotals): Record<string, string> {
  return Object.fromEntries(Object.entries(t.byCategory).map(([k, v]) => [k, `${v.count} / ${v.amount}`]));
}

function statementView(r: Row): StatementView {
  return {
    id: String(r.id),
    provider: { id: Number(r.provider_id), name: r.provider_name },
    businessDate: day(r.business_date),
    source: r.source,
    sha256: r.sha256,
    fileName: r.file_name,
    lineCount: Number(r.line_count),
    totalAmount: Number(r.total_amount),
    status: r.status,
    problems: r.problems ? (typeof r.problems === 'string' ? JSON.parse(r.problems) : r.problems) : null,
    supersededBy: r.superseded_by === null ? null : String(r.superseded_by),
    receivedBy: r.received_by_name,
    receivedAt: iso(r.received_at)!,
    runId: r.run_id === null || r.run_id === undefined ? null : String(r.run_id),
  };
}

function runView(r: Row): RunView {
  const totals = Object.fromEntries(
    CATEGORIES.map((c) => [c, { count: Number(r[`${c}_count`]), amount: Number(r[`${c}_amount`]) }]),
  ) as RunView['totals'];
  return {
    id: String(r.id),
    provider: { id: Number(r.provider_id), name: r.provider_name },
    businessDate: day(r.business_date),
    statementId: String(r.statement_id),
    status: r.status,
    supersededBy: r.superseded_by === null ? null : String(r.superseded_by),
    lineCount: Number(r.line_count),
    totals,
    settled: Number(r.settled_count),
    startedBy: r.started_by_name,
    startedAt: iso(r.started_at)!,
    finishedAt: iso(r.finished_at),
    error: r.error,
  };
}

function exceptionView(r: Row): ExceptionView {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(r.id),
    runId: String(r.run_id),
    provider: { id: Number(r.provider_id), name: r.provider_name },
    businessDate: day(r.business_date),
    category: r.category,
    reference: r.reference,
    batchId: Number(r.batch_id) === 0 ? null : String(r.batch_id),
    lineNo: Number(r.line_no) === 0 ? null : Number(r.line_no),
    areaId: num(r.area_id),
    statement: { status: r.statement_status, amount: num(r.statement_amount) },
    service: { status: r.service_status, amount: num(r.service_amount) },
    status: r.status,
    version: Number(r.version),
    assignedTo: num(r.assigned_to),
    resolution: r.resolution,
    resolutionNote: r.resolution_note,
    resolutionBatchId: r.resolution_batch_id === null ? null : String(r.resolution_batch_id),
    proposedBy: num(r.proposed_by),
    resolvedBy: r.resolved_by_name,
    resolvedAt: iso(r.resolved_at),
    createdAt: iso(r.created_at)!,
  };
}

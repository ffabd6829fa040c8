import type { DataSource, QueryRunner } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../../../config';
import { notFound, unavailable } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import { marks, withNamedLock } from '../../platform/db';
import type { AuditService } from '../audit';
import { parseReference } from '../payments/payment-states';
import { businessDay, day } from './business-date';
import { matchStatement, type MatchTotals } from './matcher';
import {
  FINISHED_STATEMENT,
  UNFINISHED_STATEMENT,
  type ExceptionStatus,
  type RunStatus,
  type StatementStatus,
  type SystemResolution,
} from './recon-states';
import type { StatementToProcess } from './recon-views';
import { readStatement, type ParsedLine, type StatementFormat } from './statement-file';
import { statementPath, statementsDir } from './statement-intake';
import { createStageTable, dropStageTable, insertStager, localInfileStager, type StageRow } from './statement-stage';

/** How long a second processing of one statement waits for the first before giving up (and being retried). */
const PROCESS_LOCK_WAIT_S = 300;

/** Told how long each phase of loading and matching took (the benchmark prints them). */
export type PhaseTimer = (phase: string, ms: number) => void;

export interface Processed {
  status: StatementStatus;
  runId: string | null;
}

/** The person who received a statement, as the actor of the worker's processing of it. */
function receiver(s: StatementToProcess): Actor {
  return {
    userId: s.received_by === null ? null : Number(s.received_by),
    username: s.received_by_name,
    roles: [],
    requestId: null,
    source: 'worker',
  };
}

/**
 * The worker's part: loads a received statement's lines into a staging table,
 * then matches them against the payments in one transaction that also writes
 * the run, supersedes an earlier statement of the same provider and day, and
 * marks the statement matched. A statement with any bad line is rejected whole.
 */
export class StatementProcessor {
  private readonly dir: string;
  /**
   * How lines reach the staging table: `auto` streams them with LOAD DATA LOCAL INFILE when the server allows it
   * (MariaDB's default) and falls back to multi-row INSERTs when it does not (MySQL 8's default); `insert` always inserts.
   */
  stagingMode: 'auto' | 'insert' = 'auto';

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    cfg: Pick<Config, 'importDir'>,
    private readonly log: winston.Logger,
  ) {
    this.dir = statementsDir(cfg);
  }

  /**
   * Loads a received statement's lines and matches them; safe to run again
   * after a crash at any point (a half load is deleted and redone; matching is
   * one transaction).
   */
  async process(statementId: string, onPhase?: PhaseTimer): Promise<Processed> {
    const [of] = (await this.ds.query('SELECT provider_id, business_date FROM statements WHERE id = ?', [statementId])) as {
      provider_id: number;
      business_date: Date;
    }[];
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

  /** Statements received but not matched (queueing lost, a worker died): queue them again. */
  async unfinished(): Promise<string[]> {
    const rows = (await this.ds.query(`SELECT id FROM statements WHERE status IN (${marks(UNFINISHED_STATEMENT.length)}) ORDER BY id`, [
      ...UNFINISHED_STATEMENT,
    ])) as { id: string }[];
    return rows.map((r) => String(r.id));
  }

  private async runIdOf(statementId: string): Promise<string | null> {
    const [r] = (await this.ds.query('SELECT id FROM recon_runs WHERE statement_id = ?', [statementId])) as { id: string }[];
    return r ? String(r.id) : null;
  }

  private async processLocked(statementId: string, onPhase?: PhaseTimer): Promise<Processed> {
    const [s] = (await this.ds.query(
      `SELECT s.*, pv.name AS provider_name, pv.kind AS provider_kind FROM statements s JOIN providers pv ON pv.id = s.provider_id WHERE s.id = ?`,
      [statementId],
    )) as StatementToProcess[];
    if (!s) throw notFound('STATEMENT_NOT_FOUND', `no statement ${statementId}`);
    if (FINISHED_STATEMENT.includes(s.status)) return { status: s.status, runId: await this.runIdOf(statementId) };
    const date = day(s.business_date);
    const format: StatementFormat = s.provider_kind === 'file' ? 'paypoint' : 'provider';
    const actor = receiver(s);
    await this.ds.query('UPDATE statements SET status = ? WHERE id = ? AND status = ?', [
      'loading' satisfies StatementStatus,
      statementId,
      'received' satisfies StatementStatus,
    ]);
    // the lines are staged in a temporary table of this connection; they reach statement_lines only with the match's commit
    const qr = this.ds.createQueryRunner();
    await qr.connect();
    try {
      await createStageTable(qr);
      let totals: { count: number; amount: number };
      try {
        const started = Date.now();
        totals = await this.stage(qr, statementId, format, date);
        onPhase?.('load', Date.now() - started);
      } catch (e) {
        const err = e as { code?: string; message?: string; details?: unknown; kind?: string };
        if (err.kind !== 'invalid') throw e;
        await this.ds.transaction(async (em) => {
          await em.query('UPDATE statements SET status = ?, problems = ? WHERE id = ?', [
            'rejected' satisfies StatementStatus,
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
      const runId = await this.match(qr, statementId, s, date, actor, totals, onPhase);
      return { status: 'matched', runId };
    } finally {
      await dropStageTable(qr).catch(() => undefined);
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
      for await (const group of readStatement(statementPath(this.dir, statementId), format, { businessDate: date })) {
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
    s: StatementToProcess,
    date: string,
    actor: Actor,
    lines: { count: number; amount: number },
    onPhase?: PhaseTimer,
  ): Promise<string> {
    const providerId = Number(s.provider_id);
    const providerName = s.provider_name;
    const { start, end } = businessDay(date);
    try {
      await qr.startTransaction('REPEATABLE READ');
      const [locked] = (await qr.query('SELECT status FROM statements WHERE id = ? FOR UPDATE', [statementId])) as {
        status: StatementStatus;
      }[];
      if (locked?.status !== 'loading') {
        await qr.rollbackTransaction();
        return (await this.runIdOf(statementId))!;
      }
      const ins = (await qr.query(
        `INSERT INTO recon_runs (provider_id, business_date, statement_id, status, started_by, started_by_name) VALUES (?, ?, ?, ?, ?, ?)`,
        [providerId, date, statementId, 'running' satisfies RunStatus, actor.userId, actor.username],
      )) as { insertId: number };
      const runId = String(ins.insertId);
      const superseded = await this.supersedeEarlier(qr, statementId, providerId, date, runId, actor);
      const t = await matchStatement(
        qr,
        { statementId, runId, providerId, providerName, businessDate: date, dayStart: start, dayEnd: end },
        onPhase,
      );
      const c = t.byCategory;
      await qr.query(
        `UPDATE recon_runs SET status = ?, finished_at = CURRENT_TIMESTAMP(3), line_count = ?, settled_count = ?,
           matched_count = ?, matched_amount = ?, amount_mismatch_count = ?, amount_mismatch_amount = ?,
           status_mismatch_count = ?, status_mismatch_amount = ?, missing_count = ?, missing_amount = ?,
           unknown_count = ?, unknown_amount = ?, duplicate_count = ?, duplicate_amount = ?
         WHERE id = ?`,
        [
          'done' satisfies RunStatus,
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
      await qr.query('UPDATE statements SET status = ?, line_count = ?, total_amount = ? WHERE id = ?', [
        'matched' satisfies StatementStatus,
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
          superseded,
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

  /**
   * An earlier statement of the same provider and day is replaced: its run and open exceptions close. Done before
   * the match, so that the correction is judged alone: a payment it leaves out is missing, whatever the replaced
   * one said. Returns the runs superseded.
   */
  private async supersedeEarlier(
    qr: QueryRunner,
    statementId: string,
    providerId: number,
    date: string,
    runId: string,
    actor: Actor,
  ): Promise<(string | null)[]> {
    const older = (await qr.query(
      `SELECT s.id, r.id AS run_id FROM statements s LEFT JOIN recon_runs r ON r.statement_id = s.id
       WHERE s.provider_id = ? AND s.business_date = ? AND s.id <> ? AND s.superseded_by IS NULL AND s.status = ?`,
      [providerId, date, statementId, 'matched' satisfies StatementStatus],
    )) as { id: string; run_id: string | null }[];
    for (const o of older) {
      await qr.query('UPDATE statements SET superseded_by = ? WHERE id = ?', [statementId, o.id]);
      if (o.run_id === null) continue;
      await qr.query('UPDATE recon_runs SET status = ?, superseded_by = ? WHERE id = ?', [
        'superseded' satisfies RunStatus,
        runId,
        o.run_id,
      ]);
      await qr.query(
        `UPDATE recon_exceptions SET status = ?, resolution = ?, resolution_note = ?, resolved_by = ?, resolved_by_name = ?,
           resolved_at = CURRENT_TIMESTAMP(3), version = version + 1
         WHERE run_id = ? AND status <> ?`,
        [
          'resolved' satisfies ExceptionStatus,
          'superseded' satisfies SystemResolution,
          `replaced by statement ${statementId}`,
          actor.userId,
          actor.username,
          o.run_id,
          'resolved' satisfies ExceptionStatus,
        ],
      );
    }
    return older.map((o) => o.run_id);
  }
}

/** A run's totals for its audit event: "count / amount" per category. */
function summary(t: MatchTotals): Record<string, string> {
  return Object.fromEntries(Object.entries(t.byCategory).map(([k, v]) => [k, `${v.count} / ${v.amount}`]));
}

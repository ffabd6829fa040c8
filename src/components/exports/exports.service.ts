import { createReadStream, mkdirSync } from 'node:fs';
import { rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../../../config';
import type { DataCipher } from '../../platform/crypto';
import { AppError, conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, keysetWhere, type Page } from '../../platform/http/pagination';
import { formatPeriod, type Period } from '../../platform/period';
import { SYSTEM_ACTOR, hasRole, inAreaScope, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { Coverage, type CashRecipient, type CoverageReport } from './coverage';
import { CsvSink, XlsxSink, type Cell, type TableSink } from './export-file';
import { resolveArea, type AreaRef } from './export-scope';
import { auditTrailSource, reconciliationSource, type ExportSource, type RowScope } from './export-sources';
import { marks } from '../../platform/db';
import {
  areaIdOfPath,
  AUDIT_EXPORT_ROLES,
  FULL_VALUE_ROLES,
  manifestOf,
  MAX_EXPORT_DAYS,
  MONTHLY_KINDS,
  SCHEMA_ROWS,
  SMS_UNTOLD_ROLES,
  type ExportManifest,
  type ExportRequest,
  type ExportRow,
} from './export-manifest';

export {
  AUDIT_EXPORT_ROLES,
  FULL_VALUE_ROLES,
  SMS_UNTOLD_ROLES,
  MAX_EXPORT_DAYS,
  type ExportFormat,
  type ExportKind,
  type ExportManifest,
  type ExportRequest,
  type ExportStatus,
} from './export-manifest';

/**
 * Sources other components provide (they read tables this one does not own); the container wires them, so this
 * component names no other's service.
 */
export interface ExportExtraSources {
  /** The network component's access report of a month, one row per commune. */
  networkAccess(area: AreaRef | null, period: Period): ExportSource;
  /**
   * The notifications component's list of who in a batch could not be told by SMS, checked for the caller as its API
   * checks it (the batch and area refused as missing outside the scope, an unknown reason refused): the area the rows
   * come from, and the rows.
   */
  smsUntold(
    p: Principal,
    q: { batchId: string; reason?: string | undefined; areaId?: number | undefined },
  ): Promise<{ area: AreaRef; source: ExportSource }>;
}

/** Exports written at once by one process; more wait their turn (still `running`, heartbeat kept). */
const MAX_CONCURRENT = 2;
const HEARTBEAT_MS = 5_000;
/** A running export whose heartbeat is older than this lost its process: it is reported failed. */
const STALE_SECONDS = 60;

const DAY_MS = 86_400_000;
/** Start of a business date in Vietnam time (UTC+7, no daylight saving). */
const vnDayStart = (d: string): Date => new Date(`${d}T00:00:00+07:00`);

/** Auditor exports (reconciliation logs, audit trail, people paid in cash) with manifests, and the cashless coverage report. */
export class ExportsService {
  readonly coverage: Coverage;
  /** where finished files are kept: `<IMPORT_DIR>/exports` (shared by the API processes) */
  readonly dir: string;
  private readonly inFlight = new Map<string, Promise<void>>();
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    readonly ds: DataSource,
    readonly cipher: DataCipher,
    readonly audit: AuditService,
    readonly cfg: Config,
    readonly log: winston.Logger,
    private readonly extra?: ExportExtraSources,
  ) {
    this.coverage = new Coverage(ds, cipher);
    this.dir = path.resolve(cfg.importDir, 'exports');
  }

  /**
   * Checks the request, records it (with the audit event saying who asked for what, and whether with full values)
   * and starts writing the file in the background; the answer is the manifest, `running` until the file is done.
   */
  async create(actor: Actor, p: Principal, req: ExportRequest): Promise<ExportManifest> {
    const roles = req.kind === 'sms_untold' ? SMS_UNTOLD_ROLES : MONTHLY_KINDS.includes(req.kind) ? null : AUDIT_EXPORT_ROLES;
    if (roles && !hasRole(p, ...roles)) {
      throw forbidden('ROLE_REQUIRED', `exporting ${req.kind} needs one of the roles: ${roles.join(', ')}`);
    }
    const full = (req.kind === 'reconciliation' || req.kind === 'cash_recipients') && req.full;
    if (full && !hasRole(p, ...FULL_VALUE_ROLES)) {
      throw forbidden('FULL_VALUES_NOT_ALLOWED', `full values need one of the roles: ${FULL_VALUE_ROLES.join(', ')}`);
    }
    // a masked export needs no reason: one sent with it is not kept
    const reason = full ? (req.reason ?? null) : null;
    if (full && reason === null)
      throw invalid('VALIDATION_FAILED', 'body.reason: say why the identifiers are needed in full', { path: 'reason' });
    const params: Record<string, unknown> = {};
    let prepared: ExportSource | undefined;
    let area: AreaRef | null = null;
    if (req.kind === 'sms_untold') {
      if (!this.extra) throw new AppError('unavailable', 'EXPORT_KIND_UNAVAILABLE', 'this process cannot write sms_untold exports');
      const untold = await this.extra.smsUntold(p, { batchId: req.batchId, reason: req.reason, areaId: req.areaId });
      params.batchId = req.batchId;
      if (req.reason !== undefined) params.reason = req.reason;
      prepared = untold.source;
      area = untold.area;
    } else if (req.kind === 'cash_recipients' || req.kind === 'network_access') {
      params.period = formatPeriod(req.period);
    } else {
      if (req.from > req.to) throw invalid('PERIOD_REVERSED', `from (${req.from}) is after to (${req.to})`, { path: 'from' });
      const days = (Date.parse(req.to) - Date.parse(req.from)) / DAY_MS + 1;
      if (days > MAX_EXPORT_DAYS) throw invalid('PERIOD_TOO_LONG', `one export covers at most ${MAX_EXPORT_DAYS} days (asked: ${days})`);
      params.from = req.from;
      params.to = req.to;
    }
    if (req.kind === 'reconciliation' && req.providerId !== undefined) {
      const [pr] = (await this.ds.query('SELECT name FROM providers WHERE id = ?', [req.providerId])) as { name: string }[];
      if (!pr) throw invalid('PROVIDER_NOT_FOUND', `providerId: no provider with id ${req.providerId}`, { path: 'providerId' });
      params.providerId = req.providerId;
      params.provider = pr.name;
    }
    if (req.kind !== 'sms_untold') area = await resolveArea(this.ds, p, req.areaId);
    if (req.areaId !== undefined) params.areaId = req.areaId;
    if (area) params.areaCode = area.code;
    const id = await this.ds.transaction(async (em) => {
      const res = (await em.query(
        `INSERT INTO exports (kind, format, params, full_values, full_reason, status, heartbeat_at, user_id, username, area_path)
         VALUES (?, ?, ?, ?, ?, 'running', NOW(3), ?, ?, ?)`,
        [req.kind, req.format, JSON.stringify(params), full ? 1 : 0, reason, p.userId, p.username, area?.path ?? null],
      )) as { insertId: number };
      const newId = String(res.insertId);
      await this.audit.record(em, actor, {
        action: 'export.requested',
        entityType: 'export',
        entityId: newId,
        areaId: area?.id ?? null,
        after: { kind: req.kind, format: req.format, params, fullValues: full, reason },
      });
      return newId;
    });
    // the answer is the manifest as accepted (running), whatever the generation has done by the time it is sent
    const accepted = await this.get(p, id);
    const job = this.generate(actor, id, req, area, full, params, prepared).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, job);
    return accepted;
  }

  /** The cashless coverage report of a month for an area (default: the caller's scope). */
  async coverageReport(p: Principal, q: { period: Period; areaId?: number | undefined }): Promise<CoverageReport> {
    return this.coverage.report(await resolveArea(this.ds, p, q.areaId), q.period);
  }

  /** A page of the people paid in cash; `reveal` (staff, auditors) shows full identifiers and is audited. */
  async cashRecipients(
    actor: Actor,
    p: Principal,
    q: { period: Period; areaId?: number | undefined; reveal: boolean },
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<CashRecipient>> {
    if (q.reveal && !hasRole(p, ...FULL_VALUE_ROLES)) throw forbidden('REVEAL_NOT_ALLOWED', 'your role may not see full identifiers');
    const area = await resolveArea(this.ds, p, q.areaId);
    const result = await this.coverage.cashRecipients(area, q.period, page, q.reveal);
    if (q.reveal) {
      await this.audit.recordAlone(actor, {
        action: 'coverage.reveal',
        entityType: 'coverage',
        areaId: area?.id ?? null,
        after: {
          period: formatPeriod(q.period),
          people: result.items.length,
          beneficiaryIds: result.items.map((i) => Number(i.beneficiaryId)),
        },
      });
    }
    return result;
  }

  /** Resolves when every export this process started has finished (tests, graceful shutdown). */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight.values()]);
  }

  private async slot(): Promise<void> {
    if (this.active < MAX_CONCURRENT) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active -= 1;
  }

  private sourceOf(req: ExportRequest, area: AreaRef | null, full: boolean): ExportSource {
    switch (req.kind) {
      case 'reconciliation': {
        // unknown-reference lines belong to no area: only whole-province readers see them
        const scope: RowScope = { areaPath: area?.path ?? null, includeUnplaced: area === null || area.depth === 0 };
        return reconciliationSource(this.ds, this.cipher, { from: req.from, to: req.to, providerId: req.providerId }, scope, full);
      }
      case 'audit_trail': {
        // as GET /audit-events: events of no area only for readers without an area limit who asked for no area
        const scope: RowScope = { areaPath: area?.path ?? null, includeUnplaced: area === null };
        return auditTrailSource(
          this.ds,
          { fromTime: vnDayStart(req.from), toTime: new Date(vnDayStart(req.to).getTime() + DAY_MS) },
          scope,
        );
      }
      case 'cash_recipients':
        return this.coverage.cashSource(area, req.period, full);
      case 'network_access':
        if (!this.extra) throw new AppError('unavailable', 'EXPORT_KIND_UNAVAILABLE', 'this process cannot write network_access exports');
        return this.extra.networkAccess(area, req.period);
      case 'sms_untold':
        // checked and built with the request, for its caller: see create
        throw new AppError('internal', 'EXPORT_SOURCE_MISSING', 'an sms_untold export is written from the source its request built');
    }
  }

  private fileNameOf(id: string, req: ExportRequest, area: AreaRef | null): string {
    const span =
      req.kind === 'sms_untold'
        ? `batch${req.batchId}${req.reason !== undefined ? `-${req.reason}` : ''}`
        : req.kind === 'cash_recipients' || req.kind === 'network_access'
          ? formatPeriod(req.period)
          : `${req.from}_${req.to}`;
    return `export-${id}-${req.kind.replace('_', '-')}-${span}${area ? `-${area.code}` : ''}.${req.format}`;
  }

  private async generate(
    actor: Actor,
    id: string,
    req: ExportRequest,
    area: AreaRef | null,
    full: boolean,
    params: Record<string, unknown>,
    prepared?: ExportSource,
  ): Promise<void> {
    let progress = 0;
    const beat = setInterval(() => {
      this.ds
        .query("UPDATE exports SET heartbeat_at = NOW(3), progress_rows = ? WHERE id = ? AND status = 'running'", [progress, id])
        .catch((err: unknown) => this.log.warn('export heartbeat failed', { exportId: id, err }));
    }, HEARTBEAT_MS);
    beat.unref();
    const fileName = this.fileNameOf(id, req, area);
    const finalPath = path.join(this.dir, fileName);
    const partPath = `${finalPath}.part`;
    let sink: TableSink | undefined;
    await this.slot();
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const source = prepared ?? this.sourceOf(req, area, full);
      sink = req.format === 'csv' ? new CsvSink(partPath, source.columns) : new XlsxSink(partPath, source.columns, source.sheet);
      for await (const batch of source.rows()) {
        for (const row of batch) {
          const wait = sink.row(row);
          if (wait) await wait;
        }
        progress += batch.length;
      }
      const t = source.totals();
      const [me] = (await this.ds.query('SELECT created_at FROM exports WHERE id = ?', [id])) as { created_at: Date }[];
      const checkpoint = JSON.stringify(await this.audit.checkpoint());
      const summary: [string, Cell][] = [
        ['export', id],
        ['kind', req.kind],
        ['params', JSON.stringify(params)],
        ['full values', full ? 'yes' : 'no (masked)'],
        ['reason for full values', full && (req.kind === 'reconciliation' || req.kind === 'cash_recipients') ? (req.reason ?? null) : null],
        ['exported by', actor.username],
        ['requested at', me?.created_at.toISOString() ?? null],
        ['rows', t.rowCount],
        ['total amount (đ)', t.totalAmount],
        ['totals', JSON.stringify(t.detail)],
        ['audit checkpoint', checkpoint],
      ];
      const { bytes, sha256 } = await sink.close(summary);
      sink = undefined;
      await rename(partPath, finalPath);
      const done = await this.ds.transaction(async (em) => {
        const res = (await em.query(
          `UPDATE exports SET status = 'done', progress_rows = ?, row_count = ?, total_amount = ?, totals = ?, bytes = ?, sha256 = ?,
             file_name = ?, audit_checkpoint = ?, finished_at = NOW(3), heartbeat_at = NOW(3) WHERE id = ? AND status = 'running'`,
          [t.rowCount, t.rowCount, t.totalAmount, JSON.stringify(t.detail), bytes, sha256, fileName, checkpoint, id],
        )) as { affectedRows: number };
        if (res.affectedRows !== 1) return false;
        await this.audit.record(em, actor, {
          action: 'export.created',
          entityType: 'export',
          entityId: id,
          areaId: area?.id ?? null,
          after: {
            kind: req.kind,
            format: req.format,
            fullValues: full,
            rows: t.rowCount,
            totalAmount: t.totalAmount,
            bytes,
            sha256,
          },
        });
        return true;
      });
      // reported interrupted meanwhile (a heartbeat lost for a minute): the manifest says failed, so no file either
      if (!done) await unlink(finalPath).catch(() => undefined);
    } catch (err) {
      sink?.abort();
      await unlink(partPath).catch(() => undefined);
      const message = err instanceof AppError ? err.message : 'the export failed; see the service log';
      this.log.error('export failed', { exportId: id, kind: req.kind, err });
      await this.ds
        .transaction(async (em) => {
          const res = (await em.query(
            "UPDATE exports SET status = 'failed', error = ?, progress_rows = ?, finished_at = NOW(3) WHERE id = ? AND status = 'running'",
            [message, progress, id],
          )) as { affectedRows: number };
          if (res.affectedRows === 1) {
            await this.audit.record(em, actor, {
              action: 'export.failed',
              entityType: 'export',
              entityId: id,
              areaId: area?.id ?? null,
              after: { kind: req.kind, rowsWritten: progress, error: message },
            });
          }
        })
        .catch((e: unknown) => this.log.error('recording a failed export failed', { exportId: id, err: e }));
    } finally {
      clearInterval(beat);
      this.release();
    }
  }

  private async row(id: string): Promise<ExportRow | undefined> {
    const [r] = (await this.ds.query(
      `SELECT ${SCHEMA_ROWS}, (status = 'running' AND heartbeat_at < NOW(3) - INTERVAL ${STALE_SECONDS} SECOND) AS stale FROM exports WHERE id = ?`,
      [id],
    )) as ExportRow[];
    if (r && Number(r.stale) === 1 && !this.inFlight.has(String(r.id))) {
      await this.markInterrupted([String(r.id)]);
      return this.row(id);
    }
    return r;
  }

  private async markInterrupted(ids: string[]): Promise<void> {
    await this.ds.query(
      `UPDATE exports SET status = 'failed', error = 'interrupted: the process writing it stopped; ask for the export again', finished_at = NOW(3)
       WHERE id IN (?) AND status = 'running' AND heartbeat_at < NOW(3) - INTERVAL ${STALE_SECONDS} SECOND`,
      [ids],
    );
  }

  /** Yours, or (for auditors and administrators) any export of data inside your scope. */
  private visible(p: Principal, r: ExportRow): boolean {
    return r.user_id === p.userId || (hasRole(p, ...AUDIT_EXPORT_ROLES) && inAreaScope(p, r.area_path));
  }

  async get(p: Principal, id: string): Promise<ExportManifest> {
    const r = await this.row(id);
    if (!r || !this.visible(p, r)) throw notFound('EXPORT_NOT_FOUND', `no export ${id} that you can see`);
    return manifestOf(r);
  }

  /** Your exports, newest first. */
  async list(p: Principal, page: { limit: number; cursor?: string | undefined }): Promise<Page<ExportManifest>> {
    await this.ds
      .query(
        `SELECT id FROM exports WHERE user_id = ? AND status = 'running' AND heartbeat_at < NOW(3) - INTERVAL ${STALE_SECONDS} SECOND`,
        [p.userId],
      )
      .then(async (rows: { id: string }[]) => {
        const stale = rows.map((r) => String(r.id)).filter((i) => !this.inFlight.has(i));
        if (stale.length) await this.markInterrupted(stale);
      });
    const cur = decodeCursor(page.cursor, 1);
    const ks = keysetWhere([{ expr: 'id', dir: 'DESC' }], cur);
    const rows = (await this.ds.query(`SELECT ${SCHEMA_ROWS} FROM exports WHERE user_id = ? AND ${ks.sql} ORDER BY id DESC LIMIT ?`, [
      p.userId,
      ...ks.params,
      page.limit + 1,
    ])) as ExportRow[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], manifestOf);
  }

  /**
   * The daily purge: files of exports finished more than EXPORT_RETENTION_DAYS ago are deleted (they hold personal
   * data, masked or not), their manifests marked expired; one audit event names them.
   */
  async purgeExpired(): Promise<{ expired: number }> {
    const rows = (await this.ds.query(
      "SELECT id, file_name FROM exports WHERE status = 'done' AND finished_at < NOW(3) - INTERVAL ? DAY ORDER BY id LIMIT 10000",
      [this.cfg.exportRetentionDays],
    )) as { id: string; file_name: string | null }[];
    if (!rows.length) return { expired: 0 };
    for (const r of rows) if (r.file_name) await rm(path.join(this.dir, r.file_name), { force: true });
    const ids = rows.map((r) => String(r.id));
    await this.ds.transaction(async (em) => {
      await em.query(`UPDATE exports SET status = 'expired' WHERE status = 'done' AND id IN (${marks(ids.length)})`, ids);
      await this.audit.record(em, SYSTEM_ACTOR, {
        action: 'export.expired',
        entityType: 'export',
        after: { ids: ids.join(' '), retentionDays: this.cfg.exportRetentionDays },
      });
    });
    return { expired: ids.length };
  }

  /** The finished file of your own export, for download; the download is audited. */
  async openFile(actor: Actor, p: Principal, id: string): Promise<{ manifest: ExportManifest; file: Readable }> {
    const r = await this.row(id);
    // someone else's export of data inside your scope is named as such; outside your scope it does not exist for you
    if (!r || (r.user_id !== p.userId && !inAreaScope(p, r.area_path)))
      throw notFound('EXPORT_NOT_FOUND', `no export ${id} that you can see`);
    if (r.user_id !== p.userId) throw forbidden('EXPORT_NOT_YOURS', 'only the person who made an export downloads its file');
    if (r.status === 'running') throw conflict('EXPORT_NOT_READY', 'the export is still being written; try again when its status is done');
    if (r.status === 'failed') throw conflict('EXPORT_FAILED', `the export failed: ${r.error ?? 'unknown reason'}`);
    if (r.status === 'expired') {
      throw conflict(
        'EXPORT_EXPIRED',
        `the file was deleted after ${this.cfg.exportRetentionDays} days, as every export's is; ask for the export again`,
      );
    }
    const file = path.join(this.dir, r.file_name!);
    const st = await stat(file).catch(() => null);
    if (!st) throw notFound('EXPORT_FILE_MISSING', 'the file of this export is no longer kept; ask for the export again');
    const m = manifestOf(r);
    await this.audit.recordAlone(actor, {
      action: 'export.downloaded',
      entityType: 'export',
      entityId: m.id,
      areaId: areaIdOfPath(r.area_path),
      after: { kind: m.kind, format: m.format, fullValues: m.fullValues, bytes: m.bytes, sha256: m.sha256 },
    });
    return { manifest: m, file: createReadStream(file) };
  }
}

export type { AreaRef };

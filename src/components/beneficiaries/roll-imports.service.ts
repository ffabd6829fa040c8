import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { invalid, notFound } from '../../platform/errors';
import { csvText } from '../../platform/export/cells';
import { decodeCursor, finishPage, keysetWhere, type KeyColumn, type Page } from '../../platform/http/pagination';
import type { ReceivedFile } from '../../platform/http/upload';
import { areaScopeSql, assertVisible, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import type { RollFormat } from './roll-import/file-reader';
import { PROBLEM_COLUMNS, PROBLEM_FROM, problemView, type ProblemRow, type ProblemView } from './roll-problems';

export type ImportStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface RollImportView {
  id: string;
  fileName: string;
  format: RollFormat;
  fileSha256: string;
  fileSize: number;
  /** queued: waiting for the worker; running: being read, checked or merged (see phase); completed; failed: nothing was imported */
  status: ImportStatus;
  phase: string | null;
  progress: { rowsRead: number; rowsValid: number; rowsInvalid: number };
  result: {
    beneficiariesCreated: number;
    enrolmentsCreated: number;
    enrolmentsUpdated: number;
    enrolmentsUnchanged: number;
    nameMismatches: number;
  };
  error: { code: string; message: string } | null;
  uploadedBy: number;
  scopeAreaId: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type { ProblemView };

interface Row {
  id: string;
  file_name: string;
  format: RollFormat;
  file_sha256: string;
  file_size: string;
  status: ImportStatus;
  phase: string | null;
  rows_read: number;
  rows_valid: number;
  rows_invalid: number;
  beneficiaries_created: number;
  enrolments_created: number;
  enrolments_updated: number;
  enrolments_unchanged: number;
  name_mismatches: number;
  error_code: string | null;
  error_message: string | null;
  uploaded_by: number;
  scope_area_id: number | null;
  scope_path: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function view(r: Row): RollImportView {
  return {
    id: String(r.id),
    fileName: r.file_name,
    format: r.format,
    fileSha256: r.file_sha256,
    fileSize: Number(r.file_size),
    status: r.status,
    phase: r.phase,
    progress: { rowsRead: r.rows_read, rowsValid: r.rows_valid, rowsInvalid: r.rows_invalid },
    result: {
      beneficiariesCreated: r.beneficiaries_created,
      enrolmentsCreated: r.enrolments_created,
      enrolmentsUpdated: r.enrolments_updated,
      enrolmentsUnchanged: r.enrolments_unchanged,
      nameMismatches: r.name_mismatches,
    },
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    uploadedBy: r.uploaded_by,
    scopeAreaId: r.scope_area_id,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

const PROBLEM_ORDER: KeyColumn[] = [
  { expr: 'pr.row_no', dir: 'ASC' },
  { expr: 'pr.id', dir: 'ASC' },
];

/** Which of an import's problems to list: by code (read from ix_problems_import_code), by column, or both. */
export interface ProblemFilter {
  code?: string | undefined;
  column?: string | undefined;
}

function problemFilter(f: ProblemFilter): { sql: string; params: string[] } {
  let sql = '';
  const params: string[] = [];
  if (f.code !== undefined) {
    sql += ' AND pr.code = ?';
    params.push(f.code);
  }
  if (f.column !== undefined) {
    sql += ' AND pr.column_name = ?';
    params.push(f.column);
  }
  return { sql, params };
}

const SELECT = 'SELECT i.*, sa.path AS scope_path FROM roll_imports i LEFT JOIN areas sa ON sa.id = i.scope_area_id';

/** Where the worker finds an uploaded file. */
export function importFilePath(dir: string, id: string, format: RollFormat): string {
  return path.join(dir, `roll-import-${id}.${format}`);
}

/** Uploads become imports that the worker runs; progress and problems are read here. */
export class RollImportsService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly dir: string,
    /** Queues the import for the worker (Bull job id derived from the import id: queued twice, run once). */
    private readonly enqueue: (importId: string) => Promise<void>,
  ) {}

  /** Records an uploaded file as a queued import of the uploader's scope, and queues it. */
  async create(p: Principal, actor: Actor, file: ReceivedFile): Promise<RollImportView> {
    const ext = path.extname(file.fileName).toLowerCase();
    const format: RollFormat | null = ext === '.csv' ? 'csv' : ext === '.xlsx' ? 'xlsx' : null;
    if (!format) {
      await rm(file.path, { force: true });
      throw invalid('UNSUPPORTED_FILE_TYPE', `file: "${file.fileName}" is neither .csv nor .xlsx`);
    }
    if (file.size === 0) {
      await rm(file.path, { force: true });
      throw invalid('EMPTY_FILE', 'file: the file is empty');
    }
    let id: string;
    let moved = '';
    try {
      id = await this.ds.transaction(async (em) => {
        const res = (await em.query(
          `INSERT INTO roll_imports (file_name, format, file_sha256, file_size, status, uploaded_by, scope_area_id, request_id)
           VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)`,
          [file.fileName, format, file.sha256, file.size, p.userId, p.areaId, actor.requestId],
        )) as { insertId: number };
        const newId = String(res.insertId);
        moved = importFilePath(this.dir, newId, format);
        await rename(file.path, moved);
        await this.audit.record(em, actor, {
          action: 'roll.import_uploaded',
          entityType: 'roll_import',
          entityId: newId,
          areaId: p.areaId,
          after: { format, size: file.size, sha256: file.sha256 },
        });
        return newId;
      });
    } catch (e) {
      // the insert is rolled back: the file, wherever it got to, goes too
      await rm(file.path, { force: true });
      if (moved) await rm(moved, { force: true });
      throw e;
    }
    // read before queueing: the worker may start at once, and the answer to the upload is the import as queued
    const queued = await this.get(p, id);
    await this.enqueue(id);
    return queued;
  }

  private async load(p: Principal, id: string): Promise<Row> {
    const [r] = (await this.ds.query(`${SELECT} WHERE i.id = ?`, [id])) as Row[];
    if (!r) throw notFound('IMPORT_NOT_FOUND', `no roll import ${id}`);
    assertVisible(p, r.scope_area_id === null ? null : r.scope_path, 'IMPORT_NOT_FOUND', `no roll import ${id}`);
    return r;
  }

  async get(p: Principal, id: string): Promise<RollImportView> {
    return view(await this.load(p, id));
  }

  async list(
    p: Principal,
    f: { status?: ImportStatus | undefined; mine?: boolean | undefined },
    page: { limit: number; cursor?: string | undefined },
  ) {
    const conds: string[] = [];
    const params: unknown[] = [];
    if (p.areaPath) {
      const s = areaScopeSql(p, 'i.scope_area_id');
      conds.push(s.sql);
      params.push(...s.params);
    }
    if (f.status) {
      conds.push('i.status = ?');
      params.push(f.status);
    }
    if (f.mine) {
      conds.push('i.uploaded_by = ?');
      params.push(p.userId);
    }
    const after = decodeCursor(page.cursor, 1);
    if (after) {
      conds.push('i.id < ?');
      params.push(after[0]);
    }
    const rows = (await this.ds.query(`${SELECT} WHERE ${conds.length ? conds.join(' AND ') : '1=1'} ORDER BY i.id DESC LIMIT ?`, [
      ...params,
      page.limit + 1,
    ])) as Row[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], view);
  }

  /** In row order, as the CSV download: problems found while reading and those found by the whole-file checks interleave. */
  async problems(
    p: Principal,
    id: string,
    page: { limit: number; cursor?: string | undefined } & ProblemFilter,
  ): Promise<Page<ProblemView>> {
    await this.load(p, id);
    const after = keysetWhere(PROBLEM_ORDER, decodeCursor(page.cursor, 2));
    const filter = problemFilter(page);
    const rows = (await this.ds.query(
      `SELECT pr.id, ${PROBLEM_COLUMNS} FROM ${PROBLEM_FROM} WHERE pr.import_id = ?${filter.sql} AND ${after.sql}
       ORDER BY pr.row_no, pr.id LIMIT ?`,
      [id, ...filter.params, ...after.params, page.limit + 1],
    )) as (ProblemRow & { id: string })[];
    return finishPage(
      rows,
      page.limit,
      (r) => [r.row_no, String(r.id)],
      (r) => problemView(p, r),
    );
  }

  /** Every problem in row order, streamed (for the CSV download). Caller releases. */
  /** Every problem of an import (or those the filter names) as CSV: row, column, code, message. The caller releases the connection. */
  async problemsCsv(p: Principal, id: string, filter: ProblemFilter = {}): Promise<{ csv: Readable; release: () => Promise<void> }> {
    const { rows, release } = await this.streamProblems(p, id, filter);
    const cells = (async function* () {
      for await (const r of rows) yield [r.row, r.column, r.code, r.message];
    })();
    return { csv: Readable.from(csvText(['row', 'column', 'code', 'message'], cells)), release };
  }

  async streamProblems(
    p: Principal,
    id: string,
    filter: ProblemFilter = {},
  ): Promise<{ rows: AsyncIterable<ProblemView>; release: () => Promise<void> }> {
    await this.load(p, id);
    const where = problemFilter(filter);
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const raw: Readable = await runner.stream(
        `SELECT ${PROBLEM_COLUMNS} FROM ${PROBLEM_FROM} WHERE pr.import_id = ?${where.sql} ORDER BY pr.row_no, pr.id`,
        [id, ...where.params],
      );
      async function* rows(): AsyncIterable<ProblemView> {
        for await (const r of raw as AsyncIterable<ProblemRow>) yield problemView(p, r);
      }
      return {
        rows: rows(),
        release: async () => {
          raw.destroy();
          await runner.release();
        },
      };
    } catch (e) {
      await runner.release();
      throw e;
    }
  }

  /** Imports that must (still) run: queued, or interrupted while running. The worker queues them again at start. */
  async pending(): Promise<{ id: string; format: RollFormat }[]> {
    const rows = (await this.ds.query("SELECT id, format FROM roll_imports WHERE status IN ('queued', 'running') ORDER BY id")) as {
      id: string;
      format: RollFormat;
    }[];
    return rows.map((r) => ({ id: String(r.id), format: r.format }));
  }

  /** What the worker needs to know before running an import: its format, and whether it is already final. */
  async stateOf(id: string): Promise<{ format: RollFormat; status: ImportStatus } | null> {
    const [r] = (await this.ds.query('SELECT format, status FROM roll_imports WHERE id = ?', [id])) as {
      format: RollFormat;
      status: ImportStatus;
    }[];
    return r ? { format: r.format, status: r.status } : null;
  }

  fileOf(id: string, format: RollFormat): string {
    return importFilePath(this.dir, id, format);
  }
}

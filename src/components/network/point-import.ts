import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { DataSource, EntityManager } from 'typeorm';
import { marks, rowMarks, withNamedLock } from '../../platform/db';
import { AppError, invalid, notFound, unavailable } from '../../platform/errors';
import { decodeCursor, finishPage, keysetWhere, type Page } from '../../platform/http/pagination';
import type { ReceivedFile } from '../../platform/http/upload';
import { areaScopeSql, assertVisible, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { fileError, headerNames, isBlank, readSheetFile, type SheetFormat } from '../beneficiaries';
import { checkRow, mapHeader, type AreaRef, type FilePoint, type FileColumn, type RowContext } from './point-file';
import { loadOperators } from './points.sql';

/** A province has thousands of points: a file past this is not a registry, and is refused before anything is written. */
export const MAX_FILE_ROWS = 50_000;
/** Rows per multi-row statement. */
const CHUNK = 500;
/** How long an import waits for another one to finish before it is refused (409, try again). */
const LOCK_WAIT_SECONDS = 60;

export interface PointImportView {
  id: string;
  fileName: string;
  format: SheetFormat;
  fileSha256: string;
  fileSize: number;
  /** completed: the valid rows are in the registry (problems listed); failed: the file could not be read, nothing written */
  status: 'completed' | 'failed';
  rowsRead: number;
  rowsValid: number;
  rowsInvalid: number;
  pointsCreated: number;
  pointsUpdated: number;
  pointsUnchanged: number;
  error: { code: string; message: string } | null;
  uploadedBy: number;
  scopeAreaId: number | null;
  createdAt: string;
}

interface ImportRow {
  id: string;
  file_name: string;
  format: SheetFormat;
  file_sha256: string;
  file_size: string;
  status: 'completed' | 'failed';
  rows_read: number;
  rows_valid: number;
  rows_invalid: number;
  points_created: number;
  points_updated: number;
  points_unchanged: number;
  error_code: string | null;
  error_message: string | null;
  uploaded_by: number;
  scope_area_id: number | null;
  scope_path: string | null;
  created_at: Date;
}

const view = (r: ImportRow): PointImportView => ({
  id: String(r.id),
  fileName: r.file_name,
  format: r.format,
  fileSha256: r.file_sha256,
  fileSize: Number(r.file_size),
  status: r.status,
  rowsRead: r.rows_read,
  rowsValid: r.rows_valid,
  rowsInvalid: r.rows_invalid,
  pointsCreated: r.points_created,
  pointsUpdated: r.points_updated,
  pointsUnchanged: r.points_unchanged,
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  uploadedBy: r.uploaded_by,
  scopeAreaId: r.scope_area_id,
  createdAt: r.created_at.toISOString(),
});

const SELECT = `SELECT i.*, sa.path AS scope_path FROM cash_out_point_imports i LEFT JOIN areas sa ON sa.id = i.scope_area_id`;

interface RowProblem {
  rowNo: number;
  column: string | null;
  code: string;
  message: string;
}

/** What reading and checking a file gave: the points of its valid rows and the problems of the others. */
interface Checked {
  read: number;
  points: FilePoint[];
  problems: RowProblem[];
  /** rows with at least one problem */
  invalid: number;
}

/** The stored columns a file may change, in the order of the INSERT below; equal when a re-import changes nothing. */
const WRITTEN = ['kind', 'name', 'area_id', 'address', 'latitude', 'longitude', 'opening_hours', 'active'] as const;

interface ExistingRow {
  id: number;
  operator_type: string;
  operator_code: string;
  point_code: string;
  kind: string;
  name: string;
  area_id: number;
  area_path: string;
  address: string;
  latitude: string | null;
  longitude: string | null;
  opening_hours: string | null;
  active: number;
}

const keyOf = (t: string, c: string, p: string) => `${t}\u0000${c}\u0000${p}`;

/**
 * Registry files of cash-out points, imported while the upload waits (a province's network is thousands of rows).
 * Every row is checked and each problem recorded with its row and column; the valid rows are upserted by the point's
 * natural key (operator, point code) in one transaction with the import's record, its problems and its audit event:
 * a failure part-way writes nothing. Imports run one at a time (a named lock), so two uploads of one file never
 * both create its points, and the second finds them unchanged.
 */
export class PointImports {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  private async context(p: Principal): Promise<RowContext> {
    const areas = new Map<string, AreaRef>();
    for (const a of (await this.ds.query('SELECT id, code, path, level FROM areas WHERE active = 1')) as (AreaRef & { code: string })[]) {
      areas.set(a.code, { id: a.id, path: a.path, level: a.level });
    }
    return { areas, operators: await loadOperators(this.ds, true), scopePath: p.areaPath };
  }

  /** Reads and checks the whole file; a file that cannot be read as a whole throws an `invalid` AppError. */
  private async check(file: string, format: SheetFormat, ctx: RowContext): Promise<Checked> {
    let index: Partial<Record<FileColumn, number>> | null = null;
    let width = 0;
    const out: Checked = { read: 0, points: [], problems: [], invalid: 0 };
    const seen = new Map<string, number>();
    for await (const rows of readSheetFile(file, format)) {
      for (const { rowNo, cells } of rows) {
        if (isBlank(cells, 0)) continue;
        if (!index) {
          const names = headerNames(cells);
          const mapped = mapHeader(names);
          if (mapped.problems.length) {
            throw new AppError('invalid', 'BAD_HEADER', mapped.problems.map((x) => x.message).join('; '), {
              problems: mapped.problems.map((x) => ({ rowNo, ...x })),
            });
          }
          index = mapped.index;
          width = names.length;
          continue;
        }
        out.read += 1;
        if (out.read > MAX_FILE_ROWS) {
          throw fileError(
            'TOO_MANY_ROWS',
            `the file has more than ${MAX_FILE_ROWS} rows; a registry file is one province's points at most`,
          );
        }
        const { point, problems } = checkRow(rowNo, cells, index, ctx);
        const found: RowProblem[] = problems.map((x) => ({ rowNo, ...x }));
        if (cells.length > width && !isBlank(cells, width)) {
          found.push({ rowNo, column: null, code: 'EXTRA_CELLS', message: 'the row has more cells than the header has columns' });
        }
        if (point && !found.length) {
          const key = keyOf(point.operatorType, point.operatorCode, point.pointCode);
          const first = seen.get(key);
          if (first !== undefined) {
            found.push({
              rowNo,
              column: 'point_code',
              code: 'DUPLICATE_POINT',
              message: `row ${first} already gives point ${point.pointCode} of ${point.operatorCode}; keep one row per point`,
            });
          } else seen.set(key, rowNo);
        }
        if (found.length) {
          out.invalid += 1;
          out.problems.push(...found);
        } else out.points.push(point!);
      }
    }
    if (!index) throw fileError('EMPTY_FILE', 'the file is empty: it needs a header row and at least one data row');
    if (out.read === 0) throw fileError('EMPTY_FILE', 'the file has a header but no data rows');
    return out;
  }

  /** The registry's rows for the file's points, locked until the transaction ends. */
  private async existing(em: EntityManager, points: FilePoint[]): Promise<Map<string, ExistingRow>> {
    const byOperator = new Map<string, FilePoint[]>();
    for (const pt of points) {
      const k = `${pt.operatorType}\u0000${pt.operatorCode}`;
      const list = byOperator.get(k) ?? [];
      list.push(pt);
      byOperator.set(k, list);
    }
    const found = new Map<string, ExistingRow>();
    for (const list of byOperator.values()) {
      for (let i = 0; i < list.length; i += CHUNK) {
        const part = list.slice(i, i + CHUNK);
        const rows = (await em.query(
          `SELECT cp.id, cp.operator_type, cp.operator_code, cp.point_code, cp.kind, cp.name, cp.area_id, a.path AS area_path, cp.address,
             cp.latitude, cp.longitude, cp.opening_hours, cp.active
           FROM cash_out_points cp JOIN areas a ON a.id = cp.area_id
           WHERE cp.operator_type = ? AND cp.operator_code = ? AND cp.point_code IN (${marks(part.length)}) FOR UPDATE`,
          [part[0]!.operatorType, part[0]!.operatorCode, ...part.map((x) => x.pointCode)],
        )) as ExistingRow[];
        for (const r of rows) found.set(keyOf(r.operator_type, r.operator_code, r.point_code), r);
      }
    }
    return found;
  }

  /** Uploads a registry file and imports it now; the answer is the import with its counts (problems: GET …/problems). */
  async create(p: Principal, actor: Actor, file: ReceivedFile): Promise<PointImportView> {
    try {
      const ext = path.extname(file.fileName).toLowerCase();
      const format: SheetFormat | null = ext === '.csv' ? 'csv' : ext === '.xlsx' ? 'xlsx' : null;
      if (!format) throw invalid('UNSUPPORTED_FILE_TYPE', `file: "${file.fileName}" is neither .csv nor .xlsx`, { path: 'file' });
      if (file.size === 0) throw invalid('EMPTY_FILE', 'file: the file is empty', { path: 'file' });
      const ctx = await this.context(p);
      let checked: Checked | null = null;
      let failure: AppError | null = null;
      try {
        checked = await this.check(file.path, format, ctx);
      } catch (e) {
        if (!(e instanceof AppError) || e.kind !== 'invalid') throw e;
        failure = e;
      }
      const id = await withNamedLock(
        this.ds,
        'cash-out-point-import',
        {
          waitSeconds: LOCK_WAIT_SECONDS,
          busy: () => unavailable('IMPORT_BUSY', 'another registry import is running; try again in a minute'),
        },
        () => this.ds.transaction((em) => this.write(em, p, actor, file, format, checked, failure)),
      );
      return this.get(p, id);
    } finally {
      await rm(file.path, { force: true });
    }
  }

  private async write(
    em: EntityManager,
    p: Principal,
    actor: Actor,
    file: ReceivedFile,
    format: SheetFormat,
    checked: Checked | null,
    failure: AppError | null,
  ): Promise<string> {
    const res = (await em.query(
      `INSERT INTO cash_out_point_imports (file_name, format, file_sha256, file_size, status, error_code, error_message, uploaded_by, scope_area_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        file.fileName,
        format,
        file.sha256,
        file.size,
        failure ? 'failed' : 'completed',
        failure?.code ?? null,
        failure ? failure.message.slice(0, 1000) : null,
        p.userId,
        p.areaId,
      ],
    )) as { insertId: number };
    const id = String(res.insertId);
    const problems: RowProblem[] = [];
    if (failure) {
      const header = (failure.details as { problems?: RowProblem[] } | undefined)?.problems;
      problems.push(...(header ?? [{ rowNo: 0, column: null, code: failure.code, message: failure.message }]));
    }
    const counts = { created: 0, updated: 0, unchanged: 0, valid: 0, invalid: checked?.invalid ?? 0 };
    const changedIds: number[] = [];
    if (checked) {
      problems.push(...checked.problems);
      const existing = await this.existing(em, checked.points);
      const writes: FilePoint[] = [];
      for (const pt of checked.points) {
        const old = existing.get(keyOf(pt.operatorType, pt.operatorCode, pt.pointCode));
        // a point kept in another area than the uploader's is not theirs to move or change
        if (old && p.areaPath && !old.area_path.startsWith(p.areaPath)) {
          counts.invalid += 1;
          problems.push({
            rowNo: pt.rowNo,
            column: 'point_code',
            code: 'POINT_OUT_OF_SCOPE',
            message: `point ${pt.pointCode} of ${pt.operatorCode} is registered in a commune outside your area`,
          });
          continue;
        }
        counts.valid += 1;
        if (!old) {
          counts.created += 1;
          writes.push(pt);
        } else if (changed(old, pt)) {
          counts.updated += 1;
          changedIds.push(old.id);
          writes.push(pt);
        } else counts.unchanged += 1;
      }
      for (let i = 0; i < writes.length; i += CHUNK) {
        const part = writes.slice(i, i + CHUNK);
        // the unique key decides: a point registered meanwhile by hand is updated, never held twice
        await em.query(
          `INSERT INTO cash_out_points (kind, operator_type, operator_code, point_code, name, area_id, address, latitude, longitude,
             opening_hours, active, import_id, created_by, updated_by)
           VALUES ${rowMarks(part.length, 14)}
           ON DUPLICATE KEY UPDATE ${WRITTEN.map((c) => `${c} = VALUES(${c})`).join(', ')}, import_id = VALUES(import_id), updated_by = VALUES(updated_by)`,
          part.flatMap((x) => [
            x.kind,
            x.operatorType,
            x.operatorCode,
            x.pointCode,
            x.name,
            x.areaId,
            x.address,
            x.latitude,
            x.longitude,
            x.openingHours,
            x.active,
            id,
            actor.userId,
            actor.userId,
          ]),
        );
      }
    }
    for (let i = 0; i < problems.length; i += CHUNK) {
      const part = problems.slice(i, i + CHUNK);
      await em.query(
        `INSERT INTO cash_out_point_import_problems (import_id, row_no, column_name, code, message) VALUES ${rowMarks(part.length, 5)}`,
        part.flatMap((x) => [id, x.rowNo, x.column?.slice(0, 64) ?? null, x.code, x.message.slice(0, 500)]),
      );
    }
    await em.query(
      `UPDATE cash_out_point_imports SET rows_read = ?, rows_valid = ?, rows_invalid = ?, points_created = ?, points_updated = ?,
         points_unchanged = ? WHERE id = ?`,
      [checked?.read ?? 0, counts.valid, counts.invalid, counts.created, counts.updated, counts.unchanged, id],
    );
    await this.audit.record(em, actor, {
      action: failure ? 'cash_out_point.import_failed' : 'cash_out_point.import',
      entityType: 'cash_out_point_import',
      entityId: id,
      areaId: p.areaId,
      after: {
        format,
        size: file.size,
        sha256: file.sha256,
        rowsRead: checked?.read ?? 0,
        rowsValid: counts.valid,
        rowsInvalid: counts.invalid,
        created: counts.created,
        updated: counts.updated,
        unchanged: counts.unchanged,
        updatedPointIds: changedIds.join(' '),
        error: failure?.code ?? null,
      },
    });
    return id;
  }

  private async load(p: Principal, id: string): Promise<ImportRow> {
    const [r] = (await this.ds.query(`${SELECT} WHERE i.id = ?`, [id])) as ImportRow[];
    if (!r) throw notFound('IMPORT_NOT_FOUND', `no registry import ${id}`);
    assertVisible(p, r.scope_area_id === null ? null : r.scope_path, 'IMPORT_NOT_FOUND', `no registry import ${id}`);
    return r;
  }

  async get(p: Principal, id: string): Promise<PointImportView> {
    return view(await this.load(p, id));
  }

  /** Imports of the caller's scope, newest first. */
  async list(p: Principal, page: { limit: number; cursor?: string | undefined }): Promise<Page<PointImportView>> {
    const scope = areaScopeSql(p, 'i.scope_area_id');
    const after = keysetWhere([{ expr: 'i.id', dir: 'DESC' }], decodeCursor(page.cursor, 1));
    const rows = (await this.ds.query(`${SELECT} WHERE ${scope.sql} AND ${after.sql} ORDER BY i.id DESC LIMIT ?`, [
      ...scope.params,
      ...after.params,
      page.limit + 1,
    ])) as ImportRow[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], view);
  }

  /** An import's problems in row order. */
  async problems(
    p: Principal,
    id: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<{ row: number; column: string | null; code: string; message: string }>> {
    await this.load(p, id);
    const after = keysetWhere(
      [
        { expr: 'row_no', dir: 'ASC' },
        { expr: 'id', dir: 'ASC' },
      ],
      decodeCursor(page.cursor, 2),
    );
    const rows = (await this.ds.query(
      `SELECT id, row_no, column_name, code, message FROM cash_out_point_import_problems WHERE import_id = ? AND ${after.sql}
       ORDER BY row_no, id LIMIT ?`,
      [id, ...after.params, page.limit + 1],
    )) as { id: string; row_no: number; column_name: string | null; code: string; message: string }[];
    return finishPage(
      rows,
      page.limit,
      (r) => [r.row_no, String(r.id)],
      (r) => ({ row: r.row_no, column: r.column_name, code: r.code, message: r.message }),
    );
  }
}

function changed(old: ExistingRow, pt: FilePoint): boolean {
  return (
    old.kind !== pt.kind ||
    old.name !== pt.name ||
    old.area_id !== pt.areaId ||
    old.address !== pt.address ||
    old.latitude !== pt.latitude ||
    old.longitude !== pt.longitude ||
    old.opening_hours !== pt.openingHours ||
    old.active !== pt.active
  );
}

import type { Period } from '../../platform/period';
import type { Checkpoint } from '../audit';

/**
 * What an export is: its kinds, formats and states, the request it was made from, and its manifest (the row as the API
 * shows it: who, what, when, how many, the file's size and SHA-256, the audit chain's checkpoint).
 */

export type ExportKind = 'reconciliation' | 'audit_trail' | 'cash_recipients' | 'network_access' | 'sms_untold';
export type ExportFormat = 'csv' | 'xlsx';
/** running: being written (or waiting for a free slot); done: the file and its manifest are final; failed: no file. */
/** `expired`: done, its file deleted after EXPORT_RETENTION_DAYS (the manifest stays). */
export type ExportStatus = 'running' | 'done' | 'failed' | 'expired';

/** Roles that may export reconciliation logs and the audit trail. */
export const AUDIT_EXPORT_ROLES = ['auditor', 'admin'] as const;
/** Roles that may export who in a batch could not be told by SMS: those that read the list (not administrators). */
export const SMS_UNTOLD_ROLES = ['staff', 'approver', 'auditor'] as const;
/** Roles that may ask for full identifiers: the same as those that may reveal them on the roll (beneficiaries' REVEAL_ROLES). */
export const FULL_VALUE_ROLES = ['staff', 'auditor'] as const;
/** Longest period one export covers. */
export const MAX_EXPORT_DAYS = 366;
export type ExportRequest =
  | {
      kind: 'reconciliation';
      format: ExportFormat;
      from: string;
      to: string;
      providerId?: number | undefined;
      areaId?: number | undefined;
      full: boolean;
      reason?: string | undefined;
    }
  | { kind: 'audit_trail'; format: ExportFormat; from: string; to: string; areaId?: number | undefined }
  | {
      kind: 'cash_recipients';
      format: ExportFormat;
      period: Period;
      areaId?: number | undefined;
      full: boolean;
      reason?: string | undefined;
    }
  | { kind: 'network_access'; format: ExportFormat; period: Period; areaId?: number | undefined }
  | {
      kind: 'sms_untold';
      format: ExportFormat;
      batchId: string;
      /** the reason code the list is narrowed to (not a reason for full values: this list has no identifiers) */
      reason?: string | undefined;
      areaId?: number | undefined;
    };

/** Monthly kinds: their file and parameters name a month, not a span of days. */
export const MONTHLY_KINDS: readonly ExportKind[] = ['cash_recipients', 'network_access'];

export interface ExportManifest {
  id: string;
  kind: ExportKind;
  format: ExportFormat;
  status: ExportStatus;
  params: Record<string, unknown>;
  fullValues: boolean;
  /** why the identifiers were asked for in full (null when masked) */
  reason: string | null;
  progressRows: number;
  rowCount: number | null;
  totalAmount: number | null;
  totals: Record<string, unknown> | null;
  bytes: number | null;
  sha256: string | null;
  fileName: string | null;
  error: string | null;
  exportedBy: { userId: number; username: string };
  areaPath: string | null;
  createdAt: string;
  finishedAt: string | null;
  auditCheckpoint: Checkpoint | null;
}

export interface ExportRow {
  id: string;
  kind: ExportKind;
  format: ExportFormat;
  /** JSON: a string, or already parsed by the driver (MySQL's JSON type) */
  params: string | Record<string, unknown>;
  full_values: number;
  full_reason: string | null;
  status: ExportStatus;
  progress_rows: number;
  row_count: number | null;
  total_amount: string | null;
  totals: string | Record<string, unknown> | null;
  bytes: string | null;
  sha256: string | null;
  file_name: string | null;
  error: string | null;
  user_id: number;
  username: string;
  area_path: string | null;
  created_at: Date;
  finished_at: Date | null;
  audit_checkpoint: string | null;
  stale?: number;
}

function json(v: string | Record<string, unknown> | null): Record<string, unknown> | null {
  return typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : v;
}

export function manifestOf(r: ExportRow): ExportManifest {
  return {
    id: String(r.id),
    kind: r.kind,
    format: r.format,
    status: r.status,
    params: json(r.params)!,
    fullValues: r.full_values === 1,
    reason: r.full_reason,
    progressRows: Number(r.progress_rows),
    rowCount: r.row_count === null ? null : Number(r.row_count),
    totalAmount: r.total_amount === null ? null : Number(r.total_amount),
    totals: json(r.totals),
    bytes: r.bytes === null ? null : Number(r.bytes),
    sha256: r.sha256,
    fileName: r.file_name,
    error: r.error,
    exportedBy: { userId: r.user_id, username: r.username },
    areaPath: r.area_path,
    createdAt: r.created_at.toISOString(),
    finishedAt: r.finished_at ? r.finished_at.toISOString() : null,
    auditCheckpoint: r.audit_checkpoint ? (JSON.parse(r.audit_checkpoint) as Checkpoint) : null,
  };
}

/** `/1/4/17/` → 17: the area an export covers, for the audit events about it. */
export function areaIdOfPath(p: string | null): number | null {
  const m = p ? /(\d+)\/$/.exec(p) : null;
  return m ? Number(m[1]) : null;
}

export const SCHEMA_ROWS =
  'id, kind, format, params, full_values, full_reason, status, progress_rows, row_count, total_amount, totals, bytes, sha256, file_name, error, user_id, username, area_path, created_at, finished_at, audit_checkpoint';

import type { PaymentStatus } from '../payments/payment-states';
import type { ProviderKind } from '../providers';
import type { TransferStatus } from '../providers/provider.port';
import { day, iso } from './business-date';
import { CATEGORIES, type Category, type LineCategory } from './matcher';
import type { ExceptionStatus, NoteKind, Resolution, RunStatus, StatementSource, StatementStatus, SystemResolution } from './recon-states';

// Rows as the driver returns them: BIGINT columns and sums as strings, INT as numbers, DATE and DATETIME as Dates.

/** A `statements` row with its provider's name and its run's id (null before the match). */
export interface StatementRow {
  id: string;
  provider_id: number;
  provider_name: string;
  business_date: Date;
  source: StatementSource;
  sha256: string;
  file_name: string | null;
  line_count: number;
  total_amount: string;
  status: StatementStatus;
  /** JSON: text on MariaDB, parsed on MySQL */
  problems: string | object | null;
  superseded_by: string | null;
  received_by: number | null;
  received_by_name: string;
  received_at: Date;
  run_id?: string | null;
}

/** A statement as the worker reads it before processing: with its provider's kind. */
export interface StatementToProcess extends StatementRow {
  provider_kind: ProviderKind;
}

type CategoryCounts = { [C in Category as `${C}_count`]: number } & { [C in Category as `${C}_amount`]: string };

/** A `recon_runs` row with its provider's name: count and amount per category in columns of their own. */
export interface RunRow extends CategoryCounts {
  id: string;
  provider_id: number;
  provider_name: string;
  business_date: Date;
  statement_id: string;
  status: RunStatus;
  superseded_by: string | null;
  line_count: number;
  settled_count: number;
  error: string | null;
  started_by: number | null;
  started_by_name: string;
  started_at: Date;
  finished_at: Date | null;
}

/** A `statement_lines` row with the area of its payment (null for a line of no payment of ours). */
export interface LineRow {
  statement_id: string;
  batch_id: string;
  seq: string;
  line_no: number;
  reference: string;
  transfer_id: string | null;
  status: TransferStatus;
  amount: string | null;
  currency: string | null;
  failure_code: string | null;
  occurred_at: string;
  category: LineCategory;
  service_status: PaymentStatus | null;
  service_amount: string | null;
  settled: number;
  area_id: number | null;
}

/** A `recon_exceptions` row with its provider's name. Batch and seq are 0 for a line of no payment of ours; line_no 0 for a missing payment. */
export interface ExceptionRow {
  id: string;
  run_id: string;
  provider_id: number;
  provider_name: string;
  business_date: Date;
  category: Category;
  reference: string;
  batch_id: string;
  seq: string;
  line_no: number;
  area_id: number | null;
  area_path: string | null;
  statement_status: TransferStatus | null;
  statement_amount: string | null;
  service_status: PaymentStatus | null;
  service_amount: string | null;
  status: ExceptionStatus;
  version: number;
  assigned_to: number | null;
  assigned_at: Date | null;
  resolution: Resolution | SystemResolution | null;
  resolution_note: string | null;
  resolution_batch_id: string | null;
  proposed_by: number | null;
  proposed_at: Date | null;
  resolved_by: number | null;
  resolved_by_name: string | null;
  resolved_at: Date | null;
  created_at: Date;
}

/** A `recon_exception_notes` row. */
export interface NoteRow {
  id: string;
  exception_id: string;
  kind: NoteKind;
  body: string | null;
  user_id: number | null;
  username: string;
  created_at: Date;
}

export interface StatementView {
  id: string;
  provider: { id: number; name: string };
  businessDate: string;
  source: StatementSource;
  sha256: string;
  fileName: string | null;
  lineCount: number;
  totalAmount: number;
  status: StatementStatus;
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
  status: RunStatus;
  supersededBy: string | null;
  lineCount: number;
  totals: Record<Category, { count: number; amount: number }>;
  settled: number;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export interface LineView {
  lineNo: number;
  reference: string;
  transferId: string | null;
  status: TransferStatus;
  amount: number | null;
  currency: string | null;
  failureCode: string | null;
  occurredAt: string;
  category: LineCategory;
  settled: boolean;
  service: { status: PaymentStatus | null; amount: number | null };
  batchId: string | null;
  areaId: number | null;
}

export interface ExceptionView {
  id: string;
  runId: string;
  provider: { id: number; name: string };
  businessDate: string;
  category: Category;
  reference: string;
  batchId: string | null;
  lineNo: number | null;
  areaId: number | null;
  statement: { status: TransferStatus | null; amount: number | null };
  service: { status: PaymentStatus | null; amount: number | null };
  status: ExceptionStatus;
  version: number;
  assignedTo: number | null;
  resolution: Resolution | SystemResolution | null;
  resolutionNote: string | null;
  resolutionBatchId: string | null;
  proposedBy: number | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  createdAt: string;
}

export interface NoteView {
  id: string;
  kind: NoteKind;
  body: string | null;
  userId: number | null;
  username: string;
  createdAt: string;
}

/** Where a batch's money stands, and its open exceptions by category. */
export interface BatchReconView {
  batchId: string;
  status: string;
  approved: { count: number; amount: number };
  paid: { count: number; amount: number };
  failed: { count: number; amount: number };
  returned: { count: number; amount: number };
  unresolved: { count: number; amount: number };
  openExceptions: { category: Category; count: number; amount: number }[];
}

const num = (v: string | number | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

export function statementView(r: StatementRow): StatementView {
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
    problems: r.problems ? (typeof r.problems === 'string' ? (JSON.parse(r.problems) as unknown) : r.problems) : null,
    supersededBy: r.superseded_by === null ? null : String(r.superseded_by),
    receivedBy: r.received_by_name,
    receivedAt: iso(r.received_at)!,
    runId: r.run_id === null || r.run_id === undefined ? null : String(r.run_id),
  };
}

export function runView(r: RunRow): RunView {
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

export function lineView(r: LineRow): LineView {
  return {
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
  };
}

export function exceptionView(r: ExceptionRow): ExceptionView {
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

export function noteView(n: NoteRow): NoteView {
  return {
    id: String(n.id),
    kind: n.kind,
    body: n.body,
    userId: n.user_id,
    username: n.username,
    createdAt: iso(n.created_at)!,
  };
}

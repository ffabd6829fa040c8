import { formatCoefficient } from '../../platform/money';
import { formatPeriod } from '../../platform/period';
import type { BatchStatus } from './batch-states';

export type BatchKind = 'regular' | 'arrears';
export type ItemReview = 'included' | 'held' | 'excluded';
export type LookupStatus = 'ACTIVE' | 'CLOSED' | 'NOT_FOUND' | 'NOT_OFFERED' | 'ERROR';

const VN_OFFSET_MS = 7 * 3600 * 1000;

/** ISO 8601 in Asia/Ho_Chi_Minh (+07:00, no daylight saving), milliseconds kept. */
export function vnTime(d: Date | null): string | null {
  if (!d) return null;
  return `${new Date(d.getTime() + VN_OFFSET_MS).toISOString().slice(0, 23)}+07:00`;
}

export interface BatchRow {
  id: string;
  reference_prefix: string;
  kind: BatchKind;
  programme_id: number;
  programme_code: string;
  programme_name: string;
  period_from: number;
  period_to: number;
  area_id: number;
  area_code: string;
  area_name: string;
  area_path: string;
  title: string | null;
  status: BatchStatus;
  status_reason: string | null;
  version: number;
  item_count: number;
  total_amount: string;
  held_count: number;
  excluded_count: number;
  flagged_count: number;
  left_out_count: number;
  check_status: string;
  check_detail: string | null;
  check_checked: number | null;
  check_failed: number | null;
  check_first_error: string | null;
  scheduled_for: Date | null;
  funds_hold_reason: string | null;
  funds_checked_at: Date | null;
  created_by: number;
  created_by_name: string | null;
  submitted_by: number | null;
  submitted_by_name: string | null;
  approved_by: number | null;
  approved_by_name: string | null;
  scheduled_by: number | null;
  retry_of: string | null;
  created_at: Date;
  submitted_at: Date | null;
  approved_at: Date | null;
  released_at: Date | null;
  completed_at: Date | null;
}

export const BATCH_SELECT = `SELECT bt.*, pr.code AS programme_code, pr.name AS programme_name,
    ar.code AS area_code, ar.name AS area_name,
    uc.username AS created_by_name, us.username AS submitted_by_name, ua.username AS approved_by_name
  FROM batches bt
  JOIN programmes pr ON pr.id = bt.programme_id
  JOIN areas ar ON ar.id = bt.area_id
  LEFT JOIN users uc ON uc.id = bt.created_by
  LEFT JOIN users us ON us.id = bt.submitted_by
  LEFT JOIN users ua ON ua.id = bt.approved_by`;

export interface BatchView {
  id: string;
  referencePrefix: string;
  kind: BatchKind;
  programmeId: number;
  programmeCode: string;
  programmeName: string;
  period: string;
  periodTo: string;
  areaId: number;
  areaCode: string;
  areaName: string;
  title: string | null;
  status: BatchStatus;
  statusReason: string | null;
  version: number;
  itemCount: number;
  totalAmount: number;
  heldCount: number;
  excludedCount: number;
  flaggedCount: number;
  leftOutCount: number;
  accountCheck: { status: string; detail: string | null; checked: number | null; failed: number | null; firstError: string | null };
  scheduledFor: string | null;
  fundsHold: { reason: string; checkedAt: string | null } | null;
  createdBy: string | null;
  submittedBy: string | null;
  approvedBy: string | null;
  /** the batch whose failed payments this one pays again */
  retryOf: string | null;
  createdAt: string;
  submittedAt: string | null;
  approvedAt: string | null;
  releasedAt: string | null;
  completedAt: string | null;
}

export function toBatchView(r: BatchRow): BatchView {
  return {
    id: String(r.id),
    referencePrefix: r.reference_prefix,
    kind: r.kind,
    programmeId: r.programme_id,
    programmeCode: r.programme_code,
    programmeName: r.programme_name,
    period: formatPeriod(r.period_from),
    periodTo: formatPeriod(r.period_to),
    areaId: r.area_id,
    areaCode: r.area_code,
    areaName: r.area_name,
    title: r.title,
    status: r.status,
    statusReason: r.status_reason,
    version: r.version,
    itemCount: r.item_count,
    totalAmount: Number(r.total_amount),
    heldCount: r.held_count,
    excludedCount: r.excluded_count,
    flaggedCount: r.flagged_count,
    leftOutCount: r.left_out_count,
    accountCheck: {
      status: r.check_status,
      detail: r.check_detail,
      checked: r.check_checked === null ? null : Number(r.check_checked),
      failed: r.check_failed === null ? null : Number(r.check_failed),
      firstError: r.check_first_error,
    },
    scheduledFor: vnTime(r.scheduled_for),
    fundsHold: r.funds_hold_reason ? { reason: r.funds_hold_reason, checkedAt: vnTime(r.funds_checked_at) } : null,
    createdBy: r.created_by_name,
    submittedBy: r.submitted_by_name,
    approvedBy: r.approved_by_name,
    retryOf: r.retry_of === null ? null : String(r.retry_of),
    createdAt: r.created_at.toISOString(),
    submittedAt: r.submitted_at?.toISOString() ?? null,
    approvedAt: r.approved_at?.toISOString() ?? null,
    releasedAt: r.released_at?.toISOString() ?? null,
    completedAt: r.completed_at?.toISOString() ?? null,
  };
}

export interface ItemRow {
  /** BIGINT: a string from the driver */
  seq: string;
  reference: string;
  kind: BatchKind;
  beneficiary_id: string;
  enrolment_id: string;
  period: number;
  amount: string;
  base_level: string;
  coefficient_x100: number;
  paid_before: string;
  area_id: number;
  area_code: string;
  area_name: string;
  full_name: string;
  channel: string;
  bank_bin: string | null;
  wallet_provider: string | null;
  account_masked: string | null;
  wallet_masked: string | null;
  account_name: string | null;
  review: ItemReview;
  review_reason: string | null;
  name_mismatch: number;
  lookup_status: LookupStatus | null;
  lookup_name: string | null;
  flagged: number;
  status: string;
}

export const ITEM_COLUMNS = `p.seq, p.reference, p.kind, p.beneficiary_id, p.enrolment_id, p.period, p.amount, p.base_level,
  p.coefficient_x100, p.paid_before, p.area_id, ia.code AS area_code, ia.name AS area_name, p.full_name, p.channel, p.bank_bin,
  p.wallet_provider, p.account_masked, p.wallet_masked, p.account_name, p.review, p.review_reason, p.name_mismatch, p.lookup_status,
  p.lookup_name, p.flagged, p.status`;

export interface ItemView {
  /** the item's number in its batch, in area order; items are named by it */
  seq: number;
  reference: string;
  kind: BatchKind;
  beneficiaryId: string;
  enrolmentId: string;
  period: string;
  amount: number;
  baseLevel: number;
  coefficient: string;
  paidBefore: number;
  areaId: number;
  areaCode: string;
  areaName: string;
  fullName: string;
  channel: string;
  bankCode: string | null;
  walletProvider: string | null;
  /** masked: `0012******89` */
  destination: string | null;
  accountName: string | null;
  review: ItemReview;
  reviewReason: string | null;
  nameMismatch: boolean;
  lookupStatus: LookupStatus | null;
  lookupName: string | null;
  flagged: boolean;
  status: string;
}

export function toItemView(r: ItemRow): ItemView {
  return {
    seq: Number(r.seq),
    reference: r.reference,
    kind: r.kind,
    beneficiaryId: String(r.beneficiary_id),
    enrolmentId: String(r.enrolment_id),
    period: formatPeriod(r.period),
    amount: Number(r.amount),
    baseLevel: Number(r.base_level),
    coefficient: formatCoefficient(r.coefficient_x100),
    paidBefore: Number(r.paid_before),
    areaId: r.area_id,
    areaCode: r.area_code,
    areaName: r.area_name,
    fullName: r.full_name,
    channel: r.channel,
    bankCode: r.bank_bin,
    walletProvider: r.wallet_provider,
    destination: r.account_masked ?? r.wallet_masked,
    accountName: r.account_name,
    review: r.review,
    reviewReason: r.review_reason,
    nameMismatch: r.name_mismatch === 1,
    lookupStatus: r.lookup_status,
    lookupName: r.lookup_name,
    flagged: r.flagged === 1,
    status: r.status,
  };
}

import { z } from 'zod';
import { areaQuery, boolQuery, plainText, stepUpCode } from '../../platform/http/schemas';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { parsePeriod } from '../../platform/period';
import { LEFT_OUT_REASONS } from './batch-generation';
import { BATCH_STATUSES } from './batch-states';
import { MAX_REVIEW_ITEMS } from './batch-review';

/** `YYYY-MM` in, INT yyyymm out. */
const period = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
  .transform((v, ctx) => {
    const p = parsePeriod(v);
    if (p === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a month as YYYY-MM from 1900 on' });
      return z.NEVER;
    }
    return p;
  });

const kind = z.enum(['regular', 'arrears']);
const channel = z.enum(['BANK', 'WALLET', 'CASH']);
const review = z.enum(['included', 'held', 'excluded']);

/**
 * A moment in Asia/Ho_Chi_Minh: ISO 8601 with an offset (`2026-12-01T08:00:00+07:00`, `…Z`) or
 * without one (`2026-12-01T08:00`), which is read as Vietnam time (UTC+7, no daylight saving).
 */
const vnDateTime = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/,
    'must be a date and time like 2026-12-01T08:00 (Vietnam time) or with an offset',
  )
  .transform((v, ctx) => {
    const withZone = /(Z|[+-]\d{2}:\d{2})$/.test(v) ? v : `${v}+07:00`;
    const d = new Date(withZone);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'is not a real date and time' });
      return z.NEVER;
    }
    return d;
  });

export const createBatchBody = z
  .strictObject({
    programmeId: z.number().int().positive(),
    kind: kind.default('regular').describe('regular: the monthly payment; arrears: the difference owed for months already paid'),
    period: period.describe('YYYY-MM: the month paid (arrears: the first month of the range)'),
    periodTo: period.optional().describe('Arrears only: the last month of the range (default: period)'),
    areaId: z.number().int().positive().describe('Root of the area subtree the batch pays; must be inside your scope'),
    title: plainText(200).nullable().optional(),
  })
  .meta({ id: 'NewBatch' });

export const batchSchema = z
  .object({
    id: z.string(),
    referencePrefix: z.string().describe('Every payment reference of the batch starts with it'),
    kind,
    programmeId: z.number().int(),
    programmeCode: z.string(),
    programmeName: z.string(),
    period: z.string().describe('YYYY-MM'),
    periodTo: z.string().describe('YYYY-MM; equals period for a regular batch'),
    areaId: z.number().int(),
    areaCode: z.string(),
    areaName: z.string(),
    title: z.string().nullable(),
    status: z.enum(BATCH_STATUSES),
    statusReason: z.string().nullable().describe('Why it is in this status (rejection reason, cancellation reason, schedule)'),
    version: z.number().int().describe('Grows with every change of the items; an approval may carry it'),
    itemCount: z.number().int().describe('Payments the batch will make (held and excluded items not counted)'),
    totalAmount: z.number().int().describe('Whole đồng of those payments'),
    heldCount: z.number().int(),
    excludedCount: z.number().int(),
    flaggedCount: z.number().int().describe('Items to review: name mismatch, account closed or not found'),
    leftOutCount: z.number().int().describe('Enrolments the generation left out, with a reason (see /left-out)'),
    accountCheck: z.object({
      status: z.enum(['pending', 'running', 'done', 'not_offered', 'failed']),
      detail: z.string().nullable().describe('A summary in English; the counts below give the same as numbers'),
      checked: z.number().int().nullable().describe('Accounts looked up by the last check (0 while it starts); null before any'),
      failed: z.number().int().nullable().describe('Of them, lookups that failed (the check should be run again); null before any'),
      firstError: z.string().nullable().describe('The first failed lookup’s error, as the provider gave it; null when none failed'),
    }),
    scheduledFor: z.string().nullable().describe('ISO 8601, Vietnam time'),
    fundsHold: z
      .object({ reason: z.string(), checkedAt: z.string().nullable() })
      .nullable()
      .describe('Set while the release waits for funds'),
    createdBy: z.string().nullable(),
    submittedBy: z.string().nullable(),
    approvedBy: z.string().nullable(),
    retryOf: z.string().nullable().describe('The batch whose failed payments this one pays again'),
    createdAt: z.string(),
    submittedAt: z.string().nullable(),
    approvedAt: z.string().nullable(),
    releasedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
  })
  .meta({ id: 'Batch' });

const totalsSchema = z.object({ count: z.number().int(), itemCount: z.number().int(), totalAmount: z.number().int() });
export const batchPage = pageOf(batchSchema)
  .extend({ totals: totalsSchema.describe('Over every batch matching the filter, not only this page') })
  .meta({ id: 'BatchPage' });

export const listBatchesQuery = z.object({
  ...pageQuery,
  status: z.enum(BATCH_STATUSES).optional(),
  programmeId: z.coerce.number().int().positive().optional(),
  period: period.optional().describe('Batches paying this month'),
  kind: kind.optional(),
  areaId: areaQuery('Batches of this area or below'),
});

export const itemSchema = z
  .object({
    seq: z.number().int().describe('The item number in its batch (area order); review names items by it'),
    reference: z.string().describe("Unique for ever; the provider's idempotency key"),
    kind,
    beneficiaryId: z.string(),
    enrolmentId: z.string(),
    period: z.string(),
    amount: z.number().int().describe('Whole đồng'),
    baseLevel: z.number().int(),
    coefficient: z.string(),
    paidBefore: z.number().int().describe('Arrears: what the month had already been paid'),
    areaId: z.number().int(),
    areaCode: z.string(),
    areaName: z.string(),
    fullName: z.string(),
    channel,
    bankCode: z.string().nullable(),
    walletProvider: z.string().nullable(),
    destination: z.string().nullable().describe('Account number or wallet id, masked'),
    accountName: z.string().nullable(),
    review,
    reviewReason: z.string().nullable(),
    nameMismatch: z.boolean(),
    lookupStatus: z.enum(['ACTIVE', 'CLOSED', 'NOT_FOUND', 'NOT_OFFERED', 'ERROR']).nullable(),
    lookupName: z.string().nullable().describe('The holder name the provider gave'),
    flagged: z.boolean(),
    status: z.string(),
  })
  .meta({ id: 'BatchItem' });

export const itemPage = pageOf(itemSchema).meta({ id: 'BatchItemPage' });

export const itemFilterQuery = {
  review: review.optional(),
  channel: channel.optional(),
  bankCode: z
    .string()
    .regex(/^\d{6}$/)
    .optional(),
  walletProvider: z.string().max(20).optional(),
  areaId: areaQuery('Items of this area or below'),
  flagged: boolQuery.optional(),
  status: z.string().max(16).optional(),
  period: period.optional(),
};

export const listItemsQuery = z.object({ ...pageQuery, ...itemFilterQuery });
export const exportItemsQuery = z.object({ ...itemFilterQuery });

const countAmount = z.object({ count: z.number().int(), amount: z.number().int() });
export const totalsSchemaOut = z
  .object({
    included: countAmount,
    held: countAmount,
    excluded: countAmount,
    flagged: countAmount,
    byArea: z.array(countAmount.extend({ areaId: z.number().int(), areaCode: z.string(), areaName: z.string() })),
    byChannel: z.array(countAmount.extend({ channel: z.string() })),
    byBank: z.array(countAmount.extend({ channel: z.string(), code: z.string(), name: z.string().nullable() })),
  })
  .meta({ id: 'BatchTotals' });

export const leftOutPage = pageOf(
  z.object({
    enrolmentId: z.string(),
    beneficiaryId: z.string(),
    fullName: z.string().nullable(),
    period: z.string(),
    reason: z
      .enum(LEFT_OUT_REASONS)
      .describe(
        'already_in_batch: a live payment for this month exists (otherBatchId); arrears: not_paid (no payment for the month yet), payment_not_final (its batch is not approved yet), overpaid (paid more than is owed now); retry: not_active (the enrolment ended or is suspended)',
      ),
    otherBatchId: z.string().nullable().describe('already_in_batch: the batch holding the live payment'),
    otherReference: z.string().nullable().describe('already_in_batch: that payment’s reference'),
    owed: z.number().int().nullable().describe('Arrears: whole đồng owed for the month now'),
    paidInLivePayments: z.number().int().nullable().describe('Arrears: whole đồng the month’s live payments add up to'),
    retriedReference: z.string().nullable().describe('Retry: the reference of the payment that was to be paid again'),
    retriedStatus: z.enum(['failed', 'returned']).nullable().describe('Retry: that payment’s status'),
    detail: z.string().nullable().describe('The same facts in an English sentence, for a reader of the raw API'),
  }),
).meta({ id: 'LeftOutPage' });

export const transitionsSchema = z.array(
  z.object({
    id: z.string(),
    from: z.enum(BATCH_STATUSES).nullable(),
    to: z.enum(BATCH_STATUSES),
    reason: z.string().nullable(),
    actor: z.string(),
    version: z.number().int(),
    itemCount: z.number().int(),
    totalAmount: z.number().int(),
    occurredAt: z.string(),
  }),
);

export const reviewBody = z
  .strictObject({
    action: z.enum(['exclude', 'hold', 'include']),
    seqs: z.array(z.number().int().positive()).min(1).max(MAX_REVIEW_ITEMS).describe('Item numbers (seq) in this batch'),
    reason: plainText(500).optional().describe('Required to exclude or hold'),
  })
  .meta({ id: 'ItemReview' });

export const reviewResult = z.object({ batch: batchSchema, changed: z.number().int() });

export const noteBody = z.strictObject({ note: plainText(500).optional() });
export const reasonBody = z.strictObject({ reason: plainText(1000) });
export const approveBody = z
  .strictObject({
    itemCount: z.number().int().min(0).describe('The item count you reviewed'),
    totalAmount: z.number().int().min(0).describe('The total you reviewed'),
    version: z.number().int().positive().optional(),
    note: plainText(500).optional(),
    totp: stepUpCode,
  })
  .meta({ id: 'Approval' });
export const scheduleBody = z.strictObject({
  at: vnDateTime.describe('When to start paying: 2026-12-01T08:00 (Vietnam time) or ISO 8601 with an offset'),
});

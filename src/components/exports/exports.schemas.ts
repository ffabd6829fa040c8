import { z } from 'zod';
import { areaQuery, bigId, boolQuery } from '../../platform/http/schemas';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { parsePeriod } from '../../platform/period';

/** The shape of an SMS reason code (the notifications component looks it up). */
const REASON_CODE = /^[A-Za-z0-9_]{1,64}$/;

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

const businessDate = z.iso.date().describe('A business date, YYYY-MM-DD (Vietnam time)');
const format = z.enum(['csv', 'xlsx']).describe('csv: UTF-8 with BOM; xlsx: the same rows, plus a Manifest sheet');
const areaId = z
  .number()
  .int()
  .positive()
  .optional()
  .describe('Root of the area subtree to export (default: your scope); must be inside your scope');
const full = z
  .boolean()
  .default(false)
  .describe('Full national IDs, account numbers, wallet ids and phones instead of masked ones: staff and auditors only; audited');
const reason = z
  .string()
  .trim()
  .min(3, 'say why, in at least 3 characters')
  .max(500)
  .optional()
  .describe('Why the identifiers are needed in full: required with full: true, kept in the audit event and the manifest');

export const createExportBody = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z
        .literal('reconciliation')
        .describe(
          'Reconciliation log: every statement line and missing payment of the runs of the period, with exceptions, resolutions and notes',
        ),
      format,
      from: businessDate,
      to: businessDate,
      providerId: z.number().int().positive().optional().describe('Only this provider’s runs'),
      areaId,
      full,
      reason,
    }),
    z.strictObject({
      kind: z.literal('audit_trail').describe('The audit trail of the period, with each event’s hash and its predecessor’s'),
      format,
      from: businessDate,
      to: businessDate,
      areaId,
    }),
    z.strictObject({
      kind: z.literal('cash_recipients').describe('People paid in cash in the month (the target list for opening accounts)'),
      format,
      period: period.describe('YYYY-MM: the month paid'),
      areaId,
      full,
      reason,
    }),
    z.strictObject({
      kind: z
        .literal('network_access')
        .describe(
          'Access to cash per commune: people paid by bank and by wallet, cash-out points, and who has no point of their own operator',
        ),
      format,
      period: period.describe('YYYY-MM: the month paid'),
      areaId,
    }),
    z.strictObject({
      kind: z
        .literal('sms_untold')
        .describe(
          'Who in a batch could not be told by SMS, as GET /notifications/batches/{batchId}/untold lists them: commune, name, event, status, reason, message reference, date (no numbers); staff, approvers and auditors',
        ),
      format,
      batchId: bigId.describe('The batch'),
      reason: z
        .string()
        .regex(REASON_CODE, 'must be a reason code such as NO_MOBILE')
        .optional()
        .describe('Only this reason (a key of the list’s byReason); 400 UNKNOWN_REASON for a code that is no reason'),
      areaId: z
        .number()
        .int()
        .positive()
        .optional()
        .describe('Only the recipients in this commune or district inside your scope; 404 AREA_NOT_FOUND outside it'),
    }),
  ])
  .refine((b) => (b.kind !== 'reconciliation' && b.kind !== 'cash_recipients') || !b.full || b.reason !== undefined, {
    message: 'say why the identifiers are needed in full',
    path: ['reason'],
  })
  .meta({ id: 'NewExport' });

export const manifestSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['reconciliation', 'audit_trail', 'cash_recipients', 'network_access', 'sms_untold']),
    format: z.enum(['csv', 'xlsx']),
    status: z
      .enum(['running', 'done', 'failed', 'expired'])
      .describe('running: being written (poll this manifest); done: the file is final; failed: see error'),
    params: z.record(z.string(), z.unknown()).describe('What was asked, as checked: period, provider, area code'),
    fullValues: z.boolean().describe('Personal identifiers in full (otherwise masked)'),
    reason: z.string().nullable().describe('Why the identifiers were asked for in full; null for a masked export'),
    progressRows: z.number().int().describe('Rows written so far (final when done)'),
    rowCount: z.number().int().nullable(),
    totalAmount: z
      .number()
      .int()
      .nullable()
      .describe(
        'reconciliation: sum of the amounts per category (statement amount of each line, payment amount of each missing payment); cash_recipients: cash paid; audit_trail, network_access, sms_untold: null',
      ),
    totals: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe(
        'reconciliation: byCategory {count, amount}, statementAmount, serviceAmount, runs; audit_trail: firstId, lastId, byAction; sms_untold: batchId, byReason',
      ),
    bytes: z.number().int().nullable(),
    sha256: z.string().nullable().describe('SHA-256 (hex) of the file exactly as downloaded'),
    fileName: z.string().nullable(),
    error: z.string().nullable(),
    exportedBy: z.object({ userId: z.number().int(), username: z.string() }),
    areaPath: z.string().nullable().describe('The area subtree the rows come from; null: the whole tree'),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    auditCheckpoint: z
      .object({ lastId: z.string(), lastHash: z.string(), count: z.number().int(), at: z.string(), mac: z.string() })
      .nullable()
      .describe(
        "The audit chain's end when the file was written, signed with AUDIT_CHAIN_KEY (HMAC-SHA256): kept with the file, it shows later whether events were removed. null until done",
      ),
  })
  .meta({ id: 'ExportManifest' });

export const listExportsQuery = z.strictObject({ ...pageQuery });
export const manifestPage = pageOf(manifestSchema).meta({ id: 'ExportManifestPage' });

export const coverageQuery = z.strictObject({
  period: period.describe('YYYY-MM: the month paid'),
  areaId: areaQuery('Area to report on, with a row per sub-area (default: your scope)'),
});

export const cashRecipientsQuery = z.strictObject({
  ...pageQuery,
  period: period.describe('YYYY-MM: the month paid'),
  areaId: z.coerce.number().int().positive().optional(),
  reveal: boolQuery.default(false).describe('Full national IDs and phones: staff and auditors only; audited'),
});

const share = z.object({
  numerator: z.number().int(),
  denominator: z.number().int(),
  percent: z.string().nullable().describe('numerator / denominator × 100, rounded half up to 2 decimals; null when the denominator is 0'),
});

const figures = {
  paid: z.number().int().describe('People with at least one succeeded payment for the month'),
  paidWithoutCash: z.number().int().describe('Of them, people all of whose succeeded payments went to a bank account or e-wallet'),
  paidInCash: z.number().int().describe('Of them, people with at least one succeeded cash payment'),
  cashlessShare: share,
  amountPaid: z.number().int().describe('Whole đồng of those succeeded payments'),
  amountPaidWithoutCash: z.number().int(),
};
const areaRef = z.object({ id: z.number().int(), code: z.string(), name: z.string() });

export const coverageSchema = z
  .object({
    period: z.string(),
    area: areaRef.nullable(),
    definition: z.string(),
    total: z.object(figures),
    areas: z.array(z.object({ area: areaRef, own: z.boolean().describe('Payments made directly in the area itself'), ...figures })),
  })
  .meta({ id: 'CashlessCoverage' });

export const cashRecipientPage = pageOf(
  z.object({
    beneficiaryId: z.string(),
    fullName: z.string(),
    nationalId: z.string(),
    dateOfBirth: z.string(),
    phone: z.string().nullable(),
    area: z.object({ code: z.string(), name: z.string() }),
    programmes: z.array(z.string()),
    cashPayments: z.number().int(),
    cashAmount: z.number().int(),
    channelsNow: z
      .array(z.string())
      .describe('Channels of the person’s active enrolments now (BANK or WALLET: an account was opened since)'),
  }),
).meta({ id: 'CashRecipientPage' });

import { z } from 'zod';
import { bigId, plainText, stepUpCode } from '../../platform/http/schemas';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { CATEGORIES, LINE_CATEGORIES } from './matcher';
import { EXCEPTION_STATUSES, RESOLUTIONS, RUN_STATUSES, STATEMENT_SOURCES } from './recon-states';

const id = bigId;
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const providerName = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'must be a provider name');
const money = z.number().int();
const amountPair = z.object({ count: z.number().int(), amount: money });
const providerRef = z.object({ id: z.number().int(), name: z.string() });

export const uploadQuery = z.strictObject({
  provider: providerName.describe('The provider whose statement this is (for the cash pay point provider: its results file)'),
  date: date.describe('The business date the statement covers (Asia/Ho_Chi_Minh)'),
});

export const fetchBody = z
  .strictObject({ provider: providerName, date: date.describe('Business date (Asia/Ho_Chi_Minh); usually yesterday') })
  .meta({ id: 'StatementFetch' });

export const statementSchema = z
  .object({
    id: z.string(),
    provider: providerRef,
    businessDate: z.string(),
    source: z.enum(STATEMENT_SOURCES),
    sha256: z.string(),
    fileName: z.string().nullable(),
    lineCount: z.number().int(),
    totalAmount: money,
    status: z
      .enum(['received', 'loading', 'loaded', 'matched', 'rejected'])
      .describe('rejected: a line broke the format; problems lists them'),
    problems: z.unknown().nullable(),
    supersededBy: z.string().nullable(),
    receivedBy: z.string(),
    receivedAt: z.string(),
    runId: z.string().nullable(),
  })
  .meta({ id: 'Statement' });

export const intakeSchema = z.object({ statement: statementSchema, created: z.boolean() }).meta({ id: 'StatementIntake' });

export const listStatementsQuery = z.strictObject({
  provider: providerName.optional(),
  from: date.optional(),
  to: date.optional(),
  ...pageQuery,
});

export const runSchema = z
  .object({
    id: z.string(),
    provider: providerRef,
    businessDate: z.string(),
    statementId: z.string(),
    status: z.enum(RUN_STATUSES),
    supersededBy: z.string().nullable(),
    lineCount: z.number().int(),
    totals: z.object(Object.fromEntries(CATEGORIES.map((c) => [c, amountPair])) as Record<(typeof CATEGORIES)[number], typeof amountPair>),
    settled: z.number().int().describe('Payments the statement settled (they were still open here)'),
    startedBy: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'ReconciliationRun' });

export const listRunsQuery = z.strictObject({
  provider: providerName.optional(),
  from: date.optional(),
  to: date.optional(),
  status: z.enum(RUN_STATUSES).optional(),
  ...pageQuery,
});

export const linesQuery = z.strictObject({ category: z.enum(LINE_CATEGORIES).optional(), ...pageQuery });

export const lineSchema = z
  .object({
    lineNo: z.number().int(),
    reference: z.string(),
    transferId: z.string().nullable(),
    status: z.string(),
    amount: money.nullable(),
    currency: z.string().nullable(),
    failureCode: z.string().nullable(),
    occurredAt: z.string(),
    category: z.string(),
    settled: z.boolean(),
    service: z.object({ status: z.string().nullable(), amount: money.nullable() }),
    batchId: z.string().nullable(),
    areaId: z.number().int().nullable(),
  })
  .meta({ id: 'StatementLine' });

export const exceptionSchema = z
  .object({
    id: z.string(),
    runId: z.string(),
    provider: providerRef,
    businessDate: z.string(),
    category: z.enum(CATEGORIES),
    reference: z.string(),
    batchId: z.string().nullable(),
    lineNo: z.number().int().nullable(),
    areaId: z.number().int().nullable(),
    statement: z.object({ status: z.string().nullable(), amount: money.nullable() }),
    service: z.object({ status: z.string().nullable(), amount: money.nullable() }),
    status: z.enum(EXCEPTION_STATUSES),
    version: z.number().int(),
    assignedTo: z.number().int().nullable(),
    resolution: z.string().nullable(),
    resolutionNote: z.string().nullable(),
    resolutionBatchId: z.string().nullable(),
    proposedBy: z.number().int().nullable(),
    resolvedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'ReconciliationException' });

export const exceptionDetailSchema = exceptionSchema
  .extend({
    notes: z.array(
      z.object({
        id: z.string(),
        kind: z.string(),
        body: z.string().nullable(),
        userId: z.number().int().nullable(),
        username: z.string(),
        createdAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'ReconciliationExceptionDetail' });

export const listExceptionsQuery = z.strictObject({
  status: z.enum(EXCEPTION_STATUSES).optional(),
  category: z.enum(CATEGORIES).optional(),
  provider: providerName.optional(),
  runId: id.optional(),
  batchId: id.optional(),
  assignedTo: z.coerce.number().int().positive().optional(),
  from: date.optional(),
  to: date.optional(),
  ...pageQuery,
});

const version = z.number().int().positive().optional().describe('The version you read: refused with 409 EXCEPTION_CHANGED if it moved on');
const reason = plainText(1000).refine((s) => s.trim().length >= 5, 'give a reason of at least 5 characters');

export const assignBody = z.strictObject({ userId: z.number().int().positive(), version }).meta({ id: 'ExceptionAssign' });
export const commentBody = z.strictObject({ body: plainText(2000).refine((s) => s.trim().length > 0, 'must not be empty') });
export const resolveBody = z
  .strictObject({
    resolution: z.enum(RESOLUTIONS).describe('written_off only proposes: a second person confirms'),
    note: reason,
    batchId: id.optional().describe('resent: the batch paying it again'),
    version,
  })
  .meta({ id: 'ExceptionResolve' });
export const decideBody = z.strictObject({ note: reason, version });
export const confirmWriteOffBody = z.strictObject({ note: reason, version, totp: stepUpCode }).meta({ id: 'WriteOffConfirmation' });

export const batchReconSchema = z
  .object({
    batchId: z.string(),
    status: z.string(),
    approved: amountPair,
    paid: amountPair,
    failed: amountPair,
    returned: amountPair,
    unresolved: amountPair.describe('Still pending, being sent, unknown, sent or in manual review'),
    openExceptions: z.array(z.object({ category: z.string(), count: z.number().int(), amount: money })),
  })
  .meta({ id: 'BatchReconciliation' });

export const statementPage = pageOf(statementSchema).meta({ id: 'StatementPage' });
export const runPage = pageOf(runSchema).meta({ id: 'ReconciliationRunPage' });
export const linePage = pageOf(lineSchema).meta({ id: 'StatementLinePage' });
export const exceptionPage = pageOf(exceptionSchema).meta({ id: 'ReconciliationExceptionPage' });

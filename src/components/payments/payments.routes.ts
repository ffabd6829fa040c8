import { areaQuery, bigId, bigIdParams, intId, plainText } from '../../platform/http/schemas';
import type winston from 'winston';
import { z } from 'zod';
import { errorBodySchema, signedCallbackHandler, type Api, type PlainHandler } from '../../platform/http';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { receiveFile } from '../../platform/http/upload';
import { transferEventSchema } from '../providers';
import type { CallbackOutcome } from './callback-batcher';
import type { BatchProgress } from './batch-progress';
import type { PaymentEngine } from './payment-engine';
import { RESULT_PROBLEM_CODES, type PayPoints } from './paypoints';

const progressSchema = z
  .object({
    batchId: z.string(),
    status: z.string(),
    byStatus: z.array(z.object({ status: z.string(), count: z.number().int(), amount: z.number().int() })),
  })
  .meta({ id: 'BatchProgress' });

const payPointScheduleSchema = z
  .object({
    batchId: z.string(),
    areaId: z.number().int(),
    revision: z.number().int().describe('1 for the first hand-over set; every change is a new revision, told to the recipients again'),
    date: z.string().describe('YYYY-MM-DD, Asia/Ho_Chi_Minh'),
    place: z.string(),
    hours: z.string(),
    papers: z.string(),
    scheduledBy: z.string().nullable(),
    scheduledAt: z.string(),
  })
  .meta({ id: 'PayPointSchedule' });

const payPointScheduleBody = z.strictObject({
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
    .describe('The hand-over day (Asia/Ho_Chi_Minh): today or later, at most 90 days ahead'),
  place: plainText(120).describe('Where the cash is handed over, e.g. "Nhà văn hoá tổ 5, 12 Trúc Bạch"'),
  hours: plainText(40).describe('When on that day, e.g. "7h30-11h00"'),
  papers: plainText(120).describe('What to bring, e.g. "CCCD và sổ lĩnh trợ cấp"'),
  expectedRevision: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('The revision in force when the form was opened (0: none); another one is refused with 409 PAYPOINT_SCHEDULE_CHANGED'),
});

const payPointParams = z.strictObject({ id: bigId, areaId: intId });

const payPointsSchema = z
  .object({
    batchId: z.string(),
    status: z.string(),
    paypoints: z.array(
      z.object({
        areaId: z.number().int(),
        areaCode: z.string(),
        areaName: z.string(),
        count: z.number().int(),
        amount: z.number().int(),
        pending: z.number().int(),
        handedOver: z.number().int(),
        paid: z.number().int(),
        paidAmount: z.number().int(),
        notCollected: z.number().int(),
        schedule: payPointScheduleSchema.nullable().describe('The hand-over in force, null until staff set one'),
      }),
    ),
  })
  .meta({ id: 'BatchPayPoints' });

const handoverListingSchema = z
  .object({
    batch: z.object({
      id: z.string(),
      period: z.string().describe('The month paid, YYYY-MM'),
      status: z.string(),
      programme: z.object({ id: z.number().int(), code: z.string(), name: z.string() }),
    }),
    area: z.object({ id: z.number().int(), code: z.string(), name: z.string() }).describe('The commune (its pay point)'),
    revision: z.number().int().describe('The revision in force'),
    date: z.string().describe('YYYY-MM-DD, Asia/Ho_Chi_Minh'),
    hours: z.string(),
    place: z.string(),
    papers: z.string(),
    scheduledAt: z.string().describe('When the revision in force was saved'),
    cashRecipients: z.number().int().describe('Cash payments of the batch in the commune'),
    paid: z.number().int().describe('Results recorded: paid at the pay point'),
    notCollected: z.number().int().describe('Results recorded: not collected'),
    told: z.number().int().describe('Recipients whose SMS about this revision the gateway took (paypoint_scheduled)'),
    reminded: z.number().int().describe('Recipients whose reminder the day before the gateway took (paypoint_reminder)'),
  })
  .meta({ id: 'PayPointHandover' });

const handoverListQuery = z.strictObject({
  ...pageQuery,
  areaId: areaQuery('A commune, or a district or province meaning every commune under it (in your scope); default: your scope'),
  from: z.string().max(40).optional().describe('First day, YYYY-MM-DD (default: today in Asia/Ho_Chi_Minh)'),
  to: z.string().max(40).optional().describe('Last day, YYYY-MM-DD, inclusive (default: no end)'),
});

const resultsRefusalSchema = z
  .object({
    error: z.object({
      code: z.string().describe('RESULTS_FILE_INVALID, RESULTS_FILE_EMPTY, RESULTS_FILE_TOO_LONG, or a refusal of the upload itself'),
      message: z.string(),
      details: z
        .object({
          problems: z
            .array(
              z.object({
                row: z.number().int().describe('Line of the file, the header being 1'),
                column: z.string().nullable(),
                code: z
                  .enum(RESULT_PROBLEM_CODES)
                  .describe(
                    'MISSING_COLUMN (column names it), UNREADABLE (not CSV from this line), EMPTY_REFERENCE, PAID_VALUE (value: what paid held), ' +
                      'DUPLICATE_REFERENCE, UNKNOWN_REFERENCE (not a payment of this batch), NOT_CASH (not paid at a pay point), ' +
                      'NOT_HANDED_OVER (status: the payment’s status, not sent)',
                  ),
                reference: z.string().nullable(),
                value: z.string().nullable(),
                status: z.string().nullable(),
                message: z.string().describe('The same problem in an English sentence'),
              }),
            )
            .describe('Every problem found, at most 200'),
        })
        .optional()
        .describe('RESULTS_FILE_INVALID: the problems by line; nothing was recorded'),
      requestId: z.string(),
    }),
  })
  .meta({ id: 'PayPointResultsRefusal' });

/** Live progress of a batch's payments (counts and amounts by state); the cash pay points' hand-over and results. */
export function registerPaymentRoutes(
  api: Api,
  progress: BatchProgress,
  paypoints: PayPoints,
  upload: { dir: string; maxBytes: number },
): void {
  api.route({
    method: 'get',
    path: '/batches/:id/paypoints',
    summary: "A batch's cash payments by pay point (commune): count, total, still to hand over, handed over, paid, not collected",
    tags: ['payments'],
    access: ['staff', 'approver', 'auditor', 'admin'],
    params: bigIdParams,
    responses: { 200: { description: 'One row per commune with cash payments', schema: payPointsSchema } },
    handler: ({ params }, ctx) => paypoints.list(ctx.principal, params.id),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/paypoints/handover',
    summary: "Hand a processing batch's cash payments (or one area's) to their pay points: they become sent",
    description:
      'The printable list per commune is GET /batches/{id}/items/export.xlsx?channel=CASH&areaId=…; the pay points return who was paid (POST …/paypoints/results).',
    tags: ['payments'],
    access: ['staff', 'admin'],
    params: bigIdParams,
    body: z.strictObject({ areaId: z.number().int().positive().optional() }),
    idempotent: true,
    responses: {
      200: { description: 'How many payments were handed over', schema: z.object({ handedOver: z.number().int() }) },
      409: { description: 'BATCH_NOT_PROCESSING' },
    },
    handler: ({ params, body }, ctx) => paypoints.handOver(ctx.actor, ctx.principal, params.id, body.areaId),
  });

  api.route({
    method: 'put',
    path: '/batches/:id/paypoints/:areaId/schedule',
    summary: "Set or change when and where a pay point (commune) hands over a released batch's cash payments",
    description:
      'Date, place, hours and papers to bring; each cash recipient there is told by SMS (event paypoint_scheduled). ' +
      'A change is a new revision: recipients already told are told again, and a message of an older revision not sent yet is not sent. ' +
      'The same values again change nothing. Audited (batch.paypoint_schedule).',
    tags: ['payments'],
    access: ['staff'],
    params: payPointParams,
    body: payPointScheduleBody,
    responses: {
      200: {
        description: 'The hand-over in force; changed false when it already was',
        schema: payPointScheduleSchema.extend({ changed: z.boolean() }),
      },
      400: { description: 'VALIDATION_FAILED (naming the field), INVALID_HANDOVER_DATE, HANDOVER_DATE_PAST, HANDOVER_DATE_TOO_FAR' },
      404: { description: 'BATCH_NOT_FOUND, AREA_NOT_FOUND, PAYPOINT_NOT_FOUND (no cash payment of the batch there)' },
      409: { description: 'BATCH_NOT_PROCESSING, PAYPOINT_DONE (every cash payment there has its result), PAYPOINT_SCHEDULE_CHANGED' },
    },
    handler: ({ params, body }, ctx) => paypoints.schedules.schedule(ctx.actor, ctx.principal, params.id, params.areaId, body),
  });

  api.route({
    method: 'get',
    path: '/batches/:id/paypoints/:areaId/schedule',
    summary: "Every revision of a pay point's hand-over for a batch, newest first",
    tags: ['payments'],
    access: ['staff', 'approver', 'auditor', 'admin'],
    params: payPointParams,
    responses: {
      200: { description: 'The revisions', schema: z.object({ items: z.array(payPointScheduleSchema) }) },
      404: { description: 'BATCH_NOT_FOUND, AREA_NOT_FOUND' },
    },
    handler: async ({ params }, ctx) => ({ items: await paypoints.schedules.history(ctx.principal, params.id, params.areaId) }),
  });

  api.route({
    method: 'get',
    path: '/paypoints/schedules',
    summary: 'Cash hand-overs in force across batches, one row per batch and commune, by day then commune',
    description:
      'Date, hours, place, papers, the batch, its cash recipients there, the results recorded and how many were told and ' +
      'reminded by SMS. Only batches and communes in your scope.',
    tags: ['payments'],
    access: ['staff', 'approver', 'auditor', 'admin'],
    query: handoverListQuery,
    responses: {
      200: { description: 'A page of hand-overs', schema: pageOf(handoverListingSchema).meta({ id: 'PayPointHandoverPage' }) },
      400: { description: 'INVALID_DATE (naming from or to), INVALID_DATE_RANGE (to before from), INVALID_CURSOR, VALIDATION_FAILED' },
      404: { description: 'AREA_NOT_FOUND: no such area in your scope' },
    },
    handler: ({ query }, ctx) =>
      paypoints.schedules.listInForce(
        ctx.principal,
        { areaId: query.areaId, from: query.from, to: query.to },
        { limit: query.limit, cursor: query.cursor },
      ),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/paypoints/results',
    summary: "Upload the pay points' results (CSV: reference,paid[,note]): paid → succeeded, not paid → failed (NOT_COLLECTED)",
    description:
      'The whole file is checked first; any problem (unknown reference, not a cash payment, not handed over) refuses it with every problem listed, and nothing is written.',
    tags: ['payments'],
    access: ['staff', 'admin'],
    params: bigIdParams,
    upload: { field: 'file', description: 'CSV, UTF-8: reference,paid (yes/no)[,note]' },
    responses: {
      200: {
        description: 'What was recorded',
        schema: z.object({ paid: z.number().int(), notCollected: z.number().int(), unchanged: z.number().int() }),
      },
      400: {
        description: 'RESULTS_FILE_INVALID with details.problems (row, column, code, message), RESULTS_FILE_EMPTY, RESULTS_FILE_TOO_LONG',
        schema: resultsRefusalSchema,
      },
      409: { description: 'BATCH_NOT_PROCESSING' },
    },
    handler: async ({ params }, ctx) => {
      const file = await receiveFile(ctx.req, { field: 'file', maxBytes: upload.maxBytes, dir: upload.dir });
      return paypoints.recordResults(ctx.actor, ctx.principal, params.id, file);
    },
  });

  // served by providerCallbackHandler before express; described here so the document lists every route
  api.describeExternal({
    method: 'post',
    path: '/providers/:name/callbacks',
    summary: "A provider's status event for one transfer (Provider API v1, section 4)",
    description:
      "Authenticated by the provider's signature (X-Timestamp, X-Signature: HMAC-SHA256 of timestamp, method, path with query and the exact body bytes, with the secret shared with that provider), not by a bearer token. " +
      'The same event may arrive more than once and out of order: a duplicate is acknowledged and ignored, and a late event never moves a payment backwards. ' +
      'An event for an unknown reference or another amount is kept for reconciliation. Bodies over 64 KiB are refused.',
    tags: ['payments'],
    access: 'public',
    params: z.object({ name: z.string().meta({ description: 'The provider name, as in its callback URL' }) }),
    headers: z.object({
      'X-Timestamp': z
        .string()
        .regex(/^\d{1,15}$/)
        .meta({ description: 'Unix time in whole seconds when the event was signed; at most 300 s from the service clock' }),
      'X-Signature': z
        .string()
        .meta({ description: 'Lowercase hex HMAC-SHA256(secret, timestamp + "\\n" + "POST" + "\\n" + pathWithQuery + "\\n" + rawBody)' }),
    }),
    body: transferEventSchema,
    responses: {
      200: {
        description: 'Received (also for a duplicate or a late event)',
        schema: z.object({
          received: z.literal(true),
          outcome: z.enum(['applied', 'duplicate', 'ignored_late', 'unknown_reference', 'amount_mismatch'] satisfies CallbackOutcome[]),
        }),
      },
      400: { description: 'INVALID_EVENT: the body is not a transfer event', schema: errorBodySchema },
      401: {
        description: "BAD_SIGNATURE or STALE_TIMESTAMP, in the contract's own body",
        schema: z.object({ error: z.enum(['BAD_SIGNATURE', 'STALE_TIMESTAMP']) }),
      },
      404: { description: 'PROVIDER_NOT_FOUND: no provider of that name posts callbacks', schema: errorBodySchema },
      413: { description: 'PAYLOAD_TOO_LARGE: body over 64 KiB', schema: errorBodySchema },
    },
  });

  api.route({
    method: 'get',
    path: '/batches/:id/progress',
    summary: "A batch's payments by state, with amounts, live while it is processing",
    tags: ['payments'],
    access: ['staff', 'approver', 'auditor', 'admin'],
    params: bigIdParams,
    responses: { 200: { description: 'Counts and amounts by payment state', schema: progressSchema } },
    handler: ({ params }, ctx) => progress.get(ctx.principal, params.id),
  });
}

const CALLBACK_PATH = /^\/api\/v1\/providers\/([^/?]+)\/callbacks(?:\?.*)?$/;

/**
 * `POST /api/v1/providers/:name/callbacks`: a provider's status events (contract section 4), authenticated by the
 * provider's signature over the exact body bytes, not by a session; on plain node:http (signedCallbackHandler).
 */
export function providerCallbackHandler(engine: PaymentEngine, log: winston.Logger): PlainHandler {
  return signedCallbackHandler(
    {
      path: CALLBACK_PATH,
      apply: async (name, headers, body, url) => ({
        received: true,
        outcome: (await engine.applyCallback(name, headers, body, url)).outcome,
      }),
      refused: { message: 'provider callback refused', field: 'provider' },
    },
    log,
  );
}

import { bigIdParams } from '../../platform/http/schemas';
import { clientGoneSignal, type Api } from '../../platform/http';
import type { BatchReleaser } from './batch-release';
import type { BatchesService } from './batches.service';
import {
  approveBody,
  batchPage,
  batchSchema,
  createBatchBody,
  exportItemsQuery,
  itemPage,
  leftOutPage,
  listBatchesQuery,
  listItemsQuery,
  noteBody,
  reasonBody,
  reviewBody,
  reviewResult,
  scheduleBody,
  totalsSchemaOut,
  transitionsSchema,
} from './batches.schemas';

const READERS = ['staff', 'approver', 'auditor', 'admin'] as const;
const MAKERS = ['staff', 'admin'] as const;
const batchOut = { description: 'The batch', schema: batchSchema };
const illegal = { description: 'BATCH_ILLEGAL_TRANSITION (with the status and the moves it allows), BATCH_CHANGED' };

export interface BatchRouteDeps {
  batches: BatchesService;
  releaser: BatchReleaser;
}

export function registerBatchRoutes(api: Api, d: BatchRouteDeps): void {
  const { batches } = d;

  api.route({
    method: 'get',
    path: '/batches',
    summary: 'List batches (newest first) with totals over the whole filter',
    tags: ['batches'],
    access: READERS,
    query: listBatchesQuery,
    responses: { 200: { description: 'A page of batches', schema: batchPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return batches.list(ctx.principal, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'post',
    path: '/batches',
    summary: 'Create a batch from the roll: one payment per due enrolment of the programme in the area subtree',
    description:
      'Amounts and destinations are copied as they stand now. Enrolments already in a live payment for the month (in any batch) are left out and listed under /batches/{id}/left-out. An arrears batch pays, for each month of the range already paid, what is owed now minus what was paid. The account check (provider lookups) starts in the background.',
    tags: ['batches'],
    access: MAKERS,
    body: createBatchBody,
    idempotent: true,
    responses: {
      201: { description: 'Created as draft', schema: batchSchema },
      400: { description: 'AREA_NOT_FOUND, PROGRAMME_NOT_FOUND, PERIOD_RANGE_*' },
      403: { description: 'AREA_OUT_OF_SCOPE' },
      409: { description: 'NO_BASE_LEVEL, PROGRAMME_INACTIVE, BATCH_OVERLAP, BATCH_GENERATION_BUSY' },
    },
    handler: ({ body }, ctx) => batches.create(ctx.actor, ctx.principal, body),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/retry',
    summary: "Create a draft batch paying again this batch's failed and returned payments, to the destinations the roll holds now",
    description:
      'Same months, amounts and slots; corrected destinations are taken from the roll. It is reviewed and approved like any batch. Payments whose month is live in another batch, or whose enrolment is no longer active, are left out with that reason.',
    tags: ['batches'],
    access: MAKERS,
    params: bigIdParams,
    body: noteBody,
    idempotent: true,
    responses: { 201: { description: 'The retry batch, as draft', schema: batchSchema }, 409: { description: 'BATCH_NOT_PAID_YET' } },
    handler: ({ params, body }, ctx) => batches.createRetry(ctx.actor, ctx.principal, params.id, body.note ?? null),
  });

  api.route({
    method: 'get',
    path: '/batches/:id',
    summary: 'One batch',
    tags: ['batches'],
    access: READERS,
    params: bigIdParams,
    responses: { 200: batchOut, 404: { description: 'BATCH_NOT_FOUND' } },
    handler: ({ params }, ctx) => batches.get(ctx.principal, params.id),
  });

  api.route({
    method: 'get',
    path: '/batches/:id/items',
    summary: "A batch's payments in order, filterable",
    tags: ['batches'],
    access: READERS,
    params: bigIdParams,
    query: listItemsQuery,
    responses: { 200: { description: 'A page of items', schema: itemPage } },
    handler: ({ params, query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return batches.items(ctx.principal, params.id, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/batches/:id/totals',
    summary: 'Totals of a batch by review state, area, channel and bank or wallet',
    tags: ['batches'],
    access: READERS,
    params: bigIdParams,
    description: 'A grouped read of every item of the batch; it is stopped on the database when the client leaves before the answer.',
    responses: { 200: { description: 'Totals', schema: totalsSchemaOut } },
    handler: ({ params }, ctx) => batches.totals(ctx.principal, params.id, clientGoneSignal(ctx.res)),
  });

  api.route({
    method: 'get',
    path: '/batches/:id/left-out',
    summary: 'Who the generation left out, and why',
    tags: ['batches'],
    access: READERS,
    params: bigIdParams,
    query: listItemsQuery.pick({ limit: true, cursor: true }),
    responses: { 200: { description: 'A page of left-out enrolments', schema: leftOutPage } },
    handler: ({ params, query }, ctx) => batches.leftOut(ctx.principal, params.id, query),
  });

  api.route({
    method: 'get',
    path: '/batches/:id/transitions',
    summary: 'Every status change of the batch: who, when, why, and what it held then',
    tags: ['batches'],
    access: READERS,
    params: bigIdParams,
    responses: { 200: { description: 'Oldest first', schema: transitionsSchema } },
    handler: ({ params }, ctx) => batches.transitions(ctx.principal, params.id),
  });

  for (const format of ['csv', 'xlsx'] as const) {
    api.route({
      method: 'get',
      path: `/batches/:id/items/export.${format}`,
      summary:
        format === 'csv'
          ? 'Export the items as CSV (streamed; destinations masked); audited'
          : 'The printable payment list as XLSX: amount in figures and in Vietnamese words, subtotal per commune, a column to sign; audited',
      tags: ['batches'],
      access: READERS,
      params: bigIdParams,
      query: exportItemsQuery,
      responses: {
        200: {
          description: format === 'csv' ? 'CSV file' : 'XLSX workbook',
          contentType: format === 'csv' ? 'text/csv' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        },
      },
      handler: async ({ params, query }, ctx) => {
        const file = await batches.exportItems(ctx.actor, ctx.principal, params.id, format, query);
        ctx.res.status(200);
        ctx.res.setHeader(
          'Content-Type',
          format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        );
        ctx.res.setHeader('Content-Disposition', `attachment; filename="batch-${file.batchId}-items.${format}"`);
        await file.write(ctx.res);
      },
    });
  }

  api.route({
    method: 'post',
    path: '/batches/:id/items/review',
    summary: 'Exclude, hold or include items again, with a reason (draft or rejected batches)',
    description:
      'exclude: the item is dropped and its month is free for another batch; hold: kept in the batch but not paid with it (its month is freed when the batch is released); include: undoes either. Changes the batch version: an approval carrying an older version or totals is refused.',
    tags: ['batches'],
    access: MAKERS,
    params: bigIdParams,
    body: reviewBody,
    idempotent: true,
    responses: {
      200: { description: 'The batch after the change, and how many items changed', schema: reviewResult },
      400: { description: 'ITEM_NOT_IN_BATCH, REASON_REQUIRED' },
      409: { description: 'BATCH_NOT_EDITABLE, ITEM_SLOT_TAKEN' },
    },
    handler: ({ params, body }, ctx) => batches.review(ctx.actor, ctx.principal, params.id, body),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/account-check',
    summary: 'Run the account check (provider lookups) again; draft or rejected batches',
    tags: ['batches'],
    access: MAKERS,
    params: bigIdParams,
    idempotent: true,
    responses: { 200: batchOut, 409: { description: 'BATCH_NOT_EDITABLE' } },
    handler: ({ params }, ctx) => batches.recheckAccounts(ctx.actor, ctx.principal, params.id),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/submit',
    summary: 'Submit a draft (or rejected) batch for approval',
    tags: ['batches'],
    access: MAKERS,
    params: bigIdParams,
    body: noteBody,
    idempotent: true,
    responses: { 200: batchOut, 409: { description: 'BATCH_ILLEGAL_TRANSITION, BATCH_EMPTY, BATCH_CHECK_RUNNING' } },
    handler: ({ params, body }, ctx) => batches.submit(ctx.actor, ctx.principal, params.id, body.note),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/approve',
    summary: 'Approve a submitted batch, stating the item count and total you reviewed, with a fresh TOTP code',
    description:
      'Only an approver whose area scope covers the whole batch area, and who did not create, change or submit the batch (whatever other roles they hold). Refused with BATCH_CHANGED when the count, total (or version, if given) differ from the batch now. The code in `totp` is spent before the approval is applied (an approval refused afterwards has used it all the same); a wrong or used code counts towards the lockout like a failed login.',
    tags: ['batches'],
    access: ['approver'],
    params: bigIdParams,
    body: approveBody,
    idempotent: true,
    responses: {
      200: batchOut,
      400: { description: 'INVALID_TOTP: the code is wrong, expired or already used (details name totp)' },
      403: { description: 'TOTP_ENROLMENT_REQUIRED: enrol a second factor first; SELF_APPROVAL, AREA_OUT_OF_SCOPE' },
      409: { description: 'BATCH_CHANGED, BATCH_ILLEGAL_TRANSITION' },
    },
    handler: ({ params, body }, ctx) => {
      const { note, totp, ...seen } = body;
      return batches.approve(ctx.actor, ctx.principal, params.id, seen, totp, note);
    },
  });

  api.route({
    method: 'post',
    path: '/batches/:id/reject',
    summary: 'Send a submitted batch back to staff with a reason',
    tags: ['batches'],
    access: ['approver'],
    params: bigIdParams,
    body: reasonBody,
    idempotent: true,
    responses: { 200: batchOut, 403: { description: 'SELF_APPROVAL, AREA_OUT_OF_SCOPE' }, 409: illegal },
    handler: ({ params, body }, ctx) => batches.reject(ctx.actor, ctx.principal, params.id, body.reason),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/cancel',
    summary: 'Cancel a batch before it is processing; its payments stop counting',
    tags: ['batches'],
    access: MAKERS,
    params: bigIdParams,
    body: reasonBody,
    idempotent: true,
    responses: { 200: batchOut, 409: illegal },
    handler: ({ params, body }, ctx) => batches.cancel(ctx.actor, ctx.principal, params.id, body.reason),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/schedule',
    summary: 'Schedule an approved batch to start at a date and time (Vietnam time), or move its start',
    tags: ['batches'],
    access: MAKERS,
    params: bigIdParams,
    body: scheduleBody,
    idempotent: true,
    responses: { 200: batchOut, 400: { description: 'SCHEDULE_IN_PAST, SCHEDULE_TOO_FAR' }, 409: illegal },
    handler: ({ params, body }, ctx) => batches.schedule(ctx.actor, ctx.principal, params.id, body.at),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/release',
    summary: 'Release an approved or scheduled batch now',
    description:
      "Checks that each provider's float covers the batch (on top of what batches in processing still owe there). When it does not, the batch stays scheduled with fundsHold saying what is short; release again once the float is topped up.",
    tags: ['batches'],
    access: MAKERS,
    params: bigIdParams,
    idempotent: true,
    responses: { 200: { description: 'processing, or scheduled with fundsHold', schema: batchSchema }, 409: illegal },
    handler: ({ params }, ctx) => d.releaser.releaseNow(ctx.actor, ctx.principal, params.id),
  });
}

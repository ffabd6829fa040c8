import { bigIdParams } from '../../platform/http/schemas';
import { forbidden } from '../../platform/errors';
import type { Api } from '../../platform/http';
import { receiveFile } from '../../platform/http/upload';
import type { Principal } from '../../platform/security';
import {
  assignBody,
  batchReconSchema,
  commentBody,
  confirmWriteOffBody,
  decideBody,
  exceptionDetailSchema,
  exceptionPage,
  exceptionSchema,
  fetchBody,
  intakeSchema,
  linePage,
  linesQuery,
  listExceptionsQuery,
  listRunsQuery,
  listStatementsQuery,
  resolveBody,
  runPage,
  runSchema,
  statementPage,
  statementSchema,
  uploadQuery,
} from './reconciliation.schemas';
import { coversWholeTree } from './recon-scope';
import type { ReconciliationService } from './reconciliation.service';

const READERS = ['staff', 'approver', 'auditor', 'admin'] as const;
const WORKERS = ['staff', 'admin'] as const;
const exceptionOut = { description: 'The exception as it stands now', schema: exceptionSchema };
const exceptionErrors = {
  403: { description: 'FOUR_EYES' },
  404: { description: 'EXCEPTION_NOT_FOUND (also for an exception outside your area scope)' },
  409: { description: 'EXCEPTION_CHANGED, EXCEPTION_RESOLVED, WRITEOFF_PENDING, NO_WRITEOFF_PROPOSED' },
};

export interface ReconciliationRouteDeps {
  recon: ReconciliationService;
  upload: { dir: string; maxBytes: number };
}

/** A statement covers every area a provider pays: taking one in is for staff whose scope is the whole tree. */
function wholeTree(p: Principal): void {
  if (!coversWholeTree(p))
    throw forbidden('SCOPE_TOO_NARROW', 'statements cover every area: only staff with the whole province in scope take them in');
}

export function registerReconciliationRoutes(api: Api, d: ReconciliationRouteDeps): void {
  const { recon } = d;

  api.route({
    method: 'post',
    path: '/reconciliation/statements',
    summary: "Upload a provider's statement for a business date (for the cash pay point provider: its results file)",
    description:
      "CSV, UTF-8. A provider statement has the contract's header (reference,transferId,status,amount,currency,failureCode,occurredAt); a pay point results file has reference,paid[,amount][,note]. The header is checked now; the lines are loaded and matched by the worker (GET /reconciliation/statements/{id} follows it; a file with any bad line is rejected whole, with every problem listed). The same file again is the same statement: 200 with created=false, nothing changes.",
    tags: ['reconciliation'],
    access: WORKERS,
    query: uploadQuery,
    upload: { field: 'file', description: 'The statement CSV' },
    responses: {
      202: {
        description: 'Received (created=true; loading and matching follow), or received before exactly so (created=false: nothing changed)',
        schema: intakeSchema,
      },
      400: { description: 'PROVIDER_NOT_FOUND, INVALID_DATE, DATE_IN_FUTURE, STATEMENT_EMPTY, STATEMENT_ENCODING, STATEMENT_HEADER' },
      403: { description: 'SCOPE_TOO_NARROW' },
    },
    handler: async ({ query }, ctx) => {
      wholeTree(ctx.principal);
      const file = await receiveFile(ctx.req, { field: 'file', maxBytes: d.upload.maxBytes, dir: d.upload.dir });
      const out = await recon.intake.upload(ctx.actor, query.provider, query.date, file);
      return out;
    },
  });

  api.route({
    method: 'post',
    path: '/reconciliation/statements/fetch',
    summary: "Fetch a provider's statement for a business date now (the worker fetches yesterday's every morning)",
    tags: ['reconciliation'],
    access: WORKERS,
    body: fetchBody,
    idempotent: true,
    responses: {
      202: {
        description:
          'Received (created=true; loading and matching follow), or the provider sent exactly the statement received before (created=false: nothing changed)',
        schema: intakeSchema,
      },
      400: { description: 'PROVIDER_NOT_FOUND, INVALID_DATE, DATE_IN_FUTURE, PROVIDER_HAS_NO_API' },
      403: { description: 'SCOPE_TOO_NARROW' },
      503: { description: 'PROVIDER_UNAVAILABLE' },
    },
    handler: async ({ body }, ctx) => {
      wholeTree(ctx.principal);
      const out = await recon.intake.fetch(ctx.actor, body.provider, body.date);
      return out;
    },
  });

  api.route({
    method: 'get',
    path: '/reconciliation/statements',
    summary: 'Statements received, newest first',
    tags: ['reconciliation'],
    access: READERS,
    query: listStatementsQuery,
    responses: { 200: { description: 'A page of statements', schema: statementPage } },
    handler: ({ query }) => {
      const { limit, cursor, ...f } = query;
      return recon.reads.listStatements(f, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/reconciliation/statements/:id',
    summary: 'One statement: its status, its problems if rejected, its run once matched',
    tags: ['reconciliation'],
    access: READERS,
    params: bigIdParams,
    responses: { 200: { description: 'The statement', schema: statementSchema }, 404: { description: 'STATEMENT_NOT_FOUND' } },
    handler: ({ params }) => recon.reads.statementById(params.id),
  });

  api.route({
    method: 'get',
    path: '/reconciliation/runs',
    summary: 'Reconciliation runs (one per statement), newest first, with count and amount per category',
    description:
      'For a user scoped to part of the tree the totals count only the payments of that part (lines of no payment of ours are not counted).',
    tags: ['reconciliation'],
    access: READERS,
    query: listRunsQuery,
    responses: { 200: { description: 'A page of runs', schema: runPage } },
    handler: async ({ query }, ctx) => {
      const { limit, cursor, ...f } = query;
      return recon.reads.listRunsFor(ctx.principal, f, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/reconciliation/runs/:id',
    summary: 'One reconciliation run with its totals per category',
    tags: ['reconciliation'],
    access: READERS,
    params: bigIdParams,
    responses: { 200: { description: 'The run', schema: runSchema }, 404: { description: 'RUN_NOT_FOUND' } },
    handler: ({ params }, ctx) => recon.reads.runFor(ctx.principal, params.id),
  });

  api.route({
    method: 'get',
    path: '/reconciliation/runs/:id/lines',
    summary: "A run's statement lines in payment order, each with its category and what the service holds",
    tags: ['reconciliation'],
    access: READERS,
    params: bigIdParams,
    query: linesQuery,
    responses: { 200: { description: 'A page of lines', schema: linePage } },
    handler: ({ params, query }, ctx) => {
      const { limit, cursor, ...f } = query;
      return recon.reads.lines(ctx.principal, params.id, f, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/reconciliation/exceptions',
    summary: 'Reconciliation exceptions (every item that did not match), newest first, in your area',
    tags: ['reconciliation'],
    access: READERS,
    query: listExceptionsQuery,
    responses: { 200: { description: 'A page of exceptions', schema: exceptionPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...f } = query;
      return recon.reads.exceptions(ctx.principal, f, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/reconciliation/exceptions/:id',
    summary: 'One exception with its notes (assignments, comments, resolutions)',
    tags: ['reconciliation'],
    access: READERS,
    params: bigIdParams,
    responses: {
      200: { description: 'The exception', schema: exceptionDetailSchema },
      403: exceptionErrors[403],
      404: exceptionErrors[404],
    },
    handler: ({ params }, ctx) => recon.reads.exception(ctx.principal, params.id),
  });

  api.route({
    method: 'post',
    path: '/reconciliation/exceptions/:id/assign',
    summary: 'Assign an exception to a member of staff whose area covers it',
    tags: ['reconciliation'],
    access: WORKERS,
    params: bigIdParams,
    body: assignBody,
    idempotent: true,
    responses: {
      200: exceptionOut,
      400: { description: 'USER_NOT_FOUND, USER_CANNOT_WORK_EXCEPTIONS, USER_OUT_OF_SCOPE' },
      ...exceptionErrors,
    },
    handler: ({ params, body }, ctx) => recon.exceptions.assign(ctx.actor, ctx.principal, params.id, body.userId, body.version),
  });

  api.route({
    method: 'post',
    path: '/reconciliation/exceptions/:id/notes',
    summary: 'Comment on an exception',
    tags: ['reconciliation'],
    access: WORKERS,
    params: bigIdParams,
    body: commentBody,
    idempotent: true,
    responses: { 200: exceptionOut, ...exceptionErrors },
    handler: ({ params, body }, ctx) => recon.exceptions.comment(ctx.actor, ctx.principal, params.id, body.body),
  });

  api.route({
    method: 'post',
    path: '/reconciliation/exceptions/:id/resolve',
    summary: 'Resolve an exception with a reason (resent in batch X, refunded, corrected, no action); a write-off is only proposed',
    description: 'written_off moves the exception to writeoff_proposed: another person confirms (…/writeoff/confirm) or rejects it.',
    tags: ['reconciliation'],
    access: WORKERS,
    params: bigIdParams,
    body: resolveBody,
    idempotent: true,
    responses: {
      200: exceptionOut,
      400: { description: 'BATCH_REQUIRED, BATCH_DOES_NOT_PAY_IT, BATCH_NOT_EXPECTED, NOT_A_PAYMENT' },
      ...exceptionErrors,
    },
    handler: ({ params, body }, ctx) => recon.exceptions.resolve(ctx.actor, ctx.principal, params.id, body),
  });

  api.route({
    method: 'post',
    path: '/reconciliation/exceptions/:id/writeoff/confirm',
    summary: 'Confirm a proposed write-off: a second person, never the one who proposed it, with a fresh TOTP code',
    description:
      'The code in `totp` is spent before the write-off is applied (a confirmation refused afterwards has used it all the same); a wrong or used code counts towards the lockout like a failed login.',
    tags: ['reconciliation'],
    access: WORKERS,
    params: bigIdParams,
    body: confirmWriteOffBody,
    idempotent: true,
    responses: {
      200: exceptionOut,
      400: { description: 'INVALID_TOTP: the code is wrong, expired or already used (details name totp)' },
      ...exceptionErrors,
      403: { description: 'TOTP_ENROLMENT_REQUIRED: enrol a second factor first; AREA_OUT_OF_SCOPE, FOUR_EYES' },
    },
    handler: ({ params, body }, ctx) => recon.confirmWriteOff(ctx.actor, ctx.principal, params.id, body),
  });

  api.route({
    method: 'post',
    path: '/reconciliation/exceptions/:id/writeoff/reject',
    summary: 'Reject a proposed write-off: the exception is open again',
    tags: ['reconciliation'],
    access: WORKERS,
    params: bigIdParams,
    body: decideBody,
    idempotent: true,
    responses: { 200: exceptionOut, ...exceptionErrors },
    handler: ({ params, body }, ctx) => recon.exceptions.rejectWriteOff(ctx.actor, ctx.principal, params.id, body.note, body.version),
  });

  api.route({
    method: 'get',
    path: '/batches/:id/reconciliation',
    summary: "Where a batch's money stands: approved = paid + failed + returned + unresolved, and its open exceptions",
    tags: ['reconciliation'],
    access: READERS,
    params: bigIdParams,
    responses: { 200: { description: 'The batch view', schema: batchReconSchema }, 404: { description: 'BATCH_NOT_FOUND' } },
    handler: ({ params }, ctx) => recon.reads.batchView(ctx.principal, params.id),
  });
}

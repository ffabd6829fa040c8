import { bigIdParams } from '../../platform/http/schemas';
import { pipeline } from 'node:stream/promises';
import type { Api } from '../../platform/http';
import {
  cashRecipientPage,
  cashRecipientsQuery,
  coverageQuery,
  coverageSchema,
  createExportBody,
  listExportsQuery,
  manifestPage,
  manifestSchema,
} from './exports.schemas';
import type { ExportsService } from './exports.service';

const READERS = ['staff', 'approver', 'auditor', 'admin'] as const;
const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' };

export function registerExportRoutes(api: Api, exports: ExportsService): void {
  api.route({
    method: 'post',
    path: '/exports',
    summary:
      'Export reconciliation logs, the audit trail, the people paid in cash, the access report or who in a batch could not be told by SMS, as CSV or XLSX, with a manifest',
    description:
      'The file is written in the background, streamed from the database; the answer is its manifest, status running. Poll GET /exports/{id} ' +
      'until status is done, then download GET /exports/{id}/file and compare its SHA-256 with the manifest. reconciliation and audit_trail: ' +
      'auditors and administrators; cash_recipients and network_access (the access report, one row per commune): every reader; sms_untold (a batch’s recipients not told by SMS, ' +
      'by reason and commune, names only): staff, approvers and auditors, the batch and area refused as GET /notifications/batches/{batchId}/untold refuses them. Rows are limited to your area scope (and the areaId asked for); ' +
      'statement lines whose reference is no payment have no area and are exported only to readers of the whole province. ' +
      'Identifiers are masked unless full is true (staff and auditors). The request, the finished file and every download are audited.',
    tags: ['exports'],
    access: READERS,
    body: createExportBody,
    idempotent: true,
    responses: {
      202: { description: 'Accepted; the manifest, status running', schema: manifestSchema },
      400: { description: 'PERIOD_REVERSED, PERIOD_TOO_LONG, AREA_NOT_FOUND, PROVIDER_NOT_FOUND, UNKNOWN_REASON' },
      403: { description: 'ROLE_REQUIRED, FULL_VALUES_NOT_ALLOWED, AREA_OUT_OF_SCOPE' },
      404: { description: 'sms_untold: BATCH_NOT_FOUND, AREA_NOT_FOUND (also outside your scope)' },
    },
    handler: ({ body }, ctx) => exports.create(ctx.actor, ctx.principal, body),
  });

  api.route({
    method: 'get',
    path: '/exports',
    summary: 'Your exports, newest first',
    tags: ['exports'],
    access: READERS,
    query: listExportsQuery,
    responses: { 200: { description: 'A page of manifests', schema: manifestPage } },
    handler: ({ query }, ctx) => exports.list(ctx.principal, query),
  });

  api.route({
    method: 'get',
    path: '/exports/:id',
    summary: 'The manifest of an export: parameters, status, row count, totals, SHA-256 and size of the file, who made it and when',
    description: 'Yours, or, for auditors and administrators, any export of data inside their scope.',
    tags: ['exports'],
    access: READERS,
    params: bigIdParams,
    responses: { 200: { description: 'The manifest', schema: manifestSchema }, 404: { description: 'EXPORT_NOT_FOUND' } },
    handler: ({ params }, ctx) => exports.get(ctx.principal, params.id),
  });

  api.route({
    method: 'get',
    path: '/exports/:id/file',
    summary: 'Download the file of your finished export (audited)',
    description: 'Headers carry the manifest’s SHA-256 (X-Content-SHA256) and size.',
    tags: ['exports'],
    access: READERS,
    params: bigIdParams,
    responses: {
      200: { description: 'The file', contentType: 'application/octet-stream' },
      403: { description: 'EXPORT_NOT_YOURS' },
      404: { description: 'EXPORT_NOT_FOUND, EXPORT_FILE_MISSING' },
      409: { description: 'EXPORT_NOT_READY, EXPORT_FAILED' },
    },
    handler: async ({ params }, ctx) => {
      const { manifest, file } = await exports.openFile(ctx.actor, ctx.principal, params.id);
      ctx.res.status(200);
      ctx.res.setHeader('Content-Type', CONTENT_TYPES[manifest.format]);
      ctx.res.setHeader('Content-Length', String(manifest.bytes));
      ctx.res.setHeader('Content-Disposition', `attachment; filename="${manifest.fileName}"`);
      ctx.res.setHeader('X-Content-SHA256', manifest.sha256!);
      await pipeline(file, ctx.res);
    },
  });

  api.route({
    method: 'get',
    path: '/coverage',
    summary: 'Cashless coverage of a month: people paid, paid without cash, the share, per sub-area',
    description:
      'paid: distinct people with at least one payment for the month (regular or arrears) in status succeeded, in an area of the subtree; ' +
      'paid without cash: all of those payments went to a bank account or e-wallet; the share is exact, rounded half up to 0.01 %. ' +
      'Each person is counted once, so the rows add up to the total.',
    tags: ['coverage'],
    access: READERS,
    query: coverageQuery,
    responses: {
      200: { description: 'The report', schema: coverageSchema },
      400: { description: 'AREA_NOT_FOUND' },
      403: { description: 'AREA_OUT_OF_SCOPE' },
    },
    handler: ({ query }, ctx) => exports.coverageReport(ctx.principal, query),
  });

  api.route({
    method: 'get',
    path: '/coverage/cash-recipients',
    summary: 'People paid in cash in the month (the target list for opening accounts), by beneficiary id',
    description:
      'As a file: POST /exports with kind cash_recipients. reveal=true shows full national IDs and phones (staff, auditors) and is audited.',
    tags: ['coverage'],
    access: READERS,
    query: cashRecipientsQuery,
    responses: {
      200: { description: 'A page of people', schema: cashRecipientPage },
      400: { description: 'AREA_NOT_FOUND' },
      403: { description: 'AREA_OUT_OF_SCOPE, REVEAL_NOT_ALLOWED' },
    },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...q } = query;
      return exports.cashRecipients(ctx.actor, ctx.principal, q, { limit, cursor });
    },
  });
}

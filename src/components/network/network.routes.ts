import type { Api } from '../../platform/http';
import { receiveFile } from '../../platform/http/upload';
import {
  accessQuery,
  accessReportSchema,
  createPointBody,
  importIdParams,
  listImportsQuery,
  listPointsQuery,
  pointIdParams,
  pointImportPage,
  pointImportProblemPage,
  pointImportSchema,
  pointPage,
  pointSchema,
  problemsQuery,
  updatePointBody,
} from './network.schemas';
import type { NetworkService } from './network.service';

/** Staff keep the registry of their area; administrators and auditors read it. */
const WRITERS = ['staff'] as const;
const REGISTRY_READERS = ['staff', 'admin', 'auditor'] as const;
/** The access report is read like the coverage report beside it. */
const REPORT_READERS = ['staff', 'approver', 'auditor', 'admin'] as const;
/** A registry file is a province's points at most: far below a roll. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export function registerNetworkRoutes(api: Api, network: NetworkService, upload: { dir: string }): void {
  api.route({
    method: 'get',
    path: '/cash-out-points',
    summary: 'Cash-out points of your area (ATMs, bank branches and agents, post offices, Mobile Money agents), by id',
    tags: ['network'],
    access: REGISTRY_READERS,
    query: listPointsQuery,
    responses: {
      200: { description: 'A page of points', schema: pointPage },
      400: { description: 'AREA_NOT_FOUND' },
      403: { description: 'AREA_OUT_OF_SCOPE' },
    },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return network.points.list(ctx.principal, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/cash-out-points/:id',
    summary: 'One cash-out point',
    tags: ['network'],
    access: REGISTRY_READERS,
    params: pointIdParams,
    responses: { 200: { description: 'The point', schema: pointSchema }, 404: { description: 'POINT_NOT_FOUND' } },
    handler: ({ params }, ctx) => network.points.get(ctx.principal, params.id),
  });

  api.route({
    method: 'post',
    path: '/cash-out-points',
    summary: 'Register a cash-out point in a commune of your area',
    description:
      'The operator and the point code are the point’s identity: a second point with both the same is refused (409 POINT_EXISTS).',
    tags: ['network'],
    access: WRITERS,
    body: createPointBody,
    idempotent: true,
    responses: {
      201: { description: 'Registered', schema: pointSchema },
      400: {
        description:
          'AREA_NOT_FOUND, AREA_NOT_COMMUNE, AREA_INACTIVE, OPERATOR_FORMAT, UNKNOWN_BANK, UNKNOWN_WALLET_PROVIDER, UNKNOWN_POSTAL_OPERATOR',
      },
      403: { description: 'AREA_OUT_OF_SCOPE' },
      409: { description: 'POINT_EXISTS' },
    },
    handler: ({ body }, ctx) => network.points.create(ctx.actor, ctx.principal, body),
  });

  api.route({
    method: 'patch',
    path: '/cash-out-points/:id',
    summary: 'Change a cash-out point of your area, or deactivate it (active: false)',
    tags: ['network'],
    access: WRITERS,
    params: pointIdParams,
    body: updatePointBody,
    responses: {
      200: { description: 'Changed', schema: pointSchema },
      400: { description: 'AREA_NOT_FOUND, AREA_NOT_COMMUNE, AREA_INACTIVE, KIND_OPERATOR_MISMATCH' },
      403: { description: 'AREA_OUT_OF_SCOPE' },
      404: { description: 'POINT_NOT_FOUND' },
    },
    handler: ({ params, body }, ctx) => network.points.update(ctx.actor, ctx.principal, params.id, body),
  });

  api.route({
    method: 'post',
    path: '/cash-out-point-imports',
    summary: 'Import a registry file of cash-out points (CSV or XLSX, docs/network.md), now',
    description:
      'The file is read and checked while the request waits; every problem is recorded with its row and column. The valid rows are ' +
      'written by (operator, point code) in one transaction with the import record: a point already registered is updated, one ' +
      'unchanged is left alone, so importing the same file again changes nothing. A file that cannot be read as a whole (bad header, ' +
      'not UTF-8, damaged workbook) is recorded as failed and writes no point. Rows of communes outside your area are refused.',
    tags: ['network'],
    access: WRITERS,
    upload: { field: 'file', description: 'The registry file, .csv (UTF-8) or .xlsx' },
    responses: {
      201: { description: 'Imported (status completed, or failed with the reason)', schema: pointImportSchema },
      400: { description: 'UNSUPPORTED_FILE_TYPE, EMPTY_FILE' },
      413: { description: 'FILE_TOO_LARGE' },
      503: { description: 'IMPORT_BUSY' },
    },
    handler: async (_in, ctx) => {
      const file = await receiveFile(ctx.req, { field: 'file', maxBytes: MAX_FILE_BYTES, dir: upload.dir });
      return network.imports.create(ctx.principal, ctx.actor, file);
    },
  });

  api.route({
    method: 'get',
    path: '/cash-out-point-imports',
    summary: 'Registry imports of your area, newest first',
    tags: ['network'],
    access: REGISTRY_READERS,
    query: listImportsQuery,
    responses: { 200: { description: 'A page of imports', schema: pointImportPage } },
    handler: ({ query }, ctx) => network.imports.list(ctx.principal, query),
  });

  api.route({
    method: 'get',
    path: '/cash-out-point-imports/:id',
    summary: 'One registry import and its counts',
    tags: ['network'],
    access: REGISTRY_READERS,
    params: importIdParams,
    responses: { 200: { description: 'The import', schema: pointImportSchema }, 404: { description: 'IMPORT_NOT_FOUND' } },
    handler: ({ params }, ctx) => network.imports.get(ctx.principal, params.id),
  });

  api.route({
    method: 'get',
    path: '/cash-out-point-imports/:id/problems',
    summary: 'Problems of a registry import: row, column, code and message, in row order',
    tags: ['network'],
    access: REGISTRY_READERS,
    params: importIdParams,
    query: problemsQuery,
    responses: { 200: { description: 'A page of problems', schema: pointImportProblemPage }, 404: { description: 'IMPORT_NOT_FOUND' } },
    handler: ({ params, query }, ctx) => network.imports.problems(ctx.principal, params.id, query),
  });

  api.route({
    method: 'get',
    path: '/network-access',
    summary:
      'Access to cash: per commune, people paid by bank and by wallet in the month, cash-out points, and who has no point of their own operator',
    description:
      'Communes ordered by the people whose bank or wallet provider has no active point in their commune (most first): where cashless ' +
      'payment has outrun the withdrawal network. “Paid” is the coverage report’s definition. As a file: POST /exports with kind network_access.',
    tags: ['network'],
    access: REPORT_READERS,
    query: accessQuery,
    responses: {
      200: { description: 'The report', schema: accessReportSchema },
      400: { description: 'AREA_NOT_FOUND' },
      403: { description: 'AREA_OUT_OF_SCOPE' },
    },
    handler: ({ query }, ctx) => network.accessReport(ctx.principal, query),
  });
}

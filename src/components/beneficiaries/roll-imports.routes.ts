import { bigIdParams } from '../../platform/http/schemas';
import { pipeline } from 'node:stream/promises';
import type { Api } from '../../platform/http';
import { receiveFile } from '../../platform/http/upload';
import { importPage, listImportsQuery, problemPage, problemsCsvQuery, problemsQuery, rollImportSchema } from './roll-imports.schemas';
import type { RollImportsService } from './roll-imports.service';

const WRITERS = ['staff', 'admin'] as const;

const READERS = ['staff', 'admin', 'auditor'] as const;

export function registerRollImportRoutes(api: Api, imports: RollImportsService, upload: { dir: string; maxBytes: number }): void {
  api.route({
    method: 'post',
    path: '/roll-imports',
    summary: 'Upload a roll file (CSV or XLSX, contracts/roll-import.md); the worker imports it',
    description:
      'Answers 202 with the queued import at once. Poll GET /roll-imports/{id} for progress; problems are listed per row and column. Rows of areas outside your scope are refused.',
    tags: ['roll imports'],
    access: WRITERS,
    upload: { field: 'file', description: 'The roll file, .csv (UTF-8) or .xlsx' },
    responses: {
      202: { description: 'Queued', schema: rollImportSchema },
      413: { description: 'FILE_TOO_LARGE' },
      415: { description: 'Not multipart' },
    },
    handler: async (_in, ctx) => {
      const file = await receiveFile(ctx.req, { field: 'file', maxBytes: upload.maxBytes, dir: upload.dir });
      return imports.create(ctx.principal, ctx.actor, file);
    },
  });

  api.route({
    method: 'get',
    path: '/roll-imports',
    summary: 'Roll imports of your area, newest first',
    tags: ['roll imports'],
    access: READERS,
    query: listImportsQuery,
    responses: { 200: { description: 'A page of imports', schema: importPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return imports.list(ctx.principal, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/roll-imports/:id',
    summary: 'One import: status, progress while it runs, and its result',
    tags: ['roll imports'],
    access: READERS,
    params: bigIdParams,
    responses: { 200: { description: 'The import', schema: rollImportSchema }, 404: { description: 'IMPORT_NOT_FOUND' } },
    handler: ({ params }, ctx) => imports.get(ctx.principal, params.id),
  });

  api.route({
    method: 'get',
    path: '/roll-imports/:id/problems',
    summary: 'Problems found in the file: row, column and message',
    tags: ['roll imports'],
    access: READERS,
    params: bigIdParams,
    query: problemsQuery,
    responses: { 200: { description: 'A page of problems', schema: problemPage }, 404: { description: 'IMPORT_NOT_FOUND' } },
    handler: ({ params, query }, ctx) => imports.problems(ctx.principal, params.id, query),
  });

  api.route({
    method: 'get',
    path: '/roll-imports/:id/problems.csv',
    summary: 'Every problem (or those of one code or column) as a CSV file to fix the roll with',
    tags: ['roll imports'],
    access: READERS,
    params: bigIdParams,
    query: problemsCsvQuery,
    responses: {
      200: { description: 'CSV: row, column, code, message', contentType: 'text/csv' },
      404: { description: 'IMPORT_NOT_FOUND' },
    },
    handler: async ({ params, query }, ctx) => {
      const { csv, release } = await imports.problemsCsv(ctx.principal, params.id, query);
      try {
        ctx.res.status(200);
        ctx.res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        ctx.res.setHeader('Content-Disposition', `attachment; filename="roll-import-${params.id}-problems.csv"`);
        await pipeline(csv, ctx.res);
      } finally {
        await release();
      }
    },
  });
}

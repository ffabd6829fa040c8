import { pipeline } from 'node:stream/promises';
import type { Api } from '../../platform/http';
import { auditPage, exportAuditQuery, listAuditQuery, verifySchema } from './audit.schemas';
import type { AuditService } from './audit.service';

const READERS = ['auditor', 'admin'] as const;

export function registerAuditRoutes(api: Api, audit: AuditService): void {
  api.route({
    method: 'get',
    path: '/audit-events',
    summary: 'Audit events, newest first, inside your area scope',
    tags: ['audit'],
    access: READERS,
    query: listAuditQuery,
    responses: { 200: { description: 'A page of events', schema: auditPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return audit.list(ctx.principal, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/audit-events/verify',
    summary: 'Verify the hash chain of the whole trail; reports the first broken link',
    tags: ['audit'],
    access: READERS,
    responses: { 200: { description: 'Verification result (ok=false names the first broken event)', schema: verifySchema } },
    handler: (_in, ctx) => audit.verifyFor(ctx.principal),
  });

  api.route({
    method: 'get',
    path: '/audit-events/export.csv',
    summary: 'Export matching events as CSV (oldest first, streamed); the export is itself audited',
    tags: ['audit'],
    access: READERS,
    query: exportAuditQuery,
    responses: { 200: { description: 'CSV file', contentType: 'text/csv' } },
    handler: async ({ query }, ctx) => {
      const { csv, release } = await audit.exportCsv(ctx.actor, ctx.principal, query);
      ctx.res.status(200);
      ctx.res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      ctx.res.setHeader('Content-Disposition', `attachment; filename="audit-events-${new Date().toISOString().slice(0, 10)}.csv"`);
      try {
        await pipeline(csv, ctx.res);
      } finally {
        await release();
      }
    },
  });
}

import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { toAppError } from '../../platform/errors';
import type { Api } from '../../platform/http';
import { receiveFile } from '../../platform/http/upload';
import type { BatchesService } from '../batches';
import type { PaymentEngine } from './payment-engine';
import type { PayPoints } from './paypoints';

const progressSchema = z
  .object({
    batchId: z.string(),
    status: z.string(),
    byStatus: z.array(z.object({ status: z.string(), count: z.number().int(), amount: z.number().int() })),
  })
  .meta({ id: 'BatchProgress' });

const batchParams = z.object({ id: z.string().regex(/^\d{1,19}$/) });

/** Live progress of a batch's payments (counts and amounts by state); the cash pay points' hand-over and results. */
export function registerPaymentRoutes(
  api: Api,
  batches: BatchesService,
  engine: PaymentEngine,
  paypoints: PayPoints,
  upload: { dir: string; maxBytes: number },
): void {
  api.route({
    method: 'post',
    path: '/batches/:id/paypoints/handover',
    summary: "Hand a processing batch's cash payments (or one area's) to their pay points: they become sent",
    description:
      'The printable list per commune is GET /batches/{id}/items/export.xlsx?channel=CASH&areaId=…; the pay points return who was paid (POST …/paypoints/results).',
    tags: ['payments'],
    access: ['staff', 'admin'],
    params: batchParams,
    body: z.strictObject({ areaId: z.number().int().positive().optional() }),
    idempotent: true,
    responses: {
      200: { description: 'How many payments were handed over', schema: z.object({ handedOver: z.number().int() }) },
      409: { description: 'BATCH_NOT_PROCESSING' },
    },
    handler: ({ params, body }, ctx) => paypoints.handOver(ctx.actor, ctx.principal, params.id, body.areaId),
  });

  api.route({
    method: 'post',
    path: '/batches/:id/paypoints/results',
    summary: "Upload the pay points' results (CSV: reference,paid[,note]): paid → succeeded, not paid → failed (NOT_COLLECTED)",
    description:
      'The whole file is checked first; any problem (unknown reference, not a cash payment, not handed over) refuses it with every problem listed, and nothing is written.',
    tags: ['payments'],
    access: ['staff', 'admin'],
    params: batchParams,
    upload: { field: 'file', description: 'CSV, UTF-8: reference,paid (yes/no)[,note]' },
    responses: {
      200: {
        description: 'What was recorded',
        schema: z.object({ paid: z.number().int(), notCollected: z.number().int(), unchanged: z.number().int() }),
      },
      400: { description: 'RESULTS_FILE_INVALID with details.problems (row, column, message), RESULTS_FILE_EMPTY' },
      409: { description: 'BATCH_NOT_PROCESSING' },
    },
    handler: async ({ params }, ctx) => {
      const file = await receiveFile(ctx.req, { field: 'file', maxBytes: upload.maxBytes, dir: upload.dir });
      return paypoints.recordResults(ctx.actor, ctx.principal, params.id, file);
    },
  });

  api.route({
    method: 'get',
    path: '/batches/:id/progress',
    summary: "A batch's payments by state, with amounts, live while it is processing",
    tags: ['payments'],
    access: ['staff', 'approver', 'auditor', 'admin'],
    params: batchParams,
    responses: { 200: { description: 'Counts and amounts by payment state', schema: progressSchema } },
    handler: async ({ params }, ctx) => {
      const b = await batches.get(ctx.principal, params.id);
      return { batchId: b.id, status: b.status, byStatus: await engine.progress(b.id) };
    },
  });
}

/**
 * `POST /api/v1/providers/:name/callbacks`: a provider's status events
 * (contract section 4). Mounted before the JSON parser: the signature covers
 * the exact bytes. Authenticated by the provider's signature, not a session.
 */
export function mountProviderCallbacks(app: Express, engine: PaymentEngine): void {
  app.post(
    '/api/v1/providers/:name/callbacks',
    express.raw({ type: () => true, limit: '64kb' }),
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const { outcome } = await engine.applyCallback(String(req.params.name), req.headers, body, req.originalUrl);
        res.status(200).json({ received: true, outcome });
      } catch (err) {
        const e = toAppError(err);
        if (e.kind === 'unauthenticated') {
          res.status(401).json({ error: e.code });
          return;
        }
        next(err);
      }
    },
  );
}

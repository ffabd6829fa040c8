import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { toAppError } from '../../platform/errors';
import type { Api } from '../../platform/http';
import type { BatchesService } from '../batches';
import type { PaymentEngine } from './payment-engine';

const progressSchema = z
  .object({
    batchId: z.string(),
    status: z.string(),
    byStatus: z.array(z.object({ status: z.string(), count: z.number().int(), amount: z.number().int() })),
  })
  .meta({ id: 'BatchProgress' });

/** Live progress of a batch's payments (counts and amounts by state). */
export function registerPaymentRoutes(api: Api, batches: BatchesService, engine: PaymentEngine): void {
  api.route({
    method: 'get',
    path: '/batches/:id/progress',
    summary: "A batch's payments by state, with amounts, live while it is processing",
    tags: ['payments'],
    access: ['staff', 'approver', 'auditor', 'admin'],
    params: z.object({ id: z.string().regex(/^\d{1,19}$/) }),
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

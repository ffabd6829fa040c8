import { z } from 'zod';
import { BATCH_STATUSES } from '../batches/batch-states';

export const dashboardQuery = z.strictObject({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
    .optional()
    .describe('YYYY-MM (default: the current month, Vietnam time)'),
});

const countAmount = z.object({ count: z.number().int(), amount: z.number().int().describe('Whole đồng') });

export const dashboardSchema = z
  .object({
    month: z.string().describe('YYYY-MM'),
    today: z.string().describe('YYYY-MM-DD, Vietnam time: the day exception ages are counted from'),
    money: z
      .object({
        batches: z
          .array(
            z.object({ status: z.enum(BATCH_STATUSES), count: z.number().int(), itemCount: z.number().int(), amount: z.number().int() }),
          )
          .describe('Batches paying the month (as GET /batches?period=), by status'),
        approved: countAmount.describe('Payments of batches approved or beyond (approved, scheduled, processing, completed*)'),
        paid: countAmount.describe('Payments of released batches in status succeeded'),
        failed: countAmount,
        returned: countAmount,
        inProgress: z.object({
          batches: z.number().int().describe('Batches in status processing'),
          payments: z.number().int().describe('Their payments'),
          settled: z.number().int().describe('Of them, final (succeeded, failed, returned)'),
          open: countAmount.describe('Of them, not final yet'),
          percentSettled: z.string().nullable().describe('settled / payments × 100, half up to 2 decimals; null when none'),
        }),
        exceptions: z.object({
          open: z.number().int().describe('Open reconciliation exceptions in your area, whatever their month'),
          byAge: z.array(
            z.object({
              bucket: z.enum(['0-7', '8-30', '31+']).describe('Days since the business date'),
              count: z.number().int(),
              from: z.string().nullable().describe('YYYY-MM-DD: the oldest business date of the bucket (for the list filter)'),
              to: z.string().describe('YYYY-MM-DD: the newest'),
            }),
          ),
        }),
        cashless: z
          .array(
            z.object({
              period: z.string(),
              paid: z.number().int(),
              paidWithoutCash: z.number().int(),
              percent: z.string().nullable().describe('As GET /coverage: paidWithoutCash / paid × 100; null when nobody was paid'),
            }),
          )
          .describe('The 12 months ending with the month, oldest first'),
      })
      .nullable()
      .describe('null for a caller whose only role is admin: payment figures are for staff, officers and auditors'),
  })
  .meta({ id: 'Dashboard' });

export type Dashboard = z.infer<typeof dashboardSchema>;

import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error';
import { FAILURE_CODES, TRANSFER_STATUSES, type StatementLine } from './provider.port';

/**
 * The Disbursement Provider API v1 on the wire: the shapes of its answers, events and statements as the contract
 * states them. Anything outside them is PROVIDER_BAD_RESPONSE, never taken as an answer.
 */

export const REFERENCE = /^[A-Za-z0-9_-]{1,64}$/;
export const STATEMENT_HEADER = ['reference', 'transferId', 'status', 'amount', 'currency', 'failureCode', 'occurredAt'];

const wholeDong = z.int().positive();
const timestamp = z.iso.datetime({ offset: true });
const statusSchema = z.enum(TRANSFER_STATUSES);
const failureCodeSchema = z.enum(FAILURE_CODES).nullable();
const finalWithCause = (v: { status: string; failureCode: string | null }): boolean =>
  (v.status === 'FAILED' || v.status === 'RETURNED') === (v.failureCode !== null);

export const transferSchema = z
  .object({
    reference: z.string().regex(REFERENCE),
    transferId: z.string().min(1),
    status: statusSchema,
    amount: wholeDong,
    currency: z.literal('VND'),
    failureCode: failureCodeSchema,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .refine(finalWithCause, 'failureCode must be set exactly when FAILED or RETURNED');

const changeFields = {
  reference: z.string().regex(REFERENCE),
  transferId: z.string().min(1),
  status: statusSchema,
  amount: wholeDong,
  currency: z.literal('VND'),
  failureCode: failureCodeSchema,
  occurredAt: timestamp,
};
/**
 * A provider's status event (contract section 4): what verifyCallback accepts, and what the OpenAPI document shows.
 * Ids no longer than their columns (provider_events): one event too long for them would fail the group applied with it.
 */
export const transferEventSchema = z
  .object({ eventId: z.string().min(1).max(128), ...changeFields, transferId: z.string().min(1).max(64) })
  .refine(finalWithCause, 'failureCode must be set exactly when FAILED or RETURNED')
  .meta({ id: 'ProviderTransferEvent' });
export const eventSchema = transferEventSchema;
export const statementLineSchema = z.object(changeFields).refine(finalWithCause, 'failureCode must be set exactly when FAILED or RETURNED');

export const balanceSchema = z.object({ currency: z.literal('VND'), available: z.int().nonnegative() });
export const lookupSchema = z.object({
  status: z.enum(['ACTIVE', 'CLOSED', 'NOT_FOUND']),
  accountName: z.string().min(1).nullish(),
});
export const errorBodySchema = z.object({ error: z.string(), message: z.string().optional() });

export const badResponse = (what: string, details?: unknown): AppError =>
  new AppError('internal', 'PROVIDER_BAD_RESPONSE', `provider answered ${what} outside the contract`, details);

/** Parses a statement CSV: header first, one line per status change. Throws `internal` on anything outside the contract. */
export function parseStatement(body: Buffer): StatementLine[] {
  let rows: string[][];
  try {
    rows = parseCsv(body, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (err) {
    throw new AppError('internal', 'PROVIDER_BAD_RESPONSE', 'statement is not valid CSV', undefined, { cause: err });
  }
  const [head, ...lines] = rows;
  if (!head || head.join(',') !== STATEMENT_HEADER.join(',')) throw badResponse('a statement', 'header');
  return lines.map((cells, i) => {
    const [reference, transferId, status, amount, currency, failureCode, occurredAt] = cells;
    const parsed = statementLineSchema.safeParse({
      reference,
      transferId,
      status,
      amount: amount !== undefined && /^\d{1,16}$/.test(amount) ? Number(amount) : amount,
      currency,
      failureCode: failureCode === '' ? null : failureCode,
      occurredAt,
    });
    if (!parsed.success) throw badResponse('a statement', { line: i + 2, issues: parsed.error.issues });
    return parsed.data as StatementLine;
  });
}

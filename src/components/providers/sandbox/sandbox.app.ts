/**
 * The built-in sandbox provider: serves the Disbursement Provider API v1
 * (shared/contracts/provider-api.md) from memory, for tests and demos.
 *
 * First cut: signing (section 1), transfers (2), inquiry (3), statements (5),
 * balance (6) and account lookups (7). Status changes happen only when the
 * owner of the ledger calls `settle`; callbacks (section 4) and fault
 * injection are not implemented yet.
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { canonicalJson } from '../../../platform/canonical-json';
import { conflict, invalid, notFound } from '../../../platform/errors/app-error';
import { signedHeaders, verify } from '../signing';
import type { FailureCode, LookupDestination, StatementLine, Transfer, TransferStatus } from '../provider.port';

export interface SandboxOptions {
  clientId: string;
  secret: string;
  /** The sandbox's clock in ms (default `Date.now`): signature freshness, timestamps and business dates. */
  now?: () => number;
  /** Delay before each request is handled, to imitate a slow gateway. */
  latencyMs?: number;
  /** Whole đồng in the service's float account at start (default 10^12). */
  initialFloat?: number;
}

const DEFAULT_FLOAT = 1_000_000_000_000;
const VN_OFFSET_MS = 7 * 3600 * 1000;
const STATEMENT_HEADER = ['reference', 'transferId', 'status', 'amount', 'currency', 'failureCode', 'occurredAt'];

/** ISO 8601 in Asia/Ho_Chi_Minh (no daylight saving: always +07:00), whole seconds. */
export function vnIso(ms: number): string {
  return `${new Date(ms + VN_OFFSET_MS).toISOString().slice(0, 19)}+07:00`;
}

/** Upper case without diacritics, as banks hold names ("Nguyễn Văn Đức" → "NGUYEN VAN DUC"). */
export function bankName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toUpperCase()
    .replace(/\s+/g, ' ')
    .trim();
}

const present = z.string().min(1).max(128);
const bankAccount = { type: z.literal('BANK_ACCOUNT'), bankCode: z.string().regex(/^\d{6}$/), accountNumber: present };
const wallet = { type: z.literal('WALLET'), walletProvider: present, walletId: present };
const destinationSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...bankAccount, accountName: present }),
  z.strictObject({ ...wallet, accountName: present }),
]);
const lookupSchema = z.strictObject({
  destination: z.discriminatedUnion('type', [z.strictObject(bankAccount), z.strictObject(wallet)]),
});
const transferRequestSchema = z.strictObject({
  reference: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'reference must be 1-64 of [A-Za-z0-9_-]'),
  amount: z.int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.literal('VND'),
  destination: destinationSchema,
  description: z
    .string()
    .refine((s) => [...s].length <= 140, 'description must be at most 140 characters')
    .optional(),
  callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
});
type TransferRequest = z.infer<typeof transferRequestSchema>;

interface Entry {
  transfer: Transfer;
  /** Canonical JSON of the accepted request: a resend with an identical body is a duplicate. */
  requestKey: string;
  request: TransferRequest;
}

export type CreateResult = { kind: 'created'; transfer: Transfer } | { kind: 'duplicate'; transfer: Transfer } | { kind: 'conflict' };

const destinationKey = (d: LookupDestination): string =>
  d.type === 'BANK_ACCOUNT' ? `BANK_ACCOUNT:${d.bankCode}:${d.accountNumber}` : `WALLET:${d.walletProvider}:${d.walletId}`;

/** The sandbox's book: transfers by reference, the float, and every status change (the statement source). */
export class SandboxLedger {
  private readonly transfers = new Map<string, Entry>();
  private readonly changes: StatementLine[] = [];
  private readonly accounts = new Map<string, string>();
  private available: number;

  constructor(
    private readonly now: () => number,
    initialFloat: number,
  ) {
    if (!Number.isSafeInteger(initialFloat) || initialFloat < 0) throw new Error('sandbox float must be a non-negative whole number');
    this.available = initialFloat;
  }

  balance(): number {
    return this.available;
  }

  get(reference: string): Transfer | undefined {
    const entry = this.transfers.get(reference);
    return entry && { ...entry.transfer };
  }

  /** Registers who holds an account, for lookups; the name is stored as banks hold it. */
  registerAccount(destination: LookupDestination, accountName: string): void {
    this.accounts.set(destinationKey(destination), bankName(accountName));
  }

  /**
   * Account lookup. Magic numbers let tests and demos exercise the review
   * flags: an account number (or wallet id) ending in `0000` is NOT_FOUND and
   * one ending in `9999` is CLOSED. Any other is ACTIVE, held by the name
   * registered for it, else the name of the last transfer sent to it, else
   * `SANDBOX ACCOUNT HOLDER`.
   */
  lookup(destination: LookupDestination): { status: 'ACTIVE' | 'CLOSED' | 'NOT_FOUND'; accountName: string | null } {
    const number = destination.type === 'BANK_ACCOUNT' ? destination.accountNumber : destination.walletId;
    if (number.endsWith('0000')) return { status: 'NOT_FOUND', accountName: null };
    const key = destinationKey(destination);
    let name = this.accounts.get(key);
    if (name === undefined) {
      for (const entry of this.transfers.values()) {
        if (destinationKey(entry.request.destination) === key) name = bankName(entry.request.destination.accountName);
      }
    }
    return { status: number.endsWith('9999') ? 'CLOSED' : 'ACTIVE', accountName: name ?? 'SANDBOX ACCOUNT HOLDER' };
  }

  /**
   * Accepts a transfer request (already validated). A float too small for the
   * amount still accepts it, as FAILED with INSUFFICIENT_FUNDS (no money moved).
   */
  create(request: TransferRequest): CreateResult {
    const requestKey = canonicalJson(request);
    const existing = this.transfers.get(request.reference);
    if (existing) {
      return existing.requestKey === requestKey ? { kind: 'duplicate', transfer: { ...existing.transfer } } : { kind: 'conflict' };
    }
    const at = vnIso(this.now());
    const short = request.amount > this.available;
    if (!short) this.available -= request.amount;
    const transfer: Transfer = {
      reference: request.reference,
      transferId: `T${randomBytes(8).toString('hex').toUpperCase()}`,
      status: short ? 'FAILED' : 'PENDING',
      amount: request.amount,
      currency: 'VND',
      failureCode: short ? 'INSUFFICIENT_FUNDS' : null,
      createdAt: at,
      updatedAt: at,
    };
    this.transfers.set(request.reference, { transfer, requestKey, request });
    this.record(transfer, at);
    return { kind: 'created', transfer: { ...transfer } };
  }

  /**
   * Moves a transfer PENDING → SUCCEEDED | FAILED, or SUCCEEDED → RETURNED,
   * and records the change for statements. FAILED and RETURNED need a
   * failureCode and give the amount back to the float; SUCCEEDED takes none.
   */
  settle(reference: string, status: Exclude<TransferStatus, 'PENDING'>, failureCode?: FailureCode): Transfer {
    const entry = this.transfers.get(reference);
    if (!entry) throw notFound('NOT_FOUND', `no transfer ${reference}`);
    const from = entry.transfer.status;
    const allowed =
      (from === 'PENDING' && (status === 'SUCCEEDED' || status === 'FAILED')) || (from === 'SUCCEEDED' && status === 'RETURNED');
    if (!allowed) throw conflict('INVALID_TRANSITION', `transfer ${reference} cannot move ${from} → ${status}`);
    const final = status === 'FAILED' || status === 'RETURNED';
    if (final !== (failureCode !== undefined)) {
      throw invalid('INVALID_FAILURE_CODE', 'failureCode is required exactly for FAILED and RETURNED');
    }
    const at = vnIso(this.now());
    entry.transfer = { ...entry.transfer, status, failureCode: failureCode ?? null, updatedAt: at };
    if (final) this.available += entry.transfer.amount;
    this.record(entry.transfer, at);
    return { ...entry.transfer };
  }

  /** Every status change (acceptance included) whose time falls on the business date `YYYY-MM-DD`, oldest first. */
  statement(date: string): StatementLine[] {
    return this.changes.filter((c) => c.occurredAt.startsWith(`${date}T`)).map((c) => ({ ...c }));
  }

  private record(t: Transfer, occurredAt: string): void {
    this.changes.push({
      reference: t.reference,
      transferId: t.transferId,
      status: t.status,
      amount: t.amount,
      currency: 'VND',
      failureCode: t.failureCode,
      occurredAt,
    });
  }
}

const fail = (res: Response, status: number, error: string, message?: string): void => {
  res.status(status).json(message === undefined ? { error } : { error, message });
};

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

const issuesMessage = (error: z.ZodError): string =>
  error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');

/** The sandbox provider's express app (not listening) and its ledger. */
export function buildSandboxApp(opts: SandboxOptions): { app: express.Express; ledger: SandboxLedger } {
  const now = opts.now ?? Date.now;
  const ledger = new SandboxLedger(now, opts.initialFloat ?? DEFAULT_FLOAT);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  if (opts.latencyMs !== undefined && opts.latencyMs > 0) {
    const delay = opts.latencyMs;
    app.use((_req, _res, next) => void setTimeout(next, delay));
  }
  app.use(express.raw({ type: '*/*', limit: '1mb' }));

  const rawBody = (req: Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  // section 1: every request is signed by the one client this sandbox knows
  app.use((req, res, next) => {
    const check = verify(opts.secret, req.headers, req.method, req.originalUrl, rawBody(req), now());
    if (!check.ok) return fail(res, 401, check.reason);
    if (req.headers['x-client-id'] !== opts.clientId) return fail(res, 401, 'BAD_SIGNATURE');
    next();
  });

  const jsonBody = <T>(req: Request, res: Response, schema: z.ZodType<T>): T | undefined => {
    const json = parseJson(rawBody(req));
    if (!json.ok) {
      fail(res, 400, 'INVALID_REQUEST', 'body must be JSON');
      return undefined;
    }
    const parsed = schema.safeParse(json.value);
    if (!parsed.success) {
      fail(res, 400, 'INVALID_REQUEST', issuesMessage(parsed.error));
      return undefined;
    }
    return parsed.data;
  };

  app.post('/v1/transfers', (req, res) => {
    const request = jsonBody(req, res, transferRequestSchema);
    if (request === undefined) return;
    const result = ledger.create(request);
    if (result.kind === 'conflict') return fail(res, 409, 'REFERENCE_CONFLICT');
    res.status(result.kind === 'created' ? 201 : 200).json(result.transfer);
  });

  app.get('/v1/transfers/:reference', (req, res) => {
    const transfer = ledger.get(req.params.reference);
    if (!transfer) return fail(res, 404, 'NOT_FOUND');
    res.status(200).json(transfer);
  });

  app.get('/v1/balance', (_req, res) => {
    res.status(200).json({ currency: 'VND', available: ledger.balance() });
  });

  app.post('/v1/account-lookups', (req, res) => {
    const body = jsonBody(req, res, lookupSchema);
    if (body === undefined) return;
    res.status(200).json(ledger.lookup(body.destination));
  });

  app.get('/v1/statements', (req, res) => {
    const date = req.query.date;
    if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
      return fail(res, 400, 'INVALID_REQUEST', 'date must be YYYY-MM-DD');
    }
    const rows = ledger
      .statement(date)
      .map((l) => [l.reference, l.transferId, l.status, String(l.amount), l.currency, l.failureCode ?? '', l.occurredAt]);
    const body = Buffer.from(stringify([STATEMENT_HEADER, ...rows]), 'utf8');
    // the response is signed over the request it answers (method and target as received) and its exact body
    const headers = signedHeaders(opts.secret, {
      method: 'GET',
      pathWithQuery: req.originalUrl,
      rawBody: body,
      timestamp: Math.floor(now() / 1000),
    });
    res.status(200).set(headers).type('text/csv; charset=utf-8').send(body);
  });

  app.use((_req: Request, res: Response) => fail(res, 404, 'NOT_FOUND'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown }).status;
    if (status === 413) return fail(res, 413, 'INVALID_REQUEST', 'body too large');
    if (typeof status === 'number' && status >= 400 && status < 500) return fail(res, 400, 'INVALID_REQUEST', 'unreadable request');
    fail(res, 500, 'INTERNAL');
  });

  return { app, ledger };
}

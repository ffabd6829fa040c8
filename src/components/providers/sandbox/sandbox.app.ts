/**
 * The built-in sandbox provider: serves the Disbursement Provider API v1
 * (shared/contracts/provider-api.md) from memory, for tests, demos and fault
 * benchmarks.
 *
 * Signing (section 1), transfers (2), inquiry (3), callbacks (4), statements
 * (5), balance (6) and account lookups (7). Transfers settle by themselves
 * when `settleMs` is set (else only through `ledger.settle`), may fail by
 * configured shares, be returned later, and every status change is posted to
 * the transfer's callbackUrl. Faults on demand: latency, 503/500 before
 * accepting, answers lost after accepting, 429 over an in-flight limit,
 * duplicated, delayed and out-of-order callbacks. A small signed admin surface
 * under `/_sandbox` (not part of the contract) reads the ledger and changes
 * the faults while it runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { AppError } from '../../../platform/errors/app-error';
import { FAILURE_CODES } from '../provider.port';
import { signedHeaders, verify } from '../signing';
import { SandboxLedger, type TransferRequest } from './ledger';
import { fail, sendJson } from './plain-http';
import type { BehaviourPatch } from './settings';

export { bankName, SandboxLedger, vnIso } from './ledger';
export type { CreateResult, LedgerSummary, ListedTransfer, RequestStats } from './ledger';
export type { CallbackStats } from './callbacks';
export { DEFAULT_BEHAVIOUR, type BehaviourPatch, type Range, type SandboxBehaviour } from './settings';

/**
 * The sandbox's identity and start state, plus any behaviour field
 * (SandboxBehaviour: settleMs, failShares, returnShare, fiveXxShare,
 * timeoutShare, maxInFlight, duplicateCallbackShare, outOfOrderShare, …).
 * Without them it settles nothing by itself and injects no fault.
 */
export type SandboxOptions = {
  clientId: string;
  /** Shared secret: requests, signed statements and callbacks. */
  secret: string;
  /** The sandbox's clock in ms (default `Date.now`): signature freshness, timestamps and business dates. */
  now?: () => number;
  /** Whole đồng in the service's float account at start (default 10^12). */
  initialFloat?: number;
  /** Seed of every random choice (settlement fates, faults, jitter); random when not given (see GET /_sandbox/ledger). */
  seed?: string | number;
  /** Where errors of timed work (settlement, callbacks) are reported. */
  onError?: (err: unknown) => void;
  /**
   * Takes the provider off the network for `ms` (POST /_sandbox/outage): the process that listens stops listening,
   * cuts its connections and listens again on the same port. Without it, the route answers 404.
   */
  outage?: (ms: number) => void;
} & BehaviourPatch;

const STATEMENT_HEADER = ['reference', 'transferId', 'status', 'amount', 'currency', 'failureCode', 'occurredAt'];
const MAX_BODY_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

const present = z.string().min(1).max(128);
const bankAccount = { type: z.literal('BANK_ACCOUNT'), bankCode: z.string().regex(/^\d{6}$/), accountNumber: present };
const wallet = { type: z.literal('WALLET'), walletProvider: present, walletId: present };
const destinationSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...bankAccount, accountName: present }),
  z.strictObject({ ...wallet, accountName: present }),
]);
const lookupDestinationSchema = z.discriminatedUnion('type', [z.strictObject(bankAccount), z.strictObject(wallet)]);
const lookupSchema = z.strictObject({ destination: lookupDestinationSchema });
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

const accountSchema = z.strictObject({ destination: lookupDestinationSchema, accountName: present });
const outageSchema = z.strictObject({ ms: z.int().min(1).max(600_000) });
const floatSchema = z.strictObject({ available: z.int().min(0).max(Number.MAX_SAFE_INTEGER) });
const settleSchema = z.strictObject({
  status: z.enum(['SUCCEEDED', 'FAILED', 'RETURNED']),
  failureCode: z.enum(FAILURE_CODES).optional(),
});

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

const issuesMessage = (error: z.ZodError): string =>
  error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');

/** The hot routes: `POST /v1/transfers` and `GET /v1/transfers/{reference}` (with no query and no trailing slash). */
const TRANSFER_PATH = /^\/v1\/transfers(?:\/([^/?]+))?$/;

/**
 * The sandbox provider's express app (not listening) and its ledger. Call
 * `ledger.close()` when done with it: it stops settlement timers and callbacks.
 *
 * `handler` serves the two transfer routes (create and inquiry, the hot path
 * of a payment run) on plain node:http, with exactly the steps and answers of
 * the express app (in-flight limit, latency, body limit, signature, faults),
 * and hands every other request to the app; the app also serves the transfer
 * routes itself first, so either may be mounted.
 */
export function buildSandboxApp(opts: SandboxOptions): {
  app: express.Express;
  ledger: SandboxLedger;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
} {
  const { clientId, secret, now: nowOpt, initialFloat, seed, onError, outage, ...behaviour } = opts;
  const now = nowOpt ?? Date.now;
  const ledger = new SandboxLedger({ now, initialFloat, seed, secret, behaviour, onError });
  const stats = ledger.requestStats;
  const rng = ledger.requestRng;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  /** 503 or 500 (half each) for `fiveXxShare` of transfer requests, before anything is read or recorded. */
  const failedBeforeAccepting = (res: ServerResponse): boolean => {
    const b = ledger.behaviour();
    if (!rng.chance(b.fiveXxShare)) return false;
    if (rng.next() < 0.5) {
      stats.unavailable++;
      res.setHeader('Retry-After', String(b.retryAfterSeconds));
      fail(res, 503, 'UNAVAILABLE');
    } else {
      stats.internalErrors++;
      fail(res, 500, 'INTERNAL');
    }
    return true;
  };

  const createTransfer = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    if (failedBeforeAccepting(res)) return;
    const json = parseJson(body);
    if (!json.ok) return fail(res, 400, 'INVALID_REQUEST', 'body must be JSON');
    const parsed = transferRequestSchema.safeParse(json.value);
    if (!parsed.success) return fail(res, 400, 'INVALID_REQUEST', issuesMessage(parsed.error));
    const result = ledger.create(parsed.data as TransferRequest);
    if (result.kind === 'conflict') return fail(res, 409, 'REFERENCE_CONFLICT');
    const b = ledger.behaviour();
    if (rng.chance(b.timeoutShare)) {
      // accepted and kept, but the answer is lost: the sender must inquire
      stats.timedOut++;
      const socket = req.socket;
      const timer = setTimeout(() => socket.destroy(), b.timeoutHoldMs);
      timer.unref();
      res.once('close', () => clearTimeout(timer));
      return;
    }
    sendJson(res, result.kind === 'created' ? 201 : 200, result.transfer);
  };

  const inquire = (res: ServerResponse, reference: string): void => {
    if (failedBeforeAccepting(res)) return;
    const transfer = ledger.get(reference);
    if (!transfer) return fail(res, 404, 'NOT_FOUND');
    sendJson(res, 200, transfer);
  };

  /** Serves a transfer route on plain node:http and returns true, or returns false (untouched) for anything else. */
  const transferRoute = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if (!url.startsWith('/v1/transfers')) return false;
    const m = TRANSFER_PATH.exec(url);
    if (!m) return false;
    let reference: string | undefined;
    if (m[1] !== undefined) {
      if (req.method !== 'GET') return false;
      try {
        reference = decodeURIComponent(m[1]);
      } catch {
        return false; // the app answers an undecodable path
      }
    } else if (req.method !== 'POST') return false;
    // the in-flight limit (429 before anything else, as a gateway does), then latency
    const b = ledger.behaviour();
    stats.total++;
    if (b.maxInFlight > 0 && stats.inFlight >= b.maxInFlight) {
      stats.rateLimited++;
      res.setHeader('Retry-After', String(b.retryAfterSeconds));
      fail(res, 429, 'RATE_LIMITED');
      return true;
    }
    stats.inFlight++;
    res.once('close', () => void stats.inFlight--);
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > MAX_BODY_BYTES;
    const answer = (): void => {
      if (tooLarge) {
        res.setHeader('Connection', 'close');
        return fail(res, 413, 'INVALID_REQUEST', 'body too large');
      }
      const body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      // section 1: signed by the one client this sandbox knows
      const check = verify(secret, req.headers, req.method!, url, body, now());
      if (!check.ok) return fail(res, 401, check.reason);
      if (req.headers['x-client-id'] !== clientId) return fail(res, 401, 'BAD_SIGNATURE');
      if (reference === undefined) createTransfer(req, res, body);
      else inquire(res, reference);
    };
    let ended = false;
    let due = false;
    const delay = rng.between(b.latencyMs);
    const ready = (): void => {
      if (ended && due) answer();
    };
    if (delay > 0) {
      setTimeout(() => {
        due = true;
        ready();
      }, delay);
    } else due = true;
    if (tooLarge) {
      // not read: answered (after the latency) and the connection closed
      req.resume();
      ended = true;
      ready();
      return true;
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else if (!tooLarge) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      ended = true;
      ready();
    });
    return true;
  };
  app.use((req, res, next) => {
    if (!transferRoute(req, res)) next();
  });

  // contract requests: the in-flight limit (429 before anything else, as a gateway does) and latency
  app.use((req, res, next) => {
    if (!req.url.startsWith('/v1/')) return next();
    const b = ledger.behaviour();
    stats.total++;
    if (b.maxInFlight > 0 && stats.inFlight >= b.maxInFlight) {
      stats.rateLimited++;
      res.setHeader('Retry-After', String(b.retryAfterSeconds));
      return fail(res, 429, 'RATE_LIMITED');
    }
    stats.inFlight++;
    res.once('close', () => void stats.inFlight--);
    const delay = rng.between(b.latencyMs);
    if (delay > 0) setTimeout(next, delay);
    else next();
  });

  // the exact body bytes: the signature covers them
  app.use((req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      res.setHeader('Connection', 'close');
      return fail(res, 413, 'INVALID_REQUEST', 'body too large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else if (!tooLarge) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (tooLarge) return fail(res, 413, 'INVALID_REQUEST', 'body too large');
      req.body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      next();
    });
  });

  const rawBody = (req: Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : EMPTY);

  // section 1: every request is signed by the one client this sandbox knows (the admin surface too)
  app.use((req, res, next) => {
    const check = verify(secret, req.headers, req.method, req.originalUrl, rawBody(req), now());
    if (!check.ok) return fail(res, 401, check.reason);
    if (req.headers['x-client-id'] !== clientId) return fail(res, 401, 'BAD_SIGNATURE');
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

  // the same routes for the requests the plain handler leaves to the app (a query string, a trailing slash)
  app.post('/v1/transfers', (req, res) => createTransfer(req, res, rawBody(req)));
  app.get('/v1/transfers/:reference', (req, res) => inquire(res, req.params.reference));

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
    const headers = signedHeaders(secret, {
      method: 'GET',
      pathWithQuery: req.originalUrl,
      rawBody: body,
      timestamp: Math.floor(now() / 1000),
    });
    res.status(200).set(headers).type('text/csv; charset=utf-8').send(body);
  });

  // ---- the admin surface (not part of the contract), signed like the rest

  app.get('/_sandbox/ledger', (_req, res) => {
    res.status(200).json({ ...ledger.summary(), memory: process.memoryUsage() });
  });

  app.get('/_sandbox/transfers', (req, res) => {
    const num = (v: unknown, dflt: number): number | null =>
      v === undefined ? dflt : typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : null;
    const after = num(req.query.after, 0);
    const limit = num(req.query.limit, 100);
    if (after === null || limit === null || limit < 1 || limit > 1000) {
      return fail(res, 400, 'INVALID_REQUEST', 'after must be a whole number, limit 1-1000');
    }
    res.status(200).json(ledger.transfers(after, limit));
  });

  app.post('/_sandbox/accounts', (req, res) => {
    const body = jsonBody(req, res, accountSchema);
    if (body === undefined) return;
    ledger.registerAccount(body.destination, body.accountName);
    res.status(200).json(ledger.lookup(body.destination));
  });

  app.post('/_sandbox/float', (req, res) => {
    const body = jsonBody(req, res, floatSchema);
    if (body === undefined) return;
    res.status(200).json({ currency: 'VND', available: ledger.setFloat(body.available) });
  });

  app.get('/_sandbox/faults', (_req, res) => {
    res.status(200).json(ledger.behaviour());
  });

  app.post('/_sandbox/faults', (req, res) => {
    const json = parseJson(rawBody(req));
    if (!json.ok) return fail(res, 400, 'INVALID_REQUEST', 'body must be JSON');
    try {
      res.status(200).json(ledger.configure(json.value as BehaviourPatch));
    } catch (err) {
      fail(res, 400, 'INVALID_REQUEST', err instanceof Error ? err.message : String(err));
    }
  });

  app.post('/_sandbox/outage', (req, res) => {
    if (!outage) return fail(res, 404, 'NOT_FOUND', 'this sandbox cannot go off the network');
    const body = jsonBody(req, res, outageSchema);
    if (body === undefined) return;
    // the answer goes out first: the outage cuts every connection, this one included
    res.once('finish', () => outage(body.ms));
    res.status(202).json({ offlineMs: body.ms });
  });

  app.post('/_sandbox/transfers/:reference/settle', (req, res) => {
    const body = jsonBody(req, res, settleSchema);
    if (body === undefined) return;
    try {
      res.status(200).json(ledger.settle(req.params.reference, body.status, body.failureCode));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      fail(res, err.status, err.code, err.message);
    }
  });

  app.use((_req: Request, res: Response) => fail(res, 404, 'NOT_FOUND'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return fail(res, 400, 'INVALID_REQUEST', 'unreadable request');
    fail(res, 500, 'INTERNAL');
  });

  return {
    app,
    ledger,
    handler: (req, res) => {
      if (!transferRoute(req, res)) app(req, res);
    },
  };
}

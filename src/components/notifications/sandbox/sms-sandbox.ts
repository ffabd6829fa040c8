/**
 * The built-in sandbox SMS gateway: serves the SMS Gateway API v1 (shared/contracts/sms-api.md) from memory, for
 * tests, demos and fault runs. A ledger of accepted references (identity: to, sender, text), statuses moving only
 * forward (QUEUED → SENT → DELIVERED or one final failure), signed delivery reports to each message's callbackUrl
 * with retries. Faults on demand: latency, 5xx before accepting, answers lost after accepting, 429 above a rate,
 * undeliverable messages, duplicated and reordered reports. A signed admin surface under `<prefix>/_sandbox` (not
 * part of the contract) reads the ledger and changes the faults while it runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { verify } from '../../providers';
import { fail, sendJson } from '../../providers/sandbox/plain-http';
import { SMS_SENDER, SMS_TO, SMS_REFERENCE, type SmsMessage } from '../sms-wire';
import { SmsSandboxLedger, vnIso, type SandboxSms, type SmsSandboxOptions } from './sms-ledger';

export {
  DEFAULT_SMS_BEHAVIOUR,
  SmsSandboxLedger,
  type SandboxSms,
  type SmsBehaviourPatch,
  type SmsSandboxBehaviour,
  type SmsSandboxOptions,
} from './sms-ledger';

const sendSchema = z.strictObject({
  reference: z.string().regex(SMS_REFERENCE),
  to: z.string(),
  sender: z.string(),
  text: z
    .string()
    .min(1)
    .refine((t) => [...t].length <= 612, 'text must be at most 612 characters'),
  callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
});
const statusSchema = z.strictObject({
  status: z.enum(['SENT', 'DELIVERED', 'UNDELIVERABLE', 'REJECTED', 'EXPIRED']),
  errorCode: z.enum(['BLOCKED_NUMBER', 'NUMBER_NOT_IN_SERVICE', 'CONTENT_REFUSED']).optional(),
});

const BODY_LIMIT = 64 * 1024;
const EMPTY = Buffer.alloc(0);

const publicMessage = (m: SandboxSms): SmsMessage => ({
  reference: m.reference,
  messageId: m.messageId,
  status: m.status,
  encoding: m.encoding,
  segments: m.segments,
  createdAt: m.createdAt,
  updatedAt: m.updatedAt,
  errorCode: m.errorCode,
});

/**
 * The sandbox gateway: `handler` serves the two message routes (send and question, the hot path of a sending run) on
 * plain node:http with exactly the steps and answers of the express app (body limit, signature, latency, faults) and
 * hands every other request to `app`; the app serves the message routes the same way first, so either may be mounted.
 * `ledger.close()` stops its timed work and reports.
 */
export function buildSmsSandbox(opts: SmsSandboxOptions): {
  app: express.Express;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  ledger: SmsSandboxLedger;
} {
  const now = opts.now ?? Date.now;
  const ledger = new SmsSandboxLedger(opts, now);
  const prefix = opts.prefix ?? '';
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  let windowStart = 0;
  let windowCount = 0;

  /** Section 1: signed by the one client this sandbox knows; false when refused (answered). */
  const signed = (req: IncomingMessage, res: ServerResponse, url: string, body: Buffer): boolean => {
    const check = verify(opts.secret, req.headers, req.method ?? '', url, body, now());
    if (!check.ok) {
      fail(res, 401, check.reason);
      return false;
    }
    if (req.headers['x-client-id'] !== opts.clientId) {
      fail(res, 401, 'BAD_SIGNATURE');
      return false;
    }
    return true;
  };
  /** A contract request counted, then run after the configured latency. */
  const afterLatency = (run: () => void): void => {
    ledger.stats.requests++;
    const delay = ledger.rng.between(ledger.behaviour().latencyMs);
    if (delay > 0) setTimeout(run, delay);
    else run();
  };
  const beforeAccepting = (res: ServerResponse): boolean => {
    if (!ledger.rng.chance(ledger.behaviour().fiveXxShare)) return false;
    ledger.stats.fiveXx++;
    if (ledger.rng.next() < 0.5) {
      res.setHeader('Retry-After', String(ledger.behaviour().retryAfterSeconds));
      fail(res, 503, 'UNAVAILABLE');
    } else fail(res, 500, 'INTERNAL');
    return true;
  };
  const send = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const b = ledger.behaviour();
    if (b.ratePerSecond > 0) {
      const t = now();
      if (t - windowStart >= 1000) {
        windowStart = t;
        windowCount = 0;
      }
      if (++windowCount > b.ratePerSecond) {
        ledger.stats.rateLimited++;
        res.setHeader('Retry-After', String(b.retryAfterSeconds));
        return fail(res, 429, 'RATE_LIMITED');
      }
    }
    if (beforeAccepting(res)) return;
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return fail(res, 400, 'INVALID_REQUEST', 'body must be JSON');
    }
    const parsed = sendSchema.safeParse(json);
    if (!parsed.success)
      return fail(res, 400, 'INVALID_REQUEST', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    if (!SMS_TO.test(parsed.data.to)) return fail(res, 400, 'INVALID_NUMBER', 'to must be +84 and 9 digits');
    if (!SMS_SENDER.test(parsed.data.sender)) return fail(res, 400, 'INVALID_SENDER', 'sender must be 1-11 of [A-Za-z0-9.]');
    const result = ledger.create(parsed.data);
    if (result.kind === 'conflict') return fail(res, 409, 'REFERENCE_CONFLICT');
    if (ledger.rng.chance(b.timeoutShare)) {
      // accepted and kept, but the answer is lost: the sender must ask
      ledger.stats.timedOut++;
      const socket = req.socket;
      const timer = setTimeout(() => socket.destroy(), b.timeoutHoldMs);
      timer.unref();
      res.once('close', () => clearTimeout(timer));
      return;
    }
    sendJson(res, result.kind === 'created' ? 201 : 200, publicMessage(result.message));
  };
  const ask = (res: ServerResponse, reference: string): void => {
    if (beforeAccepting(res)) return;
    const m = ledger.messages.get(reference);
    if (!m) return fail(res, 404, 'NOT_FOUND');
    sendJson(res, 200, publicMessage(m));
  };

  /** Serves a message route on plain node:http and returns true, or returns false (untouched) for anything else. */
  const messagePath = `${prefix}/v1/messages`;
  const messageRoute = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if (!url.startsWith(messagePath)) return false;
    const rest = url.slice(messagePath.length);
    let reference: string | undefined;
    if (rest === '') {
      if (req.method !== 'POST') return false;
    } else {
      if (req.method !== 'GET' || !/^\/[^/?]+$/.test(rest)) return false;
      try {
        reference = decodeURIComponent(rest.slice(1));
      } catch {
        return false; // the app answers an undecodable path
      }
    }
    if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT) {
      req.resume();
      res.setHeader('Connection', 'close');
      fail(res, 413, 'INVALID_REQUEST', 'body too large');
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (size > BODY_LIMIT) {
        res.setHeader('Connection', 'close');
        return fail(res, 413, 'INVALID_REQUEST', 'body too large');
      }
      const body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      if (!signed(req, res, url, body)) return;
      afterLatency(() => (reference === undefined ? send(req, res, body) : ask(res, reference)));
    });
    return true;
  };
  app.use((req, res, next) => {
    if (!messageRoute(req, res)) next();
  });

  // the exact body bytes: the signature covers them
  app.use(express.raw({ type: () => true, limit: '64kb' }));
  app.use((req, res, next) => {
    if (signed(req, res, req.originalUrl, Buffer.isBuffer(req.body) ? req.body : EMPTY)) next();
  });
  const contract = express.Router();
  contract.use((_req, _res, next) => afterLatency(next));
  contract.get('/v1/balance', (_req, res) => {
    const left = ledger.balance();
    if (left === null) return fail(res, 404, 'NOT_FOUND');
    res.status(200).json({ segmentsLeft: left, asOf: vnIso(now()) });
  });

  // ---- the admin surface (not part of the contract), signed like the rest
  contract.get('/_sandbox/ledger', (_req, res) => {
    res.status(200).json(ledger.summary());
  });
  contract.get('/_sandbox/messages', (req, res) => {
    const after = Number(req.query.after ?? 0);
    const limit = Number(req.query.limit ?? 100);
    if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      return fail(res, 400, 'INVALID_REQUEST', 'after must be a whole number, limit 1-10000');
    }
    res.status(200).json(ledger.list(after, limit));
  });
  contract.get('/_sandbox/faults', (_req, res) => {
    res.status(200).json(ledger.behaviour());
  });
  contract.post('/_sandbox/faults', (req, res) => {
    try {
      res.status(200).json(ledger.configure(JSON.parse((req.body as Buffer).toString('utf8'))));
    } catch (err) {
      fail(
        res,
        400,
        'INVALID_REQUEST',
        err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : 'body must be JSON',
      );
    }
  });
  contract.post('/_sandbox/messages/:reference/status', (req, res) => {
    let body: z.infer<typeof statusSchema>;
    try {
      body = statusSchema.parse(JSON.parse((req.body as Buffer).toString('utf8')));
    } catch {
      return fail(res, 400, 'INVALID_REQUEST', 'status must be SENT, DELIVERED, UNDELIVERABLE, REJECTED or EXPIRED');
    }
    const m = ledger.move(req.params.reference, body.status, body.errorCode ?? null);
    if (!m) return fail(res, 404, 'NOT_FOUND');
    res.status(200).json(publicMessage(m));
  });
  app.use(prefix || '/', contract);
  app.use((_req: Request, res: Response) => fail(res, 404, 'NOT_FOUND'));
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!messageRoute(req, res)) app(req, res);
  };
  return { app, handler, ledger };
}

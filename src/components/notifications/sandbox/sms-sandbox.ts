/**
 * The built-in sandbox SMS gateway: serves the SMS Gateway API v1 (shared/contracts/sms-api.md) from memory, for
 * tests, demos and fault runs. A ledger of accepted references (identity: to, sender, text), statuses moving only
 * forward (QUEUED → SENT → DELIVERED or one final failure), signed delivery reports to each message's callbackUrl
 * with retries. Faults on demand: latency, 5xx before accepting, answers lost after accepting, 429 above a rate,
 * undeliverable messages, duplicated and reordered reports. A signed admin surface under `<prefix>/_sandbox` (not
 * part of the contract) reads the ledger and changes the faults while it runs.
 */
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { Pool } from 'undici';
import { z } from 'zod';
import { Rng, randomSeed } from '../../providers/sandbox/random';
import { Scheduler } from '../../providers/sandbox/scheduler';
import { signedHeaders, verify } from '../../providers';
import { countSms } from '../sms-encoding';
import { SMS_FINAL, SMS_REFERENCE, SMS_SENDER, SMS_TO, type SmsMessage, type SmsStatus } from '../sms-wire';

type Range = readonly [number, number];

export interface SmsSandboxBehaviour {
  latencyMs: Range;
  /** Share of sends and questions answered 503 or 500 (half each) before anything is recorded. */
  fiveXxShare: number;
  /** Share of accepted sends (201 and 200) whose answer is never sent: the socket is destroyed after timeoutHoldMs. */
  timeoutShare: number;
  timeoutHoldMs: number;
  /** Sends a second above which the gateway answers 429 RATE_LIMITED (0: no limit). */
  ratePerSecond: number;
  retryAfterSeconds: number;
  /** QUEUED → SENT after this, then the final status after deliverMs; null: only POST <prefix>/_sandbox/messages/{ref}/status moves them. */
  sentMs: Range | null;
  deliverMs: Range;
  /** Share of messages that end UNDELIVERABLE instead of DELIVERED. */
  undeliverableShare: number;
  /** Share of reports delivered once more after a while. */
  duplicateReportShare: number;
  /** Share of messages whose SENT report is held until the final one was delivered. */
  reorderShare: number;
  reportRetryBaseMs: number;
  reportRetryCapMs: number;
  reportGiveUpMs: number;
  /** Reports in flight at once; the rest wait in memory. */
  reportConcurrency: number;
}

export const DEFAULT_SMS_BEHAVIOUR: SmsSandboxBehaviour = Object.freeze({
  latencyMs: [0, 0] as Range,
  fiveXxShare: 0,
  timeoutShare: 0,
  timeoutHoldMs: 30_000,
  ratePerSecond: 0,
  retryAfterSeconds: 1,
  sentMs: [50, 200] as Range,
  deliverMs: [100, 1000] as Range,
  undeliverableShare: 0,
  duplicateReportShare: 0,
  reorderShare: 0,
  reportRetryBaseMs: 500,
  reportRetryCapMs: 60_000,
  reportGiveUpMs: 24 * 3600_000,
  reportConcurrency: 32,
});

const range = z
  .tuple([z.int().min(0).max(86_400_000), z.int().min(0).max(86_400_000)])
  .refine((r) => r[0] <= r[1], 'from must not be after to');
const share = z.number().min(0).max(1);
const behaviourPatch = z
  .strictObject({
    latencyMs: range,
    fiveXxShare: share,
    timeoutShare: share,
    timeoutHoldMs: z.int().min(0).max(600_000),
    ratePerSecond: z.int().min(0).max(1_000_000),
    retryAfterSeconds: z.int().min(0).max(3600),
    sentMs: range.nullable(),
    deliverMs: range,
    undeliverableShare: share,
    duplicateReportShare: share,
    reorderShare: share,
    reportRetryBaseMs: z.int().min(1).max(3600_000),
    reportRetryCapMs: z.int().min(1).max(86_400_000),
    reportGiveUpMs: z
      .int()
      .min(1)
      .max(7 * 86_400_000),
    reportConcurrency: z.int().min(1).max(10_000),
  })
  .partial();
export type SmsBehaviourPatch = z.infer<typeof behaviourPatch>;

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

/** One accepted message as the sandbox keeps it. */
export interface SandboxSms extends SmsMessage {
  to: string;
  sender: string;
  text: string;
  callbackUrl: string | null;
  /** POSTs of this reference the gateway accepted (201 once, then each identical 200). */
  accepts: number;
}

export interface SmsSandboxOptions {
  clientId: string;
  secret: string;
  /** Path prefix the routes live under ('' on a server of their own, '/sms' in the sandbox process). */
  prefix?: string;
  now?: () => number;
  seed?: string;
  /** Prepaid segments at start (GET /v1/balance); null: billed monthly, the balance answers 404. */
  segments?: number | null;
  onError?: (err: unknown) => void;
  behaviour?: SmsBehaviourPatch;
}

const vnIso = (ms: number): string => new Date(ms + 7 * 3600_000).toISOString().replace('Z', '+07:00');

export class SmsSandboxLedger {
  readonly messages = new Map<string, SandboxSms>();
  // the same messages in order of acceptance, for paging through them
  private readonly accepted: SandboxSms[] = [];
  readonly seed: string;
  readonly rng: Rng;
  readonly stats = {
    requests: 0,
    created: 0,
    duplicates: 0,
    conflicts: 0,
    rateLimited: 0,
    fiveXx: 0,
    timedOut: 0,
    reportsPosted: 0,
    reportsFailed: 0,
  };
  /** Why the last report that failed did (for the fault runs' reading). */
  lastReportError: string | null = null;
  private b: SmsSandboxBehaviour;
  private segmentsLeft: number | null;
  // a message's moves, its reports' retries and repeats: one heap entry each on one timer, not a Node timer each
  private readonly scheduler: Scheduler;
  // keep-alive connections per callback origin, as a gateway's report workers hold them
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  constructor(
    private readonly opts: SmsSandboxOptions,
    readonly now: () => number,
  ) {
    this.seed = opts.seed ?? randomSeed();
    this.rng = new Rng(this.seed);
    this.b = { ...DEFAULT_SMS_BEHAVIOUR, ...(opts.behaviour ?? {}) };
    this.segmentsLeft = opts.segments === undefined ? 1_000_000 : opts.segments;
    this.scheduler = new Scheduler((err) => this.opts.onError?.(err));
  }

  behaviour(): SmsSandboxBehaviour {
    return this.b;
  }

  configure(patch: unknown): SmsSandboxBehaviour {
    const parsed = behaviourPatch.parse(patch);
    this.b = { ...this.b, ...parsed };
    return this.b;
  }

  balance(): number | null {
    return this.segmentsLeft;
  }

  create(body: z.infer<typeof sendSchema>): { kind: 'created' | 'duplicate'; message: SandboxSms } | { kind: 'conflict' } {
    const old = this.messages.get(body.reference);
    if (old) {
      if (old.to !== body.to || old.sender !== body.sender || old.text !== body.text) {
        this.stats.conflicts++;
        return { kind: 'conflict' };
      }
      old.accepts++;
      this.stats.duplicates++;
      return { kind: 'duplicate', message: old };
    }
    const { encoding, segments } = countSms(body.text);
    const at = vnIso(this.now());
    const m: SandboxSms = {
      reference: body.reference,
      messageId: `M${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`,
      status: 'QUEUED',
      encoding,
      segments,
      createdAt: at,
      updatedAt: at,
      errorCode: null,
      to: body.to,
      sender: body.sender,
      text: body.text,
      callbackUrl: body.callbackUrl ?? null,
      accepts: 1,
    };
    this.messages.set(m.reference, m);
    this.accepted.push(m);
    this.stats.created++;
    if (this.segmentsLeft !== null) this.segmentsLeft = Math.max(0, this.segmentsLeft - segments);
    this.schedule(m);
    return { kind: 'created', message: m };
  }

  /** Moves a message forward (never back); reports the change. */
  move(reference: string, status: SmsStatus, errorCode: string | null = null): SandboxSms | null {
    const m = this.messages.get(reference);
    if (!m) return null;
    if (SMS_FINAL.has(m.status) || m.status === status || (m.status === 'SENT' && status === 'QUEUED')) return m;
    m.status = status;
    m.errorCode = status === 'REJECTED' ? (errorCode ?? 'CONTENT_REFUSED') : null;
    m.updatedAt = vnIso(this.now());
    this.report(m);
    return m;
  }

  /** Messages in order of acceptance, from `after` (an index), for tests and fault runs. */
  list(after: number, limit: number): { items: SandboxSms[]; next: number | null } {
    const items = this.accepted.slice(after, after + limit);
    return { items, next: after + limit < this.accepted.length ? after + limit : null };
  }

  summary(): Record<string, unknown> {
    const byStatus: Record<string, number> = {};
    let acceptedTwice = 0;
    for (const m of this.messages.values()) {
      byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
      if (m.accepts > 1) acceptedTwice++;
    }
    return {
      seed: this.seed,
      messages: this.messages.size,
      byStatus,
      acceptedTwice,
      stats: this.stats,
      lastReportError: this.lastReportError,
      segmentsLeft: this.segmentsLeft,
    };
  }

  close(): void {
    this.closed = true;
    this.scheduler.close();
    // destroying the pools ends the reports in flight
    for (const pool of this.pools.values()) void pool.destroy().catch(() => undefined);
    this.pools.clear();
  }

  private later(ms: number, run: () => void): void {
    if (!this.closed) this.scheduler.after(ms, run);
  }

  private schedule(m: SandboxSms): void {
    const sent = this.b.sentMs;
    if (sent === null) return;
    const undeliverable = this.rng.chance(this.b.undeliverableShare);
    // a number ending 0000 is not in service: the operator refuses it
    const rejected = m.to.endsWith('0000');
    this.later(this.rng.between(sent), () => {
      this.move(m.reference, 'SENT');
      this.later(this.rng.between(this.b.deliverMs), () =>
        rejected
          ? this.move(m.reference, 'REJECTED', 'NUMBER_NOT_IN_SERVICE')
          : this.move(m.reference, undeliverable ? 'UNDELIVERABLE' : 'DELIVERED'),
      );
    });
  }

  private held = new Map<string, () => void>();

  private report(m: SandboxSms): void {
    if (!m.callbackUrl) return;
    const body = JSON.stringify({
      eventId: `E${randomUUID()}`,
      reference: m.reference,
      status: m.status,
      errorCode: m.errorCode,
      at: m.updatedAt,
    });
    const deliver = () => this.post(m.callbackUrl!, body, this.now(), 0);
    if (m.status === 'SENT' && this.rng.chance(this.b.reorderShare)) {
      // held back until the final report went out: the receiver sees the final status first
      this.held.set(m.reference, deliver);
      return;
    }
    deliver();
    if (SMS_FINAL.has(m.status)) {
      const h = this.held.get(m.reference);
      if (h) {
        this.held.delete(m.reference);
        this.later(50, h);
      }
    }
    if (this.rng.chance(this.b.duplicateReportShare)) this.later(100 + this.rng.between([0, 400]), deliver);
  }

  // reports waiting for one of the reportConcurrency slots, as a gateway's delivery workers hold them back; a queue
  // read from a moving head (shift() would copy the array once per report)
  private waiting: (() => void)[] = [];
  private waitingHead = 0;
  private posting = 0;

  private poolFor(url: URL): Pool {
    let pool = this.pools.get(url.origin);
    if (!pool) {
      pool = new Pool(url.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
      this.pools.set(url.origin, pool);
    }
    return pool;
  }

  private nextWaiting(): void {
    if (this.waitingHead >= this.waiting.length) return;
    const run = this.waiting[this.waitingHead]!;
    this.waiting[this.waitingHead++] = undefined as unknown as () => void;
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
    run();
  }

  private post(url: string, body: string, firstAt: number, attempt: number): void {
    if (this.closed) return;
    if (this.posting >= this.b.reportConcurrency) {
      this.waiting.push(() => this.post(url, body, firstAt, attempt));
      return;
    }
    this.posting++;
    const target = new URL(url);
    const pathWithQuery = `${target.pathname}${target.search}`;
    const headers = signedHeaders(this.opts.secret, { method: 'POST', pathWithQuery, rawBody: body });
    headers['content-type'] = 'application/json';
    const failed = (err: unknown): void => {
      this.stats.reportsFailed++;
      this.lastReportError =
        err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      if (this.now() - firstAt > this.b.reportGiveUpMs) return;
      const wait = Math.min(this.b.reportRetryCapMs, this.b.reportRetryBaseMs * 2 ** Math.min(attempt, 20));
      this.later(Math.round(wait * (0.5 + this.rng.next() / 2)), () => this.post(url, body, firstAt, attempt + 1));
    };
    // undici's own timeouts bound the exchange (a signal per report cost more than the report's signature)
    this.poolFor(target)
      .request({ path: pathWithQuery, method: 'POST', headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 })
      .then(async (res) => {
        // read to the end, so that the connection serves the next report
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) this.stats.reportsPosted++;
        else throw new Error(`status ${res.statusCode}`);
      })
      .catch(failed)
      .finally(() => {
        this.posting--;
        this.nextWaiting();
      });
  }
}

const fail = (res: Response, status: number, error: string, message?: string): void => {
  res.status(status).json(message === undefined ? { error } : { error, message });
};

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

/** The sandbox gateway's express app (not listening) and its ledger; `ledger.close()` stops its timers and reports. */
export function buildSmsSandbox(opts: SmsSandboxOptions): { app: express.Express; ledger: SmsSandboxLedger } {
  const now = opts.now ?? Date.now;
  const ledger = new SmsSandboxLedger(opts, now);
  const prefix = opts.prefix ?? '';
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  let windowStart = 0;
  let windowCount = 0;

  // the exact body bytes: the signature covers them
  app.use(express.raw({ type: () => true, limit: '64kb' }));
  app.use((req, res, next) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = verify(opts.secret, req.headers, req.method, req.originalUrl, body, now());
    if (!check.ok) return fail(res, 401, check.reason);
    if (req.headers['x-client-id'] !== opts.clientId) return fail(res, 401, 'BAD_SIGNATURE');
    next();
  });
  const contract = express.Router();
  contract.use((req, res, next) => {
    const b = ledger.behaviour();
    ledger.stats.requests++;
    const delay = ledger.rng.between(b.latencyMs);
    if (delay > 0) setTimeout(next, delay);
    else next();
  });
  const beforeAccepting = (res: Response): boolean => {
    if (!ledger.rng.chance(ledger.behaviour().fiveXxShare)) return false;
    ledger.stats.fiveXx++;
    if (ledger.rng.next() < 0.5) {
      res.setHeader('Retry-After', String(ledger.behaviour().retryAfterSeconds));
      fail(res, 503, 'UNAVAILABLE');
    } else fail(res, 500, 'INTERNAL');
    return true;
  };
  contract.post('/v1/messages', (req: Request, res: Response) => {
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
      json = JSON.parse((req.body as Buffer).toString('utf8'));
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
    res.status(result.kind === 'created' ? 201 : 200).json(publicMessage(result.message));
  });
  contract.get('/v1/messages/:reference', (req, res) => {
    if (beforeAccepting(res)) return;
    const m = ledger.messages.get(req.params.reference);
    if (!m) return fail(res, 404, 'NOT_FOUND');
    res.status(200).json(publicMessage(m));
  });
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
  return { app, ledger };
}

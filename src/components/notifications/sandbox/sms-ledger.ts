/**
 * The sandbox SMS gateway's ledger: accepted references (identity: to, sender, text), statuses moving only forward
 * (QUEUED → SENT → DELIVERED or one final failure) on one scheduler, and signed delivery reports to each message's
 * callbackUrl with retries, duplicates and reordering as its behaviour says. The HTTP surface is sms-sandbox.ts.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Rng, randomSeed } from '../../providers/sandbox/random';
import { OriginPools } from '../../providers/sandbox/plain-http';
import { Scheduler } from '../../providers/sandbox/scheduler';
import { signedHeaders } from '../../providers';
import { countSms } from '../sms-encoding';
import { SMS_FINAL, type SmsMessage, type SmsStatus } from '../sms-wire';

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

/** A send the gateway has checked (contract section 2). */
export interface SmsSendBody {
  reference: string;
  to: string;
  sender: string;
  text: string;
  callbackUrl?: string | undefined;
}

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

export const vnIso = (ms: number): string => new Date(ms + 7 * 3600_000).toISOString().replace('Z', '+07:00');

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
  private readonly pools = new OriginPools();
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

  create(body: SmsSendBody): { kind: 'created' | 'duplicate'; message: SandboxSms } | { kind: 'conflict' } {
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
    this.pools.close();
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
    this.pools
      .for(target)
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

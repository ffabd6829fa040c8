import type { TransferEvent } from '../provider.port';
import { signedHeaders, unixSeconds } from '../signing';
import { OriginPools } from './plain-http';
import type { Rng } from './random';
import type { Scheduler } from './scheduler';
import type { SandboxBehaviour } from './settings';

/** What the callback sender has done so far. */
export interface CallbackStats {
  /** Events queued for delivery (status changes of transfers that gave a callbackUrl). */
  events: number;
  /** Events answered 2xx at least once. */
  delivered: number;
  /** POSTs made, first deliveries, retries and duplicates together. */
  attempts: number;
  /** POSTs that got no 2xx (other status, timeout, refused or reset connection). */
  failedAttempts: number;
  /** Extra deliveries of events already delivered (duplicateCallbackShare). */
  duplicatesSent: number;
  /** SUCCEEDED events held back until the RETURNED event was delivered (outOfOrderShare). */
  heldBack: number;
  /** Events dropped without a 2xx after callbackGiveUpMs. */
  givenUp: number;
  /** Events (and duplicates) waiting, scheduled or in flight. */
  pending: number;
}

interface Delivery {
  url: URL;
  event: TransferEvent;
  body: Buffer;
  /** ms (real clock) of the event: retries stop callbackGiveUpMs after it. */
  firstAt: number;
  attempt: number;
  duplicate: boolean;
  delivered: boolean;
  /** Called once, after the first attempt finished (whatever its outcome). */
  afterFirst?: () => void;
}

/**
 * Sends status events to callback URLs (contract section 4): signed with the
 * shared secret (no X-Client-Id), over keep-alive connections, retried with
 * exponential backoff and jitter until a 2xx or until callbackGiveUpMs, all
 * in memory. Never blocks request handling: deliveries wait in a queue, at
 * most callbackConcurrency in flight.
 */
export class CallbackSender {
  readonly stats: CallbackStats = {
    events: 0,
    delivered: 0,
    attempts: 0,
    failedAttempts: 0,
    duplicatesSent: 0,
    heldBack: 0,
    givenUp: 0,
    pending: 0,
  };
  private readonly ready: Delivery[] = [];
  private readyHead = 0;
  private active = 0;
  private closed = false;
  /** One keep-alive pool per receiving origin (undici: a lighter client than node:http for the sandbox's busiest path). */
  private readonly pools = new OriginPools();
  private readonly urls = new Map<string, URL>();

  constructor(
    private readonly secret: string,
    private readonly now: () => number,
    private readonly scheduler: Scheduler,
    private readonly behaviour: () => SandboxBehaviour,
    private readonly rng: Rng,
  ) {}

  /** Queues `event` for `callbackUrl`, first delivery after `delayMs`. */
  send(callbackUrl: string, event: TransferEvent, delayMs: number, afterFirst?: () => void): void {
    if (this.closed) return;
    let url = this.urls.get(callbackUrl);
    if (!url) {
      url = new URL(callbackUrl);
      if (this.urls.size < 1000) this.urls.set(callbackUrl, url);
    }
    this.stats.events++;
    this.stats.pending++;
    const d: Delivery = {
      url,
      event,
      body: Buffer.from(JSON.stringify(event), 'utf8'),
      firstAt: Date.now(),
      attempt: 0,
      duplicate: false,
      delivered: false,
      afterFirst,
    };
    this.later(d, delayMs);
  }

  close(): void {
    this.closed = true;
    // destroying the pools ends the requests in flight
    this.pools.close();
  }

  private later(d: Delivery, delayMs: number): void {
    if (delayMs <= 0) this.enqueue(d);
    else this.scheduler.after(delayMs, () => this.enqueue(d));
  }

  private enqueue(d: Delivery): void {
    if (this.closed) return;
    this.ready.push(d);
    this.pump();
  }

  private pump(): void {
    const limit = this.behaviour().callbackConcurrency;
    while (this.active < limit && this.readyHead < this.ready.length) {
      const d = this.ready[this.readyHead]!;
      this.ready[this.readyHead++] = undefined as unknown as Delivery;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      this.post(d);
    }
  }

  private post(d: Delivery): void {
    this.active++;
    this.stats.attempts++;
    d.attempt++;
    const b = this.behaviour();
    const pathWithQuery = `${d.url.pathname}${d.url.search}`;
    // re-signed for every attempt: a retry an hour later must still carry a fresh timestamp
    const headers = signedHeaders(this.secret, { method: 'POST', pathWithQuery, rawBody: d.body, timestamp: unixSeconds(this.now()) });
    headers['content-type'] = 'application/json; charset=utf-8';
    let finished = false;
    const done = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.active--;
      if (!this.closed) this.outcome(d, ok);
      this.pump();
    };
    // the whole exchange, connect to last byte, within callbackTimeoutMs: past it the attempt counts as failed, and
    // undici's own timeouts end the request (an AbortController per callback cost the sandbox about 9 µs each)
    const timer = setTimeout(() => done(false), b.callbackTimeoutMs);
    timer.unref();
    this.pools
      .for(d.url)
      .request({
        path: pathWithQuery,
        method: 'POST',
        headers,
        body: d.body,
        headersTimeout: b.callbackTimeoutMs,
        bodyTimeout: b.callbackTimeoutMs,
      })
      .then(
        async (res) => {
          // read to the end, so that the connection serves the next event
          await res.body.dump();
          done(res.statusCode >= 200 && res.statusCode < 300);
        },
        () => done(false),
      )
      .catch(() => done(false));
  }

  private outcome(d: Delivery, ok: boolean): void {
    const b = this.behaviour();
    if (d.afterFirst) {
      const after = d.afterFirst;
      d.afterFirst = undefined;
      after();
    }
    if (ok) {
      this.stats.pending--;
      if (d.duplicate) return;
      this.stats.delivered++;
      d.delivered = true;
      if (this.rng.chance(b.duplicateCallbackShare)) {
        this.stats.duplicatesSent++;
        this.stats.pending++;
        this.later({ ...d, attempt: 0, duplicate: true, firstAt: Date.now() }, this.rng.between(b.callbackDelayMs));
      }
      return;
    }
    this.stats.failedAttempts++;
    const exp = Math.min(b.callbackRetryCapMs, b.callbackRetryBaseMs * 2 ** Math.min(30, d.attempt - 1));
    // full jitter in the upper half: retries of many events spread out instead of arriving together
    const wait = Math.round(exp / 2 + (this.rng.next() * exp) / 2);
    if (Date.now() + wait - d.firstAt > b.callbackGiveUpMs) {
      this.stats.pending--;
      if (!d.duplicate) this.stats.givenUp++;
      return;
    }
    this.later(d, wait);
  }
}

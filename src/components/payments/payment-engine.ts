import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { DataCipher } from '../../platform/crypto';
import { notFound } from '../../platform/errors';
import { formatPeriod } from '../../platform/period';
import type { AuditService } from '../audit';
import { completeBatch, processingBatchIds } from '../batches/batch-lifecycle';
import type { HeaderBag } from '../providers/signing';
import type { Destination, InquiryOutcome, ProviderPort, SendOutcome } from '../providers/provider.port';
import type { ProvidersService } from '../providers/providers.service';
import { countTransitions, observeProviderRequest } from '../../platform/metrics';
import { CallbackBatcher, type CallbackOutcome } from './callback-batcher';
import { LocalConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency-limiter';
import type { DispatchMarks } from './dispatch-marks';
import { LocalRateLimiter, type RateLimiter } from './rate-limiter';
import { recordSameChange } from './payment-events';
import { applyClaimedOutcomes, recordReported } from './payment-outcomes';
import { answerToInquiry, answerToSend, notSent, refusedBeforeSending, type Result } from './provider-answers';
import {
  FAILURE_STATUSES,
  INQUIRABLE_STATUSES,
  OPEN_STATUSES,
  retryOnDeadlock,
  SENDABLE_STATUSES,
  type PaymentStatus,
} from './payment-states';
import { literals, marks } from '../../platform/db';
import { WorkerHeartbeat } from './worker-heartbeat';
import { afterLostAnswers, notAsked, releaseClaim, StrandedWork, unanswered } from './claim-recovery';

export interface EngineOptions {
  /** Payments one send or inquiry job claims at once (one conditional UPDATE for all). */
  chunkSize: number;
  /**
   * A payment left `sending` longer than this becomes `unknown` (an inquiry decides) even though its worker still
   * announces itself, or when the claim names no worker: the backstop. A gone worker's claims go far sooner.
   */
  sendingLeaseMs: number;
  /** Inquiries of an `unknown` payment before it goes to manual review. */
  maxInquiries: number;
  retryBaseMs: number;
  retryCapMs: number;
  /** A `sent` payment with no callback is asked about after this long. */
  pollMs: number;
  /** Work queued in a job is not queued again before this long (the sweeper requeues what a lost job held). */
  queueLeaseMs: number;
  /** A worker process whose heartbeat is older than this is gone (WORKER_HEARTBEAT_EXPIRY_MS; 5 s when not given). */
  heartbeatExpiryMs?: number;
}

/**
 * What the worker processes of a deployment share through Redis (built by the container for the worker). Without
 * them the engine keeps providers' limits per process and leases each queued row itself.
 */
export interface EngineSharing {
  /** Providers' request rates across every worker process: one token bucket per provider. */
  rate?: RateLimiter;
  /** Providers' in-flight limits across every worker process: slots leased, lapsing when a worker dies. */
  concurrency?: ConcurrencyLimiter;
  /** Where dispatch marks a batch's never-tried sends as queued (beside the jobs themselves), instead of row by row. */
  marks?: DispatchMarks;
}

/**
 * Added to a provider's request timeout before a gone worker's claims go to inquiries: clock differences between
 * hosts and the sweeper's own pace.
 */
export const RECOVERY_MARGIN_MS = 1000;

/** What the engine asks the queues to do (the worker's Bull queues; no-ops where there is no worker). */
export interface EngineQueues {
  send(providerId: number, job: ChunkJob): Promise<void>;
  /**
   * True when a provider's queue holds no job in any state but done (the worker's Bull queues): due work whose leases
   * say it is queued is then stranded (StrandedWork). Without it, only the leases and the queue epoch find lost work.
   */
  idle?(providerId: number): Promise<boolean>;
}

/** A failed chunk's claims that could not be settled at once (the database out of reach): settled by the next sweeps. */
type Leftover =
  { kind: 'release'; job: ChunkJob; claim: string; why: string } | { kind: 'write'; job: ChunkJob; claim: string; results: Result[] };

export interface ChunkJob {
  kind: 'send' | 'inquire';
  batchId: string;
  fromSeq: string;
  toSeq: string;
}

interface ClaimedRow {
  seq: string;
  reference: string;
  amount: string;
  period: number;
  channel: 'BANK' | 'WALLET' | 'CASH';
  bank_bin: string | null;
  wallet_provider: string | null;
  account_enc: Buffer | null;
  wallet_enc: Buffer | null;
  account_name: string | null;
  status: PaymentStatus;
  attempts: number;
  inquiries: number;
  sent_at: Date | null;
  programme_code: string;
}

function token(): string {
  return randomBytes(12).toString('hex');
}

/**
 * The disbursement engine. The database is the source of truth: a payment
 * moves only by conditional updates (`… AND status = ?`, rows counted), each
 * change is a payment_events row, and a payment is marked `sending` (durably)
 * before its request leaves, with its reference as the provider's
 * idempotency key. Bull only carries work: jobs name ranges of payments, so a
 * job run twice, or a lost job rebuilt by the sweeper, finds nothing left to
 * claim.
 */
export class PaymentEngine {
  private readonly callbackProviders = new Map<string, { provider: { id: number }; adapter: ProviderPort; until: number }>();
  private readonly callbacks: CallbackBatcher;
  /** When this worker's sweeper last looked for payments never tried, per batch. */
  private readonly freshDispatch = new Map<string, number>();
  /** Providers' rate limits: per process unless the worker's container shares them through Redis. */
  private readonly limiter: RateLimiter;
  /** Providers' in-flight limits: per process unless the worker's container shares them through Redis. */
  private readonly concurrency: ConcurrencyLimiter;
  /** Batch-wide marks of queued never-tried sends (the worker's, in Redis); without them each row carries its lease. */
  private readonly marks: DispatchMarks | null;
  /** This process's announcement, started by the worker (startHeartbeat); an engine that never starts it claims as no worker. */
  private readonly heartbeat: WorkerHeartbeat;
  /** Claims of chunks that failed part-way and could not be settled then: tried again by every sweep of this process. */
  private readonly leftovers: Leftover[] = [];
  /** Due work whose jobs are gone while the leases say queued (null without the queues' view: outside the worker). */
  private readonly stranded: StrandedWork | null;

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly providers: ProvidersService,
    private readonly audit: AuditService,
    private readonly queues: EngineQueues,
    private readonly log: winston.Logger,
    private readonly opts: EngineOptions,
    shared: EngineSharing = {},
  ) {
    this.callbacks = new CallbackBatcher(ds, recordReported('callback'), opts.pollMs);
    this.limiter = shared.rate ?? new LocalRateLimiter();
    this.concurrency = shared.concurrency ?? new LocalConcurrencyLimiter();
    this.marks = shared.marks ?? null;
    this.heartbeat = new WorkerHeartbeat(ds, log, opts.heartbeatExpiryMs ?? 5000);
    this.stranded = queues.idle ? new StrandedWork(ds, (id) => queues.idle!(id)) : null;
  }

  /**
   * Announces this process as a worker (worker_heartbeats) and renews the announcement until stopHeartbeat; from now
   * on its claims name it, and a sweep anywhere sends them to inquiries soon after it stops announcing itself.
   */
  startHeartbeat(): Promise<number> {
    return this.heartbeat.start();
  }

  stopHeartbeat(): void {
    this.heartbeat.stop();
  }

  /** The worker id this process claims as, null when it does not announce itself. */
  get workerId(): number | null {
    return this.heartbeat.id;
  }

  /** Gives back the provider slots this process holds elsewhere (shutdown, after its queues stopped). */
  async releaseSlots(): Promise<void> {
    await this.concurrency.close?.();
  }

  // ------------------------------------------------------------ dispatch

  /**
   * Cuts a batch's due work (pending sends, due inquiries and polls) into chunk jobs on each provider's queue. Reads
   * the batch a page at a time per provider (seq order, 10 000 rows), so that memory does not grow with the batch.
   */
  async dispatch(
    batchId: string,
    now = new Date(),
    opts: { fresh?: boolean; requeue?: boolean } = {},
  ): Promise<{ send: number; inquire: number }> {
    const out = { send: 0, inquire: 0 };
    // `requeue`: the queues were lost (Redis lost the deployment's keys): every due payment is queued again whatever
    // its queue lease or the batch's mark say, since the jobs they name are gone (a claim is conditional: a payment
    // queued twice is sent once)
    const requeue = opts.requeue ?? false;
    // `fresh: false` (the frequent sweeps) reads only payments waiting for a moment (retries, inquiries, polls): an
    // index range; payments never tried are read again only now and then (their jobs are lost only with Redis)
    const fresh = requeue || (opts.fresh ?? true);
    // with the worker's marks, the never-tried payments of a batch are marked queued for the batch as a whole (one
    // Redis key) rather than row by row; while the mark lives, a fresh dispatch leaves them alone
    const batchMarks = this.marks;
    let freshSends = fresh;
    if (fresh && !requeue && batchMarks) {
      try {
        if (await batchMarks.isMarked(batchId)) freshSends = false;
      } catch {
        // out of reach: queue them again (a claim is conditional: a payment queued twice is sent once)
      }
    }
    const PAGE = 10_000;
    for (const kind of ['send', 'inquire'] as const) {
      const statuses = kind === 'send' ? SENDABLE_STATUSES : INQUIRABLE_STATUSES;
      const kindFresh = kind === 'send' ? freshSends : fresh;
      // never-tried sends covered by the batch's mark (set below, once all of them are queued) need no row lease
      const byMark = kind === 'send' && kindFresh && batchMarks !== null;
      const due = `p.batch_id = ? AND p.review = 'included' AND p.status IN (${marks(statuses.length)})
           AND ${kindFresh ? '(p.next_attempt_at IS NULL OR p.next_attempt_at <= ?)' : 'p.next_attempt_at <= ?'}
           ${requeue ? '' : 'AND (p.queued_until IS NULL OR p.queued_until <= ?)'}`;
      const dueParams = requeue ? [batchId, ...statuses, now] : [batchId, ...statuses, now, now];
      const providers = (await this.ds.query(
        `SELECT DISTINCT p.provider_id FROM payments p JOIN providers pv ON pv.id = p.provider_id AND pv.kind <> 'file'
         WHERE ${due} AND p.provider_id IS NOT NULL ORDER BY p.provider_id`,
        dueParams,
      )) as { provider_id: number }[];
      for (const { provider_id: providerId } of providers) {
        let after = '0';
        for (;;) {
          const rows = (await this.ds.query(
            `SELECT p.seq, p.next_attempt_at IS NULL AS never FROM payments p
             WHERE ${due} AND p.provider_id = ? AND p.seq > ? ORDER BY p.seq LIMIT ${PAGE}`,
            [...dueParams, providerId, after],
          )) as { seq: string; never: number | string }[];
          if (rows.length) {
            // queued: not queued again before the lease ends (if a job is lost, the sweeper queues it again then);
            // one statement for the page, then its chunk jobs at once (the Redis client pipelines them)
            const leased = byMark ? rows.filter((r) => Number(r.never) !== 1) : rows;
            if (leased.length) {
              await this.ds.query(`UPDATE payments SET queued_until = ? WHERE batch_id = ? AND seq IN (${marks(leased.length)})`, [
                new Date(now.getTime() + this.opts.queueLeaseMs),
                batchId,
                ...leased.map((r) => String(r.seq)),
              ]);
            }
            const jobs: ChunkJob[] = [];
            for (let i = 0; i < rows.length; i += this.opts.chunkSize) {
              const part = rows.slice(i, i + this.opts.chunkSize);
              jobs.push({ kind, batchId, fromSeq: String(part[0]!.seq), toSeq: String(part[part.length - 1]!.seq) });
            }
            await Promise.all(jobs.map((job) => this.queues.send(providerId, job)));
            out[kind] += jobs.length;
          }
          if (rows.length < PAGE) break;
          after = String(rows[rows.length - 1]!.seq);
        }
      }
      if (byMark) {
        // every never-tried send of the batch is in a job now: the mark says so until the lease ends
        await batchMarks.mark(batchId, this.opts.queueLeaseMs).catch((err: unknown) => {
          // not marked: the next fresh sweep queues them again, and each is still sent once
          this.log.warn('dispatch mark not set', { batchId, err });
        });
      }
    }
    return out;
  }

  // ------------------------------------------------------------ sending

  /**
   * Claims the chunk's pending payments (one conditional UPDATE), sends each, writes the outcomes in one transaction.
   * A provider with a rate limit has its chunk claimed in parts of at most a quarter of the sending lease's worth of
   * requests at its rate, so that no payment waits for its turn in `sending` until the sweeper takes it for lost.
   */
  async runChunk(providerId: number, job: ChunkJob): Promise<{ claimed: number }> {
    const provider = await this.providers.get(providerId);
    // a paused provider takes no new sends; what it already holds is still asked about
    if (job.kind === 'send' && (provider.paused || !provider.active)) return { claimed: 0 };
    const adapter = await this.providers.adapterFor(providerId);
    if (!adapter) return { claimed: 0 }; // file providers pay outside the wire API
    const rate = provider.rateLimitPerSecond;
    if (rate === null || rate <= 0) return this.finished(job, await this.runClaim(provider, adapter, job, null));
    const part = Math.max(1, Math.min(this.opts.chunkSize, Math.floor((rate * this.opts.sendingLeaseMs) / 4000)));
    let claimed = 0;
    for (;;) {
      const n = (await this.runClaim(provider, adapter, job, part)).claimed;
      claimed += n;
      if (n < part) return this.finished(job, { claimed });
      // paused meanwhile: the rest waits
      if (job.kind === 'send') {
        const now = await this.providers.get(providerId);
        if (now.paused || !now.active) return { claimed };
      }
    }
  }

  /** After a chunk that did something: the batch ends now if that was its last open payment (not at the next sweep). */
  private async finished(job: ChunkJob, out: { claimed: number }): Promise<{ claimed: number }> {
    if (out.claimed > 0) await this.completeIfDone(job.batchId);
    return out;
  }

  private async runClaim(
    provider: { id: number; name: string; concurrency: number; rateLimitPerSecond: number | null },
    adapter: ProviderPort,
    job: ChunkJob,
    limit: number | null,
  ): Promise<{ claimed: number }> {
    const providerId = provider.id;
    const claim = token();
    const now = new Date();
    const claimedAt = Date.now();
    // the claim names this worker: once it stops announcing itself, a sweep anywhere takes its claims back in seconds
    const worker = this.heartbeat.id;
    const limitSql = limit === null ? '' : ` ORDER BY seq LIMIT ${Number(limit)}`;
    // the timeout these requests go out with: a gone worker's claims are inquired about only once it has passed, even
    // if the provider's timeout is shortened meanwhile
    const timeoutMs = adapter.timeoutMs ?? null;
    // one commit: the claim (durable before any request leaves), the claimed rows read back and, for sends, their
    // events, written as a plain multi-row INSERT (an INSERT … SELECT would hold payment_events' table-wide
    // AUTO-INC lock while it read, and deadlock with callback groups); run again after a deadlock
    const claiming = retryOnDeadlock(() =>
      this.ds.transaction(async (em) => {
        if (job.kind === 'send') {
          const res = (await em.query(
            `UPDATE payments SET status = 'sending', claim_token = ?, claimed_at = CURRENT_TIMESTAMP(3), claimed_by = ?,
               claim_timeout_ms = ?, attempts = attempts + 1, sent_at = CURRENT_TIMESTAMP(3), next_attempt_at = NULL, queued_until = NULL
             WHERE batch_id = ? AND seq BETWEEN ? AND ? AND provider_id = ? AND review = 'included' AND status = 'pending'
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?)${limitSql}`,
            [claim, worker, timeoutMs, job.batchId, job.fromSeq, job.toSeq, providerId, now],
          )) as { affectedRows: number };
          if (res.affectedRows === 0) return [];
        } else {
          // an inquiry claims without changing the status: the lease (next_attempt_at) keeps other workers off meanwhile
          const res = (await em.query(
            `UPDATE payments SET claim_token = ?, claimed_at = CURRENT_TIMESTAMP(3), claimed_by = ?, next_attempt_at = ?, queued_until = NULL
             WHERE batch_id = ? AND seq BETWEEN ? AND ? AND provider_id = ? AND review = 'included' AND status IN (${literals(INQUIRABLE_STATUSES)})
               AND next_attempt_at <= ?${limitSql}`,
            [claim, worker, new Date(now.getTime() + this.opts.sendingLeaseMs), job.batchId, job.fromSeq, job.toSeq, providerId, now],
          )) as { affectedRows: number };
          if (res.affectedRows === 0) return [];
        }
        const claimed = (await em.query(
          `SELECT p.seq, p.reference, p.amount, p.period, p.channel, p.bank_bin, p.wallet_provider, p.account_enc, p.wallet_enc,
             p.account_name, p.status, p.attempts, p.inquiries, p.sent_at, pr.code AS programme_code
           FROM payments p JOIN programmes pr ON pr.id = p.programme_id
           WHERE p.batch_id = ? AND p.seq BETWEEN ? AND ? AND p.claim_token = ?`,
          [job.batchId, job.fromSeq, job.toSeq, claim],
        )) as ClaimedRow[];
        if (job.kind === 'send') {
          const seqs = claimed.map((r) => r.seq);
          await recordSameChange(em, job.batchId, seqs, { from: 'pending', to: 'sending', detail: null }, 'send');
        }
        return claimed;
      }),
    );
    let rows: ClaimedRow[];
    try {
      rows = await claiming;
    } catch (err) {
      // the commit may have landed unheard (the connection lost at that moment): no request has left for this claim,
      // so whatever it holds goes back at once rather than waiting out the sending lease
      await this.giveBack({ kind: 'release', job, claim, why: 'the claim was not confirmed; nothing was sent' });
      throw err;
    }
    if (!rows.length) return { claimed: 0 };
    const slots = this.concurrency;
    const rate = provider.rateLimitPerSecond;
    for (const r of rows) if (job.kind === 'send') r.status = 'sending';
    // every row settles by itself, whatever happens to the others: a failure of one (its slot or token out of reach) is
    // its own answer, and no request is left running unrecorded behind a chunk that gave up
    const results = await Promise.all(
      rows.map(async (r) => {
        let left = false;
        try {
          // a slot of the provider's concurrency (shared by every worker process when the worker installs its limiter)
          await slots.take(providerId, provider.concurrency);
          try {
            // the provider's rate limit: a token per request, taken once a slot is free (sends and inquiries alike)
            if (rate !== null && rate > 0) await this.limiter.take(providerId, rate);
            // a worker whose heartbeat has lapsed may already be taken for gone, its claims on their way to inquiries:
            // it starts no request, and the payment goes back to pending untouched (nothing left)
            if (job.kind === 'send' && worker !== null && !this.heartbeat.holds(claimedAt))
              return notSent(r, 'the worker heartbeat lapsed before the request left');
            const started = process.hrtime.bigint();
            left = true;
            const result = job.kind === 'send' ? await this.sendOne(adapter, r) : await this.inquireOne(adapter, r);
            observeProviderRequest(provider.name, job.kind, result.outcome, Number(process.hrtime.bigint() - started) / 1e9);
            return result;
          } finally {
            slots.give(providerId);
          }
        } catch (err) {
          const why = `this worker failed ${left ? 'after' : 'before'} the request: ${(err as Error).message}`;
          if (job.kind === 'inquire') return notAsked(r, why);
          return left ? unanswered(r, why) : notSent(r, why);
        }
      }),
    );
    let moved: Map<string, number>;
    try {
      moved = await retryOnDeadlock(() => this.writeResults(job.batchId, claim, job.kind, results));
    } catch (err) {
      // the answers are lost with the write: every request has ended, so what was not taken goes back to pending and
      // the rest to an inquiry, now, not after the sending lease
      this.log.error('payment chunk answers not recorded; its claims go back to pending or to inquiries', {
        batchId: job.batchId,
        kind: job.kind,
        payments: rows.length,
        err,
      });
      const why = `the answers could not be recorded: ${(err as Error).message}`;
      await this.giveBack(
        job.kind === 'send' ? { kind: 'write', job, claim, results: afterLostAnswers(results, why) } : { kind: 'release', job, claim, why },
      );
      return { claimed: rows.length };
    }
    if (job.kind === 'send') countTransitions(provider.name, 'sending', rows.length);
    for (const [to, n] of moved) countTransitions(provider.name, to, n);
    return { claimed: rows.length };
  }

  /** Settles a failed chunk's claims now, or at the next sweeps if the database is out of reach. */
  private async giveBack(left: Leftover): Promise<void> {
    try {
      if (left.kind === 'release') await releaseClaim(this.ds, left.job, left.claim, left.why);
      else await retryOnDeadlock(() => this.writeResults(left.job.batchId, left.claim, 'send', left.results));
    } catch (err) {
      this.log.warn('claims of a failed chunk not settled yet; the next sweep tries again', { batchId: left.job.batchId, err });
      this.leftovers.push(left);
    }
  }

  /** The sweep's first step: the claims of failed chunks that could not be settled before. */
  private async settleLeftovers(): Promise<void> {
    for (const left of this.leftovers.splice(0)) await this.giveBack(left);
  }

  private destination(r: ClaimedRow): Destination {
    if (r.channel === 'BANK') {
      return {
        type: 'BANK_ACCOUNT',
        bankCode: r.bank_bin!,
        accountNumber: this.cipher.decrypt(r.account_enc!, 'account'),
        accountName: r.account_name!,
      };
    }
    return {
      type: 'WALLET',
      walletProvider: r.wallet_provider!,
      walletId: this.cipher.decrypt(r.wallet_enc!, 'wallet'),
      accountName: r.account_name!,
    };
  }

  private async sendOne(adapter: ProviderPort, r: ClaimedRow): Promise<Result> {
    let outcome: SendOutcome;
    try {
      outcome = await adapter.send({
        reference: r.reference,
        amount: Number(r.amount),
        destination: this.destination(r),
        description: `${r.programme_code} ${formatPeriod(r.period)}`.slice(0, 140),
      });
    } catch (e) {
      return refusedBeforeSending(r, e);
    }
    return answerToSend(r, outcome, this.opts);
  }

  private async inquireOne(adapter: ProviderPort, r: ClaimedRow): Promise<Result> {
    let outcome: InquiryOutcome;
    try {
      outcome = await adapter.inquire(r.reference);
    } catch (e) {
      outcome = { kind: 'unknown', reason: (e as Error).message };
    }
    return answerToInquiry({ ...r, sentAt: r.sent_at }, outcome, this.opts);
  }

  /** One transaction per chunk: the claim's outcomes applied (payment-outcomes), the events of exactly the rows moved. */
  private async writeResults(batchId: string, claim: string, kind: 'send' | 'inquire', results: Result[]): Promise<Map<string, number>> {
    const from: readonly PaymentStatus[] = kind === 'send' ? ['sending'] : INQUIRABLE_STATUSES;
    return this.ds.transaction((em) =>
      applyClaimedOutcomes(
        em,
        batchId,
        { token: claim, from },
        results.map((r) => ({
          seq: r.seq,
          from: r.from,
          to: r.status,
          transferId: r.transferId,
          failureCode: r.failureCode,
          error: r.error,
          nextAt: r.nextAt,
          inquiries: r.inquiries,
        })),
        kind === 'send' ? 'send' : 'inquiry',
      ),
    );
  }

  // ------------------------------------------------------------ callbacks

  /**
   * A status event posted by a provider: signature and timestamp checked by
   * its adapter (401 otherwise), kept once per event id (a duplicate is
   * acknowledged and ignored), applied only forward. An event for a reference
   * the service does not know is kept for reconciliation.
   */
  async applyCallback(providerName: string, headers: HeaderBag, rawBody: Buffer, path: string): Promise<{ outcome: CallbackOutcome }> {
    const { provider, adapter } = await this.callbackProvider(providerName);
    const event = adapter.verifyCallback(headers, rawBody, path);
    // kept, matched and applied with the other events of these few milliseconds, in one transaction
    const outcome = await this.callbacks.submit(provider.id, event);
    if (outcome === 'unknown_reference' || outcome === 'amount_mismatch') {
      this.log.warn('provider event not applied', { provider: providerName, reference: event.reference, outcome });
    }
    return { outcome };
  }

  /** The provider a callback names, with its adapter; remembered a few seconds (a burst of callbacks reads it once). */
  private async callbackProvider(name: string): Promise<{ provider: { id: number }; adapter: ProviderPort }> {
    const cached = this.callbackProviders.get(name);
    if (cached && cached.until > Date.now()) return cached;
    let provider;
    try {
      provider = await this.providers.getByName(name);
    } catch {
      throw notFound('PROVIDER_NOT_FOUND', `no provider named ${name}`);
    }
    const adapter = await this.providers.adapterFor(provider.id);
    if (!adapter) throw notFound('PROVIDER_NOT_FOUND', `provider ${name} posts no callbacks`);
    const entry = { provider, adapter, until: Date.now() + 5000 };
    this.callbackProviders.set(name, entry);
    return entry;
  }

  // ------------------------------------------------------------ recovery and completion

  /**
   * The sweeper, run by every worker at start and every PAYMENT_SWEEP_MS: the claims of workers that stopped announcing
   * themselves are taken back (recoverGoneWorkers); payments left `sending` past the sending lease become `unknown`
   * whoever holds them (the backstop); every processing batch's due work is queued again (with `requeue`, whatever
   * the queue leases say: the queues were lost); batches with nothing open are completed.
   */
  async sweep(now = new Date(), opts: { requeue?: boolean } = {}): Promise<{ expired: number; released: number; batches: number }> {
    await this.settleLeftovers();
    const gone = await this.recoverGoneWorkers(now);
    const batches = await processingBatchIds(this.ds);
    this.stranded?.forget(new Set(batches.map(String)));
    let expired = gone.expired;
    const cutoff = new Date(now.getTime() - this.opts.sendingLeaseMs);
    for (const batchId of batches) {
      const stale = (await this.ds.query("SELECT seq FROM payments WHERE batch_id = ? AND status = 'sending' AND claimed_at < ?", [
        batchId,
        cutoff,
      ])) as { seq: string }[];
      if (stale.length) {
        expired += await this.sendingToUnknown(
          batchId,
          stale.map((r) => String(r.seq)),
          (r) => r.claimed_at < cutoff,
          { error: 'no answer was recorded within the sending lease', detail: 'sending lease expired' },
          now,
        );
      }
      const last = this.freshDispatch.get(batchId) ?? 0;
      const fresh = opts.requeue === true || now.getTime() - last >= this.opts.queueLeaseMs / 2;
      if (fresh) this.freshDispatch.set(batchId, now.getTime());
      await this.dispatch(batchId, now, { fresh, requeue: opts.requeue === true });
      if (opts.requeue !== true && (await this.stranded?.check(String(batchId), now))) {
        this.log.warn('due payments had no job left (queued work lost, or a provider resumed): queued again', { batchId });
        this.freshDispatch.set(batchId, now.getTime());
        await this.dispatch(batchId, now, { requeue: true });
      }
      await this.completeIfDone(batchId);
    }
    return { expired, released: gone.released, batches: batches.length };
  }

  /**
   * Takes back the claims of workers that stopped announcing themselves (no heartbeat for the expiry). A `sending`
   * payment's request may have left: it becomes `unknown` (an inquiry decides, never a resend) once its provider's
   * request timeout, and a margin, have passed after the last moment the worker could have started it (its last beat
   * plus the expiry; see WorkerHeartbeat). An inquiry claim is given up at once (asking again is harmless). Workers gone
   * longer than the sending lease are left to the lease.
   */
  async recoverGoneWorkers(now = new Date()): Promise<{ expired: number; released: number }> {
    const expiry = this.heartbeat.expiryMs;
    const gone = (await this.ds.query('SELECT id, beat_at FROM worker_heartbeats WHERE beat_at < ? AND beat_at >= ?', [
      new Date(now.getTime() - expiry),
      new Date(now.getTime() - expiry - this.opts.sendingLeaseMs),
    ])) as { id: number; beat_at: Date }[];
    if (!gone.length) return { expired: 0, released: 0 };
    const beatOf = new Map(gone.map((w) => [Number(w.id), new Date(w.beat_at).getTime()]));
    const ids = [...beatOf.keys()];
    const held = (await this.ds.query(
      `SELECT batch_id, seq, status, provider_id, claimed_by, claim_timeout_ms, claim_token IS NOT NULL AS claimed FROM payments
       WHERE claimed_by IN (${marks(ids.length)}) LIMIT 10000`,
      ids,
    )) as {
      batch_id: string;
      seq: string;
      status: PaymentStatus;
      provider_id: number | null;
      claimed_by: number;
      claim_timeout_ms: number | null;
      claimed: number | string;
    }[];
    if (!held.length) return { expired: 0, released: 0 };

    const timeouts = new Map<number, number | null>();
    for (const pid of new Set(held.filter((r) => r.status === 'sending').map((r) => Number(r.provider_id)))) {
      timeouts.set(
        pid,
        await this.providers.get(pid).then(
          (p) => p.timeoutMs,
          () => null,
        ),
      );
    }
    // per batch, the sending payments whose request, if any, has been answered or given up by now
    const ripe = new Map<string, string[]>();
    for (const r of held) {
      if (r.status !== 'sending') continue;
      // the longer of the timeout the requests went out with and the provider's now: a timeout shortened while they
      // were in flight does not cut their wait short (claims from before the timeout was recorded have only the latter)
      const current = timeouts.get(Number(r.provider_id)) ?? null;
      const sentWith = r.claim_timeout_ms === null ? null : Number(r.claim_timeout_ms);
      if (current === null && sentWith === null) continue;
      const timeout = Math.max(current ?? 0, sentWith ?? 0);
      if (now.getTime() < beatOf.get(Number(r.claimed_by))! + expiry + timeout + RECOVERY_MARGIN_MS) continue;
      const batchId = String(r.batch_id);
      ripe.set(batchId, [...(ripe.get(batchId) ?? []), String(r.seq)]);
    }
    let expired = 0;
    for (const [batchId, seqs] of ripe) {
      const n = await this.sendingToUnknown(
        batchId,
        seqs,
        (r) => r.claimed_by !== null && beatOf.has(Number(r.claimed_by)),
        { error: 'the worker sending it stopped announcing itself before recording an answer', detail: 'worker gone' },
        now,
      );
      expired += n;
      if (n) this.log.warn('claims of a worker gone sent to status inquiries', { batchId, payments: n });
    }

    let released = 0;
    if (held.some((r) => r.status !== 'sending' && Number(r.claimed) === 1)) {
      // inquiry claims: asked again at once (the answer of the gone worker, if it ever comes, finds its claim gone)
      const res = (await this.ds.query(
        `UPDATE payments SET next_attempt_at = ?, claim_token = NULL, claimed_by = NULL
         WHERE claimed_by IN (${marks(ids.length)}) AND status IN (${literals(INQUIRABLE_STATUSES)}) AND claim_token IS NOT NULL`,
        [now, ...ids],
      )) as { affectedRows: number };
      released = res.affectedRows;
    }
    if (held.some((r) => r.status !== 'sending' && Number(r.claimed) !== 1)) {
      // claims ended by another source (a callback came first): nothing is held, only the name is left
      await this.ds.query(
        `UPDATE payments SET claimed_by = NULL WHERE claimed_by IN (${marks(ids.length)}) AND status <> 'sending' AND claim_token IS NULL`,
        ids,
      );
    }
    return { expired, released };
  }

  /**
   * `sending` → `unknown` for the given payments of a batch that are still `sending` and pass `still`, read under their
   * row locks: one conditional UPDATE, the events of exactly the rows moved, in one transaction. Due for an inquiry at
   * once (never a resend: only an inquiry that finds nothing sends again, with the same reference).
   */
  private async sendingToUnknown(
    batchId: string,
    seqs: readonly string[],
    still: (r: { claimed_at: Date; claimed_by: number | null }) => boolean,
    why: { error: string; detail: string },
    now: Date,
  ): Promise<number> {
    return retryOnDeadlock(() =>
      this.ds.transaction(async (em) => {
        let moved = 0;
        for (let i = 0; i < seqs.length; i += 1000) {
          const part = seqs.slice(i, i + 1000);
          const rows = (await em.query(
            `SELECT seq, status, claimed_at, claimed_by FROM payments WHERE batch_id = ? AND seq IN (${marks(part.length)}) FOR UPDATE`,
            [batchId, ...part],
          )) as { seq: string; status: PaymentStatus; claimed_at: Date; claimed_by: number | null }[];
          const take = rows
            .filter((r) => r.status === 'sending' && still({ claimed_at: new Date(r.claimed_at), claimed_by: r.claimed_by }))
            .map((r) => String(r.seq));
          if (!take.length) continue;
          await em.query(
            `UPDATE payments SET status = 'unknown', claim_token = NULL, claimed_by = NULL, next_attempt_at = ?, last_error = ?
             WHERE batch_id = ? AND status = 'sending' AND seq IN (${marks(take.length)})`,
            [now, why.error, batchId, ...take],
          );
          await recordSameChange(em, batchId, take, { from: 'sending', to: 'unknown', detail: why.detail }, 'sweeper');
          moved += take.length;
        }
        return moved;
      }),
    );
  }

  /** processing → completed (every payment final, none failed) or completed_with_failures; recorded and audited once. */
  async completeIfDone(batchId: string): Promise<boolean> {
    // both reads use the (batch, status) index, forced: nothing open, then how many failed. Left to itself the optimizer
    // reads the batch by its primary key for the first, and a batch paid in seq order has its open payments at the
    // end: every chunk's check would read every payment already paid, a cost growing with the batch
    const [open] = (await this.ds.query(
      `SELECT 1 AS x FROM payments FORCE INDEX (ix_payments_work)
       WHERE batch_id = ? AND status IN (${marks(OPEN_STATUSES.length)}) AND review = 'included' LIMIT 1`,
      [batchId, ...OPEN_STATUSES],
    )) as { x: number }[];
    if (open) return false;
    const [f] = (await this.ds.query(
      `SELECT COUNT(*) AS n FROM payments FORCE INDEX (ix_payments_work)
       WHERE batch_id = ? AND status IN (${literals(FAILURE_STATUSES)}) AND review = 'included'`,
      [batchId],
    )) as { n: string }[];
    const failed = Number(f?.n ?? 0);
    return this.ds.transaction((em) => completeBatch(em, this.audit, batchId, failed));
  }
}

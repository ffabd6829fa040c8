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
import { FAILURE_STATUSES, INQUIRABLE_STATUSES, OPEN_STATUSES, retryOnDeadlock, type PaymentStatus } from './payment-states';
import { literals, marks } from '../../platform/db';
import { WorkerHeartbeat } from './worker-heartbeat';
import { LostClaims } from './lost-claims';
import { PaymentDispatch } from './payment-dispatch';
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

export { RECOVERY_MARGIN_MS } from './lost-claims';

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
  busyInquiries: number;
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
  /** This process's announcement, started by the worker (startHeartbeat); an engine that never starts it claims as no worker. */
  private readonly heartbeat: WorkerHeartbeat;
  /** Claims of chunks that failed part-way and could not be settled then: tried again by every sweep of this process. */
  private readonly leftovers: Leftover[] = [];
  /** Due work whose jobs are gone while the leases say queued (null without the queues' view: outside the worker). */
  private readonly stranded: StrandedWork | null;
  /** Claims of gone workers and past the sending lease, sent to inquiries by the sweep. */
  private readonly lost: LostClaims;
  private readonly dispatcher: PaymentDispatch;

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
    this.heartbeat = new WorkerHeartbeat(ds, log, opts.heartbeatExpiryMs ?? 5000);
    this.stranded = queues.idle ? new StrandedWork(ds, (id) => queues.idle!(id)) : null;
    this.dispatcher = new PaymentDispatch(ds, queues, shared.marks ?? null, log, opts);
    this.lost = new LostClaims(ds, providers, log, { expiryMs: this.heartbeat.expiryMs, sendingLeaseMs: opts.sendingLeaseMs });
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

  /** A batch's due work as chunk jobs on its providers' queues (PaymentDispatch.run). */
  dispatch(
    batchId: string,
    now = new Date(),
    opts: { fresh?: boolean; requeue?: boolean } = {},
  ): Promise<{ send: number; inquire: number }> {
    return this.dispatcher.run(batchId, now, opts);
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
             p.account_name, p.status, p.attempts, p.inquiries, p.busy_inquiries AS busyInquiries, p.sent_at, pr.code AS programme_code
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
          busyInquiries: r.busyInquiries,
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
      expired += await this.lost.expireLeases(batchId, cutoff, now);
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

  /** The claims of workers that stopped announcing themselves, taken back (see LostClaims.recoverGoneWorkers). */
  recoverGoneWorkers(now = new Date()): Promise<{ expired: number; released: number }> {
    return this.lost.recoverGoneWorkers(now);
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

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
import { answerToInquiry, answerToSend, refusedBeforeSending, type Result } from './provider-answers';
import {
  FAILURE_STATUSES,
  INQUIRABLE_STATUSES,
  OPEN_STATUSES,
  retryOnDeadlock,
  SENDABLE_STATUSES,
  type PaymentStatus,
} from './payment-states';
import { literals, marks } from '../../platform/db';

export interface EngineOptions {
  /** Payments one send or inquiry job claims at once (one conditional UPDATE for all). */
  chunkSize: number;
  /** A payment left `sending` longer than this (its worker died) becomes `unknown`: an inquiry decides. */
  sendingLeaseMs: number;
  /** Inquiries of an `unknown` payment before it goes to manual review. */
  maxInquiries: number;
  retryBaseMs: number;
  retryCapMs: number;
  /** A `sent` payment with no callback is asked about after this long. */
  pollMs: number;
  /** Work queued in a job is not queued again before this long (the sweeper requeues what a lost job held). */
  queueLeaseMs: number;
}

/** What the engine asks the queues to do (the worker's Bull queues; no-ops where there is no worker). */
export interface EngineQueues {
  send(providerId: number, job: ChunkJob): Promise<void>;
}

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
  /** Providers' rate limits: per process unless the worker installs the Redis-shared one (useRateLimiter). */
  private limiter: RateLimiter = new LocalRateLimiter();
  /** Providers' in-flight limits: per process unless the worker installs the Redis-shared one (useConcurrencyLimiter). */
  private concurrency: ConcurrencyLimiter = new LocalConcurrencyLimiter();
  /** Batch-wide marks of queued never-tried sends (the worker's, in Redis); without them each row carries its lease. */
  private marks: DispatchMarks | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly providers: ProvidersService,
    private readonly audit: AuditService,
    private readonly queues: EngineQueues,
    private readonly log: winston.Logger,
    private readonly opts: EngineOptions,
  ) {
    this.callbacks = new CallbackBatcher(ds, recordReported('callback'), opts.pollMs);
  }

  /** The limiter of providers' request rates (the worker shares one through Redis across its processes). */
  useRateLimiter(limiter: RateLimiter): void {
    this.limiter = limiter;
  }

  /** The limiter of requests in flight to each provider (the worker shares one through Redis across its processes). */
  useConcurrencyLimiter(limiter: ConcurrencyLimiter): void {
    this.concurrency = limiter;
  }

  /** Where dispatch marks a batch's never-tried sends as queued (the worker's Redis, beside the jobs themselves). */
  useDispatchMarks(marks: DispatchMarks): void {
    this.marks = marks;
  }

  // ------------------------------------------------------------ dispatch

  /**
   * Cuts a batch's due work (pending sends, due inquiries and polls) into chunk jobs on each provider's queue. Reads
   * the batch a page at a time per provider (seq order, 10 000 rows), so that memory does not grow with the batch.
   */
  async dispatch(batchId: string, now = new Date(), opts: { fresh?: boolean } = {}): Promise<{ send: number; inquire: number }> {
    const out = { send: 0, inquire: 0 };
    // `fresh: false` (the frequent sweeps) reads only payments waiting for a moment (retries, inquiries, polls): an
    // index range; payments never tried are read again only now and then (their jobs are lost only with Redis)
    const fresh = opts.fresh ?? true;
    // with the worker's marks, the never-tried payments of a batch are marked queued for the batch as a whole (one
    // Redis key) rather than row by row; while the mark lives, a fresh dispatch leaves them alone
    const batchMarks = this.marks;
    let freshSends = fresh;
    if (fresh && batchMarks) {
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
           AND (p.queued_until IS NULL OR p.queued_until <= ?)`;
      const providers = (await this.ds.query(
        `SELECT DISTINCT p.provider_id FROM payments p JOIN providers pv ON pv.id = p.provider_id AND pv.kind <> 'file'
         WHERE ${due} AND p.provider_id IS NOT NULL ORDER BY p.provider_id`,
        [batchId, ...statuses, now, now],
      )) as { provider_id: number }[];
      for (const { provider_id: providerId } of providers) {
        let after = '0';
        for (;;) {
          const rows = (await this.ds.query(
            `SELECT p.seq, p.next_attempt_at IS NULL AS never FROM payments p
             WHERE ${due} AND p.provider_id = ? AND p.seq > ? ORDER BY p.seq LIMIT ${PAGE}`,
            [batchId, ...statuses, now, now, providerId, after],
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
    const limitSql = limit === null ? '' : ` ORDER BY seq LIMIT ${Number(limit)}`;
    // one commit: the claim (durable before any request leaves), the claimed rows read back and, for sends, their
    // events, written as a plain multi-row INSERT (an INSERT … SELECT would hold payment_events' table-wide
    // AUTO-INC lock while it read, and deadlock with callback groups); run again after a deadlock
    const rows = await retryOnDeadlock(() =>
      this.ds.transaction(async (em) => {
        if (job.kind === 'send') {
          const res = (await em.query(
            `UPDATE payments SET status = 'sending', claim_token = ?, claimed_at = CURRENT_TIMESTAMP(3), attempts = attempts + 1,
               sent_at = CURRENT_TIMESTAMP(3), next_attempt_at = NULL, queued_until = NULL
             WHERE batch_id = ? AND seq BETWEEN ? AND ? AND provider_id = ? AND review = 'included' AND status = 'pending'
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?)${limitSql}`,
            [claim, job.batchId, job.fromSeq, job.toSeq, providerId, now],
          )) as { affectedRows: number };
          if (res.affectedRows === 0) return [];
        } else {
          // an inquiry claims without changing the status: the lease (next_attempt_at) keeps other workers off meanwhile
          const res = (await em.query(
            `UPDATE payments SET claim_token = ?, claimed_at = CURRENT_TIMESTAMP(3), next_attempt_at = ?, queued_until = NULL
             WHERE batch_id = ? AND seq BETWEEN ? AND ? AND provider_id = ? AND review = 'included' AND status IN (${literals(INQUIRABLE_STATUSES)})
               AND next_attempt_at <= ?${limitSql}`,
            [claim, new Date(now.getTime() + this.opts.sendingLeaseMs), job.batchId, job.fromSeq, job.toSeq, providerId, now],
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
    if (!rows.length) return { claimed: 0 };
    const slots = this.concurrency;
    const rate = provider.rateLimitPerSecond;
    for (const r of rows) if (job.kind === 'send') r.status = 'sending';
    const results = await Promise.all(
      rows.map(async (r) => {
        // a slot of the provider's concurrency (shared by every worker process when the worker installs its limiter)
        await slots.take(providerId, provider.concurrency);
        try {
          // the provider's rate limit: a token per request, taken once a slot is free (sends and inquiries alike)
          if (rate !== null && rate > 0) await this.limiter.take(providerId, rate);
          const started = process.hrtime.bigint();
          const result = job.kind === 'send' ? await this.sendOne(adapter, r) : await this.inquireOne(adapter, r);
          observeProviderRequest(provider.name, job.kind, result.outcome, Number(process.hrtime.bigint() - started) / 1e9);
          return result;
        } finally {
          slots.give(providerId);
        }
      }),
    );
    const moved = await retryOnDeadlock(() => this.writeResults(job.batchId, claim, job.kind, results));
    if (job.kind === 'send') countTransitions(provider.name, 'sending', rows.length);
    for (const [to, n] of moved) countTransitions(provider.name, to, n);
    return { claimed: rows.length };
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
   * The sweeper, run by every worker at start and every few seconds: payments
   * left `sending` past their lease (a worker died mid-send) become `unknown`
   * (an inquiry decides; never a blind resend); every processing batch's due
   * work is queued again (lost jobs after a Redis flush are rebuilt); batches
   * with nothing open are completed.
   */
  async sweep(now = new Date()): Promise<{ expired: number; batches: number }> {
    const batches = await processingBatchIds(this.ds);
    let expired = 0;
    for (const batchId of batches) {
      const stale = (await this.ds.query("SELECT seq FROM payments WHERE batch_id = ? AND status = 'sending' AND claimed_at < ?", [
        batchId,
        new Date(now.getTime() - this.opts.sendingLeaseMs),
      ])) as { seq: string }[];
      if (stale.length) {
        await this.ds.transaction(async (em) => {
          const seqs = stale.map((s) => String(s.seq));
          for (let i = 0; i < seqs.length; i += 1000) {
            const part = seqs.slice(i, i + 1000);
            const res = (await em.query(
              `UPDATE payments SET status = 'unknown', claim_token = NULL, next_attempt_at = CURRENT_TIMESTAMP(3),
                 last_error = 'the worker sending it stopped before recording an answer'
               WHERE batch_id = ? AND status = 'sending' AND claimed_at < ? AND seq IN (${marks(part.length)})`,
              [batchId, new Date(now.getTime() - this.opts.sendingLeaseMs), ...part],
            )) as { affectedRows: number };
            expired += res.affectedRows;
          }
          await recordSameChange(em, batchId, seqs, { from: 'sending', to: 'unknown', detail: 'sending lease expired' }, 'sweeper');
        });
      }
      const last = this.freshDispatch.get(batchId) ?? 0;
      const fresh = now.getTime() - last >= this.opts.queueLeaseMs / 2;
      if (fresh) this.freshDispatch.set(batchId, now.getTime());
      await this.dispatch(batchId, now, { fresh });
      await this.completeIfDone(batchId);
    }
    return { expired, batches: batches.length };
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

  /** Counts and amounts of a batch's payments by status (the live progress of a batch). */
  async progress(batchId: string): Promise<{ status: string; count: number; amount: number }[]> {
    const rows = (await this.ds.query(
      "SELECT status, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM payments WHERE batch_id = ? AND review = 'included' GROUP BY status ORDER BY status",
      [batchId],
    )) as { status: string; n: string; amount: string }[];
    return rows.map((r) => ({ status: r.status, count: Number(r.n), amount: Number(r.amount) }));
  }
}

import { createHash } from 'node:crypto';
import { conflict, invalid, notFound } from '../../../platform/errors/app-error';
import type { FailureCode, LookupDestination, StatementLine, Transfer, TransferEvent, TransferStatus } from '../provider.port';
import { CallbackSender, type CallbackStats } from './callbacks';
import { diceOf, pick, randomSeed, Rng } from './random';
import { Scheduler } from './scheduler';
import { applyPatch, DEFAULT_BEHAVIOUR, type BehaviourPatch, type SandboxBehaviour } from './settings';
import {
  bankName,
  DAY_MS,
  destinationKey,
  Entry,
  numberOf,
  requestKey,
  vnIso,
  zeroByStatus,
  type Change,
  type CreateResult,
  type LedgerOptions,
  type LedgerSummary,
  type ListedTransfer,
  type RequestStats,
  type TransferRequest,
} from './ledger-entry';

export {
  bankName,
  requestKey,
  vnIso,
  type CreateResult,
  type LedgerOptions,
  type LedgerSummary,
  type ListedTransfer,
  type RequestStats,
  type TransferRequest,
} from './ledger-entry';

/**
 * The sandbox's book: every transfer it accepted (by reference), the float,
 * every status change (the statement source), registered account holders;
 * and what moves transfers by themselves: settlement, returns, callbacks.
 */
export class SandboxLedger {
  readonly seed: string;
  /** Dice of request-level faults (5xx, timeouts, latency), used by the app. */
  readonly requestRng: Rng;
  /** Filled by the HTTP front. */
  readonly requestStats: RequestStats = { total: 0, rateLimited: 0, unavailable: 0, internalErrors: 0, timedOut: 0, inFlight: 0 };
  private readonly byReference = new Map<string, Entry>();
  private readonly inOrder: Entry[] = [];
  private readonly changes: Change[] = [];
  private readonly accounts = new Map<string, string>();
  /** Account name of the last transfer sent to each destination (lookups answer it for unregistered accounts). */
  private readonly lastNames = new Map<string, string>();
  private readonly callbackUrls = new Map<string, string>();
  private readonly byStatus = zeroByStatus();
  private readonly amountByStatus = zeroByStatus();
  private readonly now: () => number;
  private readonly scheduler: Scheduler;
  private readonly callbacks: CallbackSender | null;
  private readonly callbackRng: Rng;
  private current: SandboxBehaviour;
  private available: number;
  private created = 0;
  private duplicates = 0;
  private conflicts = 0;
  private closed = false;

  constructor(now?: () => number, initialFloat?: number);
  constructor(opts?: LedgerOptions);
  constructor(nowOrOpts: (() => number) | LedgerOptions = {}, initialFloat?: number) {
    const opts: LedgerOptions = typeof nowOrOpts === 'function' ? { now: nowOrOpts, initialFloat } : nowOrOpts;
    const float = opts.initialFloat ?? 1_000_000_000_000;
    if (!Number.isSafeInteger(float) || float < 0) throw new Error('sandbox float must be a non-negative whole number');
    this.available = float;
    this.now = opts.now ?? Date.now;
    this.seed = opts.seed === undefined ? randomSeed() : String(opts.seed);
    this.requestRng = new Rng(`${this.seed}/requests`);
    this.callbackRng = new Rng(`${this.seed}/callbacks`);
    this.current = applyPatch(DEFAULT_BEHAVIOUR, opts.behaviour ?? {});
    this.scheduler = new Scheduler(opts.onError);
    this.callbacks =
      opts.secret === undefined ? null : new CallbackSender(opts.secret, this.now, this.scheduler, () => this.current, this.callbackRng);
  }

  // ------------------------------------------------------------ behaviour

  behaviour(): SandboxBehaviour {
    return this.current;
  }

  /**
   * Changes how the sandbox behaves from now on (any subset of the fields);
   * returns the whole behaviour. Throws an Error naming the bad fields.
   * A transfer already scheduled keeps its settlement time.
   */
  configure(patch: BehaviourPatch): SandboxBehaviour {
    this.current = applyPatch(this.current, patch);
    return this.current;
  }

  /** Stops every timer and callback (pending ones are dropped). The book stays readable. */
  close(): void {
    this.closed = true;
    this.scheduler.close();
    this.callbacks?.close();
  }

  // ------------------------------------------------------------ float and accounts

  balance(): number {
    return this.available;
  }

  /** Sets the float to `available` whole đồng. */
  setFloat(available: number): number {
    if (!Number.isSafeInteger(available) || available < 0) throw invalid('INVALID_FLOAT', 'float must be a non-negative whole number');
    this.available = available;
    return this.available;
  }

  /** Registers who holds an account, for lookups and settlement (another name on a transfer fails NAME_MISMATCH); stored as banks hold it. */
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
    const number = numberOf(destination);
    if (number.endsWith('0000')) return { status: 'NOT_FOUND', accountName: null };
    const key = destinationKey(destination);
    const last = this.lastNames.get(key);
    const name = this.accounts.get(key) ?? (last === undefined ? undefined : bankName(last));
    return { status: number.endsWith('9999') ? 'CLOSED' : 'ACTIVE', accountName: name ?? 'SANDBOX ACCOUNT HOLDER' };
  }

  // ------------------------------------------------------------ transfers

  get(reference: string): Transfer | undefined {
    return this.byReference.get(reference)?.toTransfer();
  }

  /**
   * Accepts a transfer request (already validated). A float too small for the
   * amount still accepts it, as FAILED with INSUFFICIENT_FUNDS (no money
   * moved). Otherwise the amount leaves the float and the transfer is PENDING,
   * then settles by itself as `settleMs` says (at once when it is 0: the
   * answer is already final).
   */
  create(request: TransferRequest): CreateResult {
    // 128 bits of the hash are plenty to tell two bodies apart, and half the memory of the whole digest
    const digest = createHash('sha256').update(requestKey(request)).digest().toString('base64', 0, 16);
    const existing = this.byReference.get(request.reference);
    if (existing) {
      if (existing.digest !== digest) {
        this.conflicts++;
        return { kind: 'conflict' };
      }
      this.duplicates++;
      return { kind: 'duplicate', transfer: existing.toTransfer() };
    }
    const atMs = this.now();
    const dice = diceOf(this.seed, request.reference);
    const short = request.amount > this.available;
    if (!short) this.available -= request.amount;
    const key = destinationKey(request.destination);
    const number = numberOf(request.destination);
    const holder = this.accounts.get(key);
    const destinationFailure: FailureCode | null = number.endsWith('0000')
      ? 'ACCOUNT_NOT_FOUND'
      : number.endsWith('9999')
        ? 'ACCOUNT_CLOSED'
        : holder !== undefined && holder !== bankName(request.destination.accountName)
          ? 'NAME_MISMATCH'
          : null;
    this.lastNames.set(key, request.destination.accountName);
    const entry = new Entry(
      this.inOrder.length + 1,
      request.reference,
      `T${dice.hex.slice(0, 16).toUpperCase()}`,
      request.amount,
      digest,
      this.intern(request.callbackUrl),
      destinationFailure,
      atMs,
      short ? 'FAILED' : 'PENDING',
      short ? 'INSUFFICIENT_FUNDS' : null,
      atMs,
    );
    this.byReference.set(entry.reference, entry);
    this.inOrder.push(entry);
    this.created++;
    this.byStatus[entry.status]++;
    this.amountByStatus[entry.status] += entry.amount;
    const settle = this.current.settleMs;
    if (!short && settle !== null && settle[1] === 0) {
      // settled in the answer itself: one change, straight to the final status
      const [status, code] = this.fate(entry, dice.u);
      this.move(entry, status, code, atMs);
      this.afterSettle(entry, dice.u);
    } else {
      this.record(entry, atMs);
      if (short) this.emit(entry, atMs);
      else if (settle !== null) this.scheduler.after(pick(settle, dice.u[0]!), () => this.autoSettle(entry, dice.u));
    }
    return { kind: 'created', transfer: entry.toTransfer() };
  }

  /**
   * Moves a transfer PENDING → SUCCEEDED | FAILED, or SUCCEEDED → RETURNED,
   * records the change for statements and sends its event to the transfer's
   * callbackUrl. FAILED and RETURNED need a failureCode and give the amount
   * back to the float; SUCCEEDED takes none.
   */
  settle(reference: string, status: Exclude<TransferStatus, 'PENDING'>, failureCode?: FailureCode): Transfer {
    const entry = this.byReference.get(reference);
    if (!entry) throw notFound('NOT_FOUND', `no transfer ${reference}`);
    const from = entry.status;
    const allowed =
      (from === 'PENDING' && (status === 'SUCCEEDED' || status === 'FAILED')) || (from === 'SUCCEEDED' && status === 'RETURNED');
    if (!allowed) throw conflict('INVALID_TRANSITION', `transfer ${reference} cannot move ${from} → ${status}`);
    const final = status === 'FAILED' || status === 'RETURNED';
    if (final !== (failureCode !== undefined)) {
      throw invalid('INVALID_FAILURE_CODE', 'failureCode is required exactly for FAILED and RETURNED');
    }
    const atMs = this.now();
    this.move(entry, status, failureCode ?? null, atMs);
    this.record(entry, atMs);
    this.emit(entry, atMs);
    return entry.toTransfer();
  }

  /** Every status change (acceptance included) whose time falls on the business date `YYYY-MM-DD`, oldest first. */
  statement(date: string): StatementLine[] {
    const from = Date.parse(`${date}T00:00:00+07:00`);
    const to = from + DAY_MS;
    const out: StatementLine[] = [];
    for (const c of this.changes) {
      if (c.atMs < from || c.atMs >= to) continue;
      out.push({
        reference: c.entry.reference,
        transferId: c.entry.transferId,
        status: c.status,
        amount: c.entry.amount,
        currency: 'VND',
        failureCode: c.failureCode,
        occurredAt: vnIso(c.atMs),
      });
    }
    return out;
  }

  /** Accepted transfers in acceptance order, after position `after` (0: from the start), at most `limit`. */
  transfers(after = 0, limit = 100): { transfers: ListedTransfer[]; next: number | null } {
    const start = Math.max(0, Math.floor(after));
    const page = this.inOrder.slice(start, start + Math.max(1, Math.min(1000, Math.floor(limit))));
    const last = page[page.length - 1];
    return {
      transfers: page.map((e) => ({ seq: e.seq, ...e.toTransfer(), callbackUrl: e.callbackUrl ?? null })),
      next: last && last.seq < this.inOrder.length ? last.seq : null,
    };
  }

  summary(): LedgerSummary {
    return {
      seed: this.seed,
      accepted: this.byReference.size,
      acceptedMoreThanOnce: this.created - this.byReference.size,
      duplicates: this.duplicates,
      conflicts: this.conflicts,
      byStatus: { ...this.byStatus },
      amountByStatus: { ...this.amountByStatus },
      succeededAmount: this.amountByStatus.SUCCEEDED,
      available: this.available,
      requests: { ...this.requestStats },
      callbacks: this.callbacks ? { ...this.callbacks.stats } : emptyCallbackStats(),
      scheduled: this.scheduler.size,
      behaviour: this.current,
    };
  }

  /** One string per distinct callback URL (a service sends the same one with every transfer). */
  private intern(url: string | undefined): string | undefined {
    if (url === undefined) return undefined;
    const known = this.callbackUrls.get(url);
    if (known !== undefined) return known;
    if (this.callbackUrls.size < 10_000) this.callbackUrls.set(url, url);
    return url;
  }

  // ------------------------------------------------------------ settlement

  /** FAILED with the destination's own failure, else a failure drawn by the shares, else SUCCEEDED. */
  private fate(entry: Entry, u: Float64Array): [Exclude<TransferStatus, 'PENDING'>, FailureCode | null] {
    if (entry.destinationFailure) return ['FAILED', entry.destinationFailure];
    let roll = u[1]!;
    for (const [code, share] of Object.entries(this.current.failShares) as [FailureCode, number][]) {
      if (roll < share) return ['FAILED', code];
      roll -= share;
    }
    return ['SUCCEEDED', null];
  }

  private autoSettle(entry: Entry, u: Float64Array): void {
    // settled by hand meanwhile: nothing to do
    if (this.closed || entry.status !== 'PENDING') return;
    const [status, code] = this.fate(entry, u);
    const atMs = this.now();
    this.move(entry, status, code, atMs);
    this.record(entry, atMs);
    this.afterSettle(entry, u);
  }

  /** Sends the settlement's event and schedules a return, holding the event back when out-of-order delivery is drawn. */
  private afterSettle(entry: Entry, u: Float64Array): void {
    const b = this.current;
    const atMs = entry.updatedMs;
    const returns = entry.status === 'SUCCEEDED' && u[2]! < b.returnShare;
    if (returns && entry.callbackUrl !== undefined && this.callbacks && u[4]! < b.outOfOrderShare) {
      this.callbacks.stats.heldBack++;
      entry.held = () => this.emit(entry, atMs, entry.status === 'SUCCEEDED' ? null : 'SUCCEEDED');
    } else {
      this.emit(entry, atMs);
    }
    if (returns) {
      this.scheduler.after(pick(b.returnMs, u[3]!), () => {
        if (this.closed || entry.status !== 'SUCCEEDED') return this.release(entry);
        const at = this.now();
        this.move(entry, 'RETURNED', 'ACCOUNT_CLOSED', at);
        this.record(entry, at);
        this.emit(entry, at, null, () => this.release(entry));
      });
    }
  }

  private release(entry: Entry): void {
    const held = entry.held;
    entry.held = null;
    held?.();
  }

  private move(entry: Entry, status: TransferStatus, failureCode: FailureCode | null, atMs: number): void {
    this.byStatus[entry.status]--;
    this.amountByStatus[entry.status] -= entry.amount;
    entry.status = status;
    entry.failureCode = failureCode;
    entry.updatedMs = atMs;
    this.byStatus[status]++;
    this.amountByStatus[status] += entry.amount;
    if (status === 'FAILED' || status === 'RETURNED') this.available += entry.amount;
  }

  private record(entry: Entry, atMs: number): void {
    this.changes.push({ entry, status: entry.status, failureCode: entry.failureCode, atMs });
  }

  /**
   * Sends the event of the transfer's current status (or of `as`: the
   * SUCCEEDED a held-back event stands for) to its callbackUrl, after the
   * configured jitter. `afterFirst` runs once its first delivery attempt ended.
   */
  private emit(entry: Entry, atMs: number, as: 'SUCCEEDED' | null = null, afterFirst?: () => void): void {
    if (!this.callbacks || entry.callbackUrl === undefined || this.closed) {
      afterFirst?.();
      return;
    }
    const status = as ?? entry.status;
    const event: TransferEvent = {
      // one id per transfer and status (a redelivery carries the same one): the transfer id's digits and the status
      eventId: `E${entry.transferId.slice(1)}${status[0]}`,
      reference: entry.reference,
      transferId: entry.transferId,
      status,
      amount: entry.amount,
      currency: 'VND',
      failureCode: as ? null : entry.failureCode,
      occurredAt: vnIso(atMs),
    };
    this.callbacks.send(entry.callbackUrl, event, this.callbackRng.between(this.current.callbackDelayMs), afterFirst);
  }
}

function emptyCallbackStats(): CallbackStats {
  return { events: 0, delivered: 0, attempts: 0, failedAttempts: 0, duplicatesSent: 0, heldBack: 0, givenUp: 0, pending: 0 };
}

import type { Destination, FailureCode, LookupDestination, Transfer, TransferStatus } from '../provider.port';
import type { CallbackStats } from './callbacks';
import type { BehaviourPatch, SandboxBehaviour } from './settings';

/**
 * The sandbox ledger's records and their shapes: a transfer request and the compact entry kept for it, its status
 * changes, the business clock of Vietnam, and what the ledger reports.
 */

const VN_OFFSET_MS = 7 * 3600 * 1000;
export const DAY_MS = 24 * 3600 * 1000;

let lastSecond = NaN;
let lastIso = '';

/** ISO 8601 in Asia/Ho_Chi_Minh (no daylight saving: always +07:00), whole seconds (the last one remembered: a busy second formats once). */
export function vnIso(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastIso = `${new Date(second * 1000 + VN_OFFSET_MS).toISOString().slice(0, 19)}+07:00`;
    lastSecond = second;
  }
  return lastIso;
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

/** A transfer request the sandbox accepts (validated by the app). */
export interface TransferRequest {
  reference: string;
  amount: number;
  currency: 'VND';
  destination: Destination;
  description?: string;
  callbackUrl?: string;
}

export type CreateResult = { kind: 'created'; transfer: Transfer } | { kind: 'duplicate'; transfer: Transfer } | { kind: 'conflict' };

/** A transfer as the admin listing shows it: the contract object, its place in acceptance order and where its events go. */
export type ListedTransfer = Transfer & { seq: number; callbackUrl: string | null };

/** GET /_sandbox/ledger: what the sandbox holds, for fault tests and benchmarks. */
export interface LedgerSummary {
  seed: string;
  /** References accepted (each once: the ledger is keyed by reference). */
  accepted: number;
  /** 201 answers beyond one per reference: must be 0. */
  acceptedMoreThanOnce: number;
  /** 200 answers to identical resends, and 409 answers to a reference reused with another body. */
  duplicates: number;
  conflicts: number;
  byStatus: Record<TransferStatus, number>;
  /** Whole đồng of the transfers in each status now. */
  amountByStatus: Record<TransferStatus, number>;
  /** Whole đồng of the transfers that are SUCCEEDED now (not returned). */
  succeededAmount: number;
  /** The float left. */
  available: number;
  requests: RequestStats;
  callbacks: CallbackStats;
  /** Settlements and deliveries waiting on the sandbox's timer. */
  scheduled: number;
  behaviour: SandboxBehaviour;
}

/** What the HTTP front did with contract requests (filled by the app). */
export interface RequestStats {
  /** Contract requests received (signature not yet checked). */
  total: number;
  /** 429 answers over the in-flight limit. */
  rateLimited: number;
  /** 503 and 500 answers before anything was recorded. */
  unavailable: number;
  internalErrors: number;
  /** Accepted creates whose answer was never sent. */
  timedOut: number;
  /** Contract requests being handled now. */
  inFlight: number;
}

export const zeroByStatus = (): Record<TransferStatus, number> => ({ PENDING: 0, SUCCEEDED: 0, FAILED: 0, RETURNED: 0 });

/** One accepted transfer, kept compact: a million of them should fit in a few hundred MB. */
export class Entry {
  constructor(
    readonly seq: number,
    readonly reference: string,
    readonly transferId: string,
    readonly amount: number,
    /** sha256 of the canonical JSON of the accepted request: a resend with an identical body is a duplicate. */
    readonly digest: string,
    readonly callbackUrl: string | undefined,
    /** What this destination always fails with when it settles by itself (magic numbers, holder mismatch); null if nothing. */
    readonly destinationFailure: FailureCode | null,
    readonly createdMs: number,
    public status: TransferStatus,
    public failureCode: FailureCode | null,
    public updatedMs: number,
  ) {}

  /** The SUCCEEDED event, when it is held back until the RETURNED event has gone out. */
  held: (() => void) | null = null;

  toTransfer(): Transfer {
    return {
      reference: this.reference,
      transferId: this.transferId,
      status: this.status,
      amount: this.amount,
      currency: 'VND',
      failureCode: this.failureCode,
      createdAt: vnIso(this.createdMs),
      updatedAt: vnIso(this.updatedMs),
    };
  }
}

export interface Change {
  entry: Entry;
  status: TransferStatus;
  failureCode: FailureCode | null;
  atMs: number;
}

/**
 * What makes two transfer requests "identical" (contract section 2: 200 for a resend with an identical body, 409
 * otherwise): every field of the validated request, in a fixed order. The app's strict schema admits no other field,
 * the destination's type decides which of its fields are present, and an optional field is a string when present, so
 * this is as exact as comparing the requests' canonical JSON, without sorting keys for every request.
 */
export function requestKey(r: TransferRequest): string {
  const d = r.destination;
  return JSON.stringify(
    d.type === 'BANK_ACCOUNT'
      ? [
          r.reference,
          r.amount,
          r.currency,
          d.type,
          d.bankCode,
          d.accountNumber,
          d.accountName,
          r.description ?? null,
          r.callbackUrl ?? null,
        ]
      : [
          r.reference,
          r.amount,
          r.currency,
          d.type,
          d.walletProvider,
          d.walletId,
          d.accountName,
          r.description ?? null,
          r.callbackUrl ?? null,
        ],
  );
}

export const destinationKey = (d: LookupDestination): string =>
  d.type === 'BANK_ACCOUNT' ? `B:${d.bankCode}:${d.accountNumber}` : `W:${d.walletProvider}:${d.walletId}`;
export const numberOf = (d: LookupDestination): string => (d.type === 'BANK_ACCOUNT' ? d.accountNumber : d.walletId);

export interface LedgerOptions {
  /** The sandbox's clock (ms): timestamps, signatures of callbacks, business dates. Delays run on the real clock. */
  now?: () => number;
  /** Whole đồng in the float at start. */
  initialFloat?: number;
  /** Seed of every random choice; without one a random seed is drawn (see `summary().seed`). */
  seed?: string | number;
  /** Secret that signs callbacks; without it no callback is sent. */
  secret?: string;
  behaviour?: BehaviourPatch;
  /** Where unexpected errors of timed work go (default: ignored). */
  onError?: (err: unknown) => void;
}

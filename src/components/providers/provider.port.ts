import type { HeaderBag } from './signing';

/**
 * A transfer's state at the provider. Entered: `PENDING` on acceptance;
 * `SUCCEEDED` when the money reached the account; `FAILED` when it never will
 * (final); `RETURNED` when money that had arrived came back (final).
 */
export type TransferStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'RETURNED';
export const TRANSFER_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'RETURNED'] as const;

/** Why a transfer is `FAILED` or `RETURNED`; `INSUFFICIENT_FUNDS` means the service's float at the provider was short. */
export type FailureCode =
  'ACCOUNT_NOT_FOUND' | 'ACCOUNT_CLOSED' | 'NAME_MISMATCH' | 'INVALID_DESTINATION' | 'LIMIT_EXCEEDED' | 'INSUFFICIENT_FUNDS' | 'REJECTED';
export const FAILURE_CODES = [
  'ACCOUNT_NOT_FOUND',
  'ACCOUNT_CLOSED',
  'NAME_MISMATCH',
  'INVALID_DESTINATION',
  'LIMIT_EXCEEDED',
  'INSUFFICIENT_FUNDS',
  'REJECTED',
] as const;

/** A bank account, `bankCode` being the receiving bank's 6-digit NAPAS BIN. */
export interface BankAccountDestination {
  type: 'BANK_ACCOUNT';
  bankCode: string;
  accountNumber: string;
  accountName: string;
}

/** An e-wallet; `walletId` is usually the holder's phone number. */
export interface WalletDestination {
  type: 'WALLET';
  walletProvider: string;
  walletId: string;
  accountName: string;
}

export type Destination = BankAccountDestination | WalletDestination;

/** A destination to look up: the name is what the lookup answers, so it is not sent. */
export type LookupDestination = Omit<BankAccountDestination, 'accountName'> | Omit<WalletDestination, 'accountName'>;

/** What the service asks a provider to pay. */
export interface TransferOrder {
  /** 1-64 of `[A-Za-z0-9_-]`, unique per provider for ever: the idempotency key. */
  reference: string;
  /** Whole đồng, greater than zero. */
  amount: number;
  destination: Destination;
  /** At most 140 characters. */
  description?: string;
}

/** The provider's transfer object (contract section 2). */
export interface Transfer {
  reference: string;
  transferId: string;
  status: TransferStatus;
  /** Whole đồng. */
  amount: number;
  currency: 'VND';
  /** Set exactly when `FAILED` or `RETURNED`. */
  failureCode: FailureCode | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Outcome of sending a transfer. Only `accepted` and `duplicate` say the
 * provider holds the transfer; `rejected`, `unauthorized` and `retry_later`
 * say no money moved; `conflict` says the reference is taken; `unknown` says
 * nothing: the transfer may or may not have been accepted.
 */
export type SendOutcome =
  /** 201: accepted by this call. The transfer may already be final. */
  | { kind: 'accepted'; transfer: Transfer }
  /** 200: this reference was accepted before with an identical body; nothing new happened. */
  | { kind: 'duplicate'; transfer: Transfer }
  /** 400: refused, no money moved. Never resend this order unchanged. */
  | { kind: 'rejected'; code: string; message: string | null }
  /** 409 REFERENCE_CONFLICT: the reference was used before with another body; no money moved by this call. Never resend. */
  | { kind: 'conflict' }
  /** 401: signature or clock problem; no money moved. */
  | { kind: 'unauthorized'; code: string }
  /** 429 (with Retry-After seconds when given) or 503, or the connection was refused: not accepted, no money moved; send again later. */
  | { kind: 'retry_later'; retryAfterSeconds: number | null }
  /** Any other status, a 2xx of the wrong shape, a timeout or a reset: the caller must inquire, never send blindly again. */
  | { kind: 'unknown'; reason: string };

/** Outcome of asking for a transfer by reference. */
export type InquiryOutcome =
  /** 200: the transfer as it stands now. */
  | { kind: 'found'; transfer: Transfer }
  /** 404: the provider never accepted this reference; only now may it be sent again, with the same reference. */
  | { kind: 'not_found' }
  /** 429 or 503: ask again later. */
  | { kind: 'retry_later'; retryAfterSeconds: number | null }
  /** Any other 5xx, a timeout or a reset: nothing learnt; ask again. */
  | { kind: 'unknown'; reason: string };

/** `accountName` is upper case without diacritics, as banks hold it; null when the provider gave none. */
export type LookupOutcome =
  | { kind: 'answered'; status: 'ACTIVE' | 'CLOSED' | 'NOT_FOUND'; accountName: string | null }
  /** 404 on the lookup path: this provider does not offer lookups. */
  | { kind: 'not_offered' };

export interface Balance {
  currency: 'VND';
  /** Whole đồng left in the service's float account at the provider. */
  available: number;
}

/** One status change in a provider statement; the statement is the provider's book of record. */
export interface StatementLine {
  reference: string;
  transferId: string;
  status: TransferStatus;
  /** Whole đồng. */
  amount: number;
  currency: 'VND';
  failureCode: FailureCode | null;
  occurredAt: string;
}

/** A status event pushed by the provider (contract section 4). May arrive twice or out of order. */
export interface TransferEvent {
  eventId: string;
  reference: string;
  transferId: string;
  status: TransferStatus;
  /** Whole đồng. */
  amount: number;
  currency: 'VND';
  failureCode: FailureCode | null;
  occurredAt: string;
}

/**
 * What every payment provider adapter implements, whatever its wire protocol:
 * the semantics of the Disbursement Provider API v1.
 *
 * `send`, `inquire` and `lookupAccount` throw (AppError `invalid`) on input
 * that must never reach a provider. Read operations throw AppError
 * `unavailable` when the provider cannot be reached and `internal` when its
 * answer breaks the contract.
 */
export interface ProviderPort {
  /** How long one request may take before it is given up (ms): a claim records it, so that its inquiry waits it out. */
  readonly timeoutMs?: number;
  /** Asks the provider to pay `order`. Throws before any request on a non-integer or non-positive amount. */
  send(order: TransferOrder): Promise<SendOutcome>;
  /** The status inquiry: how the provider holds `reference` now. */
  inquire(reference: string): Promise<InquiryOutcome>;
  /** Whether the account exists and whose it is, before approval. */
  lookupAccount(destination: LookupDestination): Promise<LookupOutcome>;
  /** What is left in the service's float account at the provider. */
  balance(): Promise<Balance>;
  /** Every status change on the business date `YYYY-MM-DD` (Asia/Ho_Chi_Minh), its signature verified. */
  statement(date: string): Promise<StatementLine[]>;
  /**
   * The same statement streamed as received into the file `path` (never held in memory), its signature checked
   * along the way; resolves with its size and SHA-256 once the signature holds. Throws like `statement`.
   */
  statementTo(date: string, path: string): Promise<{ bytes: number; sha256: string }>;
  /**
   * Checks the signature of a received callback over its exact bytes and
   * request target (`path` with query, as received), then parses it. Throws
   * AppError `unauthenticated` (BAD_SIGNATURE or STALE_TIMESTAMP) or `invalid`.
   */
  verifyCallback(headers: HeaderBag, rawBody: Buffer, path: string): TransferEvent;
}

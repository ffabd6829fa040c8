import type { TransferStatus } from '../providers/provider.port';

/**
 * A payment's life in the engine (payments.status):
 *
 * - `pending`: approved, released, not sent yet (or to be sent again: a 429/503, or an inquiry that found nothing);
 * - `sending`: claimed by a worker and marked before its request leaves;
 * - `unknown`: the request may or may not have been accepted (timeout, reset, other 5xx, a worker killed mid-send):
 *   only a status inquiry decides;
 * - `sent`: the provider holds the transfer (PENDING there);
 * - `succeeded`, `failed`, `returned`: what the provider says happened (`returned` after `succeeded`);
 * - `review`: the engine gave up deciding (inquiries exhausted, an answer outside the contract): staff look.
 *
 * Before release `pending` only means "not sent"; `held`, `excluded` and `cancelled` never reach a provider.
 */
export const PAYMENT_STATUSES = [
  'pending',
  'sending',
  'unknown',
  'sent',
  'succeeded',
  'failed',
  'returned',
  'review',
  'held',
  'excluded',
  'cancelled',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** Not final: the batch is not done while a payment is in one of these. */
export const OPEN_STATUSES: readonly PaymentStatus[] = ['pending', 'sending', 'unknown', 'sent', 'review'];

/** Failed outcomes that end a batch as completed_with_failures; the payment's month is free again (live cleared). */
export const FAILURE_STATUSES: readonly PaymentStatus[] = ['failed', 'returned'];

/** What a provider said happened: the payment is settled (settled_at) and nothing more is sent or asked about it. */
export const SETTLED_STATUSES: readonly PaymentStatus[] = ['succeeded', 'failed', 'returned'];

/** Statuses a provider holds the payment in: reported on its statements (a `file` provider has no transfer id). */
export const PROVIDER_STATUSES: readonly PaymentStatus[] = ['sent', 'succeeded', 'failed', 'returned'];

/** Waiting to be sent: claimed by a send chunk. */
export const SENDABLE_STATUSES: readonly PaymentStatus[] = ['pending'];

/** Waiting for an answer: claimed by an inquiry chunk (an `unknown` is asked whether it arrived, a `sent` is polled). */
export const INQUIRABLE_STATUSES: readonly PaymentStatus[] = ['unknown', 'sent'];

/** Accepted for payment and not final: money the provider still holds back for the batch. */
export const UNSETTLED_STATUSES: readonly PaymentStatus[] = ['pending', 'sending', 'sent', 'unknown'];

/** What a provider status becomes here. */
export function fromProvider(status: TransferStatus): PaymentStatus {
  return status === 'PENDING' ? 'sent' : status === 'SUCCEEDED' ? 'succeeded' : status === 'FAILED' ? 'failed' : 'returned';
}

/**
 * The states a provider's word may move a payment out of, per target: never
 * backwards. A late PENDING never undoes a final state; SUCCEEDED or FAILED
 * never undo RETURNED; RETURNED may arrive before the SUCCEEDED it follows.
 */
export const MAY_BECOME: Record<'sent' | 'succeeded' | 'failed' | 'returned', readonly PaymentStatus[]> = {
  sent: ['pending', 'sending', 'unknown', 'review'],
  succeeded: ['pending', 'sending', 'unknown', 'sent', 'review'],
  failed: ['pending', 'sending', 'unknown', 'sent', 'review'],
  returned: ['pending', 'sending', 'unknown', 'sent', 'review', 'succeeded'],
};

const REFERENCE = /^(B\d{6}[A-Z2-9]{8})-(\d{1,19})$/;

/** A payment reference is its batch's prefix and its seq: `B202412K3M9Q2XA-1042`. */
export function parseReference(reference: string): { prefix: string; seq: string } | null {
  const m = REFERENCE.exec(reference);
  return m ? { prefix: m[1]!, seq: m[2]! } : null;
}

/** Exponential backoff with full jitter: base × 2^attempt, capped, times a random factor in [0.5, 1). */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling * (0.5 + random() / 2));
}

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_AUTOINC_READ_FAILED']);

/** A deadlock or a lock wait timeout: the transaction was rolled back and may succeed when run again. */
export function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (err as { code?: string }).code;
  return RETRYABLE.has(code ?? '');
}

/**
 * A deadlock or lock wait timeout rolled the transaction back: run it again (its updates are conditional), a few
 * times. InnoDB reports a deadlock met while waiting for a table's AUTO-INC lock as ER_AUTOINC_READ_FAILED.
 */
export async function retryOnDeadlock<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isLockConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * i));
    }
  }
}

import type { InquiryOutcome, SendOutcome } from '../providers/provider.port';
import { backoffMs, fromProvider, type PaymentStatus } from './payment-states';

/**
 * What a provider's answer to the engine's request means for the payment: pure decisions, no I/O. The engine applies
 * the result through payment-outcomes.
 */

/** The payment as claimed, as far as the decisions need it. */
export interface Claimed {
  seq: string;
  amount: string;
  status: PaymentStatus;
  attempts: number;
  inquiries: number;
  /** inquiries in a row the provider answered busy or was not reached for */
  busyInquiries: number;
  /** when its last send was claimed: how long an `unknown` has waited */
  sentAt?: Date | null;
}

/** The engine's timings the decisions use. */
export interface AnswerTiming {
  retryBaseMs: number;
  retryCapMs: number;
  /** a `sent` payment with no callback is asked about after this long */
  pollMs: number;
  /** inquiries of an `unknown` payment before it goes to manual review */
  maxInquiries: number;
}

export interface Result {
  /** what the provider answered, for metrics: accepted, duplicate, rejected, conflict, retry_later, unauthorized, unknown, found, not_found, error, not_sent */
  outcome: string;
  seq: string;
  /** the status the payment had when claimed */
  from: PaymentStatus;
  status: PaymentStatus;
  transferId: string | null;
  failureCode: string | null;
  error: string | null;
  /** when to act again (retry, inquiry, poll); null: nothing to do */
  nextAt: Date | null;
  /** the inquiry count after this step (inquiries only) */
  inquiries?: number;
  /** the busy inquiries in a row after this step (inquiries only) */
  busyInquiries?: number;
}

/** A send the adapter refused before anything left (bad destination data): never sent, staff must look. */
export function refusedBeforeSending(r: Claimed, e: unknown): Result {
  return {
    outcome: 'error',
    seq: r.seq,
    from: r.status,
    status: 'review',
    transferId: null,
    failureCode: null,
    error: (e as Error).message.slice(0, 500),
    nextAt: null,
  };
}

/** A claimed send whose request was never started (this worker may be taken for gone): back to pending, due at once. */
export function notSent(r: Claimed, why: string): Result {
  return {
    outcome: 'not_sent',
    seq: r.seq,
    from: r.status,
    status: 'pending',
    transferId: null,
    failureCode: null,
    error: why,
    nextAt: new Date(),
  };
}

/** The provider's answer to a send. */
export function answerToSend(r: Claimed, outcome: SendOutcome, timing: AnswerTiming): Result {
  const base = { outcome: outcome.kind, seq: r.seq, from: r.status, transferId: null, failureCode: null, error: null };
  switch (outcome.kind) {
    case 'accepted':
    case 'duplicate': {
      const t = outcome.transfer;
      const status = fromProvider(t.status);
      return {
        ...base,
        status,
        transferId: t.transferId,
        failureCode: t.failureCode,
        nextAt: status === 'sent' ? new Date(Date.now() + timing.pollMs) : null,
      };
    }
    case 'rejected':
      return {
        ...base,
        status: 'failed',
        failureCode: 'REJECTED',
        error: `${outcome.code}: ${outcome.message ?? ''}`.slice(0, 500),
        nextAt: null,
      };
    case 'conflict':
      return {
        ...base,
        status: 'review',
        error: 'REFERENCE_CONFLICT: the provider holds this reference with another body',
        nextAt: null,
      };
    case 'unauthorized':
    case 'retry_later': {
      const wait = Math.max(
        outcome.kind === 'retry_later' && outcome.retryAfterSeconds !== null ? outcome.retryAfterSeconds * 1000 : 0,
        backoffMs(r.attempts, timing.retryBaseMs, timing.retryCapMs),
      );
      const error = outcome.kind === 'unauthorized' ? `provider refused our signature: ${outcome.code}` : 'provider busy; not accepted';
      return { ...base, status: 'pending', error, nextAt: new Date(Date.now() + wait) };
    }
    case 'unknown':
      return {
        ...base,
        status: 'unknown',
        error: outcome.reason.slice(0, 500),
        nextAt: new Date(Date.now() + backoffMs(0, timing.retryBaseMs, timing.retryCapMs)),
      };
  }
}

/** The provider's answer to an inquiry (a transport failure is an `unknown` answer). */
export function answerToInquiry(r: Claimed, outcome: InquiryOutcome, timing: AnswerTiming): Result {
  // any answer but busy ends a run of busy answers
  const base = { outcome: outcome.kind, seq: r.seq, from: r.status, transferId: null, failureCode: null, error: null, busyInquiries: 0 };
  const inquiries = r.inquiries + 1;
  if (outcome.kind === 'found') {
    const t = outcome.transfer;
    if (Number(t.amount) !== Number(r.amount)) {
      return {
        ...base,
        status: 'review',
        error: `provider holds ${t.amount} đ for this reference, we sent ${r.amount} đ`,
        nextAt: null,
        inquiries,
      };
    }
    const status = fromProvider(t.status);
    return {
      ...base,
      status,
      transferId: t.transferId,
      failureCode: t.failureCode,
      nextAt: status === 'sent' ? new Date(Date.now() + timing.pollMs) : null,
      inquiries: status === 'sent' ? 0 : inquiries,
    };
  }
  if (outcome.kind === 'not_found') {
    // only now is it safe to send again, with the same reference; a transfer the provider had accepted cannot vanish
    // due at once: the next sweep queues it (a never-tried payment is queued by the batch's dispatch, not this one)
    if (r.status === 'unknown') return { ...base, status: 'pending', error: null, nextAt: new Date(), inquiries: 0 };
    return { ...base, status: 'review', error: 'the provider no longer knows a transfer it had accepted', nextAt: null, inquiries };
  }
  if (outcome.kind === 'retry_later') {
    // the provider was not reached (connection refused) or said it is busy: nothing was learnt about the transfer, so
    // the inquiry is not counted towards review (an outage of the provider sends nothing to staff). The wait doubles
    // with each such answer in a row, so that one busy answer costs a short wait however long the payment has waited
    // (a claim taken back from a killed worker), but is never more than half the time the payment has waited: once an
    // outage ends, the payments it held are asked about within half its length, and still not hot while it lasts
    const busyInquiries = r.busyInquiries + 1;
    const waited = r.sentAt ? Date.now() - r.sentAt.getTime() : 0;
    const wait = Math.max(
      outcome.retryAfterSeconds !== null ? outcome.retryAfterSeconds * 1000 : 0,
      Math.min(
        backoffMs(r.busyInquiries, timing.retryBaseMs, timing.retryCapMs),
        Math.max(backoffMs(0, timing.retryBaseMs, timing.retryCapMs), Math.round(waited / 2)),
      ),
    );
    return { ...base, status: r.status, error: null, nextAt: new Date(Date.now() + wait), inquiries: r.inquiries, busyInquiries };
  }
  if (inquiries >= timing.maxInquiries && r.status === 'unknown') {
    return { ...base, status: 'review', error: `no answer after ${inquiries} inquiries`, nextAt: null, inquiries };
  }
  const wait = backoffMs(inquiries, timing.retryBaseMs, timing.retryCapMs);
  return { ...base, status: r.status, error: null, nextAt: new Date(Date.now() + wait), inquiries };
}

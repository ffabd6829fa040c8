import { toAppError } from '../../platform/errors';

/** Why a connection test failed, in the words of both sides. */
export interface ConnectionTestError {
  /** Ours: PROVIDER_UNAUTHORIZED, PROVIDER_UNAVAILABLE, PROVIDER_BAD_RESPONSE, ... */
  code: string;
  /** The other side's own error code, when it sent one (BAD_SIGNATURE, STALE_TIMESTAMP, ...). */
  providerError: string | null;
  httpStatus: number | null;
  /** How the exchange failed when no answer came (ECONNREFUSED, ETIMEDOUT, ...). */
  transport: string | null;
  message: string;
}

export interface TimedBalance<B> {
  ok: boolean;
  /** The answer to the balance request, when it answered as its contract says. */
  balance: B | null;
  error: ConnectionTestError | null;
  latencyMs: number;
  testedAt: string;
}

/**
 * One signed balance request made to test a stored connection (a payment provider's or an SMS gateway's): its answer,
 * or what went wrong named as the other side named it, and how long it took. Never throws for the exchange itself.
 */
export async function timedBalance<B>(balance: () => Promise<B>): Promise<TimedBalance<B>> {
  const started = process.hrtime.bigint();
  let result: Pick<TimedBalance<B>, 'ok' | 'balance' | 'error'>;
  try {
    result = { ok: true, balance: await balance(), error: null };
  } catch (e) {
    const err = toAppError(e);
    const d = (err.details ?? {}) as { status?: number; providerError?: string | null; transport?: string };
    result = {
      ok: false,
      balance: null,
      error: {
        code: err.code,
        providerError: d.providerError ?? null,
        httpStatus: d.status ?? null,
        transport: d.transport ?? null,
        message: err.message,
      },
    };
  }
  return { ...result, latencyMs: Number((process.hrtime.bigint() - started) / 1_000_000n), testedAt: new Date().toISOString() };
}

import { createHmac } from 'node:crypto';
import { safeEqual } from '../../platform/crypto';

/** How far (seconds, either way) a message's X-Timestamp may be from the receiver's clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** The parts of a message that the provider API signature covers (contract section 1). */
export interface SignedMessage {
  /** Unix time in whole seconds, exactly as carried in X-Timestamp. */
  timestamp: number | string;
  method: string;
  /** The request target as sent, e.g. `/v1/transfers/ABC?x=1`. */
  pathWithQuery: string;
  /** The exact bytes of the body; empty for GET. */
  rawBody: Buffer | string;
}

export type VerifyResult = { ok: true } | { ok: false; reason: 'BAD_SIGNATURE' | 'STALE_TIMESTAMP' };

/** Header values as Node delivers them (`IncomingHttpHeaders`) or as a plain record; names are matched case-insensitively. */
export type HeaderBag = Readonly<Record<string, string | string[] | number | undefined>>;

/** Lowercase hex HMAC-SHA256 over `timestamp \n METHOD \n pathWithQuery \n rawBody`. */
export function sign(secret: string, msg: SignedMessage): string {
  return createHmac('sha256', secret)
    .update(`${String(msg.timestamp)}\n${msg.method.toUpperCase()}\n${msg.pathWithQuery}\n`, 'utf8')
    .update(typeof msg.rawBody === 'string' ? Buffer.from(msg.rawBody, 'utf8') : msg.rawBody)
    .digest('hex');
}

export const unixSeconds = (nowMs: number = Date.now()): number => Math.floor(nowMs / 1000);

/**
 * The signature headers of one message. `clientId` is given for requests to
 * the provider only (callbacks and signed responses carry none).
 */
export function signedHeaders(
  secret: string,
  msg: Omit<SignedMessage, 'timestamp'> & { timestamp?: number },
  clientId?: string,
): Record<string, string> {
  const timestamp = String(msg.timestamp ?? unixSeconds());
  const headers: Record<string, string> = {};
  if (clientId !== undefined) headers['X-Client-Id'] = clientId;
  headers['X-Timestamp'] = timestamp;
  headers['X-Signature'] = sign(secret, { ...msg, timestamp });
  return headers;
}

function header(headers: HeaderBag, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    // a repeated signature header is ambiguous: refuse it rather than pick one
    return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  }
  return undefined;
}

/**
 * Checks X-Timestamp and X-Signature of a received message. The signature is
 * recomputed over the timestamp exactly as received and compared in constant
 * time; a missing or malformed timestamp counts as stale.
 */
export function verify(
  secret: string,
  headers: HeaderBag,
  method: string,
  pathWithQuery: string,
  rawBody: Buffer | string,
  now: Date | number = Date.now(),
): VerifyResult {
  const timestamp = header(headers, 'x-timestamp');
  const signature = header(headers, 'x-signature');
  if (timestamp === undefined || !/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'STALE_TIMESTAMP' };
  const nowSeconds = unixSeconds(typeof now === 'number' ? now : now.getTime());
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'STALE_TIMESTAMP' };
  if (signature === undefined) return { ok: false, reason: 'BAD_SIGNATURE' };
  const expected = sign(secret, { timestamp, method, pathWithQuery, rawBody });
  return safeEqual(expected, signature) ? { ok: true } : { ok: false, reason: 'BAD_SIGNATURE' };
}

/**
 * `verify` for a body that arrives in pieces (a statement of a million lines
 * is never held whole): `update` with each piece as it comes, then `result`.
 * The signature covers the body last, so the HMAC runs along with the stream.
 */
export function streamVerifier(
  secret: string,
  headers: HeaderBag,
  method: string,
  pathWithQuery: string,
  now: Date | number = Date.now(),
): { update(chunk: Buffer): void; result(): VerifyResult } {
  const timestamp = header(headers, 'x-timestamp');
  const signature = header(headers, 'x-signature');
  const nowSeconds = unixSeconds(typeof now === 'number' ? now : now.getTime());
  let early: VerifyResult | null = null;
  if (timestamp === undefined || !/^\d{1,15}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > MAX_CLOCK_SKEW_SECONDS) {
    early = { ok: false, reason: 'STALE_TIMESTAMP' };
  } else if (signature === undefined) early = { ok: false, reason: 'BAD_SIGNATURE' };
  const hmac = createHmac('sha256', secret);
  if (!early) hmac.update(`${timestamp!}\n${method.toUpperCase()}\n${pathWithQuery}\n`, 'utf8');
  return {
    update(chunk) {
      if (!early) hmac.update(chunk);
    },
    result() {
      if (early) return early;
      return safeEqual(hmac.digest('hex'), signature!) ? { ok: true } : { ok: false, reason: 'BAD_SIGNATURE' };
    },
  };
}

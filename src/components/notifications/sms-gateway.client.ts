import { AppError, invalid, unauthenticated } from '../../platform/errors';
import {
  jsonOf,
  NEVER_CONNECTED,
  retryAfter,
  SignedHttpClient,
  TransportError,
  verify,
  type HeaderBag,
  type RawResponse,
} from '../providers';
import { MAX_TEXT_CHARS } from './sms-encoding';
import {
  SMS_REFERENCE,
  SMS_SENDER,
  SMS_TO,
  smsBalanceSchema,
  smsErrorBodySchema,
  smsMessageSchema,
  smsReportSchema,
  type SmsBalance,
  type SmsMessage,
  type SmsReport,
  type SmsSend,
} from './sms-wire';

/** What a send tells the sender (sms-api.md section 2, the table of statuses). */
export type SmsSendOutcome =
  /** 201: accepted now. */
  | { kind: 'accepted'; message: SmsMessage }
  /** 200: accepted before with an identical body; nothing new happened. */
  | { kind: 'duplicate'; message: SmsMessage }
  /** 400: refused, nothing sent (INVALID_NUMBER, INVALID_SENDER, INSUFFICIENT_BALANCE, INVALID_REQUEST). */
  | { kind: 'refused'; code: string }
  /** 401: signature or clock; nothing sent. */
  | { kind: 'unauthorized'; code: string }
  /** 409 REFERENCE_CONFLICT: the reference was used before with another body. */
  | { kind: 'conflict' }
  /** 429, 503, or the request never reached the gateway: not accepted; try later. */
  | { kind: 'retry_later'; retryAfterSeconds: number | null }
  /** Other 5xx, a timeout, a reset, an answer we cannot read: ask (section 3) before sending again. */
  | { kind: 'unknown'; reason: string };

/** What asking about a reference tells (section 3). */
export type SmsAskOutcome =
  | { kind: 'found'; message: SmsMessage }
  /** 404 NOT_FOUND: never accepted, so sending it with the same reference is safe. */
  | { kind: 'not_found' }
  | { kind: 'retry_later'; retryAfterSeconds: number | null }
  | { kind: 'unknown'; reason: string };

export interface SmsGatewayClientOptions {
  baseUrl: string;
  clientId: string;
  secret: string;
  timeoutMs: number;
  maxSockets?: number;
}

const MAX_JSON_BYTES = 64 * 1024;

const transportCode = (err: unknown): string => (err instanceof TransportError ? err.code : 'ERROR');

/** The SMS adapter: speaks the SMS Gateway API v1 over the same signed keep-alive plumbing as the payment providers. */
export class SmsGatewayClient {
  private readonly http: SignedHttpClient;

  constructor(private readonly opts: SmsGatewayClientOptions) {
    this.http = new SignedHttpClient(opts);
  }

  close(): void {
    this.http.close();
  }

  async send(msg: SmsSend): Promise<SmsSendOutcome> {
    const body = Buffer.from(JSON.stringify(sendBody(msg)), 'utf8');
    let res: RawResponse;
    try {
      res = await this.http.exchange('POST', '/v1/messages', body, MAX_JSON_BYTES);
    } catch (err) {
      const code = transportCode(err);
      return NEVER_CONNECTED.has(code) ? { kind: 'retry_later', retryAfterSeconds: null } : { kind: 'unknown', reason: code };
    }
    const json = jsonOf(res.body);
    const said = smsErrorBodySchema.safeParse(json);
    switch (res.status) {
      case 200:
      case 201: {
        const parsed = smsMessageSchema.safeParse(json);
        // a 2xx we cannot read may still be an acceptance: never take it for "not accepted"
        if (!parsed.success) return { kind: 'unknown', reason: `MALFORMED_${res.status}` };
        if (parsed.data.reference !== msg.reference) return { kind: 'unknown', reason: `MISMATCHED_${res.status}` };
        return { kind: res.status === 201 ? 'accepted' : 'duplicate', message: parsed.data };
      }
      case 400:
        return { kind: 'refused', code: said.success ? said.data.error.slice(0, 32) : 'INVALID_REQUEST' };
      case 401:
        return { kind: 'unauthorized', code: said.success ? said.data.error.slice(0, 32) : 'UNAUTHORIZED' };
      case 409:
        // only REFERENCE_CONFLICT carries the contract's meaning; any other 409 tells nothing
        return said.success && said.data.error === 'REFERENCE_CONFLICT' ? { kind: 'conflict' } : { kind: 'unknown', reason: 'STATUS_409' };
      case 429:
      case 503:
        return { kind: 'retry_later', retryAfterSeconds: retryAfter(res.headers) };
      default:
        return { kind: 'unknown', reason: `STATUS_${res.status}` };
    }
  }

  async ask(reference: string): Promise<SmsAskOutcome> {
    if (!SMS_REFERENCE.test(reference)) throw invalid('INVALID_REFERENCE', 'reference must be 1-64 of [A-Za-z0-9_-]');
    let res: RawResponse;
    try {
      res = await this.http.exchange('GET', `/v1/messages/${reference}`, null, MAX_JSON_BYTES);
    } catch (err) {
      const code = transportCode(err);
      return NEVER_CONNECTED.has(code) ? { kind: 'retry_later', retryAfterSeconds: null } : { kind: 'unknown', reason: code };
    }
    const json = jsonOf(res.body);
    if (res.status === 200) {
      const parsed = smsMessageSchema.safeParse(json);
      if (!parsed.success || parsed.data.reference !== reference) return { kind: 'unknown', reason: 'MALFORMED_200' };
      return { kind: 'found', message: parsed.data };
    }
    if (res.status === 404) {
      const e = smsErrorBodySchema.safeParse(json);
      // "never accepted" is what allows a resend: only the contract's own answer counts, not a stray 404
      return e.success && e.data.error === 'NOT_FOUND' ? { kind: 'not_found' } : { kind: 'unknown', reason: 'STATUS_404' };
    }
    if (res.status === 429 || res.status === 503) return { kind: 'retry_later', retryAfterSeconds: retryAfter(res.headers) };
    return { kind: 'unknown', reason: `STATUS_${res.status}` };
  }

  /** Segments left on a prepaid account; null where the account is billed monthly (404). */
  async balance(): Promise<SmsBalance | null> {
    let res: RawResponse;
    try {
      res = await this.http.exchange('GET', '/v1/balance', null, MAX_JSON_BYTES);
    } catch (err) {
      const transport = transportCode(err);
      throw new AppError('unavailable', 'GATEWAY_UNAVAILABLE', `gateway unreachable: ${transport}`, { transport }, { cause: err });
    }
    if (res.status === 404) return null;
    if (res.status !== 200) throw unexpected('a balance request', res);
    const parsed = smsBalanceSchema.safeParse(jsonOf(res.body));
    if (!parsed.success) throw new AppError('internal', 'GATEWAY_BAD_RESPONSE', 'gateway answered a balance request outside the contract');
    return parsed.data;
  }

  /** A delivery report (section 4), its signature checked over the exact bytes; throws BAD_SIGNATURE, STALE_TIMESTAMP, INVALID_REPORT. */
  verifyReport(headers: HeaderBag, rawBody: Buffer, path: string, now: Date | number = Date.now()): SmsReport {
    const check = verify(this.opts.secret, headers, 'POST', path, rawBody, now);
    if (!check.ok) throw unauthenticated(check.reason, 'delivery report signature refused');
    const parsed = smsReportSchema.safeParse(jsonOf(rawBody));
    if (!parsed.success) throw invalid('INVALID_REPORT', 'the body is not a delivery report');
    return parsed.data;
  }
}

/** The request body in a fixed key order: a resend after an unknown outcome is byte-identical. */
function sendBody(m: SmsSend): Record<string, string> {
  if (!SMS_REFERENCE.test(m.reference)) throw invalid('INVALID_REFERENCE', 'reference must be 1-64 of [A-Za-z0-9_-]');
  if (!SMS_TO.test(m.to)) throw invalid('INVALID_NUMBER', 'to must be +84 and 9 digits');
  if (!SMS_SENDER.test(m.sender)) throw invalid('INVALID_SENDER', 'sender must be 1-11 of [A-Za-z0-9.]');
  if (m.text.length === 0 || [...m.text].length > MAX_TEXT_CHARS)
    throw invalid('INVALID_TEXT', `text must be 1-${MAX_TEXT_CHARS} characters`);
  return {
    reference: m.reference,
    to: m.to,
    sender: m.sender,
    text: m.text,
    ...(m.callbackUrl !== undefined ? { callbackUrl: m.callbackUrl } : {}),
  };
}

/** An answer outside what the operation expects, naming the gateway's own error code beside the status. */
function unexpected(what: string, res: RawResponse): AppError {
  const said = smsErrorBodySchema.safeParse(jsonOf(res.body));
  const gatewayError = said.success && /^[A-Z][A-Z0-9_]{0,63}$/.test(said.data.error) ? said.data.error : null;
  const answered = `gateway answered ${what} with ${res.status}${gatewayError ? ` ${gatewayError}` : ''}`;
  // the same detail names as the providers' test: one test view in the console
  const details = { status: res.status, providerError: gatewayError };
  if (res.status === 429 || res.status >= 500) return new AppError('unavailable', 'GATEWAY_UNAVAILABLE', answered, details);
  return new AppError('internal', res.status === 401 ? 'GATEWAY_UNAUTHORIZED' : 'GATEWAY_BAD_RESPONSE', answered, details);
}

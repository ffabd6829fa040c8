import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { AppError, invalid, unauthenticated, unavailable } from '../../platform/errors/app-error';
import { streamVerifier, verify, type HeaderBag } from './signing';
import { jsonOf, NEVER_CONNECTED, retryAfter, SignedHttpClient, TransportError, type RawResponse } from './signed-http';
import {
  badResponse,
  balanceSchema,
  errorBodySchema,
  eventSchema,
  lookupSchema,
  parseStatement,
  REFERENCE,
  transferSchema,
} from './provider-wire';

export { parseStatement, transferEventSchema } from './provider-wire';
import {
  type Balance,
  type Destination,
  type InquiryOutcome,
  type LookupDestination,
  type LookupOutcome,
  type ProviderPort,
  type SendOutcome,
  type StatementLine,
  type Transfer,
  type TransferEvent,
  type TransferOrder,
} from './provider.port';

export interface HttpProviderOptions {
  /** Where the provider API lives; a path prefix (`https://gw.example/partner`) is kept and signed. */
  baseUrl: string;
  /** The service's client id at the provider (X-Client-Id). */
  clientId: string;
  /** Shared HMAC secret for requests, callbacks and signed responses. */
  secret: string;
  /** Longest wait for a whole exchange, connect to last byte. */
  timeoutMs: number;
  /** Sent as `callbackUrl` with every transfer, when set. */
  callbackUrl?: string;
  /** Connections kept to the provider (default 64): at least the requests the service keeps in flight to it. */
  maxSockets?: number;
}

const MAX_JSON_BYTES = 1024 * 1024;
// a day's statement of a million changes is about 100 MB
const MAX_STATEMENT_BYTES = 512 * 1024 * 1024;
/** How long a statement download may take at least. */
const STATEMENT_TIMEOUT_MS = 10 * 60_000;

/** The generic adapter: speaks the Disbursement Provider API v1 over HTTP(S) with keep-alive connections. */
export class HttpProviderAdapter implements ProviderPort {
  private readonly http: SignedHttpClient;

  constructor(private readonly opts: HttpProviderOptions) {
    try {
      this.http = new SignedHttpClient(opts);
    } catch (err) {
      throw new Error(`provider ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  get timeoutMs(): number {
    return this.opts.timeoutMs;
  }

  /** Closes the pooled connections. */
  close(): void {
    this.http.close();
  }

  async send(order: TransferOrder): Promise<SendOutcome> {
    const body = Buffer.from(JSON.stringify(this.transferBody(order)), 'utf8');
    let res: RawResponse;
    try {
      res = await this.exchange('POST', '/v1/transfers', body, MAX_JSON_BYTES);
    } catch (err) {
      const code = err instanceof TransportError ? err.code : 'ERROR';
      if (NEVER_CONNECTED.has(code)) return { kind: 'retry_later', retryAfterSeconds: null };
      return { kind: 'unknown', reason: code };
    }
    const json = jsonOf(res.body);
    switch (res.status) {
      case 200:
      case 201: {
        const parsed = transferSchema.safeParse(json);
        // a 2xx we cannot read may still be an acceptance: never treat it as "not accepted"
        if (!parsed.success) return { kind: 'unknown', reason: `MALFORMED_${res.status}` };
        const transfer = parsed.data as Transfer;
        if (transfer.reference !== order.reference || transfer.amount !== order.amount) {
          return { kind: 'unknown', reason: `MISMATCHED_${res.status}` };
        }
        return { kind: res.status === 201 ? 'accepted' : 'duplicate', transfer };
      }
      case 400: {
        const e = errorBodySchema.safeParse(json);
        return {
          kind: 'rejected',
          code: e.success ? e.data.error : 'INVALID_REQUEST',
          message: e.success ? (e.data.message ?? null) : null,
        };
      }
      case 401: {
        const e = errorBodySchema.safeParse(json);
        return { kind: 'unauthorized', code: e.success ? e.data.error : 'UNAUTHORIZED' };
      }
      case 409: {
        const e = errorBodySchema.safeParse(json);
        // only REFERENCE_CONFLICT carries the contract's meaning; any other 409 tells nothing
        return e.success && e.data.error === 'REFERENCE_CONFLICT' ? { kind: 'conflict' } : { kind: 'unknown', reason: 'STATUS_409' };
      }
      case 429:
        return { kind: 'retry_later', retryAfterSeconds: retryAfter(res.headers) };
      case 503:
        return { kind: 'retry_later', retryAfterSeconds: retryAfter(res.headers) };
      default:
        return { kind: 'unknown', reason: `STATUS_${res.status}` };
    }
  }

  async inquire(reference: string): Promise<InquiryOutcome> {
    if (!REFERENCE.test(reference)) throw invalid('INVALID_REFERENCE', 'reference must be 1-64 of [A-Za-z0-9_-]');
    let res: RawResponse;
    try {
      res = await this.exchange('GET', `/v1/transfers/${reference}`, null, MAX_JSON_BYTES);
    } catch (err) {
      const code = err instanceof TransportError ? err.code : 'ERROR';
      if (NEVER_CONNECTED.has(code)) return { kind: 'retry_later', retryAfterSeconds: null };
      return { kind: 'unknown', reason: code };
    }
    if (res.status === 200) {
      const parsed = transferSchema.safeParse(jsonOf(res.body));
      if (!parsed.success) throw badResponse('an inquiry', parsed.error.issues);
      if (parsed.data.reference !== reference) throw badResponse('an inquiry', { reference: parsed.data.reference });
      return { kind: 'found', transfer: parsed.data as Transfer };
    }
    if (res.status === 404) {
      const e = errorBodySchema.safeParse(jsonOf(res.body));
      // "never accepted" is what allows a resend: only the contract's own answer counts, not a stray 404
      if (!e.success || e.data.error !== 'NOT_FOUND') throw badResponse('an inquiry with 404');
      return { kind: 'not_found' };
    }
    if (res.status === 429 || res.status === 503) return { kind: 'retry_later', retryAfterSeconds: retryAfter(res.headers) };
    if (res.status >= 500) return { kind: 'unknown', reason: `STATUS_${res.status}` };
    throw this.unexpected('an inquiry', res);
  }

  async lookupAccount(destination: LookupDestination): Promise<LookupOutcome> {
    const body = Buffer.from(JSON.stringify({ destination: this.destinationBody(destination, false) }), 'utf8');
    const res = await this.read('POST', '/v1/account-lookups', body, MAX_JSON_BYTES);
    if (res.status === 404) return { kind: 'not_offered' };
    if (res.status !== 200) throw this.unexpected('an account lookup', res);
    const parsed = lookupSchema.safeParse(jsonOf(res.body));
    if (!parsed.success) throw badResponse('an account lookup', parsed.error.issues);
    if (parsed.data.status === 'ACTIVE' && !parsed.data.accountName) throw badResponse('an account lookup', 'ACTIVE without accountName');
    return { kind: 'answered', status: parsed.data.status, accountName: parsed.data.accountName ?? null };
  }

  async balance(): Promise<Balance> {
    const res = await this.read('GET', '/v1/balance', null, MAX_JSON_BYTES);
    if (res.status !== 200) throw this.unexpected('a balance request', res);
    const parsed = balanceSchema.safeParse(jsonOf(res.body));
    if (!parsed.success) throw badResponse('a balance request', parsed.error.issues);
    return parsed.data;
  }

  async statement(date: string): Promise<StatementLine[]> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
      throw invalid('INVALID_DATE', 'statement date must be YYYY-MM-DD');
    }
    const pathWithQuery = `/v1/statements?date=${date}`;
    const res = await this.read('GET', pathWithQuery, null, MAX_STATEMENT_BYTES);
    if (res.status !== 200) throw this.unexpected('a statement request', res);
    // the response is signed over the request it answers: method and target as sent, then the body
    const check = verify(this.opts.secret, res.headers, 'GET', this.target(pathWithQuery), res.body);
    if (!check.ok) throw new AppError('internal', 'PROVIDER_BAD_SIGNATURE', `statement signature refused: ${check.reason}`);
    return parseStatement(res.body);
  }

  async statementTo(date: string, file: string): Promise<{ bytes: number; sha256: string }> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
      throw invalid('INVALID_DATE', 'statement date must be YYYY-MM-DD');
    }
    const pathWithQuery = `/v1/statements?date=${date}`;
    const target = this.target(pathWithQuery);
    const headers = { ...this.http.headers('GET', pathWithQuery, Buffer.alloc(0)), accept: 'text/csv' };
    const { origin, transport, agent } = this.http;
    const out = createWriteStream(file);
    try {
      return await new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
        let settled = false;
        const finish = (err: AppError | null, res?: { bytes: number; sha256: string }): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err) {
            req.destroy();
            reject(err);
          } else resolve(res!);
        };
        const req = transport.request({
          protocol: origin.protocol,
          hostname: origin.hostname,
          port: origin.port || undefined,
          method: 'GET',
          path: target,
          headers,
          agent,
        });
        // a statement is a download, not a call: it gets minutes, not the provider's per-request timeout
        const timer = setTimeout(
          () => finish(unavailable('PROVIDER_UNAVAILABLE', 'the statement did not arrive in time')),
          Math.max(this.opts.timeoutMs, STATEMENT_TIMEOUT_MS),
        );
        req.on('error', (err: NodeJS.ErrnoException) =>
          finish(unavailable('PROVIDER_UNAVAILABLE', `provider unreachable: ${err.code ?? 'ERROR'}`, err)),
        );
        req.on('response', (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            finish(this.unexpected('a statement request', { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) }));
            return;
          }
          const check = streamVerifier(this.opts.secret, res.headers, 'GET', target);
          const hash = createHash('sha256');
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > MAX_STATEMENT_BYTES) {
              finish(new AppError('internal', 'PROVIDER_BAD_RESPONSE', `statement larger than ${MAX_STATEMENT_BYTES} bytes`));
              return;
            }
            check.update(chunk);
            hash.update(chunk);
            if (!out.write(chunk)) {
              res.pause();
              out.once('drain', () => res.resume());
            }
          });
          res.on('error', (err: NodeJS.ErrnoException) =>
            finish(unavailable('PROVIDER_UNAVAILABLE', `statement cut: ${err.code ?? 'ERROR'}`, err)),
          );
          res.on('close', () => {
            if (!res.complete) finish(unavailable('PROVIDER_UNAVAILABLE', 'connection closed before the statement was complete'));
          });
          res.on('end', () => {
            out.end(() => {
              const v = check.result();
              if (!v.ok) finish(new AppError('internal', 'PROVIDER_BAD_SIGNATURE', `statement signature refused: ${v.reason}`));
              else finish(null, { bytes, sha256: hash.digest('hex') });
            });
          });
        });
        req.end();
      });
    } catch (e) {
      out.destroy();
      throw e;
    }
  }

  verifyCallback(headers: HeaderBag, rawBody: Buffer, path: string, now: Date | number = Date.now()): TransferEvent {
    const check = verify(this.opts.secret, headers, 'POST', path, rawBody, now);
    if (!check.ok) throw unauthenticated(check.reason, 'callback signature refused');
    const parsed = eventSchema.safeParse(jsonOf(rawBody));
    if (!parsed.success) throw invalid('INVALID_EVENT', 'callback body is not a transfer event');
    return parsed.data as TransferEvent;
  }

  private transferBody(order: TransferOrder): Record<string, unknown> {
    if (!Number.isSafeInteger(order.amount) || order.amount <= 0) {
      throw invalid('INVALID_AMOUNT', `amount must be a positive whole number of đồng: ${String(order.amount)}`);
    }
    if (typeof order.reference !== 'string' || !REFERENCE.test(order.reference)) {
      throw invalid('INVALID_REFERENCE', 'reference must be 1-64 of [A-Za-z0-9_-]');
    }
    if (order.description !== undefined && [...order.description].length > 140) {
      throw invalid('INVALID_DESCRIPTION', 'description must be at most 140 characters');
    }
    // fixed key order: a resend after an unknown outcome is byte-identical, so the provider sees a duplicate
    return {
      reference: order.reference,
      amount: order.amount,
      currency: 'VND',
      destination: this.destinationBody(order.destination, true),
      ...(order.description !== undefined ? { description: order.description } : {}),
      ...(this.opts.callbackUrl !== undefined ? { callbackUrl: this.opts.callbackUrl } : {}),
    };
  }

  private destinationBody(d: Destination | LookupDestination, withName: boolean): Record<string, string> {
    const name = (): Record<string, string> => {
      if (!withName) return {};
      const accountName = (d as Destination).accountName;
      if (typeof accountName !== 'string' || accountName.length === 0) throw invalid('INVALID_DESTINATION', 'accountName is required');
      return { accountName };
    };
    const present = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
    if (d.type === 'BANK_ACCOUNT') {
      if (!/^\d{6}$/.test(d.bankCode) || !present(d.accountNumber)) {
        throw invalid('INVALID_DESTINATION', 'bank destination needs a 6-digit bankCode and an accountNumber');
      }
      return { type: 'BANK_ACCOUNT', bankCode: d.bankCode, accountNumber: d.accountNumber, ...name() };
    }
    if (d.type === 'WALLET') {
      if (!present(d.walletProvider) || !present(d.walletId))
        throw invalid('INVALID_DESTINATION', 'wallet destination needs walletProvider and walletId');
      return { type: 'WALLET', walletProvider: d.walletProvider, walletId: d.walletId, ...name() };
    }
    throw invalid('INVALID_DESTINATION', 'destination type must be BANK_ACCOUNT or WALLET');
  }

  /** An answer outside what the operation expects, naming what the provider said (its error code) beside the status. */
  private unexpected(what: string, res: RawResponse): AppError {
    const said = errorBodySchema.safeParse(jsonOf(res.body));
    // the provider's code only when it looks like one: the body is theirs, not ours to echo at length
    const providerError = said.success && /^[A-Z][A-Z0-9_]{0,63}$/.test(said.data.error) ? said.data.error : null;
    const answered = `provider answered ${what} with ${res.status}${providerError ? ` ${providerError}` : ''}`;
    if (res.status === 429 || res.status >= 500) {
      return new AppError('unavailable', 'PROVIDER_UNAVAILABLE', answered, { status: res.status, providerError });
    }
    const code = res.status === 401 ? 'PROVIDER_UNAUTHORIZED' : 'PROVIDER_BAD_RESPONSE';
    return new AppError('internal', code, answered, { status: res.status, providerError });
  }

  /** An exchange for a read operation: not completing it is `unavailable`. */
  private async read(method: string, pathWithQuery: string, body: Buffer | null, maxBytes: number): Promise<RawResponse> {
    try {
      return await this.exchange(method, pathWithQuery, body, maxBytes);
    } catch (err) {
      const transport = err instanceof TransportError ? err.code : 'ERROR';
      throw new AppError('unavailable', 'PROVIDER_UNAVAILABLE', `provider unreachable: ${transport}`, { transport }, { cause: err });
    }
  }

  private target(pathWithQuery: string): string {
    return this.http.target(pathWithQuery);
  }

  private exchange(method: string, pathWithQuery: string, body: Buffer | null, maxBytes: number): Promise<RawResponse> {
    return this.http.exchange(
      method,
      pathWithQuery,
      body,
      maxBytes,
      pathWithQuery.startsWith('/v1/statements') ? 'text/csv' : 'application/json',
    );
  }
}

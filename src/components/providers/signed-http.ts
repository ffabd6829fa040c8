import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { signedHeaders } from './signing';

/**
 * One signed HTTP exchange with a partner that speaks a contract signed as
 * provider-api.md section 1 (payment providers, SMS gateways): keep-alive
 * connections, the path prefix of the base URL kept and signed, a deadline on
 * the whole exchange and a cap on the answer's size. It reads nothing into the
 * answer: what a status means is the adapter's business.
 */

export interface SignedHttpOptions {
  /** Where the API lives; a path prefix (`https://gw.example/partner`) is kept and signed. */
  baseUrl: string;
  /** X-Client-Id. */
  clientId: string;
  /** Shared HMAC secret. */
  secret: string;
  /** Longest wait for a whole exchange, connect to last byte. */
  timeoutMs: number;
  /** Connections kept open (default 64). */
  maxSockets?: number;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The exchange did not complete: nothing is known about what the other side did. */
export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** The request never reached the other side: it cannot have been accepted. */
export const NEVER_CONNECTED: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

export function jsonOf(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Retry-After in whole seconds, or null when absent or not a number of seconds. */
export function retryAfter(headers: IncomingHttpHeaders): number | null {
  const value = headers['retry-after'];
  return typeof value === 'string' && /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : null;
}

export class SignedHttpClient {
  readonly origin: URL;
  readonly transport: typeof http | typeof https;
  readonly agent: http.Agent;
  private readonly prefix: string;

  constructor(private readonly opts: SignedHttpOptions) {
    this.origin = new URL(opts.baseUrl);
    if (this.origin.protocol !== 'http:' && this.origin.protocol !== 'https:') throw new Error('baseUrl must be http(s)');
    if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs <= 0) throw new Error('timeoutMs must be a positive integer');
    this.prefix = this.origin.pathname.replace(/\/+$/, '');
    this.transport = this.origin.protocol === 'https:' ? https : http;
    const sockets = opts.maxSockets ?? 64;
    // every connection stays open between waves of requests (the default keeps 256 idle ones and closes the rest)
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  get timeoutMs(): number {
    return this.opts.timeoutMs;
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  /** The request target as sent and signed: the base URL's path prefix, then the contract's path. */
  target(pathWithQuery: string): string {
    return `${this.prefix}${pathWithQuery}`;
  }

  /** The signature headers of a request to `pathWithQuery` (prefix added) with this body. */
  headers(method: string, pathWithQuery: string, rawBody: Buffer): Record<string, string> {
    return signedHeaders(this.opts.secret, { method, pathWithQuery: this.target(pathWithQuery), rawBody }, this.opts.clientId);
  }

  /** One signed request; resolves with whatever status came back, rejects with a TransportError when the exchange did not complete. */
  exchange(
    method: string,
    pathWithQuery: string,
    body: Buffer | null,
    maxBytes: number,
    accept = 'application/json',
  ): Promise<RawResponse> {
    const target = this.target(pathWithQuery);
    const headers: Record<string, string> = { ...this.headers(method, pathWithQuery, body ?? Buffer.alloc(0)), accept };
    if (body) {
      headers['content-type'] = 'application/json; charset=utf-8';
      headers['content-length'] = String(body.length);
    }
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const finish = (err: TransportError | null, res?: RawResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = this.transport.request({
        protocol: this.origin.protocol,
        hostname: this.origin.hostname,
        port: this.origin.port || undefined,
        method,
        path: target,
        headers,
        agent: this.agent,
      });
      const timer = setTimeout(() => {
        finish(new TransportError('TIMEOUT', `no complete answer within ${this.opts.timeoutMs} ms`));
        req.destroy();
      }, this.opts.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => finish(new TransportError(err.code ?? 'ERROR', err.message, { cause: err })));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            finish(new TransportError('TOO_LARGE', `answer larger than ${maxBytes} bytes`));
            req.destroy();
          } else chunks.push(chunk);
        });
        res.on('error', (err: NodeJS.ErrnoException) => finish(new TransportError(err.code ?? 'ECONNRESET', err.message, { cause: err })));
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size) }));
        res.on('close', () => {
          if (!res.complete) finish(new TransportError('ECONNRESET', 'connection closed before the answer was complete'));
        });
      });
      if (body) req.end(body);
      else req.end();
    });
  }
}

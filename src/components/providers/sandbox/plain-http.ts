import type { ServerResponse } from 'node:http';
import { Pool } from 'undici';

/**
 * What the sandboxes (payment provider and SMS gateway) share on their hot paths: answers written straight to Node's
 * response, and keep-alive connections per callback origin for the events and reports they post.
 */

/** A JSON answer written straight to Node's response (the hot path skips express's send machinery). */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The contracts' error body: `{ error, message? }`. */
export const fail = (res: ServerResponse, status: number, error: string, message?: string): void =>
  sendJson(res, status, message === undefined ? { error } : { error, message });

/** One undici pool per origin posted to, as a provider's or gateway's delivery workers hold connections. */
export class OriginPools {
  private readonly pools = new Map<string, Pool>();

  for(url: URL): Pool {
    let pool = this.pools.get(url.origin);
    if (!pool) {
      pool = new Pool(url.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
      this.pools.set(url.origin, pool);
    }
    return pool;
  }

  /** Destroys every pool, ending the requests in flight. */
  close(): void {
    for (const pool of this.pools.values()) void pool.destroy().catch(() => undefined);
    this.pools.clear();
  }
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { config } from '../../config';
import { buildSandboxApp, type SandboxLedger, type SandboxOptions } from '../../src/components/providers/sandbox/sandbox.app';
import { signedHeaders } from '../../src/components/providers/signing';
import { buildSmsSandbox, type SmsSandboxLedger } from '../../src/components/notifications/sandbox';
import type { TestApp } from './app';

export interface TestSandbox {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The sandbox's book: settle transfers, register account holders, read the float. */
  ledger: SandboxLedger;
  clientId: string;
  secret: string;
  /** A signed request to the sandbox (contract or /_sandbox admin paths); the body is sent as JSON unless it is a string. */
  request(
    method: string,
    pathWithQuery: string,
    body?: unknown,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  /** Stops the server, its settlement timers and its callbacks. */
  close(): Promise<void>;
}

/**
 * The sandbox provider on a free loopback port. By default it knows the
 * client id and secret of the config (SANDBOX_CLIENT_ID, SANDBOX_SECRET), so
 * the seeded `sandbox` provider row reaches it once pointed at it (useSandboxFor).
 */
export async function startTestSandbox(opts: Partial<SandboxOptions> = {}): Promise<TestSandbox> {
  const cfg = config();
  const clientId = opts.clientId ?? cfg.sandboxClientId;
  const secret = opts.secret ?? cfg.sandboxSecret;
  const { app, ledger } = buildSandboxApp({ ...opts, clientId, secret });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    ledger,
    clientId,
    secret,
    request: (method, pathWithQuery, body) => signedRequest(url, clientId, secret, method, pathWithQuery, body),
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        ledger.close();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      })),
  };
}

/** One signed request with a fresh connection (no pooling: nothing is left open after it). */
export function signedRequest(
  baseUrl: string,
  clientId: string,
  secret: string,
  method: string,
  pathWithQuery: string,
  body?: unknown,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const headers: Record<string, string> = signedHeaders(secret, { method, pathWithQuery, rawBody: raw }, clientId);
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${pathWithQuery}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(raw);
  });
}

/** One callback as the receiver got it: exact bytes, headers and request target, for verifyCallback. */
export interface ReceivedCallback {
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  /** The status the receiver answered. */
  answered: number;
  at: number;
}

export interface CallbackReceiver {
  /** `http://127.0.0.1:<port>/callbacks` (append a query or use another path freely: every POST is recorded). */
  url: string;
  received: ReceivedCallback[];
  /** Resolves once `predicate(received)` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (received: ReceivedCallback[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A service stand-in that records the sandbox's callbacks. `answer` decides
 * the status of each (default 200), e.g. 503 for the first tries of an event.
 */
export async function startCallbackReceiver(
  answer: (cb: Omit<ReceivedCallback, 'answered'>, index: number) => number = () => 200,
): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  let waiters: { check: () => boolean; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const cb = { path: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks), at: Date.now() };
      const status = answer(cb, received.length);
      received.push({ ...cb, answered: status });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      waiters = waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`;
  return {
    url,
    received,
    waitFor: (predicate, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(received)) return resolve();
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.resolve !== done);
          reject(new Error(`callbacks not as expected within ${timeoutMs} ms; received ${received.length}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ check: () => predicate(received), resolve: done });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The next attempt of a fenced payment: never, until the fence is lifted. */
const FENCED = '2999-01-01 00:00:00.000';

/**
 * Keeps the open payments of earlier tests routed to `providerId` from reaching whatever the provider is pointed at
 * next: their next attempt (send, retry, inquiry, poll) is put off for good, and those in flight are waited for (a
 * request that left has its old address, but its answer may ask for a retry) and put off too. Returns how to lift it.
 */
async function fenceEarlierWork(ds: DataSource, providerId: number): Promise<() => Promise<void>> {
  const fence = () =>
    ds.query(
      `UPDATE payments p JOIN batches b ON b.id = p.batch_id AND b.status = 'processing'
       SET p.next_attempt_at = ? WHERE p.provider_id = ? AND p.status IN ('pending', 'unknown', 'sent')`,
      [FENCED, providerId],
    );
  await fence();
  for (let end = Date.now() + 15_000; Date.now() < end;) {
    const [row] = (await ds.query(
      `SELECT COUNT(*) AS n FROM payments p JOIN batches b ON b.id = p.batch_id AND b.status = 'processing'
       WHERE p.provider_id = ? AND p.status = 'sending'`,
      [providerId],
    )) as { n: string }[];
    if (Number(row!.n) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await fence();
  return async () => {
    await ds.query('UPDATE payments SET next_attempt_at = CURRENT_TIMESTAMP(3) WHERE provider_id = ? AND next_attempt_at = ?', [
      providerId,
      FENCED,
    ]);
  };
}

/**
 * Points the seeded `sandbox` provider (its base_url) at `url`, e.g. a
 * startTestSandbox(). The service notices the change on its next adapterFor.
 * Payments of earlier tests still open at the provider are fenced off first
 * (they would reach the new sandbox and spend its float): they wait until
 * `reset()`, which puts back the URL it had before and lets them go on.
 */
export async function useSandboxFor(ds: DataSource, url: string): Promise<{ providerId: number; reset(): Promise<void> }> {
  const [row] = (await ds.query("SELECT id, base_url FROM providers WHERE name = 'sandbox'")) as { id: number; base_url: string | null }[];
  if (!row) throw new Error('no sandbox provider row: has the providers migration run?');
  const lift = await fenceEarlierWork(ds, row.id);
  await ds.query('UPDATE providers SET base_url = ? WHERE id = ?', [url, row.id]);
  return {
    providerId: row.id,
    reset: async () => {
      await ds.query('UPDATE providers SET base_url = ? WHERE id = ?', [row.base_url, row.id]);
      await lift();
    },
  };
}

/** Puts the seeded `sandbox` provider back to the config's SANDBOX_URL (base_url NULL). */
export async function resetSandboxProvider(ds: DataSource): Promise<void> {
  await ds.query("UPDATE providers SET base_url = NULL WHERE name = 'sandbox'");
}

export interface TestSmsGateway {
  /** `http://127.0.0.1:<port>/sms`, where the seeded `sandbox` gateway row now points */
  url: string;
  ledger: SmsSandboxLedger;
  gatewayId: number;
  /** Stops the gateway and its reports, and points the seeded row back at the sandbox process. */
  close(): Promise<void>;
}

/**
 * The sandbox SMS gateway on a free loopback port (statuses moving within milliseconds), the seeded `sandbox` gateway
 * row pointed at it, and its delivery reports sent to this run's app instead of PUBLIC_BASE_URL.
 */
export async function startTestSmsGateway(app: TestApp, seed: string): Promise<TestSmsGateway> {
  const gw = buildSmsSandbox({
    clientId: app.infra.cfg.sandboxClientId,
    secret: app.infra.cfg.sandboxSecret,
    prefix: '/sms',
    seed,
    behaviour: { sentMs: [0, 5], deliverMs: [0, 20] },
  });
  const server = http.createServer(gw.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  const [g] = (await app.infra.ds.query(`SELECT id FROM sms_gateways WHERE name = 'sandbox'`)) as { id: number }[];
  const gatewayId = g!.id;
  await app.infra.ds.query('UPDATE sms_gateways SET base_url = ? WHERE id = ?', [url, gatewayId]);
  app.services.notifications.gateways.callbackUrl = (name: string) => `${app.url}/api/v1/notifications/gateways/${name}/callbacks`;
  return {
    url,
    ledger: gw.ledger,
    gatewayId,
    async close() {
      gw.ledger.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.infra.ds.query('UPDATE sms_gateways SET base_url = NULL WHERE id = ?', [gatewayId]);
    },
  };
}

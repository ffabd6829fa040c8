import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { unauthenticated } from './errors';

/**
 * Prometheus metrics of this process, in a registry of its own (not
 * prom-client's global one). The payment engine records provider requests and
 * payment transitions where they happen (the worker, and the API for
 * callbacks); the API adds gauges read from the database and Redis at scrape
 * time (setScrapeCollector). Both serve the text format behind METRICS_TOKEN.
 */
const registry = new Registry();

/** 5 ms to 30 s: sandbox answers in milliseconds, a slow bank near its timeout. */
export const PROVIDER_REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const providerRequest = new Histogram({
  name: 'welfare_provider_request_seconds',
  help: 'Requests to payment providers by provider, op (send, inquire, lookup, balance) and outcome (accepted, duplicate, rejected, conflict, retry_later, unknown, found, not_found, error)',
  labelNames: ['provider', 'op', 'outcome'] as const,
  buckets: PROVIDER_REQUEST_BUCKETS,
  registers: [registry],
});

const transitions = new Counter({
  name: 'welfare_payment_transitions_total',
  help: 'Payments moved to a status (to) by the engine, per provider',
  labelNames: ['provider', 'to'] as const,
  registers: [registry],
});

/** One request to a provider took `seconds` and ended in `outcome`. */
export function observeProviderRequest(provider: string, op: string, outcome: string, seconds: number): void {
  providerRequest.observe({ provider, op, outcome }, seconds);
}

/** `n` payments of `provider` moved to status `to` (nothing for n <= 0). */
export function countTransitions(provider: string, to: string, n: number): void {
  if (n > 0) transitions.inc({ provider, to }, n);
}

const sessionStoreResets = new Counter({
  name: 'welfare_session_store_resets_total',
  help: 'Times this process found that Redis had lost every session (flushed, or restarted without persistence): every user had to log in again',
  registers: [registry],
});

/** Redis was found to have lost the sessions. */
export function countSessionStoreReset(): void {
  sessionStoreResets.inc();
}

let processName: string | undefined;

/**
 * Names this process (`api`, `worker`) in a `process` label on every metric
 * and starts the default process metrics (CPU, memory, event loop, GC) under
 * the `welfare_` prefix. Once per process; later calls change nothing.
 */
export function initMetrics(name: string): void {
  if (processName !== undefined) return;
  processName = name;
  registry.setDefaultLabels({ process: name });
  collectDefaultMetrics({ register: registry, prefix: 'welfare_' });
}

/** A gauge in this registry, created on first use (so that building the app twice in one process does not fail). */
export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

interface ScrapeCollector {
  collect: () => Promise<void>;
  /** Emptied when collect fails, so that a scrape never shows stale values as current. */
  gauges: readonly Gauge[];
}

const collectors = new Map<string, ScrapeCollector>();
const collectorUp = new Gauge({
  name: 'welfare_scrape_collector_up',
  help: '1 when the scrape-time collector (database or Redis read) succeeded in this scrape, 0 when it failed and its gauges are empty',
  labelNames: ['collector'] as const,
  registers: [registry],
});

/**
 * Runs `collect` before every scrape (it sets `gauges` from the database or
 * Redis). Registering a name again replaces the earlier collector.
 */
export function setScrapeCollector(name: string, collect: () => Promise<void>, gauges: readonly Gauge[]): void {
  collectors.set(name, { collect, gauges });
}

let inFlight: Promise<string> | undefined;

/** The registry in Prometheus text format, after the scrape-time collectors ran; concurrent scrapes share one collection. */
export function metricsText(): Promise<string> {
  inFlight ??= (async () => {
    try {
      await Promise.all(
        [...collectors].map(async ([name, c]) => {
          try {
            await c.collect();
            collectorUp.set({ collector: name }, 1);
          } catch {
            for (const g of c.gauges) g.reset();
            collectorUp.set({ collector: name }, 0);
          }
        }),
      );
      return await registry.metrics();
    } finally {
      inFlight = undefined;
    }
  })();
  return inFlight;
}

export const METRICS_CONTENT_TYPE = registry.contentType;

/** Whether an Authorization header is `Bearer <token>`, compared in constant time (both sides hashed to equal length). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}

const TOKEN_MESSAGE = 'send Authorization: Bearer <METRICS_TOKEN>';

/** GET /metrics on the API: the error handler answers 401 METRICS_TOKEN_REQUIRED without the token. */
export function metricsHandler(token: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!bearerMatches(req.header('authorization'), token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      next(unauthenticated('METRICS_TOKEN_REQUIRED', TOKEN_MESSAGE));
      return;
    }
    metricsText().then((text) => {
      res.setHeader('Content-Type', METRICS_CONTENT_TYPE);
      res.setHeader('Cache-Control', 'no-store');
      res.send(text);
    }, next);
  };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

function answer(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}

/**
 * A bare HTTP server for a process without the API (the worker): GET
 * /metrics with the bearer token, nothing else. Port 0 picks a free port.
 */
export async function serveMetrics(opts: { host: string; port: number; token: string }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return answer(res, 404, 'NOT_FOUND', 'only GET /metrics is served here');
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'METHOD_NOT_ALLOWED', 'use GET', { Allow: 'GET, HEAD' });
    if (!bearerMatches(req.headers.authorization, opts.token)) {
      return answer(res, 401, 'METRICS_TOKEN_REQUIRED', TOKEN_MESSAGE, { 'WWW-Authenticate': 'Bearer realm="metrics"' });
    }
    metricsText().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => answer(res, 500, 'INTERNAL', 'collecting metrics failed'),
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

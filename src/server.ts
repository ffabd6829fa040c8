import 'reflect-metadata';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp, plainHandlers } from './app';
import { closeInfra, configOrExit, holdSignalsDuringBoot, onShutdown, openInfra } from './boot';
import { buildServices } from './container';

/** The API process: config → database (created and migrated) → Redis → HTTP; graceful shutdown on SIGTERM. */
async function main(): Promise<void> {
  holdSignalsDuringBoot();
  const cfg = configOrExit();
  const infra = await openInfra('api', cfg);
  const services = buildServices(infra);
  const app = buildApp(infra, services);
  // the signed callbacks (the hot paths of a run) are served before express; everything else by the app
  const plain = plainHandlers(infra, services);
  const server = http.createServer((req, res) => {
    if (!plain.some((handle) => handle(req, res))) app(req, res);
  });
  server.listen(cfg.httpPort, cfg.httpHost);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // a keep-alive connection (load balancer, proxy) whose request is in flight at SIGTERM would
  // otherwise stay open after its answer and hold server.close() until the grace period ends
  let stopping = false;
  const inFlight = new Set<ServerResponse>();
  server.prependListener('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    if (stopping) res.setHeader('connection', 'close');
    res.once('close', () => {
      inFlight.delete(res);
      if (stopping) server.closeIdleConnections();
    });
  });
  const addr = server.address() as AddressInfo;
  infra.log.info(`API listening on http://${addr.address}:${addr.port} (docs at /api/docs)`);
  onShutdown(cfg, infra.log, async () => {
    stopping = true;
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    // exports run in the background of the API: let the running ones finish their file and manifest
    await services.exports.whenIdle();
    await closeInfra(infra);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`API failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

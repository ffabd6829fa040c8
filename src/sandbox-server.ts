import type { AddressInfo } from 'node:net';
import { configOrExit, holdSignalsDuringBoot, onShutdown } from './boot';
import { buildSandboxApp } from './components/providers/sandbox/sandbox.app';
import { processLogger } from './platform/logger';

/**
 * The sandbox provider process: the built-in Provider API v1 sandbox on
 * 127.0.0.1:SANDBOX_PORT, signing with SANDBOX_SECRET and accepting the client
 * SANDBOX_CLIENT_ID. Its ledger lives in memory: a restart forgets every
 * transfer. Never run in production.
 */
async function main(): Promise<void> {
  holdSignalsDuringBoot();
  const cfg = configOrExit();
  const log = processLogger('sandbox');
  if (cfg.mode === 'production') {
    process.stderr.write('the sandbox provider is for development and tests; it does not run with NODE_ENV=production\n');
    process.exit(78);
  }
  const { app } = buildSandboxApp({ clientId: cfg.sandboxClientId, secret: cfg.sandboxSecret });
  const server = app.listen(cfg.sandboxPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  log.info(`sandbox provider listening on http://${addr.address}:${addr.port}`);
  onShutdown(cfg, log, async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox provider failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

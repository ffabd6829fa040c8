import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { configOrExit, holdSignalsDuringBoot, onShutdown } from './boot';
import { buildSandboxApp } from './components/providers/sandbox/sandbox.app';
import { buildSmsSandbox, SANDBOX_SMS_PREFIX } from './components/notifications/sandbox';
import { processLogger } from './platform/logger';
import { demoRollAccounts } from '../scripts/demo-data';

/**
 * The sandbox provider process: the built-in Provider API v1 sandbox on
 * 127.0.0.1:SANDBOX_PORT, signing with SANDBOX_SECRET and accepting the client
 * SANDBOX_CLIENT_ID. Transfers settle by themselves (SANDBOX_SETTLE_MS) and
 * their status events go to each transfer's callbackUrl; the SANDBOX_* fault
 * settings start it as a faulty gateway for fault tests and benchmarks,
 * POST /_sandbox/faults changes them while it runs, and POST /_sandbox/outage
 * takes it off the network for a while. Under /sms the same process serves
 * the sandbox SMS gateway (SMS Gateway API v1, same client id and secret;
 * its faults changed with POST /sms/_sandbox/faults). Both ledgers live in
 * memory: a restart forgets every transfer and message. Never run in production.
 */
async function main(): Promise<void> {
  holdSignalsDuringBoot();
  const cfg = configOrExit();
  const log = processLogger('sandbox');
  if (cfg.mode === 'production') {
    process.stderr.write('the sandbox provider is for development and tests; it does not run with NODE_ENV=production\n');
    process.exit(78);
  }
  // the transfer routes on plain node:http, everything else through the express app (the handler is attached below)
  const server = http.createServer({ keepAliveTimeout: 65_000 });
  // a keep-alive client pool may hold hundreds of connections
  server.maxConnections = 10_000;
  let offline = false;
  const { handler, ledger } = buildSandboxApp({
    clientId: cfg.sandboxClientId,
    secret: cfg.sandboxSecret,
    initialFloat: cfg.sandboxFloat,
    seed: cfg.sandboxSeed === 'random' ? undefined : cfg.sandboxSeed,
    settleMs: cfg.sandboxSettleMs,
    latencyMs: cfg.sandboxLatencyMs,
    failShares: cfg.sandboxFailShare,
    returnShare: cfg.sandboxReturnShare,
    returnMs: cfg.sandboxReturnMs,
    fiveXxShare: cfg.sandbox5xxShare,
    timeoutShare: cfg.sandboxTimeoutShare,
    timeoutHoldMs: cfg.sandboxTimeoutHoldMs,
    maxInFlight: cfg.sandboxMaxInFlight,
    duplicateCallbackShare: cfg.sandboxDuplicateCallbackShare,
    outOfOrderShare: cfg.sandboxOutOfOrderShare,
    callbackDelayMs: cfg.sandboxCallbackDelayMs,
    onError: (err: unknown) => log.error('sandbox timed work failed', { err: err instanceof Error ? err.message : String(err) }),
    // off the network, as a provider whose gateway is down: new connections are refused (nothing listens on the port)
    // and open ones are cut, answers in flight with them; the ledger keeps settling and posting callbacks meanwhile
    outage: (ms: number) => {
      if (offline) return;
      offline = true;
      const port = (server.address() as AddressInfo).port;
      log.warn(`sandbox provider off the network for ${ms} ms`);
      server.close();
      server.closeAllConnections();
      setTimeout(() => {
        server.listen(port, '127.0.0.1', () => {
          offline = false;
          log.warn('sandbox provider back on the network');
        });
      }, ms);
    },
  });
  // the holders of the demo roll's accounts (npm start imports that roll), so that a demo batch's account check
  // finds the names the roll holds instead of flagging every item
  if (cfg.demoSeed) for (const a of demoRollAccounts()) ledger.registerAccount(a.destination, a.accountName);
  const sms = buildSmsSandbox({
    clientId: cfg.sandboxClientId,
    secret: cfg.sandboxSecret,
    prefix: SANDBOX_SMS_PREFIX,
    seed: cfg.sandboxSeed === 'random' ? undefined : `sms-${cfg.sandboxSeed}`,
    onError: (err: unknown) => log.error('sandbox SMS timed work failed', { err: err instanceof Error ? err.message : String(err) }),
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === SANDBOX_SMS_PREFIX || req.url?.startsWith(`${SANDBOX_SMS_PREFIX}/`)) sms.handler(req, res);
    else handler(req, res);
  });
  server.listen(cfg.sandboxPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  log.info(`sandbox provider listening on http://${addr.address}:${addr.port}`);
  const b = ledger.behaviour();
  log.info(
    `sandbox seed ${ledger.seed}; settle ${b.settleMs === null ? 'manual' : `${b.settleMs[0]}-${b.settleMs[1]} ms`}, ` +
      `fail ${JSON.stringify(b.failShares)}, return ${b.returnShare}, 5xx ${b.fiveXxShare}, timeout ${b.timeoutShare}, ` +
      `max in flight ${b.maxInFlight || 'unlimited'}, duplicate callbacks ${b.duplicateCallbackShare}, out of order ${b.outOfOrderShare}`,
  );
  onShutdown(cfg, log, async () => {
    ledger.close();
    sms.ledger.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // answers held back on purpose (SANDBOX_TIMEOUT_SHARE) would otherwise hold the shutdown
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox provider failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

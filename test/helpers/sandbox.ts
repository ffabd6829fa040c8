import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { config } from '../../config';
import { buildSandboxApp, type SandboxLedger, type SandboxOptions } from '../../src/components/providers/sandbox/sandbox.app';

export interface TestSandbox {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The sandbox's book: settle transfers, register account holders, read the float. */
  ledger: SandboxLedger;
  clientId: string;
  secret: string;
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
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      })),
  };
}

/**
 * Points the seeded `sandbox` provider (its base_url) at `url`, e.g. a
 * startTestSandbox(). The service notices the change on its next adapterFor.
 * `reset()` puts back the URL it had before.
 */
export async function useSandboxFor(ds: DataSource, url: string): Promise<{ providerId: number; reset(): Promise<void> }> {
  const [row] = (await ds.query("SELECT id, base_url FROM providers WHERE name = 'sandbox'")) as { id: number; base_url: string | null }[];
  if (!row) throw new Error('no sandbox provider row: has the providers migration run?');
  await ds.query('UPDATE providers SET base_url = ? WHERE id = ?', [url, row.id]);
  return {
    providerId: row.id,
    reset: async () => {
      await ds.query('UPDATE providers SET base_url = ? WHERE id = ?', [row.base_url, row.id]);
    },
  };
}

/** Puts the seeded `sandbox` provider back to the config's SANDBOX_URL (base_url NULL). */
export async function resetSandboxProvider(ds: DataSource): Promise<void> {
  await ds.query("UPDATE providers SET base_url = NULL WHERE name = 'sandbox'");
}

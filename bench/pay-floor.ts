/**
 * The floor the payment benchmark is compared with: one process doing only
 * the provider POST (signed, keep-alive node:http, the service's HTTP adapter)
 * and one autocommit conditional UPDATE per payment, at a given concurrency,
 * against the sandbox provider in its own process. No queues, no events, no
 * callbacks handled.
 *
 *   npx tsx bench/pay-floor.ts --rows 50000 --concurrency 200 [--latency 200]
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_floor';
process.env.LOG_LEVEL ??= 'warn';

import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '50000' },
      concurrency: { type: 'string', default: '200' },
      latency: { type: 'string', default: '0' },
    },
  });
  const rows = Number(values.rows);
  const concurrency = Number(values.concurrency);
  const port = 4511;
  const sandbox = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'src/sandbox-server.ts')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      SANDBOX_PORT: String(port),
      SANDBOX_LATENCY_MS: values.latency,
      SANDBOX_FLOAT: String(10 ** 15),
      SANDBOX_MAX_IN_FLIGHT: String(Math.max(500, concurrency)),
    },
  });
  process.on('exit', () => sandbox.kill('SIGTERM'));
  const { config } = await import('../config');
  const cfg = config();
  const mysql = (await import('mysql2/promise')).default;
  const admin = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  await admin.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  await admin.query(`CREATE DATABASE \`${cfg.dbName}\``);
  await admin.end();
  const pool = mysql.createPool({
    host: cfg.dbHost,
    port: cfg.dbPort,
    user: cfg.dbUser,
    password: cfg.dbPassword,
    database: cfg.dbName,
    connectionLimit: 20,
  });
  await pool.query(
    "CREATE TABLE p (id INT UNSIGNED PRIMARY KEY, reference VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'pending') ENGINE=InnoDB",
  );
  for (let i = 1; i <= rows; i += 10_000) {
    const ids = Array.from({ length: Math.min(10_000, rows - i + 1) }, (_, k) => i + k);
    await pool.query(`INSERT INTO p (id, reference) VALUES ${ids.map((id) => `(${id}, 'FLOOR${Date.now()}-${id}')`).join(',')}`);
  }
  const { HttpProviderAdapter } = await import('../src/components/providers/http.adapter');
  const adapter = new HttpProviderAdapter({
    baseUrl: `http://127.0.0.1:${port}`,
    clientId: cfg.sandboxClientId,
    secret: cfg.sandboxSecret,
    timeoutMs: 10_000,
    maxSockets: concurrency,
  });
  for (let i = 0; i < 100; i++) {
    const up = await adapter.balance().then(
      () => true,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const [refs] = (await pool.query('SELECT id, reference FROM p ORDER BY id')) as unknown as [{ id: number; reference: string }[]];
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < refs.length; i = next++) {
        const r = refs[i]!;
        const out = await adapter.send({
          reference: r.reference,
          amount: 500_000,
          destination: { type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: '102012345678', accountName: 'NGUYEN VAN AN' },
        });
        const status = out.kind === 'accepted' || out.kind === 'duplicate' ? 'sent' : 'failed';
        await pool.query("UPDATE p SET status = ? WHERE id = ? AND status = 'pending'", [status, r.id]);
        done += 1;
      }
    }),
  );
  const s = (Date.now() - t0) / 1000;
  const [[flush]] = (await pool.query('SELECT @@innodb_flush_log_at_trx_commit AS f')) as unknown as [{ f: number }[]];
  console.log(
    `floor: ${done.toLocaleString('en')} payments in ${s.toFixed(1)} s = ${Math.round(done / s).toLocaleString('en')}/s ` +
      `(concurrency ${concurrency}, sandbox latency ${values.latency} ms, flush_log_at_trx_commit ${flush!.f})`,
  );
  adapter.close();
  await pool.end();
  sandbox.kill('SIGTERM');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

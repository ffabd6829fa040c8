/**
 * Batch generation benchmark: fills a database of its own with a roll of N
 * people (set-based SQL, ciphertexts made by the service's cipher), then times
 * BatchesService.create for one month over the whole province — the same call
 * POST /batches makes — and the listing of item pages of that batch.
 *
 *   npx tsx bench/generate-batch.ts --rows 1000000 --tune
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_batches';
process.env.REDIS_PREFIX ??= 'welfare-bench-batches';
process.env.LOG_LEVEL ??= 'warn';

import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Seeds the demo data into the (new, migrated) database, writes a roll of `rows` people with set-based SQL and creates
 * one batch for the whole province through BatchesService.create (what POST /batches runs) as the demo staff user,
 * printing how long each took. Used by this benchmark and by bench/console-batch-page.ts.
 */
export async function generateProvinceBatch(ds: DataSource, cfg: Config, rows: number, opts: { tune?: boolean } = {}) {
  const { DataCipher } = await import('../src/platform/crypto');
  const { BatchesService } = await import('../src/components/batches');
  const { AuditService } = await import('../src/components/audit');
  const { NO_STEP_UP } = await import('../src/platform/security');
  const { seedDemo } = await import('../scripts/seed');
  if (opts.tune) {
    await ds.query('SET GLOBAL innodb_buffer_pool_size = 2147483648');
    await ds.query('SET GLOBAL innodb_log_file_size = 1073741824').catch(() => undefined);
  }
  const [vars] = await ds.query(
    'SELECT @@version AS v, @@innodb_buffer_pool_size DIV 1048576 AS bp, @@innodb_log_file_size DIV 1048576 AS redo, @@innodb_flush_log_at_trx_commit AS flush',
  );
  console.log(`database ${vars.v}: buffer pool ${vars.bp} MB, redo log ${vars.redo} MB, flush_log_at_trx_commit ${vars.flush}`);
  await seedDemo(ds, cfg);
  const cipher = DataCipher.fromConfig(cfg);

  // ---- the roll: N people in the 13 demo wards, 60% bank, 20% wallet, 20% cash, coefficients 1.0-3.0
  let t = Date.now();
  const { writeRoll } = await import('./bench-roll');
  const prog = await writeRoll(ds, cipher, rows);
  console.log(`roll of ${rows.toLocaleString('en')} people written in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // ---- generation, through the service (no account check: the hooks do nothing here)
  const audit = new AuditService(ds, cfg.auditChainKey);
  const batches = new BatchesService(
    ds,
    audit,
    {
      accountCheckNeeded: async () => undefined,
      accountCheckAgain: async () => undefined,
      releaseScheduled: async () => undefined,
    },
    NO_STEP_UP,
  );
  const [staff] = (await ds.query("SELECT id, username FROM users WHERE username = 'staff'")) as { id: number; username: string }[];
  const [province] = (await ds.query("SELECT id FROM areas WHERE code = '01'")) as { id: number }[];
  const actor = { userId: staff!.id, username: staff!.username, roles: ['staff'], requestId: null, source: 'bench' };
  const principal = {
    userId: staff!.id,
    username: staff!.username,
    roles: ['staff' as const],
    areaId: null,
    areaPath: null,
    sessionId: 'bench',
    stage: 'full' as const,
  };
  t = Date.now();
  const batch = await batches.create(actor, principal, { programmeId: prog!.id, kind: 'regular', period: 202412, areaId: province!.id });
  const genMs = Date.now() - t;
  console.log(
    `generation: ${batch.itemCount.toLocaleString('en')} items, ${batch.totalAmount.toLocaleString('en')} đ in ${(genMs / 1000).toFixed(2)} s ` +
      `(${Math.round(batch.itemCount / (genMs / 1000)).toLocaleString('en')} items/s)`,
  );
  return { batch, batches, actor, principal, prog: prog!, province: province!, genMs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      tune: { type: 'boolean', default: false },
      queries: { type: 'string', default: '200' },
    },
  });
  const rows = Number(values.rows);
  const { config } = await import('../config');
  const cfg = config();
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  await conn.end();
  const { openInfra, closeInfra } = await import('../src/boot');
  const infra = await openInfra('bench', cfg);
  const ds = infra.ds;
  const { batch, batches, actor, principal, prog, province } = await generateProvinceBatch(infra.ds, cfg, rows, { tune: values.tune });
  let t = Date.now();
  const again = await batches.create(actor, principal, { programmeId: prog.id, kind: 'regular', period: 202412, areaId: province.id });
  console.log(
    `overlapping batch (everyone already in the first): ${again.itemCount} items, ${again.leftOutCount.toLocaleString('en')} left out in ${((Date.now() - t) / 1000).toFixed(2)} s`,
  );

  // ---- item pages
  const n = Number(values.queries);
  const [ward] = (await ds.query("SELECT id FROM areas WHERE code = '00040'")) as { id: number }[];
  const time = async (label: string, fn: (i: number) => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = process.hrtime.bigint();
      await fn(i);
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    ms.sort((a, b) => a - b);
    console.log(`| ${label} | ${pct(ms, 50).toFixed(1)} ms | ${pct(ms, 95).toFixed(1)} ms | ${ms[ms.length - 1]!.toFixed(1)} ms |`);
  };
  const { encodeCursor } = await import('../src/platform/http/pagination');
  console.log('| item page (50) | p50 | p95 | max |\n| --- | --- | --- | --- |');
  await time('first page', () => batches.items(principal, batch.id, {}, { limit: 50 }));
  await time('deep page (random position)', () =>
    batches.items(principal, batch.id, {}, { limit: 50, cursor: encodeCursor([Math.floor(Math.random() * batch.itemCount)]) }),
  );
  await time('one ward (1 in 13)', (i) =>
    batches.items(principal, batch.id, { areaId: ward!.id }, { limit: 50, cursor: i % 2 ? encodeCursor([500_000]) : undefined }),
  );
  await time('wallet items', () => batches.items(principal, batch.id, { channel: 'WALLET' }, { limit: 50 }));
  await time('flagged (2%)', () => batches.items(principal, batch.id, { flagged: true }, { limit: 50 }));
  t = Date.now();
  await batches.totals(principal, batch.id);
  console.log(`totals by review, area, channel and bank: ${Date.now() - t} ms`);
  await closeInfra(infra);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

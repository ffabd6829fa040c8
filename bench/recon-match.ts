/**
 * Reconciliation benchmark: a database of its own with a roll of N people and
 * a batch of N payments paid through one provider (set-based SQL puts them in
 * the state a payment run leaves: succeeded, a few still unknown), a statement
 * CSV of about N lines for that day with a sprinkling of every category, then
 * the service's own intake and processing (load the lines, match them,
 * exceptions, settlements) timed phase by phase, with the process's RSS
 * sampled every 50 ms.
 *
 *   npx tsx bench/recon-match.ts --rows 1000000 --tune
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_recon';
process.env.REDIS_PREFIX ??= 'welfare-bench-recon';
process.env.LOG_LEVEL ??= 'warn';

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      tune: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const rows = Number(values.rows);
  const { config } = await import('../config');
  const cfg = config();
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  // --keep: the database of the previous run, its roll and batch reused (statements, runs and exceptions removed)
  if (!values.keep) await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  await conn.end();
  const { openInfra, closeInfra } = await import('../src/boot');
  const { DataCipher } = await import('../src/platform/crypto');
  const { BatchesService } = await import('../src/components/batches');
  const { AuditService } = await import('../src/components/audit');
  const { ProvidersService } = await import('../src/components/providers');
  const { ReconciliationService } = await import('../src/components/reconciliation');
  const { NO_STEP_UP } = await import('../src/platform/security');
  const { seedDemo } = await import('../scripts/seed');
  const infra = await openInfra('bench', cfg);
  const ds = infra.ds;
  if (values.tune) {
    await ds.query('SET GLOBAL innodb_buffer_pool_size = 2147483648');
    await ds.query('SET GLOBAL innodb_log_file_size = 1073741824').catch(() => undefined);
  }
  const [vars] = await ds.query(
    'SELECT @@version AS v, @@innodb_buffer_pool_size DIV 1048576 AS bp, @@innodb_flush_log_at_trx_commit AS flush',
  );
  console.log(`database ${vars.v}: buffer pool ${vars.bp} MB, flush_log_at_trx_commit ${vars.flush}`);
  const [existing] = values.keep ? ((await ds.query('SELECT COUNT(*) AS n FROM batches')) as { n: string }[]) : [{ n: '0' }];
  const reuse = Number(existing!.n) > 0;
  if (!reuse) await seedDemo(ds, cfg);
  const cipher = DataCipher.fromConfig(cfg);
  const audit = new AuditService(ds, cfg.auditChainKey);

  // ---- a paid batch of N payments
  let t = Date.now();
  const { writeRoll } = await import('./bench-roll');
  const prog = reuse ? null : await writeRoll(ds, cipher, rows);
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
    sessionId: 'b',
    stage: 'full' as const,
  };
  let batch: { id: string; itemCount: number };
  if (reuse) {
    for (const t of ['recon_exception_notes', 'recon_exceptions', 'recon_runs', 'statement_lines', 'statements'])
      await ds.query(`DELETE FROM ${t}`);
    await ds.query("DELETE FROM payment_events WHERE source = 'statement'");
    const [b] = (await ds.query('SELECT id, item_count FROM batches ORDER BY id LIMIT 1')) as { id: string; item_count: number }[];
    batch = { id: String(b!.id), itemCount: Number(b!.item_count) };
  } else {
    batch = await batches.create(actor, principal, { programmeId: prog!.id, kind: 'regular', period: 202412, areaId: province!.id });
  }
  const [sb] = (await ds.query("SELECT id, name FROM providers WHERE kind = 'sandbox' ORDER BY id LIMIT 1")) as {
    id: number;
    name: string;
  }[];
  await ds.query("UPDATE batches SET status = 'processing', released_at = CURRENT_TIMESTAMP(3) WHERE id = ?", [batch.id]);
  // 0.5% still unknown (the statement settles them), the rest succeeded; every one sent today
  await ds.query(
    `UPDATE payments SET provider_id = ?, sent_at = CURRENT_TIMESTAMP(3), attempts = 1,
       status = IF(seq % 200 = 7, 'unknown', 'succeeded'), transfer_id = IF(seq % 200 = 7, NULL, CONCAT('T', seq)),
       settled_at = IF(seq % 200 = 7, NULL, CURRENT_TIMESTAMP(3)), next_attempt_at = IF(seq % 200 = 7, CURRENT_TIMESTAMP(3) + INTERVAL 1 DAY, NULL)
     WHERE batch_id = ?`,
    [sb!.id, batch.id],
  );
  console.log(`roll and paid batch of ${batch.itemCount.toLocaleString('en')} payments ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // ---- the statement: one SUCCEEDED line per payment; 0.1% each: amount off, FAILED there, absent, twice; 0.1% foreign lines
  t = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'recon-bench-'));
  const file = path.join(dir, 'statement.csv');
  const out = createWriteStream(file);
  const date = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
  const at = `${date}T09:00:00+07:00`;
  out.write('reference,transferId,status,amount,currency,failureCode,occurredAt\n');
  let lines = 0;
  let after = 0;
  for (;;) {
    const page = (await ds.query('SELECT seq, reference, amount FROM payments WHERE batch_id = ? AND seq > ? ORDER BY seq LIMIT 50000', [
      batch.id,
      after,
    ])) as { seq: string; reference: string; amount: string }[];
    if (!page.length) break;
    let chunk = '';
    for (const p of page) {
      const k = Number(p.seq) % 1000;
      if (k === 3) continue; // missing at the provider
      const amount = k === 1 ? Number(p.amount) + 1000 : Number(p.amount);
      const status = k === 2 ? 'FAILED' : 'SUCCEEDED';
      const l = `${p.reference},T${p.seq},${status},${amount},VND,${status === 'FAILED' ? 'ACCOUNT_CLOSED' : ''},${at}\n`;
      chunk += l;
      lines += 1;
      if (k === 4) {
        chunk += l;
        lines += 1;
      }
      if (k === 5) {
        chunk += `X${p.reference},TX${p.seq},SUCCEEDED,100000,VND,,${at}\n`;
        lines += 1;
      }
    }
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    after = Number(page[page.length - 1]!.seq);
  }
  await new Promise<void>((r) => out.end(() => r()));
  const size = (await stat(file)).size;
  console.log(
    `statement of ${lines.toLocaleString('en')} lines (${(size / 1048576).toFixed(0)} MB) written in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );

  // ---- intake, load, match: what an upload and the worker's job do
  const providers = new ProvidersService(ds, cipher, audit, cfg);
  const recon = new ReconciliationService(ds, audit, providers, cfg, infra.log, async () => undefined, NO_STEP_UP);
  let peak = 0;
  let heapPeak = 0;
  const base = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  }, 50);
  t = Date.now();
  const intake = await recon.upload(actor, sb!.name, date, { path: file, fileName: 'statement.csv', size, sha256: await sha256Of(file) });
  const tIntake = Date.now() - t;
  const phases: Record<string, number> = {};
  const t0 = Date.now();
  const res = await recon.process(intake.statement.id, (phase, ms) => {
    phases[phase] = ms;
  });
  const total = Date.now() - t0;
  clearInterval(sampler);
  const run = await recon.reads.run(res.runId!);
  console.log(`intake (hash checked, header, file kept): ${tIntake} ms`);
  console.log(
    `load + match of ${run.lineCount.toLocaleString('en')} lines: ${(total / 1000).toFixed(1)} s (${Math.round(run.lineCount / (total / 1000)).toLocaleString('en')} lines/s)`,
  );
  for (const [k, ms] of Object.entries(phases)) console.log(`  ${k}: ${(ms / 1000).toFixed(1)} s`);
  console.log(
    `RSS: ${Math.round(base.rss / 1048576)} MB before, peak ${Math.round(peak / 1048576)} MB; JS heap: ${Math.round(base.heapUsed / 1048576)} MB before, peak ${Math.round(heapPeak / 1048576)} MB`,
  );
  console.log('| category | count | amount (đ) |\n| --- | ---: | ---: |');
  for (const [k, v] of Object.entries(run.totals))
    console.log(`| ${k} | ${v.count.toLocaleString('en')} | ${v.amount.toLocaleString('en')} |`);
  console.log(`settled by the statement: ${run.settled.toLocaleString('en')}`);
  await closeInfra(infra);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

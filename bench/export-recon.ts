/**
 * Auditor export benchmark: builds, with set-based SQL in a database of its own, one batch of N payments in the 13
 * demo wards and a reconciliation run whose statement has N lines (97% matched, 1% amount mismatch, 1% status
 * mismatch, 0.4% duplicate lines, 0.1% unknown references; 0.5% of the payments missing, with their exceptions and
 * a note on each exception), then times ExportsService writing the reconciliation log of that day — the same code
 * POST /exports runs — and prints time, rows/s, file size and the process's peak RSS (sampled every 20 ms).
 *
 *   npx tsx bench/export-recon.ts [--rows 1000000] [--format csv|xlsx] [--full] [--regional] [--keep]
 *
 * --full: full account numbers (one decryption per line); --regional: as an auditor of one district;
 * --keep: reuse the data of a previous run with the same --rows (skips the build).
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_exports';
process.env.REDIS_PREFIX ??= 'welfare-bench-exports';
process.env.LOG_LEVEL ??= 'warn';
process.env.IMPORT_DIR ??= 'var/bench-exports';

import { parseArgs } from 'node:util';

const mb = (n: number) => `${Math.round(n / 1048576)} MB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      format: { type: 'string', default: 'csv' },
      full: { type: 'boolean', default: false },
      regional: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const rows = Number(values.rows);
  const format = values.format === 'xlsx' ? 'xlsx' : 'csv';
  const { config } = await import('../config');
  const cfg = config();
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  const [existing] = (await conn.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [cfg.dbName])) as [
    unknown[],
    unknown,
  ];
  const reuse = values.keep && existing.length > 0;
  if (!reuse) await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  await conn.end();
  const { openInfra, closeInfra } = await import('../src/boot');
  const { DataCipher } = await import('../src/platform/crypto');
  const { AuditService } = await import('../src/components/audit');
  const { ExportsService } = await import('../src/components/exports');
  const { seedDemo } = await import('../scripts/seed');
  const infra = await openInfra('bench', cfg);
  const ds = infra.ds;
  const [vars] = await ds.query('SELECT @@version AS v, @@innodb_buffer_pool_size DIV 1048576 AS bp');
  console.log(`database ${vars.v}: buffer pool ${vars.bp} MB; node ${process.version}`);
  const cipher = DataCipher.fromConfig(cfg);
  const DAY = '2026-11-20';

  const [have] = (await ds.query('SELECT COUNT(*) AS n FROM statement_lines')) as { n: string }[];
  if (!reuse || Number(have!.n) !== rows) {
    await seedDemo(ds, cfg);
    let t = Date.now();
    const [staff] = (await ds.query("SELECT id FROM users WHERE username = 'staff'")) as { id: number }[];
    const [prog] = (await ds.query("SELECT id FROM programmes WHERE code = 'TCXH-NCT80'")) as { id: number }[];
    const [province] = (await ds.query("SELECT id, path FROM areas WHERE code = '01'")) as { id: number; path: string }[];
    const wards = (await ds.query("SELECT id FROM areas WHERE level = 'commune' ORDER BY id")) as { id: number }[];
    const prov = (await ds.query("INSERT INTO providers (name, kind) VALUES ('bench-bank', 'file')")) as { insertId: number };
    const batch = (await ds.query(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       VALUES ('B202611X1', 'regular', ?, 202611, 202611, ?, ?, 'completed', ?)`,
      [prog!.id, province!.id, province!.path, staff!.id],
    )) as { insertId: number };
    await ds.query('DROP TABLE IF EXISTS bench_digits, bench_seq');
    await ds.query('CREATE TABLE bench_digits (d TINYINT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB');
    await ds.query('INSERT INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
    await ds.query('CREATE TABLE bench_seq (n INT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB');
    await ds.query(
      `INSERT INTO bench_seq (n) SELECT x.n FROM (
         SELECT 1 + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 100000*g.d + 1000000*h.d AS n
         FROM bench_digits a, bench_digits b, bench_digits c, bench_digits e, bench_digits f, bench_digits g, bench_digits h
       ) x WHERE x.n <= ? ORDER BY x.n`,
      [rows],
    );
    const wardCase = `CASE s.n % ${wards.length} ${wards.map((w, i) => `WHEN ${i} THEN ${w.id}`).join(' ')} END`;
    const acct = cipher.encrypt('102012345678', 'account');
    const wal = cipher.encrypt('0912345678', 'wallet');
    // payments: 75% bank, 25% wallet; seq n, reference B202611X1-n
    await ds.query(
      `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, amount, base_level,
         coefficient_x100, area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked,
         status, provider_id, transfer_id)
       SELECT ?, s.n, CONCAT('B202611X1-', s.n), 'regular', s.n, s.n, ?, 202611, 500000 * (2 + s.n % 5) DIV 2, 500000, 100 + 50 * (s.n % 5),
         ${wardCase}, CONCAT('Nguyễn Văn ', s.n), IF(s.n % 4 = 0, 'WALLET', 'BANK'), IF(s.n % 4 = 0, NULL, '970436'),
         IF(s.n % 4 = 0, 'MOMO', NULL), IF(s.n % 4 = 0, NULL, ?), IF(s.n % 4 = 0, NULL, '10********78'),
         IF(s.n % 4 = 0, ?, NULL), IF(s.n % 4 = 0, '09******78', NULL), 'succeeded', ?, CONCAT('T', s.n)
       FROM bench_seq s`,
      [batch.insertId, prog!.id, acct, wal, prov.insertId],
    );
    console.log(`${rows.toLocaleString('en')} payments written in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    const st = (await ds.query(
      `INSERT INTO statements (provider_id, business_date, source, sha256, line_count, status, received_by_name)
       VALUES (?, ?, 'fetch', SHA2('bench', 256), ?, 'matched', 'bench')`,
      [prov.insertId, DAY, rows],
    )) as { insertId: number };
    const run = (await ds.query(
      `INSERT INTO recon_runs (provider_id, business_date, statement_id, status, line_count, started_by_name) VALUES (?, ?, ?, 'done', ?, 'bench')`,
      [prov.insertId, DAY, st.insertId, rows],
    )) as { insertId: number };
    // one line per payment except every 200th (missing); categories by n: % 100 = 1 amount, = 2 status; every 250th a duplicate line
    await ds.query(
      `INSERT INTO statement_lines (statement_id, batch_id, seq, line_no, reference, transfer_id, status, amount, currency, occurred_at,
         category, service_status, service_amount, settled)
       SELECT ?, p.batch_id, p.seq, p.seq + 1, p.reference, p.transfer_id, IF(p.seq % 100 = 2, 'FAILED', 'SUCCEEDED'),
         IF(p.seq % 100 = 1, p.amount - 1000, p.amount), 'VND', '2026-11-20T10:15:00+07:00',
         CASE p.seq % 100 WHEN 1 THEN 'amount_mismatch' WHEN 2 THEN 'status_mismatch' ELSE 'matched' END, p.status, p.amount, 0
       FROM payments p WHERE p.batch_id = ? AND p.seq % 200 <> 0
       UNION ALL
       SELECT ?, p.batch_id, p.seq, ? + p.seq, p.reference, p.transfer_id, 'SUCCEEDED', p.amount, 'VND', '2026-11-20T10:15:00+07:00',
         'duplicate', p.status, p.amount, 0
       FROM payments p WHERE p.batch_id = ? AND p.seq % 250 = 3`,
      [st.insertId, batch.insertId, st.insertId, rows + 10, batch.insertId],
    );
    const [have2] = (await ds.query('SELECT COUNT(*) AS n FROM statement_lines')) as { n: string }[];
    const unknown = Math.max(0, rows - Number(have2!.n));
    await ds.query(
      `INSERT INTO statement_lines (statement_id, batch_id, seq, line_no, reference, transfer_id, status, amount, currency, occurred_at, category)
       SELECT ?, 0, 0, 3 * ? + s.n, CONCAT('X-UNKNOWN-', s.n), CONCAT('TX', s.n), 'SUCCEEDED', 250000, 'VND', '2026-11-20T10:15:00+07:00', 'unknown'
       FROM bench_seq s WHERE s.n <= ?`,
      [st.insertId, rows, unknown],
    );
    // exceptions: every line not matched, and every payment missing
    await ds.query(
      `INSERT INTO recon_exceptions (run_id, provider_id, business_date, category, reference, batch_id, seq, line_no, area_id, area_path,
         statement_status, statement_amount, service_status, service_amount)
       SELECT ?, ?, ?, l.category, l.reference, l.batch_id, l.seq, l.line_no, p.area_id, a.path, l.status, l.amount, l.service_status, l.service_amount
       FROM statement_lines l LEFT JOIN payments p ON p.batch_id = l.batch_id AND p.seq = l.seq LEFT JOIN areas a ON a.id = p.area_id
       WHERE l.statement_id = ? AND l.category <> 'matched'
       UNION ALL
       SELECT ?, ?, ?, 'missing', p.reference, p.batch_id, p.seq, 0, p.area_id, a.path, NULL, NULL, p.status, p.amount
       FROM payments p JOIN areas a ON a.id = p.area_id WHERE p.batch_id = ? AND p.seq % 200 = 0`,
      [run.insertId, prov.insertId, DAY, st.insertId, run.insertId, prov.insertId, DAY, batch.insertId],
    );
    await ds.query(
      `INSERT INTO recon_exception_notes (exception_id, kind, body, username)
       SELECT id, 'comment', 'asked the provider for the transfer', 'staff' FROM recon_exceptions WHERE run_id = ?`,
      [run.insertId],
    );
    await ds.query(
      `UPDATE recon_exceptions SET status = 'resolved', resolution = 'corrected', resolution_note = 'fee taken by the bank',
         resolved_by_name = 'staff', resolved_at = NOW(3) WHERE run_id = ? AND category = 'amount_mismatch'`,
      [run.insertId],
    );
    await ds.query('DROP TABLE bench_seq, bench_digits');
    await ds.query('ANALYZE TABLE statement_lines, payments, recon_exceptions');
    const [lines] = (await ds.query('SELECT COUNT(*) AS n FROM statement_lines')) as { n: string }[];
    const [exc] = (await ds.query('SELECT COUNT(*) AS n FROM recon_exceptions')) as { n: string }[];
    console.log(
      `statement of ${Number(lines!.n).toLocaleString('en')} lines, ${Number(exc!.n).toLocaleString('en')} exceptions written in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
  } else {
    console.log(`reusing the ${rows.toLocaleString('en')} lines of ${cfg.dbName}`);
  }

  const who = values.regional ? { username: 'bench.regional', code: '001' } : { username: 'auditor', code: null };
  const [user] = (await ds.query("SELECT id FROM users WHERE username = 'auditor'")) as { id: number }[];
  const area = who.code
    ? ((await ds.query('SELECT id, path FROM areas WHERE code = ?', [who.code])) as { id: number; path: string }[])[0]!
    : null;
  const principal = {
    userId: user!.id,
    username: who.username,
    roles: ['auditor' as const],
    areaId: area?.id ?? null,
    areaPath: area?.path ?? null,
    sessionId: 'bench',
    stage: 'full' as const,
  };
  const actor = { userId: user!.id, username: who.username, roles: ['auditor'], requestId: null, source: 'bench' };
  const exportsService = new ExportsService(ds, cipher, new AuditService(ds, cfg.auditChainKey), cfg, infra.log);

  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const created = await exportsService.create(actor, principal, {
    kind: 'reconciliation',
    format,
    from: DAY,
    to: DAY,
    full: values.full,
    // full values are refused without a reason, as for any auditor
    ...(values.full ? { reason: 'benchmark of a full-value export' } : {}),
  });
  await exportsService.whenIdle();
  const ms = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const m = await exportsService.get(principal, created.id);
  if (m.status !== 'done') throw new Error(`export ${m.id} ${m.status}: ${m.error}`);
  console.log(
    `export ${m.id} (${m.kind}, ${m.format}${values.full ? ', full values' : ', masked'}${area ? `, scope ${who.code}` : ''}): ` +
      `${m.rowCount!.toLocaleString('en')} rows, ${mb(m.bytes!)} in ${(ms / 1000).toFixed(2)} s ` +
      `(${Math.round(m.rowCount! / (ms / 1000)).toLocaleString('en')} rows/s; node CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s)`,
  );
  console.log(`RSS before ${mb(before)}, peak ${mb(peak)} (+${mb(peak - before)}); peak V8 heap used ${mb(peakHeap)}`);
  console.log(`sha256 ${m.sha256}; totals ${JSON.stringify((m.totals as { byCategory: unknown }).byCategory)}`);
  console.log(`file: ${exportsService.dir}/${m.fileName}`);
  await closeInfra(infra);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

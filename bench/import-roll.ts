/**
 * Roll import benchmark: imports a generated CSV through the same runner the
 * worker uses, against a database of its own, and prints the time, rows/s and
 * the process's peak memory; then imports the same file again (nothing may
 * change) and times name and national-ID searches over the resulting roll.
 *
 *   NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=8" npx tsx bench/import-roll.ts --rows 1000000 --tune
 *
 * (the worker process's heap flags, scripts/start.ts); --steps prints the slow statements, --inline encrypts on the
 * main thread only.
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench';
process.env.REDIS_PREFIX ??= 'welfare-bench';
process.env.LOG_LEVEL ??= 'warn';

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      keep: { type: 'boolean', default: false },
      tune: { type: 'boolean', default: false },
      // print every statement of the import that took longer than 200 ms (mysql2's diagnostics channel)
      steps: { type: 'boolean', default: false },
      // make the staging rows' hashes, ciphertexts and bytes on the main thread (the runner's stagingThread option false)
      inline: { type: 'boolean', default: false },
      // a third import: the same file with this share of its bank accounts changed (the monthly case); 0 skips it
      changed: { type: 'string', default: '0.02' },
    },
  });
  if (values.steps) {
    const dc = await import('node:diagnostics_channel');
    const started = new WeakMap<object, bigint>();
    dc.tracingChannel('mysql2:query').subscribe({
      start: (ctx) => started.set(ctx as object, process.hrtime.bigint()),
      end: () => undefined,
      asyncStart: (ctx) => {
        const t = started.get(ctx as object);
        const ms = t === undefined ? 0 : Number(process.hrtime.bigint() - t) / 1e6;
        const sql = String((ctx as { query?: string }).query ?? '').replace(/\s+/g, ' ');
        if (ms > 200) console.log(`    ${(ms / 1000).toFixed(2)} s  ${sql.slice(0, 150)}`);
      },
      asyncEnd: () => undefined,
      error: () => undefined,
    });
  }
  const rows = Number(values.rows);
  const file = `bench/out/roll-${rows}.csv`;
  const { generateRoll } = await import('./roll-generator');
  if (!existsSync(file)) {
    await generateRoll(file, {
      rows,
      bad: 0.02,
      areas: '00001,00004,00006,00007,00008,00037,00040,00043,00046,00091,00094,00097,00100'.split(','),
      programme: 'TCXH-NCT80',
      seed: 42,
    });
  }
  const { config } = await import('../config');
  const cfg = config();
  const mysql = (await import('mysql2/promise')).default;
  if (!values.keep) {
    const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
    await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
    await conn.end();
  }
  const { openInfra, closeInfra } = await import('../src/boot');
  const { buildServices } = await import('../src/container');
  const { seedDemo } = await import('../scripts/seed');
  const infra = await openInfra('bench', cfg);
  if (values.tune) {
    // a production database server is sized for its working set; MariaDB's packaged defaults (128 MB buffer pool,
    // 96 MB redo log) are not. Both are dynamic in MariaDB 10.11 and MySQL 8.0.30+ (innodb_redo_log_capacity there).
    await infra.ds.query('SET GLOBAL innodb_buffer_pool_size = 2147483648');
    await infra.ds.query('SET GLOBAL innodb_log_file_size = 1073741824').catch(() => undefined);
  }
  const [vars] = await infra.ds.query(
    'SELECT @@version AS v, @@innodb_buffer_pool_size DIV 1048576 AS bp, @@innodb_log_file_size DIV 1048576 AS redo, @@innodb_flush_log_at_trx_commit AS flush',
  );
  console.log(`database ${vars.v}: buffer pool ${vars.bp} MB, redo log ${vars.redo} MB, flush_log_at_trx_commit ${vars.flush}`);
  await seedDemo(infra.ds, cfg);
  const services = buildServices(infra);
  const { RollImportRunner } = await import('../src/components/beneficiaries');
  const runner = new RollImportRunner(infra.ds, services.cipher, services.audit, infra.log, { stagingThread: !values.inline });
  const ds = infra.ds;
  const [prog] = await ds.query("SELECT id FROM programmes WHERE code = 'TCXH-NCT80'");
  if (!prog) {
    const res = await ds.query(
      "INSERT INTO programmes (code, name, frequency) VALUES ('TCXH-NCT80', 'Trợ cấp xã hội người cao tuổi', 'monthly')",
    );
    await ds.query(
      'INSERT INTO programme_base_levels (programme_id, effective_from, amount) VALUES (?, 202107, 360000), (?, 202407, 500000)',
      [res.insertId, res.insertId],
    );
  }
  const [staff] = await ds.query("SELECT id FROM users WHERE username = 'staff'");
  // the worker process runs with scripts/start.ts's WORKER_NODE_FLAGS: run the bench with them (NODE_OPTIONS) to compare
  const v8 = await import('node:v8');
  console.log(
    `V8 heap limit ${(v8.getHeapStatistics().heap_size_limit / 1048576).toFixed(0)} MB (NODE_OPTIONS=${process.env.NODE_OPTIONS ?? ''})`,
  );
  console.log(`RSS before importing ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`);

  // CPU seconds of this process's main thread, of its other threads (the staging thread, libuv) and of the database
  // server: on a shared machine the wall-clock phases vary, these less
  const { readFileSync, readdirSync } = await import('node:fs');
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
  };
  const mariadbd = readdirSync('/proc').find((p) => /^\d+$/.test(p) && readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'mariadbd');
  const cpu = () => {
    const main = ticks(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'));
    const all = ticks(readFileSync('/proc/self/stat', 'utf8'));
    const db = mariadbd ? ticks(readFileSync(`/proc/${mariadbd}/stat`, 'utf8')) : NaN;
    return { main, others: all - main, db };
  };

  let peak = 0;
  let atPeak = '';
  const mb = (n: number) => `${(n / 1048576).toFixed(0)}`;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak) {
      peak = m.rss;
      atPeak = `heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB (array buffers ${mb(m.arrayBuffers)} MB)`;
    }
  }, 50);
  const runOnce = async (label: string, source = file) => {
    const { copyFile } = await import('node:fs/promises');
    const res = await ds.query(
      "INSERT INTO roll_imports (file_name, format, file_sha256, file_size, status, uploaded_by, scope_area_id) VALUES (?, 'csv', REPEAT('0', 64), 0, 'queued', ?, NULL)",
      [source, staff.id],
    );
    const id = String(res.insertId);
    const path = `${cfg.importDir}/bench-${id}.csv`;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(cfg.importDir, { recursive: true });
    await copyFile(source, path);
    peak = process.memoryUsage().rss;
    atPeak = '';
    const c0 = cpu();
    const t0 = process.hrtime.bigint();
    const report = await runner.run(id, path);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const c1 = cpu();
    console.log(
      `  CPU: main thread ${(c1.main - c0.main).toFixed(1)} s, other threads ${(c1.others - c0.others).toFixed(1)} s, ` +
        `mariadbd ${(c1.db - c0.db).toFixed(1)} s (all of its sessions); load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
    );
    const [imp] = await ds.query('SELECT * FROM roll_imports WHERE id = ?', [id]);
    console.log(`  at peak RSS (main thread's V8): ${atPeak}`);
    console.log(
      `  phases: ${JSON.stringify(report?.timings)}, staging by ${report?.staging}, merge ${report?.merge}, repeats ${JSON.stringify(report?.repeats)}, fill ${JSON.stringify(report?.fill)}, ` +
        `reader waited ${JSON.stringify(report?.waits, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))} ms`,
    );
    console.log(
      `${label}: ${rows} rows in ${secs.toFixed(1)} s (${Math.round(rows / secs)} rows/s), peak RSS ${(peak / 1048576).toFixed(0)} MB; ` +
        `status ${imp.status}, valid ${imp.rows_valid}, invalid ${imp.rows_invalid}, people created ${imp.beneficiaries_created}, ` +
        `enrolments created ${imp.enrolments_created}, updated ${imp.enrolments_updated}, unchanged ${imp.enrolments_unchanged}`,
    );
    const { rm } = await import('node:fs/promises');
    await rm(path, { force: true });
  };
  await runOnce('first import');
  await runOnce('same file again');
  const share = Number(values.changed);
  if (share > 0) {
    // every (1/share)-th row with a bank account gets another first digit (the generator's accounts all start with 1):
    // a new account for that enrolment, nobody else's
    const variant = `bench/out/roll-${rows}-changed-${share}.csv`;
    if (!existsSync(variant)) {
      const { createReadStream, createWriteStream } = await import('node:fs');
      const { createInterface } = await import('node:readline');
      const out = createWriteStream(variant);
      let col = -1;
      let n = 0;
      const every = Math.round(1 / share);
      for await (const line of createInterface({ input: createReadStream(file) })) {
        let l = line;
        if (col < 0) col = line.split(',').indexOf('account_number');
        else {
          const cells = line.split(',');
          const acc = cells[col] ?? '';
          if (/^\d{6,19}$/.test(acc) && ++n % every === 0) {
            cells[col] = `9${acc.slice(1)}`;
            l = cells.join(',');
          }
        }
        if (!out.write(`${l}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((r) => out.end(() => r()));
    }
    await runOnce(`a month later (${share * 100}% of the bank accounts changed)`, variant);
  }
  clearInterval(sampler);

  // searches: name prefix (family + middle + given), given name, exact national ID
  const admin = {
    userId: 1,
    username: 'bench',
    roles: ['staff' as const],
    areaId: null,
    areaPath: null,
    sessionId: '',
    stage: 'full' as const,
  };
  const samples = (await ds.query('SELECT name_search, given_search FROM beneficiaries ORDER BY RAND() LIMIT 200')) as {
    name_search: string;
    given_search: string;
  }[];
  const time = async (label: string, fn: (i: number) => Promise<unknown>, n = 200) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      await fn(i);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((a, b) => a - b);
    console.log(
      `${label}: p50 ${ms[Math.floor(n * 0.5)]!.toFixed(1)} ms, p95 ${ms[Math.floor(n * 0.95)]!.toFixed(1)} ms, max ${ms[n - 1]!.toFixed(1)} ms`,
    );
  };
  await time('search by full-name prefix (50 per page)', (i) =>
    services.beneficiaries.search(admin, { q: samples[i % samples.length]!.name_search }, { limit: 50 }),
  );
  await time('search by family name only', (i) =>
    services.beneficiaries.search(admin, { q: samples[i % samples.length]!.name_search.split(' ')[0] }, { limit: 50 }),
  );
  await time('search by given name', (i) =>
    services.beneficiaries.search(admin, { given: samples[i % samples.length]!.given_search.split(' ')[0] }, { limit: 50 }),
  );
  const { makeRow } = await import('./roll-generator');
  void makeRow;
  const nids = (await ds.query('SELECT national_id_enc FROM beneficiaries ORDER BY RAND() LIMIT 200')) as { national_id_enc: Buffer }[];
  const plain = nids.map((n) => services.cipher.decrypt(n.national_id_enc, 'nid'));
  await time('search by national ID', (i) => services.beneficiaries.search(admin, { nationalId: plain[i % plain.length] }, { limit: 50 }));
  const scoped = { ...admin, areaPath: '/1/2/', areaId: 2 };
  await time('district-scoped search by family name', (i) =>
    services.beneficiaries.search(scoped, { q: samples[i % samples.length]!.name_search.split(' ')[0] }, { limit: 50 }),
  );
  await closeInfra(infra);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

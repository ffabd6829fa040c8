/**
 * Notification benchmark: the messages of a paid batch of N payments created set-based (one INSERT … SELECT,
 * notifications/messages.sql.ts collectBatchEvents), in a database of its own. The payments are written straight
 * into `payments` (MariaDB's sequence engine numbers them): the collection reads that table only.
 *
 *   npx tsx bench/notify-collect.ts --rows 1000000
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_notify';
process.env.REDIS_PREFIX ??= 'welfare-bench-notify';
process.env.LOG_LEVEL ??= 'warn';

import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, keep: { type: 'boolean', default: false } } });
  const rows = Number(values.rows);
  const { config } = await import('../config');
  const cfg = config();
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  await conn.end();
  const { openInfra, closeInfra } = await import('../src/boot');
  const { seedDemo } = await import('../scripts/seed');
  const { batchSignature, collectBatchEvents } = await import('../src/components/notifications/messages.sql');
  const { NOTIFICATION_EVENTS } = await import('../src/components/notifications/notification-events');
  const infra = await openInfra('bench', cfg);
  const ds = infra.ds;
  try {
    await seedDemo(ds, cfg);
    const [vars] = (await ds.query('SELECT @@version AS v, @@innodb_buffer_pool_size DIV 1048576 AS bp')) as { v: string; bp: string }[];
    console.log(`database ${vars!.v}: buffer pool ${vars!.bp} MB`);
    const [prog] = (await ds.query('SELECT id FROM programmes ORDER BY id LIMIT 1')) as { id: number }[];
    const [staff] = (await ds.query("SELECT id FROM users WHERE username = 'staff'")) as { id: number }[];
    const [area] = (await ds.query("SELECT id, path FROM areas WHERE code = '01'")) as { id: number; path: string }[];
    const b = (await ds.query(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       VALUES ('B202612BENCHNTF', 'regular', ?, 202612, 202612, ?, ?, 'completed', ?)`,
      [prog!.id, area!.id, area!.path, staff!.id],
    )) as { insertId: number };
    let t = Date.now();
    // in chunks of 100,000: one statement of a million rows holds a long transaction for nothing
    for (let from = 1; from <= rows; from += 100_000) {
      const to = Math.min(rows, from + 99_999);
      await ds.query(
        `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
           coefficient_x100, area_id, full_name, channel, bank_bin, account_masked, status)
         SELECT ?, s.seq, CONCAT('B202612BENCHNTF-', s.seq), 'regular', s.seq, s.seq, ?, 202612, 0, 750000, 500000, 150, ?, 'Nguyễn Văn An',
           'BANK', '970436', '12****89', 'succeeded'
         FROM seq_${from}_to_${to} s`,
        [b.insertId, prog!.id, area!.id],
      );
    }
    console.log(`${rows} paid payments written in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    const created = await collectBatchEvents(ds, String(b.insertId), new Set(NOTIFICATION_EVENTS));
    const s1 = (Date.now() - t) / 1000;
    console.log(`messages created: ${created} in ${s1.toFixed(2)} s (${Math.round(created / s1)} a second)`);
    t = Date.now();
    const again = await collectBatchEvents(ds, String(b.insertId), new Set(NOTIFICATION_EVENTS));
    console.log(`collected again (the whole INSERT … SELECT, nothing new): ${again} created in ${((Date.now() - t) / 1000).toFixed(2)} s`);
    t = Date.now();
    const signature = await batchSignature(ds, String(b.insertId));
    console.log(`the batch's signature (${signature}), which spares that when nothing changed: ${((Date.now() - t) / 1000).toFixed(2)} s`);
  } finally {
    await closeInfra(infra);
    if (!values.keep) {
      const c = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
      await c.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
      await c.end();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * SMS sending rate: N paid payments' messages sent through the sandbox gateway (in this process, no limit of its
 * own) by two dispatchers (as two workers would run them), the gateway configured at --rate messages a second; the
 * API in this process takes the delivery reports. Prints messages a second to acceptance and to delivery, and checks
 * that each reference reached the gateway once.
 *
 *   flock /tmp/bench.lock npx tsx bench/notify-send.ts --rows 20000 --rate 2000
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_notify_send';
process.env.REDIS_PREFIX ??= 'welfare-bench-notify-send';
process.env.LOG_LEVEL ??= 'warn';
process.env.NOTIFY_DISPATCH_MS ??= '0';

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '20000' },
      rate: { type: 'string', default: '2000' },
      dispatchers: { type: 'string', default: '2' },
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
  const { seedDemo } = await import('../scripts/seed');
  const { buildServices } = await import('../src/container');
  const { buildApp } = await import('../src/app');
  const { DISPATCHER_DEFAULTS, NotificationDispatcher } = await import('../src/components/notifications');
  const { buildSmsSandbox } = await import('../src/components/notifications/sandbox');
  const { RedisRateLimiter } = await import('../src/components/payments');
  const { redisKey } = await import('../src/platform/redis');
  const infra = await openInfra('bench', cfg);
  const ds = infra.ds;
  const sandbox = buildSmsSandbox({
    clientId: cfg.sandboxClientId,
    secret: cfg.sandboxSecret,
    prefix: '/sms',
    seed: 'bench',
    behaviour: { sentMs: [0, 50], deliverMs: [0, 200] },
  });
  const gwServer = http.createServer({ keepAliveTimeout: 65_000 }, sandbox.app);
  await new Promise<void>((resolve) => gwServer.listen(0, '127.0.0.1', resolve));
  const services = buildServices(infra, 'worker');
  const api = buildApp(infra, services).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => api.once('listening', resolve));
  const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  try {
    await seedDemo(ds, cfg);
    await ds.query(`UPDATE sms_gateways SET base_url = ?, rate_limit_per_second = ? WHERE name = 'sandbox'`, [
      `http://127.0.0.1:${(gwServer.address() as AddressInfo).port}/sms`,
      Number(values.rate),
    ]);
    services.notifications.gateways.callbackUrl = (n: string) => `${apiUrl}/api/v1/notifications/gateways/${n}/callbacks`;
    const [prog] = (await ds.query('SELECT id FROM programmes ORDER BY id LIMIT 1')) as { id: number }[];
    const [staff] = (await ds.query("SELECT id FROM users WHERE username = 'staff'")) as { id: number }[];
    const [area] = (await ds.query("SELECT id, path FROM areas WHERE code = '00001'")) as { id: number; path: string }[];
    const phone = services.cipher.encrypt('0981234567', 'phone');
    const nid = services.cipher.encrypt('001090000001', 'nid');
    const account = services.cipher.encrypt('1234567890', 'account');
    let t = Date.now();
    for (let from = 1; from <= rows; from += 100_000) {
      const to = Math.min(rows, from + 99_999);
      await ds.query(
        `INSERT INTO beneficiaries (id, national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search, date_of_birth, gender, area_id, phone_enc)
         SELECT s.seq, UNHEX(SHA2(s.seq, 256)), ?, '0010******01', 'Nguyễn Văn An', 'nguyen van an', 'an nguyen van', '1940-03-15', 'M', ?, ?
         FROM seq_${from}_to_${to} s`,
        [nid, area!.id, phone],
      );
    }
    const b = (await ds.query(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       VALUES ('B202612BENCHSMS', 'regular', ?, 202612, 202612, ?, ?, 'completed', ?)`,
      [prog!.id, area!.id, area!.path, staff!.id],
    )) as { insertId: number };
    for (let from = 1; from <= rows; from += 100_000) {
      const to = Math.min(rows, from + 99_999);
      await ds.query(
        `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
           coefficient_x100, area_id, full_name, channel, bank_bin, account_enc, account_masked, status)
         SELECT ?, s.seq, CONCAT('B202612BENCHSMS-', s.seq), 'regular', s.seq, s.seq, ?, 202612, 0, 750000, 500000, 150, ?, 'Nguyễn Văn An',
           'BANK', '970436', ?, '12****90', 'succeeded'
         FROM seq_${from}_to_${to} s`,
        [b.insertId, prog!.id, area!.id, account],
      );
    }
    console.log(`${rows} recipients and paid payments written in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    const created = await services.notifier.collect();
    console.log(`${created} messages created in ${((Date.now() - t) / 1000).toFixed(2)} s`);
    // sending hours, whatever the time of the run
    const day = new Date();
    day.setUTCHours(3, 0, 0, 0);
    const t0 = Date.now();
    const now = () => new Date(day.getTime() + (Date.now() - t0));
    const rate = new RedisRateLimiter(infra.redis, (id) => redisKey(cfg, 'ratelimit', 'sms', id));
    const dispatchers = Array.from(
      { length: Number(values.dispatchers) },
      () =>
        new NotificationDispatcher(
          ds,
          services.cipher,
          services.notifications.gateways,
          services.notifications.templates,
          rate,
          infra.log,
          {
            ...DISPATCHER_DEFAULTS,
            claimSize: 500,
            parallel: 64,
          },
        ),
    );
    const count = async (statuses: string) =>
      Number(
        (
          (await ds.query(`SELECT COUNT(*) AS n FROM notification_messages WHERE batch_id = ? AND status IN (${statuses})`, [
            b.insertId,
          ])) as {
            n: string;
          }[]
        )[0]!.n,
      );
    t = Date.now();
    let acceptedAt = 0;
    const cpu0 = process.cpuUsage();
    for (;;) {
      await Promise.all(dispatchers.map((d) => d.runOnce(now)));
      if (!acceptedAt && (await count("'pending', 'sending', 'unknown'")) === 0) acceptedAt = Date.now();
      if (acceptedAt && (await count("'accepted', 'sent'")) === 0) break;
      if (acceptedAt) await new Promise((r) => setTimeout(r, 100));
    }
    const doneAt = Date.now();
    const cpu = process.cpuUsage(cpu0);
    const toAccepted = (acceptedAt - t) / 1000;
    const toDelivered = (doneAt - t) / 1000;
    console.log(
      `sent and accepted: ${rows} in ${toAccepted.toFixed(2)} s = ${Math.round(rows / toAccepted)} messages/s (gateway rate ${values.rate}/s)`,
    );
    console.log(`all delivered (reports applied): ${toDelivered.toFixed(2)} s = ${Math.round(rows / toDelivered)} messages/s`);
    console.log(`this process's CPU: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
    const summary = sandbox.ledger.summary() as { messages: number; acceptedTwice: number; stats: Record<string, number> };
    console.log(
      `gateway stats: ${JSON.stringify(summary.stats)}; last report error: ${String((summary as { lastReportError?: string }).lastReportError)}`,
    );
    console.log(`gateway ledger: ${summary.messages} messages, ${summary.acceptedTwice} accepted twice`);
  } finally {
    sandbox.ledger.close();
    api.closeAllConnections();
    api.close();
    gwServer.closeAllConnections();
    gwServer.close();
    services.notifications.gateways.close();
    await closeInfra(infra);
    const c = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
    await c.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
    await c.end();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

/**
 * The notification fault run, small enough for npm test: a paid batch's messages sent by four dispatchers at once
 * through the sandbox gateway with 5% of sends lost after accepting, 5% answered 5xx before, duplicated and reordered
 * delivery reports; a dispatcher dies holding claims, and the gateways' rate buckets are deleted from Redis once.
 * Every recipient is told exactly once, counted at the gateway's own ledger.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { DISPATCHER_DEFAULTS, NotificationDispatcher } from '../../src/components/notifications';
import { buildSmsSandbox, type SmsSandboxLedger } from '../../src/components/notifications/sandbox';
import { RedisRateLimiter } from '../../src/components/payments';
import { redisKey } from '../../src/platform/redis';
import { testApp, type TestApp } from '../helpers/app';
import { enrol, makeProgramme } from '../helpers/batches';
import { makeUser, uniq } from '../helpers/factories';

const MONTH = 203807;
const N = 300;

describe('notifications under faults: every recipient told exactly once', function () {
  this.timeout(120_000);
  let app: TestApp;
  let server: http.Server;
  let ledger: SmsSandboxLedger;
  let gatewayId: number;
  let previousDefault: number | null;
  let callbackUrl: (name: string) => string;

  const sql = <T = any>(q: string, params: unknown[] = []) => app.infra.ds.query(q, params) as Promise<T>;

  before(async () => {
    app = await testApp();
    const { cfg } = app.infra;
    const sandbox = buildSmsSandbox({
      clientId: cfg.sandboxClientId,
      secret: cfg.sandboxSecret,
      prefix: '/sms',
      seed: 'notification-faults',
      behaviour: {
        latencyMs: [0, 3],
        fiveXxShare: 0.05,
        timeoutShare: 0.05,
        timeoutHoldMs: 30,
        sentMs: [0, 20],
        deliverMs: [0, 40],
        duplicateReportShare: 0.2,
        reorderShare: 0.2,
        reportRetryBaseMs: 50,
      },
    });
    ledger = sandbox.ledger;
    server = http.createServer(sandbox.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const name = uniq('faulty')
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 30);
    const [prev] = await sql<{ id: number }[]>('SELECT id FROM sms_gateways WHERE is_default = 1');
    previousDefault = prev?.id ?? null;
    await sql('UPDATE sms_gateways SET is_default = NULL WHERE is_default = 1');
    const res = await sql<{ insertId: number }>(
      `INSERT INTO sms_gateways (name, kind, base_url, sender, rate_limit_per_second, price_per_segment, timeout_ms, is_default)
       VALUES (?, 'sandbox', ?, 'SOLDTBXH', 2000, 650, 2000, 1)`,
      [name, `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`],
    );
    gatewayId = Number(res.insertId);
    callbackUrl = app.services.notifications.gateways.callbackUrl.bind(app.services.notifications.gateways);
    app.services.notifications.gateways.callbackUrl = (n: string) => `${app.url}/api/v1/notifications/gateways/${n}/callbacks`;
  });

  after(async () => {
    ledger.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sql('UPDATE sms_gateways SET is_default = NULL WHERE id = ?', [gatewayId]);
    if (previousDefault !== null) await sql('UPDATE sms_gateways SET is_default = 1 WHERE id = ?', [previousDefault]);
    app.services.notifications.gateways.callbackUrl = callbackUrl;
  });

  it(`sends ${N} messages once each through lost answers, 5xx, duplicated and reordered reports, a dead dispatcher and lost Redis keys`, async () => {
    const staff = await makeUser(['staff']);
    const prog = await makeProgramme();
    const enrolments: string[] = [];
    for (let i = 0; i < N; i++) {
      const p = await enrol(prog.id, { account: `55${String(i).padStart(8, '0')}1` });
      await sql('UPDATE beneficiaries SET phone_enc = ? WHERE id = ?', [
        app.services.cipher.encrypt(`098${String(1_000_001 + i)}`, 'phone'),
        p.beneficiaryId,
      ]);
      enrolments.push(p.enrolmentId);
    }
    const prefix = `B${MONTH}${uniq('')
      .replace(/[^a-z0-9]/g, '')
      .toUpperCase()
      .slice(-8)
      .padStart(8, 'F')}`;
    const batch = await sql<{ insertId: number }>(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       SELECT ?, 'regular', ?, ?, ?, id, path, 'processing', ? FROM areas WHERE code = '01'`,
      [prefix, prog.id, MONTH, MONTH, staff.id],
    );
    await sql(
      `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
         coefficient_x100, area_id, full_name, channel, bank_bin, account_enc, account_masked, status)
       SELECT ?, e.id, CONCAT(?, '-', e.id), 'regular', b.id, e.id, e.programme_id, ?, 0, 750000, 500000, 150, b.area_id, b.full_name, e.channel,
         e.bank_bin, e.account_enc, e.account_masked, 'succeeded'
       FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.programme_id = ?`,
      [batch.insertId, prefix, MONTH, prog.id],
    );
    expect(await app.services.notifier.collect()).to.be.at.least(N);

    // time runs twenty times as fast for the dispatchers from 10:00 Asia/Ho_Chi_Minh: asks in 5 s come in 250 ms
    const start = new Date();
    start.setUTCHours(3, 0, 0, 0);
    const t0 = Date.now();
    const now = () => new Date(start.getTime() + (Date.now() - t0) * 20);
    const { notifications, cipher } = app.services;
    const rate = new RedisRateLimiter(app.infra.redis, (id) => redisKey(app.infra.cfg, 'ratelimit', 'sms', id));
    const dispatchers = Array.from(
      { length: 4 },
      () =>
        new NotificationDispatcher(app.infra.ds, cipher, notifications.gateways, notifications.templates, rate, app.infra.log, {
          ...DISPATCHER_DEFAULTS,
          claimSize: 11,
          parallel: 4,
          roundMs: 500,
        }),
    );
    const open = async () =>
      Number(
        (
          await sql<{ n: string }[]>(
            `SELECT COUNT(*) AS n FROM notification_messages WHERE batch_id = ? AND status IN ('pending', 'sending', 'unknown', 'accepted', 'sent')`,
            [batch.insertId],
          )
        )[0]!.n,
      );
    let round = 0;
    let killed = false;
    let keysDeleted = false;
    const deadline = Date.now() + 90_000;
    while ((await open()) > 0) {
      if (Date.now() > deadline) throw new Error(`${await open()} messages still open`);
      round++;
      if (!killed && round === 2) {
        // a dispatcher that dies holding claims: they stay `sending` until the sweep sees the lease lapsed
        const gw = (await notifications.gateways.defaultGateway())!;
        const abandoned = await dispatchers[0]!.claim(gw, new Date(now().getTime() - 61_000), 15);
        expect(abandoned.length).to.be.greaterThan(0);
        killed = true;
      }
      if (!keysDeleted && round === 3) {
        const keys = await app.infra.redis.keys(`${app.infra.cfg.redisPrefix}:ratelimit:sms:*`);
        if (keys.length) await app.infra.redis.del(...keys);
        keysDeleted = true;
      }
      await Promise.all(dispatchers.map((d) => d.runOnce(now)));
      await app.services.notifier.sweep(now());
      await new Promise((r) => setTimeout(r, 50));
    }

    const messages = await sql<{ reference: string; status: string; text: string }[]>(
      'SELECT reference, status, text FROM notification_messages WHERE batch_id = ?',
      [batch.insertId],
    );
    expect(messages).to.have.length(N);
    const atGateway = [...ledger.messages.values()].filter((m) => m.reference.startsWith(`NTF-${prefix}-`));
    // one message per recipient at the gateway, each with the text the service fixed, each delivered
    expect(atGateway).to.have.length(N);
    expect(new Set(atGateway.map((m) => m.to)).size).to.equal(N);
    const byRef = new Map(atGateway.map((m) => [m.reference, m]));
    for (const m of messages) {
      expect(m.status, m.reference).to.equal('delivered');
      expect(byRef.get(m.reference)!.text).to.equal(m.text);
      expect(byRef.get(m.reference)!.status).to.equal('DELIVERED');
    }
    // the faults did happen
    expect(ledger.stats.timedOut).to.be.greaterThan(0);
    expect(ledger.stats.fiveXx).to.be.greaterThan(0);
    // SENT and DELIVERED for each, and the duplicated ones beside them
    expect(ledger.stats.reportsPosted).to.be.greaterThan(2 * N);
    // no reference was ever sent twice: a lost answer was asked about, never sent again
    expect(atGateway.filter((m) => m.accepts > 1).map((m) => m.reference)).to.deep.equal([]);
  });
});

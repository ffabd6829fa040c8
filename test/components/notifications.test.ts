import { expect } from 'chai';
import { DISPATCHER_DEFAULTS, inQuietHours, NotificationDispatcher, type SmsGateway } from '../../src/components/notifications';
import { RedisRateLimiter } from '../../src/components/payments';
import { redisKey } from '../../src/platform/redis';
import type { SmsSandboxLedger } from '../../src/components/notifications/sandbox';
import { signedHeaders } from '../../src/components/providers/signing';
import { testApp, type TestApp } from '../helpers/app';
import { enrol, makeProgramme } from '../helpers/batches';
import { lastAudit, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, get, patch, post } from '../helpers/http';
import { startTestSmsGateway, type TestSmsGateway } from '../helpers/sandbox';

const MONTH = 202612;
const put = (path: string, body: unknown, token: string) => call('PUT', `/api/v1${path}`, { token, body });

/** Today at 10:00 in Asia/Ho_Chi_Minh: a sending hour. */
const day = (): Date => {
  const d = new Date();
  d.setUTCHours(3, 0, 0, 0);
  return d;
};

describe('notifications: SMS to recipients', function () {
  this.timeout(60_000);
  let app: TestApp;
  let smsGateway: TestSmsGateway;
  let ledger: SmsSandboxLedger;
  let smsUrl: string;
  let admin: TestUser;
  let staff: TestUser;
  let staffElsewhere: TestUser;
  let auditor: TestUser;
  let gatewayId: number;

  const sql = <T = any>(q: string, params: unknown[] = []) => app.infra.ds.query(q, params) as Promise<T>;
  const gateway = async (): Promise<SmsGateway> => (await app.services.notifications.gateways.defaultGateway())!;

  async function withPhone(beneficiaryId: string, phone: string): Promise<void> {
    await sql('UPDATE beneficiaries SET phone_enc = ?, phone_masked = ? WHERE id = ?', [
      app.services.cipher.encrypt(phone, 'phone'),
      `${phone.slice(0, 3)}****${phone.slice(-3)}`,
      beneficiaryId,
    ]);
  }

  /** A completed batch of succeeded payments of MONTH for these enrolments. */
  async function paidBatch(programmeId: number, enrolmentIds: string[], status = 'succeeded'): Promise<{ id: string; prefix: string }> {
    const prefix = `B${String(MONTH)}${uniq('')
      .replace(/[^A-Z0-9]/gi, '')
      .toUpperCase()
      .slice(-8)
      .padStart(8, 'Q')}`;
    const b = await sql<{ insertId: number }>(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       SELECT ?, 'regular', ?, ?, ?, id, path, 'processing', ? FROM areas WHERE code = '01'`,
      [prefix, programmeId, MONTH, MONTH, staff.id],
    );
    let seq = 0;
    for (const e of enrolmentIds) {
      seq += 1;
      await sql(
        `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
           coefficient_x100, area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked, status)
         SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, ?, ?, 750000, 500000, 150, b.area_id, b.full_name, e.channel,
           e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked, e.wallet_enc, e.wallet_masked, ?
         FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
        [b.insertId, seq, `${prefix}-${seq}`, MONTH, b.insertId, status, e],
      );
    }
    return { id: String(b.insertId), prefix };
  }

  async function people(
    programmeId: number,
    n: number,
    o: { phone?: boolean } = {},
  ): Promise<{ beneficiaryId: string; enrolmentId: string }[]> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const p = await enrol(programmeId, { account: `1234567${String(i).padStart(4, '0')}89` });
      if (o.phone !== false) await withPhone(p.beneficiaryId, `09${String(12_345_001 + i * 7919).slice(-8)}`);
      out.push(p);
    }
    return out;
  }

  const messagesOf = (batchId: string) =>
    sql<{ reference: string; status: string; reason: string | null; text: string | null; segments: number | null; cost: string | null }[]>(
      'SELECT reference, status, reason, text, segments, cost FROM notification_messages WHERE batch_id = ? ORDER BY reference',
      [batchId],
    );

  async function untilSettled(batchId: string, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const open = (await messagesOf(batchId)).filter((m) => ['pending', 'sending', 'unknown', 'accepted', 'sent'].includes(m.status));
      if (open.length === 0) return;
      if (Date.now() > end) throw new Error(`messages still open: ${open.map((m) => `${m.reference}:${m.status}`).join(', ')}`);
      await app.services.notifier.runOnce(day);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    app = await testApp();
    smsGateway = await startTestSmsGateway(app, 'notifications-test');
    ledger = smsGateway.ledger;
    smsUrl = smsGateway.url;
    gatewayId = smsGateway.gatewayId;
    admin = await makeUser(['admin'], { area: null });
    staff = await makeUser(['staff']);
    staffElsewhere = await makeUser(['staff'], { area: '003' });
    auditor = await makeUser(['auditor'], { area: null });
  });

  after(async () => {
    await smsGateway.close();
  });

  describe('gateways', () => {
    it('are added by an administrator, the secret sealed and never returned; others are refused', async () => {
      const name = uniq('gw')
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '')
        .slice(0, 30);
      const body = {
        name,
        kind: 'http',
        baseUrl: smsUrl,
        clientId: 'svc-x',
        secret: 'a-secret-of-sixteen+',
        sender: 'SOLDTBXH',
        rateLimitPerSecond: 50,
        pricePerSegment: 700,
      };
      expect((await post('/notifications/gateways', body, auditor.token)).status).to.equal(403);
      const r = await call('POST', '/api/v1/notifications/gateways', {
        token: admin.token,
        body,
        headers: { 'idempotency-key': uniq('k') },
      });
      expect(r.status, r.text).to.equal(201);
      expect(r.body).to.include({ name, secretSet: true, pricePerSegment: 700, isDefault: false });
      expect(r.text).to.not.include('a-secret-of-sixteen+');
      const [row] = await sql<{ secret_enc: Buffer }[]>('SELECT secret_enc FROM sms_gateways WHERE name = ?', [name]);
      expect(row!.secret_enc.toString('latin1')).to.not.include('a-secret-of-sixteen+');
      expect((await lastAudit('sms_gateway.create'))!.action).to.equal('sms_gateway.create');
      const list = await get('/notifications/gateways', auditor.token);
      expect(list.status).to.equal(200);
      expect(list.text).to.not.include('a-secret-of-sixteen+');
      expect((await get('/notifications/gateways', staff.token)).status).to.equal(403);
      const incomplete = await call('POST', '/api/v1/notifications/gateways', {
        token: admin.token,
        body: { ...body, name: `${name}-2`, secret: undefined },
        headers: { 'idempotency-key': uniq('k') },
      });
      expect(incomplete.status).to.equal(400);
      expect(incomplete.body.error.code).to.equal('GATEWAY_INCOMPLETE');
    });

    it('are tested with a signed balance request that names the gateway’s refusal', async () => {
      const ok = await post(`/notifications/gateways/${gatewayId}/test`, {}, admin.token);
      expect(ok.status).to.equal(200);
      expect(ok.body.ok).to.equal(true);
      expect(ok.body.balance.segmentsLeft).to.be.a('number');
      const name = uniq('bad')
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '')
        .slice(0, 30);
      const bad = await call('POST', '/api/v1/notifications/gateways', {
        token: admin.token,
        body: {
          name,
          kind: 'http',
          baseUrl: smsUrl,
          clientId: app.infra.cfg.sandboxClientId,
          secret: 'not-the-sandbox-secret',
          sender: 'SOLDTBXH',
          rateLimitPerSecond: 5,
          pricePerSegment: 500,
        },
        headers: { 'idempotency-key': uniq('k') },
      });
      const t = await post(`/notifications/gateways/${bad.body.id}/test`, {}, admin.token);
      expect(t.body.ok).to.equal(false);
      expect(t.body.error).to.include({ providerError: 'BAD_SIGNATURE', httpStatus: 401 });
    });

    it('pause and resume, audited; the default moves from one gateway to another', async () => {
      const paused = await post(`/notifications/gateways/${gatewayId}/pause`, {}, admin.token);
      expect(paused.body.paused).to.equal(true);
      expect((await lastAudit('sms_gateway.pause'))!.action).to.equal('sms_gateway.pause');
      expect((await post(`/notifications/gateways/${gatewayId}/resume`, {}, admin.token)).body.paused).to.equal(false);
      const other = (await get('/notifications/gateways', admin.token)).body.items.find((g: any) => g.id !== gatewayId);
      expect((await patch(`/notifications/gateways/${other.id}`, { isDefault: true }, admin.token)).body.isDefault).to.equal(true);
      expect((await get(`/notifications/gateways/${gatewayId}`, admin.token)).body.isDefault).to.equal(false);
      expect((await patch(`/notifications/gateways/${gatewayId}`, { isDefault: true }, admin.token)).body.isDefault).to.equal(true);
    });
  });

  describe('templates', () => {
    let programme: { id: number };
    let person: { beneficiaryId: string };
    before(async () => {
      programme = await makeProgramme();
      const [p] = await people(programme.id, 1);
      person = p!;
      await paidBatch(programme.id, [
        (await sql<{ id: string }[]>('SELECT id FROM enrolments WHERE beneficiary_id = ?', [person.beneficiaryId]))[0]!.id,
      ]);
    });

    it('are the built-in Vietnamese texts until staff save one', async () => {
      const r = await get(`/notifications/templates?programmeId=${programme.id}`, staff.token);
      expect(r.status).to.equal(200);
      expect(r.body.items).to.have.length(8);
      expect(r.body.items.every((t: any) => t.version === 0)).to.equal(true);
      expect(Object.keys(r.body.placeholders)).to.include.members(['so_tien', 'tk_cuoi', 'diem_rut']);
    });

    it('refuses a placeholder outside the whitelist with 400 naming it, and digits that look like an ID', async () => {
      const bad = await put(
        `/notifications/templates/${programme.id}/payment_paid`,
        { body: 'Số CCCD {so_cccd} nhận {so_tien}', plain: false, active: true },
        staff.token,
      );
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal('UNKNOWN_PLACEHOLDER');
      expect(bad.body.error.message).to.include('{so_cccd}');
      const digits = await put(
        `/notifications/templates/${programme.id}/payment_paid`,
        { body: 'TK 0123456789 {so_tien}', plain: false, active: true },
        staff.token,
      );
      expect(digits.body.error.code).to.equal('TEMPLATE_LOOKS_PERSONAL');
      expect((await get(`/notifications/templates/${programme.id}/payment_paid/versions`, staff.token)).body.items).to.have.length(1);
    });

    it('names a cash-out point of the recipient’s own bank in their commune in {diem_rut}, else says where to look', async () => {
      const prog = await makeProgramme();
      const near = await enrol(prog.id, { area: '00007', channel: 'BANK', bankBin: '970407' });
      const far = await enrol(prog.id, { area: '00008', channel: 'BANK', bankBin: '970407' });
      const [area] = await sql<{ id: number }[]>("SELECT id FROM areas WHERE code = '00007'");
      await sql(
        `INSERT INTO cash_out_points (kind, operator_type, operator_code, point_code, name, area_id, address, active)
         VALUES ('atm', 'bank', '970407', ?, 'ATM Techcombank Cống Vị', ?, '12 Đội Cấn', 1)`,
        [uniq('TCB'), area!.id],
      );
      const render = async (beneficiaryId: string) =>
        (
          await post(
            '/notifications/templates/preview',
            { programmeId: prog.id, event: 'payment_paid', beneficiaryId, body: 'Rút tại {diem_rut}' },
            staff.token,
          )
        ).body.text;
      expect(await render(near.beneficiaryId)).to.equal('Rút tại ATM Techcombank Cống Vị, 12 Đội Cấn');
      expect(await render(far.beneficiaryId)).to.equal('Rút tại chi nhánh, ATM của ngân hàng');
    });

    it('saves versions, audited, and refuses a stale edit with 409', async () => {
      const body = 'Trợ cấp tháng {thang} của {ten}: {so_tien} vào TK ***{tk_cuoi}.';
      const r = await put(
        `/notifications/templates/${programme.id}/payment_paid`,
        { body, plain: false, active: true, expectedVersion: 0 },
        staff.token,
      );
      expect(r.status, r.text).to.equal(200);
      expect(r.body).to.include({ version: 1, body });
      expect((await lastAudit('notification_template.save'))!.action).to.equal('notification_template.save');
      const stale = await put(
        `/notifications/templates/${programme.id}/payment_paid`,
        { body, plain: true, active: true, expectedVersion: 0 },
        staff.token,
      );
      expect(stale.status).to.equal(409);
      expect(stale.body.error.code).to.equal('TEMPLATE_CHANGED');
      expect(
        (await put(`/notifications/templates/${programme.id}/payment_paid`, { body, plain: true, active: true }, auditor.token)).status,
      ).to.equal(403);
    });

    it('previews for a real recipient in scope: the own amount, masked account, encoding, segments and cost', async () => {
      const r = await post(
        '/notifications/templates/preview',
        { programmeId: programme.id, event: 'payment_paid', beneficiaryId: person.beneficiaryId },
        staff.token,
      );
      expect(r.status, r.text).to.equal(200);
      expect(r.body.text).to.equal('Trợ cấp tháng 12/2026 của Nguyễn Văn An: 750.000đ vào TK ***0089.');
      expect(r.body).to.include({ encoding: 'UCS2', segments: 1, pricePerSegment: 650, cost: 650 });
      const plain = await post(
        '/notifications/templates/preview',
        {
          programmeId: programme.id,
          event: 'payment_paid',
          beneficiaryId: person.beneficiaryId,
          body: 'Tro cap {so_tien} cua {ten}',
          plain: true,
        },
        staff.token,
      );
      expect(plain.body).to.include({ text: 'Tro cap 750.000d cua Nguyen Van An', encoding: 'GSM7', units: 34 });
      const outside = await post(
        '/notifications/templates/preview',
        { programmeId: programme.id, event: 'payment_paid', beneficiaryId: person.beneficiaryId },
        staffElsewhere.token,
      );
      expect(outside.status).to.equal(404);
    });
  });

  describe('messages, exactly once', () => {
    it('are created set-based once per recipient and event, skipped without a number or consent, and a burst of dispatchers sends each reference once', async () => {
      const programme = await makeProgramme();
      const withPhones = await people(programme.id, 24);
      const [noPhone] = await people(programme.id, 1, { phone: false });
      const optOut = withPhones[0]!;
      const consent = await put(
        `/notifications/recipients/${optOut.beneficiaryId}/consent`,
        { optedOut: true, reason: 'Bà nói qua điện thoại ngày 10/12: không muốn nhận tin' },
        staff.token,
      );
      expect(consent.status, consent.text).to.equal(200);
      expect(consent.body).to.include({ optedOut: true, recordedBy: staff.id });
      expect((await lastAudit('notification.opt_out'))!.action).to.equal('notification.opt_out');
      const batch = await paidBatch(
        programme.id,
        [...withPhones, noPhone!].map((p) => p.enrolmentId),
      );

      expect(await app.services.notifier.collect()).to.be.at.least(25);
      expect(await app.services.notifier.collect()).to.equal(0);
      const created = await messagesOf(batch.id);
      expect(created).to.have.length(25);
      expect(created.every((m) => /^NTF-B\d{6}[A-Z0-9]{8}-\d+-PAID$/.test(m.reference) && m.status === 'pending')).to.equal(true);

      const atGateway = () => [...ledger.messages.keys()].filter((r) => r.startsWith(`NTF-${batch.prefix}-`)).length;
      // six dispatchers claiming three at a time, as worker processes would
      const { notifications, cipher } = app.services;
      const rate = new RedisRateLimiter(app.infra.redis, (id) => redisKey(app.infra.cfg, 'ratelimit', 'sms-test', id));
      const burst = Array.from(
        { length: 6 },
        () =>
          new NotificationDispatcher(app.infra.ds, cipher, notifications.gateways, notifications.templates, rate, app.infra.log, {
            ...DISPATCHER_DEFAULTS,
            claimSize: 3,
            parallel: 2,
          }),
      );
      await Promise.all(burst.map((d) => d.runOnce(day)));
      await untilSettled(batch.id);
      const done = await messagesOf(batch.id);
      const byStatus = done.reduce<Record<string, number>>(
        (a, m) => ({ ...a, [`${m.status}:${m.reason ?? ''}`]: (a[`${m.status}:${m.reason ?? ''}`] ?? 0) + 1 }),
        {},
      );
      expect(byStatus).to.deep.equal({ 'delivered:': 23, 'skipped:OPTED_OUT': 1, 'skipped:NO_MOBILE': 1 });
      expect(atGateway()).to.equal(23);
      for (const m of done.filter((d) => d.status === 'delivered')) {
        expect(ledger.messages.get(m.reference)!.accepts, m.reference).to.equal(1);
        expect(ledger.messages.get(m.reference)!.text).to.equal(m.text);
        expect(Number(m.cost)).to.equal(650 * m.segments!);
      }

      const history = await get(`/notifications/recipients/${withPhones[1]!.beneficiaryId}/messages`, staff.token);
      expect(history.status).to.equal(200);
      expect(history.body.items[0]).to.include({ event: 'payment_paid', status: 'delivered' });
      expect(history.body.items[0].text).to.include('750.000đ');
      const untold = await get(`/notifications/batches/${batch.id}/untold`, staff.token);
      expect(untold.body.byReason).to.deep.equal({ OPTED_OUT: 1, NO_MOBILE: 1 });
      expect(untold.body.items.map((i: any) => i.beneficiaryId)).to.have.members([optOut.beneficiaryId, noPhone!.beneficiaryId]);
      const month = new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 7);
      const costs = await get(`/notifications/reports/costs?month=${month}`, auditor.token);
      const row = costs.body.rows.find((r: any) => r.programmeId === programme.id);
      expect(row).to.include({ messages: 25, delivered: 23, failed: 0 });
      expect(row.cost).to.equal(row.segments * 650);
      expect((await get(`/notifications/reports/costs?month=${month}`, admin.token)).status).to.equal(403);
    });

    it('collects a payment again when it moves on (sent, then paid, then returned), and a batch that did not change not at all', async () => {
      const programme = await makeProgramme();
      const ps = await people(programme.id, 1);
      const batch = await paidBatch(
        programme.id,
        ps.map((p) => p.enrolmentId),
        'sent',
      );
      const events = async () =>
        (
          await sql<{ event: string }[]>('SELECT event FROM notification_messages WHERE batch_id = ? ORDER BY created_at, event', [
            batch.id,
          ])
        ).map((r) => r.event);
      await app.services.notifier.collect();
      expect(await events()).to.deep.equal(['payment_sent']);
      const [cursor] = await sql<{ signature: string }[]>('SELECT signature FROM notification_cursors WHERE name = ?', [
        `batch:${batch.id}`,
      ]);
      expect(cursor!.signature).to.equal('sent:1');
      await sql(`UPDATE payments SET status = 'succeeded' WHERE batch_id = ?`, [batch.id]);
      await app.services.notifier.collect();
      await sql(`UPDATE payments SET status = 'returned' WHERE batch_id = ?`, [batch.id]);
      await app.services.notifier.collect();
      expect(await events()).to.have.members(['payment_sent', 'payment_paid', 'payment_returned']);
      expect(await app.services.notifier.collect()).to.equal(0);
    });

    it('asks about an unknown outcome before anything is sent again, and resends a claim that never left with the same text', async () => {
      const programme = await makeProgramme();
      const ps = await people(programme.id, 2);
      const batch = await paidBatch(
        programme.id,
        ps.map((p) => p.enrolmentId),
      );
      await app.services.notifier.collect();
      const gw = await gateway();
      const [lost, crashed] = (await messagesOf(batch.id)).map((m) => m.reference) as [string, string];

      // the answer to the first send is lost after the gateway accepted it
      ledger.configure({ timeoutShare: 1, timeoutHoldMs: 20 });
      await sql(`UPDATE notification_messages SET next_attempt_at = ? WHERE reference = ?`, [
        new Date(day().getTime() + 3600_000),
        crashed,
      ]);
      await app.services.notifier.runOnce(day);
      ledger.configure({ timeoutShare: 0 });
      // unknown, or already decided by the question the same round asks: never sent again
      expect((await messagesOf(batch.id)).find((m) => m.reference === lost)!.status).to.be.oneOf([
        'unknown',
        'accepted',
        'sent',
        'delivered',
      ]);
      expect(ledger.messages.get(lost)!.accepts).to.equal(1);

      // a dispatcher that dies between claim and send leaves its claim `sending`
      await sql(`UPDATE notification_messages SET next_attempt_at = NULL WHERE reference = ?`, [crashed]);
      const claimed = await app.services.notifier.claim(gw, new Date(day().getTime() - 61_000));
      expect(claimed.map((c) => c.reference)).to.include(crashed);
      await app.services.notifier.runOnce(day);
      expect((await messagesOf(batch.id)).find((m) => m.reference === crashed)!.status).to.equal('sending');
      const swept = await app.services.notifier.sweep(day());
      expect(swept.unknown).to.be.at.least(1);
      expect((await messagesOf(batch.id)).find((m) => m.reference === crashed)!.status).to.equal('unknown');

      await untilSettled(batch.id);
      const done = await messagesOf(batch.id);
      expect(done.map((m) => m.status)).to.deep.equal(['delivered', 'delivered']);
      expect(ledger.messages.get(lost)!.accepts).to.equal(1);
      expect(ledger.messages.get(crashed)!.accepts).to.equal(1);
    });

    it('applies delivery reports forward only: duplicated and reordered reports answered 200, a bad signature 401', async () => {
      const programme = await makeProgramme();
      const ps = await people(programme.id, 1);
      const batch = await paidBatch(
        programme.id,
        ps.map((p) => p.enrolmentId),
      );
      await app.services.notifier.collect();
      ledger.configure({ sentMs: null });
      await app.services.notifier.runOnce(day);
      ledger.configure({ sentMs: [0, 5] });
      const [m] = await messagesOf(batch.id);
      expect(m!.status).to.equal('accepted');
      const path = `/api/v1/notifications/gateways/sandbox/callbacks`;
      const report = (status: string, secret = app.infra.cfg.sandboxSecret) => {
        const body = JSON.stringify({ eventId: uniq('E'), reference: m!.reference, status, errorCode: null, at: new Date().toISOString() });
        return call('POST', path, {
          rawBody: body,
          headers: { ...signedHeaders(secret, { method: 'POST', pathWithQuery: path, rawBody: body }), 'content-type': 'application/json' },
        });
      };
      expect((await report('DELIVERED')).body).to.deep.equal({ received: true, outcome: 'applied' });
      expect((await report('SENT')).body).to.deep.equal({ received: true, outcome: 'already' });
      expect((await report('DELIVERED')).body).to.deep.equal({ received: true, outcome: 'already' });
      expect((await messagesOf(batch.id))[0]!.status).to.equal('delivered');
      const forged = await report('UNDELIVERABLE', 'someone-elses-secret-000');
      expect(forged.status).to.equal(401);
      expect(forged.body).to.deep.equal({ error: 'BAD_SIGNATURE' });
      expect((await messagesOf(batch.id))[0]!.status).to.equal('delivered');
      const tooLarge = await call('POST', path, { rawBody: 'x'.repeat(70 * 1024), headers: { 'content-type': 'application/json' } });
      expect(tooLarge.status).to.equal(413);
      expect(tooLarge.body.error.code).to.equal('PAYLOAD_TOO_LARGE');
    });

    it('ends a round that a lane failed only when every other lane has ended too', async () => {
      const { notifications, cipher } = app.services;
      const rate = new RedisRateLimiter(app.infra.redis, (id) => redisKey(app.infra.cfg, 'ratelimit', 'sms-test', id));
      const claims: number[] = [];
      let slowEnded = 0;
      class FailingLane extends NotificationDispatcher {
        override async claim(): Promise<never[]> {
          const n = claims.push(Date.now());
          if (n === 1) throw Object.assign(new Error('Deadlock found when trying to get lock'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
          // the other lanes are in the middle of a claim when the first fails
          await new Promise((r) => setTimeout(r, 300));
          slowEnded = Date.now();
          return [];
        }
      }
      const d = new FailingLane(app.infra.ds, cipher, notifications.gateways, notifications.templates, rate, app.infra.log, {
        ...DISPATCHER_DEFAULTS,
        lanes: 3,
      });
      const failed = await d.runOnce(day).then(
        () => null,
        (err: Error) => ({ err, at: Date.now() }),
      );
      expect(failed, 'the round fails with its lane').to.not.equal(null);
      expect(failed!.err.message).to.match(/Deadlock/);
      expect(slowEnded, 'the other lanes ended before the round').to.be.above(0);
      expect(failed!.at).to.be.at.least(slowEnded);
      expect(claims).to.have.length(3);
    });
  });

  describe('quiet hours and age', () => {
    it('knows 21:00 to 07:00 in Asia/Ho_Chi_Minh', () => {
      const vn = (h: number, m: number) => new Date(Date.UTC(2026, 11, 10, h - 7, m));
      expect([vn(20, 59), vn(21, 0), vn(23, 30), vn(6, 59), vn(7, 0)].map(inQuietHours)).to.deep.equal([false, true, true, true, false]);
    });

    it('holds messages during quiet hours, sends them after, and drops what is still unsent after 48 hours', async () => {
      const programme = await makeProgramme();
      const ps = await people(programme.id, 2);
      const batch = await paidBatch(
        programme.id,
        ps.map((p) => p.enrolmentId),
      );
      await app.services.notifier.collect();
      const night = () => new Date(Date.UTC(2026, 11, 10, 15, 30)); // 22:30
      expect(await app.services.notifier.runOnce(night)).to.include({ held: true, claimed: 0 });
      expect((await messagesOf(batch.id)).map((m) => m.status)).to.deep.equal(['pending', 'pending']);
      const [, second] = await messagesOf(batch.id);
      await sql('UPDATE notification_messages SET next_attempt_at = ? WHERE reference = ?', [
        new Date(day().getTime() + 86_400_000),
        second!.reference,
      ]);
      await app.services.notifier.runOnce(day);
      const dropped = await app.services.notifier.sweep(new Date(Date.now() + 49 * 3600_000));
      expect(dropped.dropped).to.be.at.least(1);
      const after = await messagesOf(batch.id);
      expect(after.find((m) => m.reference === second!.reference)).to.include({ status: 'dropped', reason: 'NOT_SENT_48H' });
      expect(after.find((m) => m.reference !== second!.reference)!.status).to.be.oneOf(['accepted', 'sent', 'delivered']);
    });

    it('creates no message for an event whose template is switched off', async () => {
      const programme = await makeProgramme();
      const ps = await people(programme.id, 1);
      await put(
        `/notifications/templates/${programme.id}/payment_paid`,
        { body: 'Tro cap {so_tien}', plain: true, active: false },
        staff.token,
      );
      const batch = await paidBatch(
        programme.id,
        ps.map((p) => p.enrolmentId),
      );
      await app.services.notifier.collect();
      expect(await messagesOf(batch.id)).to.have.length(0);
    });
  });
});

import { expect } from 'chai';
import type { SmsSandboxLedger } from '../../src/components/notifications/sandbox';
import { testApp, type TestApp } from '../helpers/app';
import { approveBatch, createBatch, crew, enrol, makeProgramme, type Crew } from '../helpers/batches';
import { areaId, lastAudit, makeUser, type TestUser } from '../helpers/factories';
import { call, get, post } from '../helpers/http';
import { startTestSmsGateway, type TestSmsGateway } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';

const put = (path: string, body: unknown, token: string) => call('PUT', `/api/v1${path}`, { token, body });

/** `days` from today at 10:00 in Asia/Ho_Chi_Minh: a sending hour. */
const vnDay = (days = 0): Date => {
  const d = new Date(Date.now() + days * 86_400_000);
  d.setUTCHours(3, 0, 0, 0);
  return d;
};
const vnDate = (days: number): string => new Date(vnDay(days).getTime() + 7 * 3600_000).toISOString().slice(0, 10);
const smsDate = (iso: string): string => iso.split('-').reverse().join('/');

describe('pay-point hand-overs: scheduled by staff, told to each cash recipient by SMS', function () {
  this.timeout(60_000);
  let app: TestApp;
  let gateway: TestSmsGateway;
  let ledger: SmsSandboxLedger;
  let c: Crew;
  let staffElsewhere: TestUser;

  const sql = <T = any>(q: string, params: unknown[] = []) => app.infra.ds.query(q, params) as Promise<T>;

  async function withPhone(beneficiaryId: string, phone: string): Promise<void> {
    await sql('UPDATE beneficiaries SET phone_enc = ?, phone_masked = ? WHERE id = ?', [
      app.services.cipher.encrypt(phone, 'phone'),
      `${phone.slice(0, 3)}****${phone.slice(-3)}`,
      beneficiaryId,
    ]);
  }

  const messagesOf = (batchId: string) =>
    sql<{ reference: string; status: string; reason: string | null; text: string | null; beneficiary_id: string }[]>(
      `SELECT reference, status, reason, text, beneficiary_id FROM notification_messages
       WHERE batch_id = ? AND event = 'paypoint_scheduled' ORDER BY reference`,
      [batchId],
    );

  async function dispatchUntilSettled(batchId: string, now: () => Date = () => vnDay()): Promise<void> {
    const end = Date.now() + 10_000;
    for (;;) {
      const open = (await messagesOf(batchId)).filter((m) => ['pending', 'sending', 'unknown', 'accepted', 'sent'].includes(m.status));
      if (open.length === 0) return;
      if (Date.now() > end) throw new Error(`messages still open: ${open.map((m) => `${m.reference}:${m.status}`).join(', ')}`);
      await app.services.notifier.runOnce(now);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A released batch of cash payments: two people with a mobile and one without in 00004, one in 00006. */
  async function releasedCashBatch() {
    const prog = await makeProgramme();
    const lan = await enrol(prog.id, { channel: 'CASH', area: '00004', fullName: 'Nguyễn Thị Lan' });
    const binh = await enrol(prog.id, { channel: 'CASH', area: '00004', fullName: 'Trần Văn Bình' });
    const noPhone = await enrol(prog.id, { channel: 'CASH', area: '00004', fullName: 'Lê Văn Cường' });
    const other = await enrol(prog.id, { channel: 'CASH', area: '00006', fullName: 'Lê Thị Hoa' });
    await withPhone(lan.beneficiaryId, '0912345671');
    await withPhone(binh.beneficiaryId, '0912345672');
    await withPhone(other.beneficiaryId, '0912345673');
    const batch = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    expect(batch.itemCount).to.equal(4);
    return {
      batch,
      lan,
      binh,
      noPhone,
      other,
      release: async () => {
        await approveBatch(c, batch.id);
        expect((await post(`/batches/${batch.id}/release`, {}, c.staff.token)).body.status).to.equal('processing');
      },
    };
  }

  before(async () => {
    app = await testApp();
    await testWorker();
    gateway = await startTestSmsGateway(app, 'paypoint-test');
    ledger = gateway.ledger;
    c = await crew();
    staffElsewhere = await makeUser(['staff'], { area: '003' });
  });

  after(async () => {
    await gateway.close();
  });

  it('is set by staff in scope on a released batch, checked field by field, audited, and each cash recipient there is told once per revision', async () => {
    const { batch, lan, noPhone, other, release } = await releasedCashBatch();
    const truc = await areaId('00004');
    const path = `/batches/${batch.id}/paypoints/${truc}/schedule`;
    const body = { date: vnDate(1), place: 'Nhà văn hoá tổ 5, 12 Trúc Bạch', hours: '7h30-11h00', papers: 'CCCD và sổ lĩnh trợ cấp' };

    const draft = await put(path, body, c.staff.token);
    expect(draft.status, draft.text).to.equal(409);
    expect(draft.body.error.code).to.equal('BATCH_NOT_PROCESSING');
    await release();

    const past = await put(path, { ...body, date: vnDate(-1) }, c.staff.token);
    expect(past.status).to.equal(400);
    expect(past.body.error).to.include({ code: 'HANDOVER_DATE_PAST' });
    expect(past.body.error.message).to.match(/^date: /);
    const notADate = await put(path, { ...body, date: '2027-02-30' }, c.staff.token);
    expect(notADate.body.error.code).to.equal('INVALID_HANDOVER_DATE');
    const noPlace = await put(path, { ...body, place: '  ' }, c.staff.token);
    expect(noPlace.status).to.equal(400);
    expect(noPlace.body.error.code).to.equal('VALIDATION_FAILED');
    expect(JSON.stringify(noPlace.body.error)).to.include('place');
    expect((await put(path, body, c.auditor.token)).status).to.equal(403);
    expect((await put(path, body, c.approver.token)).status).to.equal(403);
    const outside = await put(path, body, staffElsewhere.token);
    expect(outside.status).to.equal(404);
    const noCash = await put(`/batches/${batch.id}/paypoints/${await areaId('00007')}/schedule`, body, c.staff.token);
    expect(noCash.status).to.equal(404);
    expect(noCash.body.error.code).to.equal('PAYPOINT_NOT_FOUND');
    expect(await sql('SELECT id FROM paypoint_schedules WHERE batch_id = ?', [batch.id])).to.have.length(0);

    const first = await put(path, { ...body, expectedRevision: 0 }, c.staff.token);
    expect(first.status, first.text).to.equal(200);
    expect(first.body).to.include({ revision: 1, date: body.date, place: body.place, changed: true });
    const audit = await lastAudit('batch.paypoint_schedule');
    expect(audit).to.include({ entity_type: 'batch', entity_id: String(batch.id), actor_user_id: c.staff.id, area_id: truc });
    const again = await put(path, body, c.staff.token);
    expect(again.body).to.include({ revision: 1, changed: false });
    const points = await get(`/batches/${batch.id}/paypoints`, c.auditor.token);
    const row = points.body.paypoints.find((p: any) => p.areaId === truc);
    expect(row.schedule).to.include({ revision: 1, hours: '7h30-11h00', papers: body.papers });
    expect(points.body.paypoints.find((p: any) => p.areaCode === '00006').schedule).to.equal(null);

    await app.services.notifier.collect();
    await app.services.notifier.collect();
    const created = await messagesOf(batch.id);
    const [pay] = await sql<{ reference: string }[]>('SELECT reference FROM payments WHERE batch_id = ? AND beneficiary_id = ?', [
      batch.id,
      lan.beneficiaryId,
    ]);
    expect(created.map((m) => m.reference)).to.include(`NTF-${pay!.reference}-PAYPOINT`);
    expect(created).to.have.length(3); // nobody in 00006: no hand-over set there
    expect(created.some((m) => m.beneficiary_id === other.beneficiaryId)).to.equal(false);

    await dispatchUntilSettled(batch.id);
    const told = await messagesOf(batch.id);
    expect(told.filter((m) => m.status === 'delivered')).to.have.length(2);
    expect(told.find((m) => m.beneficiary_id === noPhone.beneficiaryId)).to.include({ status: 'skipped', reason: 'NO_MOBILE' });
    const text = told.find((m) => m.beneficiary_id === lan.beneficiaryId)!.text!;
    expect(text).to.include(`tại ${body.place} ngày ${smsDate(body.date)}, 7h30-11h00. Mang theo ${body.papers}`);
    expect(text).to.include('750.000đ');
    expect(ledger.messages.get(`NTF-${pay!.reference}-PAYPOINT`)!.text).to.equal(text);

    // a change after the messages went out: refused when stale, else a new revision told with messages of its own
    const stale = await put(path, { ...body, hours: '13h30-16h30', expectedRevision: 0 }, c.staff.token);
    expect(stale.status).to.equal(409);
    expect(stale.body.error.code).to.equal('PAYPOINT_SCHEDULE_CHANGED');
    const moved = await put(path, { ...body, hours: '13h30-16h30', expectedRevision: 1 }, c.staff.token);
    expect(moved.body).to.include({ revision: 2, changed: true });
    expect(await app.services.notifier.collect()).to.be.at.least(3);
    expect(await messagesOf(batch.id)).to.have.length(6);
    await dispatchUntilSettled(batch.id);
    const second = (await messagesOf(batch.id)).find((m) => m.reference === `NTF-${pay!.reference}-R2-PAYPOINT`)!;
    expect(second.status).to.equal('delivered');
    expect(second.text).to.include('13h30-16h30');
    expect(ledger.messages.get(`NTF-${pay!.reference}-PAYPOINT`)!.accepts).to.equal(1);

    const history = await get(path, c.approver.token);
    expect(history.body.items.map((s: any) => s.revision)).to.deep.equal([2, 1]);
  });

  it('does not send a message whose hand-over changed again before it went out, nor one whose day has passed', async () => {
    const { batch, lan, release } = await releasedCashBatch();
    await release();
    const truc = await areaId('00004');
    const path = `/batches/${batch.id}/paypoints/${truc}/schedule`;
    const body = { date: vnDate(1), place: 'UBND phường Trúc Bạch', hours: '8h-11h', papers: 'CCCD' };
    expect((await put(path, body, c.staff.token)).status).to.equal(200);
    await app.services.notifier.collect();
    expect((await put(path, { ...body, place: 'Nhà văn hoá tổ 7' }, c.staff.token)).body.revision).to.equal(2);
    await app.services.notifier.collect();
    await dispatchUntilSettled(batch.id);
    const all = await messagesOf(batch.id);
    const mine = all.filter((m) => m.beneficiary_id === lan.beneficiaryId);
    expect(mine.map((m) => `${m.status}:${m.reason ?? ''}`)).to.have.members(['dropped:SUPERSEDED', 'delivered:']);
    expect(mine.find((m) => m.status === 'delivered')!.text).to.include('Nhà văn hoá tổ 7');
    expect(ledger.messages.has(mine.find((m) => m.status === 'dropped')!.reference)).to.equal(false);
    // a superseded message is not someone left untold: only the one without a mobile number is
    const untold = await get(`/notifications/batches/${batch.id}/untold`, c.staff.token);
    expect(untold.body.byReason).to.deep.equal({ NO_MOBILE: 1 });

    // a third revision whose messages wait until the day after the hand-over
    expect((await put(path, { ...body, hours: '14h-16h' }, c.staff.token)).body.revision).to.equal(3);
    await app.services.notifier.collect();
    await dispatchUntilSettled(batch.id, () => vnDay(2));
    const late = (await messagesOf(batch.id)).filter((m) => m.reference.endsWith('-R3-PAYPOINT'));
    expect(late.map((m) => `${m.status}:${m.reason}`)).to.deep.equal(Array(3).fill('dropped:HANDOVER_PASSED'));
    expect((await get(`/notifications/batches/${batch.id}/untold`, c.staff.token)).body.byReason).to.include({ HANDOVER_PASSED: 3 });
  });
});

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

  const messagesOf = (batchId: string, event: 'paypoint_scheduled' | 'paypoint_reminder' = 'paypoint_scheduled') =>
    sql<{ reference: string; status: string; reason: string | null; text: string | null; beneficiary_id: string }[]>(
      `SELECT reference, status, reason, text, beneficiary_id FROM notification_messages
       WHERE batch_id = ? AND event = ? ORDER BY reference`,
      [batchId, event],
    );

  async function dispatchUntilSettled(batchId: string, now: () => Date = () => vnDay()): Promise<void> {
    const end = Date.now() + 10_000;
    for (;;) {
      const all = [...(await messagesOf(batchId)), ...(await messagesOf(batchId, 'paypoint_reminder'))];
      const open = all.filter((m) => ['pending', 'sending', 'unknown', 'accepted', 'sent'].includes(m.status));
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
  /** Records pay-point results (reference,paid) through the upload, as staff do. */
  async function recordResults(batchId: string, lines: [string, boolean][]): Promise<void> {
    const form = new FormData();
    const csv = `reference,paid\n${lines.map(([ref, paid]) => `${ref},${paid ? 'yes' : 'no'}`).join('\n')}\n`;
    form.append('file', new Blob([csv]), 'ket-qua.csv');
    const r = await call('POST', `/api/v1/batches/${batchId}/paypoints/results`, { token: c.staff.token, form });
    expect(r.status, r.text).to.equal(200);
  }

  const referenceOf = async (batchId: string, beneficiaryId: string): Promise<string> =>
    (
      await sql<{ reference: string }[]>('SELECT reference FROM payments WHERE batch_id = ? AND beneficiary_id = ?', [
        batchId,
        beneficiaryId,
      ])
    )[0]!.reference;

  describe('the reminder the day before (paypoint_reminder)', () => {
    it('reminds each cash recipient still to be paid once, on the day before from 07:00, about the revision in force only', async () => {
      const { batch, lan, binh, noPhone, other, release } = await releasedCashBatch();
      await release();
      const truc = await areaId('00004');
      const day = vnDate(3);
      const body = { date: day, place: 'Nhà văn hoá tổ 5', hours: '7h30-11h00', papers: 'CCCD' };
      expect((await put(`/batches/${batch.id}/paypoints/${truc}/schedule`, body, c.staff.token)).status).to.equal(200);
      const vinhPhuc = await areaId('00006');
      expect(
        (await put(`/batches/${batch.id}/paypoints/${vinhPhuc}/schedule`, { ...body, place: 'UBND phường Vĩnh Phúc' }, c.staff.token))
          .status,
      ).to.equal(200);
      // Bình is paid before the day before: nothing to remind him of
      expect((await post(`/batches/${batch.id}/paypoints/handover`, { areaId: truc }, c.staff.token)).body.handedOver).to.equal(3);
      const [lanRef, binhRef, noPhoneRef, otherRef] = await Promise.all(
        [lan, binh, noPhone, other].map((x) => referenceOf(batch.id, x.beneficiaryId)),
      );
      await recordResults(batch.id, [[binhRef!, true]]);

      await app.services.notifier.collect(vnDay(1)); // two days before
      await app.services.notifier.collect(new Date(vnDay(2).getTime() - 3.5 * 3600_000)); // the day before, 06:30
      expect(await messagesOf(batch.id, 'paypoint_reminder')).to.have.length(0);

      // a burst of collectors on the day before: one reminder per recipient and revision
      await Promise.all(Array.from({ length: 4 }, () => app.services.notifier.remind(vnDay(2))));
      await app.services.notifier.collect(vnDay(2));
      const reminders = await messagesOf(batch.id, 'paypoint_reminder');
      expect(reminders.map((m) => m.reference)).to.have.members([
        `NTF-${lanRef}-REMIND`,
        `NTF-${noPhoneRef}-REMIND`,
        `NTF-${otherRef}-REMIND`,
      ]);
      expect(reminders.every((m) => m.status === 'pending')).to.equal(true);

      // the hand-over changes before they went out: the new revision is reminded, the old one's reminders are not sent
      const moved = await put(`/batches/${batch.id}/paypoints/${truc}/schedule`, { ...body, hours: '13h30-16h30' }, c.staff.token);
      expect(moved.body.revision).to.equal(2);
      await app.services.notifier.collect(vnDay(2));
      await app.services.notifier.collect(vnDay(3)); // the day itself creates none
      expect((await messagesOf(batch.id, 'paypoint_reminder')).map((m) => m.reference)).to.have.members([
        `NTF-${lanRef}-REMIND`,
        `NTF-${lanRef}-R2-REMIND`,
        `NTF-${noPhoneRef}-REMIND`,
        `NTF-${noPhoneRef}-R2-REMIND`,
        `NTF-${otherRef}-REMIND`,
      ]);
      // Lan is paid after her reminder was created, before it went out
      await recordResults(batch.id, [[lanRef!, true]]);

      await dispatchUntilSettled(batch.id, () => vnDay(2));
      const outcome = new Map((await messagesOf(batch.id, 'paypoint_reminder')).map((m) => [m.reference, m]));
      expect(outcome.get(`NTF-${lanRef}-REMIND`)).to.include({ status: 'dropped', reason: 'SUPERSEDED' });
      expect(outcome.get(`NTF-${lanRef}-R2-REMIND`)).to.include({ status: 'dropped', reason: 'ALREADY_PAID' });
      expect(outcome.get(`NTF-${noPhoneRef}-REMIND`)).to.include({ status: 'dropped', reason: 'SUPERSEDED' });
      expect(outcome.get(`NTF-${noPhoneRef}-R2-REMIND`)).to.include({ status: 'skipped', reason: 'NO_MOBILE' });
      const told = outcome.get(`NTF-${otherRef}-REMIND`)!;
      expect(told.status).to.equal('delivered');
      expect(told.text).to.include(
        `Nhắc lịch: ngày mai ${smsDate(day)} nhận trợ cấp tháng 12/2024 tại UBND phường Vĩnh Phúc, 7h30-11h00. Mang theo CCCD.`,
      );
      expect(ledger.messages.get(`NTF-${otherRef}-REMIND`)!.accepts).to.equal(1);
      for (const ref of [`NTF-${lanRef}-REMIND`, `NTF-${lanRef}-R2-REMIND`, `NTF-${noPhoneRef}-REMIND`]) {
        expect(ledger.messages.has(ref), ref).to.equal(false);
      }
      // who could not be reminded is untold; a superseded or paid one is not
      const untold = await get(`/notifications/batches/${batch.id}/untold?limit=100`, c.auditor.token);
      const reminded = untold.body.items.filter((m: any) => m.event === 'paypoint_reminder');
      expect(reminded.map((m: any) => `${m.reference}:${m.reason}`)).to.deep.equal([`NTF-${noPhoneRef}-R2-REMIND:NO_MOBILE`]);
      expect(untold.body.byReason).to.not.have.any.keys('ALREADY_PAID', 'SUPERSEDED');
    });

    it('is not created for a hand-over set on the day before, and one held past midnight is not sent', async () => {
      const { batch, other, release } = await releasedCashBatch();
      await release();
      const vinhPhuc = await areaId('00006');
      // today and tomorrow in Asia/Ho_Chi_Minh by the real clock: the hand-over is saved on the day before
      const today = new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 10);
      const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const body = { date: tomorrow, place: 'UBND phường Vĩnh Phúc', hours: '8h-11h', papers: 'CCCD' };
      expect((await put(`/batches/${batch.id}/paypoints/${vinhPhuc}/schedule`, body, c.staff.token)).status).to.equal(200);
      await app.services.notifier.collect(new Date(Date.parse(`${today}T03:00:00Z`)));
      await app.services.notifier.remind(new Date(Date.parse(`${today}T13:00:00Z`)));
      expect(await messagesOf(batch.id, 'paypoint_reminder')).to.have.length(0);
      expect(await messagesOf(batch.id)).to.have.length(1); // the first message tells it, fresh

      // a later hand-over is reminded on its day before; a reminder claimed on the day itself would say "tomorrow" wrongly
      const later = vnDate(4);
      expect(
        (await put(`/batches/${batch.id}/paypoints/${vinhPhuc}/schedule`, { ...body, date: later }, c.staff.token)).body.revision,
      ).to.equal(2);
      await app.services.notifier.remind(vnDay(3));
      const ref = `NTF-${await referenceOf(batch.id, other.beneficiaryId)}-R2-REMIND`;
      expect((await messagesOf(batch.id, 'paypoint_reminder')).map((m) => m.reference)).to.deep.equal([ref]);
      await dispatchUntilSettled(batch.id, () => vnDay(4));
      expect((await messagesOf(batch.id, 'paypoint_reminder'))[0]).to.include({ status: 'dropped', reason: 'REMINDER_LATE' });
      expect(ledger.messages.has(ref)).to.equal(false);
      expect((await get(`/notifications/batches/${batch.id}/untold`, c.staff.token)).body.byReason).to.include({ REMINDER_LATE: 1 });
    });
  });

  describe('GET /api/v1/paypoints/schedules', () => {
    it('lists the hand-overs in force across batches by day then commune, in scope, with recipients, results and messages', async () => {
      const first = await releasedCashBatch();
      await first.release();
      const second = await releasedCashBatch();
      await second.release();
      const [truc, vinhPhuc, baDinh] = await Promise.all([areaId('00004'), areaId('00006'), areaId('001')]);
      const at = (b: { id: string }, area: number, date: string, place: string) =>
        put(`/batches/${b.id}/paypoints/${area}/schedule`, { date, place, hours: '8h-11h', papers: 'CCCD' }, c.staff.token);
      expect((await at(first.batch, truc, vnDate(6), 'Nhà văn hoá tổ 5')).status).to.equal(200);
      expect((await at(first.batch, truc, vnDate(5), 'Nhà văn hoá tổ 7')).body.revision).to.equal(2);
      expect((await at(first.batch, vinhPhuc, vnDate(6), 'UBND phường Vĩnh Phúc')).status).to.equal(200);
      expect((await at(second.batch, truc, vnDate(5), 'UBND phường Trúc Bạch')).status).to.equal(200);
      await app.services.notifier.collect();
      await dispatchUntilSettled(first.batch.id);
      await dispatchUntilSettled(second.batch.id);
      const mine = new Set([first.batch.id, second.batch.id].map(String));
      const list = async (query: string, token = c.staff.token) => {
        const r = await get(`/paypoints/schedules?${query}`, token);
        expect(r.status, r.text).to.equal(200);
        return (r.body.items as any[]).filter((x) => mine.has(x.batch.id));
      };

      const range = `from=${vnDate(5)}&to=${vnDate(6)}`;
      const rows = await list(`areaId=${baDinh}&${range}&limit=200`);
      // by day, then commune, then batch
      expect(rows.map((x) => `${x.date} ${x.area.code} ${x.batch.id}`)).to.deep.equal([
        `${vnDate(5)} 00004 ${first.batch.id}`,
        `${vnDate(5)} 00004 ${second.batch.id}`,
        `${vnDate(6)} 00006 ${first.batch.id}`,
      ]);
      const row = rows.find((x) => x.batch.id === String(first.batch.id) && x.area.code === '00004');
      expect(row).to.deep.include({
        revision: 2,
        place: 'Nhà văn hoá tổ 7',
        hours: '8h-11h',
        papers: 'CCCD',
        cashRecipients: 3,
        paid: 0,
        notCollected: 0,
        told: 2, // Lan and Bình about revision 2; Cường has no mobile
        reminded: 0,
      });
      expect(row.batch).to.deep.include({ period: '2024-12', status: 'processing' });
      expect(row.batch.programme.id).to.be.a('number');
      expect(rows.find((x) => x.area.code === '00006')).to.include({ cashRecipients: 1, told: 1 });

      // a commune, a day, the default start (today), paging
      expect((await list(`areaId=${vinhPhuc}&${range}`)).map((x) => x.area.code)).to.deep.equal(['00006']);
      expect((await list(`areaId=${baDinh}&from=${vnDate(6)}`)).map((x) => x.area.code)).to.deep.equal(['00006']);
      expect(await list(`areaId=${baDinh}`)).to.have.length(3);
      expect(await list(`areaId=${baDinh}&from=${vnDate(7)}`)).to.have.length(0);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await get(
          `/paypoints/schedules?areaId=${baDinh}&${range}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          c.auditor.token,
        );
        expect(page.body.items.length).to.be.at.most(1);
        seen.push(...page.body.items.map((x: any) => `${x.date} ${x.area.code} ${x.batch.id}`));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen.filter((k) => mine.has(k.split(' ')[2]!))).to.deep.equal(rows.map((x) => `${x.date} ${x.area.code} ${x.batch.id}`));

      // scope: read by officers and auditors; another district's staff sees none of it and cannot name it
      expect(await list(range, c.approver.token)).to.have.length(3);
      expect(await list(range, staffElsewhere.token)).to.have.length(0);
      const outside = await get(`/paypoints/schedules?areaId=${truc}`, staffElsewhere.token);
      expect(outside.status).to.equal(404);
      expect(outside.body.error.code).to.equal('AREA_NOT_FOUND');
      expect(outside.body.error.message).to.match(/^areaId: /);

      // refusals name the parameter
      const bad = await get(`/paypoints/schedules?from=2027-02-30`, c.staff.token);
      expect(bad.status).to.equal(400);
      expect(bad.body.error).to.include({ code: 'INVALID_DATE' });
      expect(bad.body.error.message).to.match(/^from: /);
      const notADay = await get(`/paypoints/schedules?to=ngay-mai`, c.staff.token);
      expect(notADay.body.error.code).to.equal('INVALID_DATE');
      expect(notADay.body.error.message).to.match(/^to: /);
      const backwards = await get(`/paypoints/schedules?from=${vnDate(6)}&to=${vnDate(5)}`, c.staff.token);
      expect(backwards.status).to.equal(400);
      expect(backwards.body.error.code).to.equal('INVALID_DATE_RANGE');
      expect(backwards.body.error.message).to.match(/^to: /);
      const badCursor = await get(`/paypoints/schedules?cursor=nonsense`, c.staff.token);
      expect(badCursor.body.error.code).to.equal('INVALID_CURSOR');
      expect((await get(`/paypoints/schedules`)).status).to.equal(401);
    });
  });
});

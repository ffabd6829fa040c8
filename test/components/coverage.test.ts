import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { sharePercent } from '../../src/components/exports/coverage';
import { testApp } from '../helpers/app';
import { areaId, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, get } from '../helpers/http';
import { enrol, makeProgramme } from '../helpers/batches';

// this file's own months: nobody else pays anyone for 2031
const MONTH = 203105;

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

async function batch(
  programmeId: number,
  maker: TestUser,
  kind: 'regular' | 'arrears',
): Promise<{ id: string; prefix: string; seq: number }> {
  const prefix = uniq('COV').toUpperCase().slice(0, 20);
  const r = await sql<{ insertId: number }>(
    `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
     SELECT ?, ?, ?, ?, ?, id, path, 'completed', ? FROM areas WHERE code = '01'`,
    [prefix, kind, programmeId, MONTH - 1, MONTH, maker.id],
  );
  return { id: String(r.insertId), prefix, seq: 0 };
}

/** A payment for the enrolment, its destination copied from the roll as generation copies it; `channel` overrides it (e.g. cash arrears). */
async function pay(
  b: { id: string; prefix: string; seq: number },
  enrolmentId: string,
  o: { amount: number; status: string; period?: number; slot?: number; cash?: boolean },
): Promise<void> {
  b.seq += 1;
  await sql(
    `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
       coefficient_x100, area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked, status)
     SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, ?, ?, ?, 500000, 150, b.area_id, b.full_name, IF(?, 'CASH', e.channel),
       e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked, e.wallet_enc, e.wallet_masked, ?
     FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
    [b.id, b.seq, `${b.prefix}-${b.seq}`, o.period ?? MONTH, o.slot ?? 0, o.amount, o.cash ? 1 : 0, o.status, enrolmentId],
  );
}

describe('cashless coverage', function () {
  this.timeout(60_000);
  let staff: TestUser;
  let auditor: TestUser;
  let approverBaDinh: TestUser;
  const people: Record<string, { beneficiaryId: string; enrolmentId: string }> = {};

  /**
   * A hand-made month. Ba Đình (001): A bank ✓, B cash ✓ (00001); C wallet ✓, D bank failed, E cash pending (00004);
   * H bank ✓ but for the month before. Hoàn Kiếm (002): F bank ✓ plus cash arrears ✓, G bank ✓ plus wallet arrears ✓ (00040).
   * Paid: A B C F G; without cash: A C G.
   */
  before(async () => {
    await testApp();
    staff = await makeUser(['staff']);
    auditor = await makeUser(['auditor']);
    approverBaDinh = await makeUser(['approver'], { area: '001' });
    const prog = await makeProgramme();
    const spec: [string, string, 'BANK' | 'WALLET' | 'CASH'][] = [
      ['A', '00001', 'BANK'],
      ['B', '00001', 'CASH'],
      ['C', '00004', 'WALLET'],
      ['D', '00004', 'BANK'],
      ['E', '00004', 'CASH'],
      ['F', '00040', 'BANK'],
      ['G', '00040', 'BANK'],
      ['H', '00001', 'BANK'],
    ];
    for (const [k, area, channel] of spec) people[k] = await enrol(prog.id, { area, channel, fullName: `Người ${k}` });
    const regular = await batch(prog.id, staff, 'regular');
    const arrears = await batch(prog.id, staff, 'arrears');
    await pay(regular, people.A!.enrolmentId, { amount: 750_000, status: 'succeeded' });
    await pay(regular, people.B!.enrolmentId, { amount: 500_000, status: 'succeeded' });
    await pay(regular, people.C!.enrolmentId, { amount: 1_000_000, status: 'succeeded' });
    await pay(regular, people.D!.enrolmentId, { amount: 750_000, status: 'failed' });
    await pay(regular, people.E!.enrolmentId, { amount: 750_000, status: 'pending' });
    await pay(regular, people.F!.enrolmentId, { amount: 750_000, status: 'succeeded' });
    await pay(regular, people.G!.enrolmentId, { amount: 750_000, status: 'succeeded' });
    await pay(regular, people.H!.enrolmentId, { amount: 750_000, status: 'succeeded', period: MONTH - 1 });
    await pay(arrears, people.F!.enrolmentId, { amount: 140_000, status: 'succeeded', slot: 890_000, cash: true });
    await pay(arrears, people.G!.enrolmentId, { amount: 140_000, status: 'succeeded', slot: 890_000 });
  });

  after(async () => (await testApp()).services.exports.whenIdle());

  describe('GET /api/v1/coverage', () => {
    it('counts the people paid in the month, those paid without cash and the exact share, per district, adding up to the province', async () => {
      const r = await get(`/coverage?period=2031-05&areaId=${await areaId('01')}`, auditor.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.area.code).to.equal('01');
      expect(r.body.total).to.deep.equal({
        paid: 5,
        paidWithoutCash: 3,
        paidInCash: 2,
        cashlessShare: { numerator: 3, denominator: 5, percent: '60.00' },
        amountPaid: 750_000 + 500_000 + 1_000_000 + 890_000 * 2,
        amountPaidWithoutCash: 750_000 + 1_000_000 + 750_000 + 890_000,
      });
      const byCode = Object.fromEntries(r.body.areas.map((a: any) => [a.area.code, a]));
      expect(byCode['001']).to.include({ paid: 3, paidWithoutCash: 2, paidInCash: 1, own: false });
      expect(byCode['001'].cashlessShare.percent).to.equal('66.67'); // 2/3, half up
      expect(byCode['002']).to.include({ paid: 2, paidWithoutCash: 1, paidInCash: 1 });
      expect(byCode['002'].cashlessShare.percent).to.equal('50.00');
      expect(byCode['003']).to.include({ paid: 0, paidWithoutCash: 0 });
      expect(byCode['003'].cashlessShare.percent).to.equal(null);
      const sum = (k: string) => r.body.areas.reduce((s: number, a: any) => s + a[k], 0);
      expect([sum('paid'), sum('paidWithoutCash'), sum('amountPaid')]).to.deep.equal([5, 3, r.body.total.amountPaid]);
      expect(r.body.definition).to.match(/succeeded/);
    });

    it('breaks a district down by ward, and defaults to the caller’s own scope', async () => {
      const r = await get('/coverage?period=2031-05', approverBaDinh.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.area.code).to.equal('001');
      expect(r.body.total).to.include({ paid: 3, paidWithoutCash: 2 });
      const byCode = Object.fromEntries(r.body.areas.map((a: any) => [a.area.code, a]));
      expect(byCode['00001']).to.include({ paid: 2, paidWithoutCash: 1 }); // A bank, B cash; H was paid for April
      expect(byCode['00004']).to.include({ paid: 1, paidWithoutCash: 1 }); // C; D failed and E pending are not paid
      expect(byCode['00004'].cashlessShare.percent).to.equal('100.00');
      expect(byCode['00006']).to.include({ paid: 0 });
    });

    it('refuses an area outside the scope (403 AREA_OUT_OF_SCOPE), an unknown area (400 AREA_NOT_FOUND) and a bad month (400)', async () => {
      const out = await get(`/coverage?period=2031-05&areaId=${await areaId('002')}`, approverBaDinh.token);
      expect([out.status, out.body.error.code]).to.deep.equal([403, 'AREA_OUT_OF_SCOPE']);
      const unknown = await get('/coverage?period=2031-05&areaId=987654', auditor.token);
      expect([unknown.status, unknown.body.error.code]).to.deep.equal([400, 'AREA_NOT_FOUND']);
      const bad = await get('/coverage?period=2031-13', auditor.token);
      expect([bad.status, bad.body.error.code]).to.deep.equal([400, 'VALIDATION_FAILED']);
    });

    it('rounds the share half up to 0.01 percentage point, exactly', () => {
      expect(sharePercent(1, 3).percent).to.equal('33.33');
      expect(sharePercent(2, 3).percent).to.equal('66.67');
      expect(sharePercent(1, 8).percent).to.equal('12.50');
      expect(sharePercent(1, 20_000).percent).to.equal('0.01'); // 0.005 % rounds up
      expect(sharePercent(1, 20_001).percent).to.equal('0.00');
      expect(sharePercent(3_000_000, 3_000_000).percent).to.equal('100.00');
      expect(sharePercent(0, 0).percent).to.equal(null);
    });
  });

  describe('GET /api/v1/coverage/cash-recipients', () => {
    it('lists the people paid in cash, masked, page by page', async () => {
      const first = await get(`/coverage/cash-recipients?period=2031-05&areaId=${await areaId('01')}&limit=1`, staff.token);
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      expect(first.body.items).to.have.length(1);
      const second = await get(
        `/coverage/cash-recipients?period=2031-05&areaId=${await areaId('01')}&limit=1&cursor=${first.body.nextCursor}`,
        staff.token,
      );
      expect(second.body.nextCursor).to.equal(null);
      const all = [...first.body.items, ...second.body.items];
      expect(all.map((p: any) => p.beneficiaryId)).to.deep.equal([people.B!.beneficiaryId, people.F!.beneficiaryId]);
      const f = all[1];
      expect(f).to.include({ fullName: 'Người F', cashPayments: 1, cashAmount: 140_000 });
      expect(f.area.code).to.equal('00040');
      expect(f.channelsNow).to.deep.equal(['BANK']); // F has an account now: only the arrears went in cash
      expect(all[0].channelsNow).to.deep.equal(['CASH']);
      expect(f.nationalId).to.match(/^\d{4}\*{6}\d{2}$/);
    });

    it('reveals full national IDs to an auditor who asks, audited; refuses approvers with 403 REVEAL_NOT_ALLOWED', async () => {
      const r = await get('/coverage/cash-recipients?period=2031-05&reveal=true', auditor.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      const b = r.body.items.find((p: any) => p.beneficiaryId === people.B!.beneficiaryId);
      expect(b.nationalId).to.match(/^\d{12}$/);
      const [ev] = await sql<any[]>("SELECT * FROM audit_events WHERE action = 'coverage.reveal' ORDER BY id DESC LIMIT 1");
      expect(ev.actor_user_id).to.equal(auditor.id);
      expect(JSON.parse(ev.summary).after.beneficiaryIds).to.include(Number(people.B!.beneficiaryId));
      const no = await get('/coverage/cash-recipients?period=2031-05&reveal=true', approverBaDinh.token);
      expect([no.status, no.body.error.code]).to.deep.equal([403, 'REVEAL_NOT_ALLOWED']);
    });

    it('exports the list as CSV through POST /exports, for staff too, with a manifest', async () => {
      const r = await call('POST', '/api/v1/exports', {
        token: staff.token,
        body: { kind: 'cash_recipients', format: 'csv', period: '2031-05', areaId: await areaId('01') },
      });
      expect(r.status, JSON.stringify(r.body)).to.equal(202);
      let m = r.body;
      for (let i = 0; m.status === 'running' && i < 400; i++) {
        await new Promise((res) => setTimeout(res, 50));
        m = (await get(`/exports/${m.id}`, staff.token)).body;
      }
      expect(m.status, m.error).to.equal('done');
      const { url } = await testApp();
      const res = await fetch(`${url}/api/v1/exports/${m.id}/file`, { headers: { authorization: `Bearer ${staff.token}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).to.equal(m.sha256);
      const rows = parse(bytes, { columns: true, bom: true }) as Record<string, string>[];
      expect(rows.map((x) => x.beneficiaryId)).to.deep.equal([people.B!.beneficiaryId, people.F!.beneficiaryId]);
      expect(rows[0]!.cashAmount).to.equal('500000');
      expect(m.rowCount).to.equal(2);
      expect(m.totalAmount).to.equal(640_000);
      expect(m.totals.withoutBankOrWalletNow).to.equal(1);
    });
  });
});

import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { makeUser, uniq, type TestUser } from '../helpers/factories';
import { get } from '../helpers/http';
import { enrol, makeProgramme } from '../helpers/batches';
import { DashboardService } from '../../src/components/dashboard';
import { redisKey } from '../../src/platform/redis';

// this file's own month: nobody else pays anyone for July 2032
const MONTH = 203207;

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

type Batch = { id: string; prefix: string; seq: number };

async function batch(
  programmeId: number,
  maker: TestUser,
  areaCode: string,
  status: string,
  itemCount: number,
  total: number,
): Promise<Batch> {
  const prefix = uniq('DSH').toUpperCase().slice(0, 20);
  const r = await sql<{ insertId: number }>(
    `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, item_count, total_amount, created_by)
     SELECT ?, 'regular', ?, ?, ?, id, path, ?, ?, ?, ? FROM areas WHERE code = ?`,
    [prefix, programmeId, MONTH, MONTH, status, itemCount, total, maker.id, areaCode],
  );
  return { id: String(r.insertId), prefix, seq: 0 };
}

async function pay(b: Batch, enrolmentId: string, amount: number, status: string, period = MONTH): Promise<void> {
  b.seq += 1;
  await sql(
    `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
       coefficient_x100, area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked, status)
     SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, ?, ?, ?, 500000, 150, b.area_id, b.full_name, e.channel,
       e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked, e.wallet_enc, e.wallet_masked, ?
     FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
    [b.id, b.seq, `${b.prefix}-${b.seq}`, period, b.seq, amount, status, enrolmentId],
  );
}

/** Days before today in Vietnam, as YYYY-MM-DD. */
const daysAgo = (n: number) => new Date(Date.now() + 7 * 3_600_000 - n * 86_400_000).toISOString().slice(0, 10);

describe('GET /api/v1/dashboard', function () {
  this.timeout(60_000);
  let staff: TestUser;
  let auditor: TestUser;
  let officerBaDinh: TestUser;
  let admin: TestUser;
  let earlier: { province: any; district: any };
  const people: Record<string, string> = {};

  /**
   * July 2032. Ba Đình (001): a completed batch (A bank ✓, B cash ✓, C bank failed, D wallet returned), a processing
   * batch (E bank ✓, F bank pending, G cash sent), a submitted one; Hoàn Kiếm (002): a completed batch (H bank ✓),
   * a draft. Open exceptions: two in Ba Đình (3 and 20 days old), one in Hoàn Kiếm (40 days), one resolved.
   */
  before(async () => {
    await testApp();
    staff = await makeUser(['staff']);
    auditor = await makeUser(['auditor']);
    officerBaDinh = await makeUser(['approver'], { area: '001' });
    admin = await makeUser(['admin']);
    earlier = {
      province: (await get('/dashboard?month=2032-07', auditor.token)).body,
      district: (await get('/dashboard?month=2032-07', officerBaDinh.token)).body,
    };
    const prog = await makeProgramme();
    const spec: [string, string, 'BANK' | 'WALLET' | 'CASH'][] = [
      ['A', '00001', 'BANK'],
      ['B', '00001', 'CASH'],
      ['C', '00001', 'BANK'],
      ['D', '00004', 'WALLET'],
      ['E', '00004', 'BANK'],
      ['F', '00004', 'BANK'],
      ['G', '00004', 'CASH'],
      ['H', '00040', 'BANK'],
    ];
    for (const [k, area, channel] of spec) people[k] = (await enrol(prog.id, { area, channel, fullName: `Người ${k}` })).enrolmentId;
    const done = await batch(prog.id, staff, '001', 'completed_with_failures', 4, 3_000_000);
    await pay(done, people.A!, 750_000, 'succeeded');
    await pay(done, people.B!, 750_000, 'succeeded');
    await pay(done, people.C!, 750_000, 'failed');
    await pay(done, people.D!, 750_000, 'returned');
    const running = await batch(prog.id, staff, '001', 'processing', 3, 2_100_000);
    await pay(running, people.E!, 700_000, 'succeeded');
    await pay(running, people.F!, 700_000, 'pending');
    await pay(running, people.G!, 700_000, 'sent');
    await batch(prog.id, staff, '001', 'submitted', 5, 5_000_000);
    const hk = await batch(prog.id, staff, '002', 'completed', 1, 900_000);
    await pay(hk, people.H!, 900_000, 'succeeded');
    await batch(prog.id, staff, '002', 'draft', 2, 1_000_000);

    const [provider] = await sql<{ id: number }[]>('SELECT id FROM providers ORDER BY id LIMIT 1');
    const st = await sql<{ insertId: number }>(
      // matched: a statement left `received` would wait for a worker for ever in the eyes of later tests
      `INSERT INTO statements (provider_id, business_date, source, sha256, received_by_name, status) VALUES (?, ?, 'upload', ?, 'test', 'matched')`,
      [provider!.id, daysAgo(3), 'd'.repeat(64)],
    );
    const run = await sql<{ insertId: number }>(
      `INSERT INTO recon_runs (provider_id, business_date, statement_id, status, started_by_name) VALUES (?, ?, ?, 'done', 'test')`,
      [provider!.id, daysAgo(3), st.insertId],
    );
    const exception = (b: Batch, seq: number, area: string, age: number, status: string) =>
      sql(
        `INSERT INTO recon_exceptions (run_id, provider_id, business_date, category, reference, batch_id, seq, area_id, area_path, status)
         SELECT ?, ?, ?, 'missing', ?, ?, ?, id, path, ? FROM areas WHERE code = ?`,
        [run.insertId, provider!.id, daysAgo(age), `${b.prefix}-${seq}`, b.id, seq, status, area],
      );
    await exception(done, 1, '00001', 3, 'open');
    await exception(done, 2, '00001', 20, 'open');
    await exception(hk, 1, '00040', 40, 'open');
    await exception(done, 3, '00001', 2, 'resolved');
  });

  it('gives the month in the whole tree: batches by status, approved, paid, failed, returned, progress and the cashless share', async () => {
    const r = await get('/dashboard?month=2032-07', auditor.token);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const m = r.body.money;
    expect(r.body.month).to.equal('2032-07');
    expect(m.batches).to.deep.equal([
      { status: 'draft', count: 1, itemCount: 2, amount: 1_000_000 },
      { status: 'submitted', count: 1, itemCount: 5, amount: 5_000_000 },
      { status: 'processing', count: 1, itemCount: 3, amount: 2_100_000 },
      { status: 'completed', count: 1, itemCount: 1, amount: 900_000 },
      { status: 'completed_with_failures', count: 1, itemCount: 4, amount: 3_000_000 },
    ]);
    expect(m.approved).to.deep.equal({ count: 8, amount: 6_000_000 });
    expect(m.paid).to.deep.equal({ count: 4, amount: 750_000 * 2 + 700_000 + 900_000 });
    expect(m.failed).to.deep.equal({ count: 1, amount: 750_000 });
    expect(m.returned).to.deep.equal({ count: 1, amount: 750_000 });
    expect(m.inProgress).to.deep.equal({
      batches: 1,
      payments: 3,
      settled: 1,
      open: { count: 2, amount: 1_400_000 },
      percentSettled: '33.33',
    });
    expect(m.cashless).to.have.length(12);
    expect(m.cashless[0].period).to.equal('2031-08');
    // paid: A, B, E, H; without cash: A, E, H
    expect(m.cashless[11]).to.deep.equal({ period: '2032-07', paid: 4, paidWithoutCash: 3, percent: '75.00' });
    const ages = Object.fromEntries(m.exceptions.byAge.map((a: any) => [a.bucket, a.count]));
    const was = Object.fromEntries(earlier.province.money.exceptions.byAge.map((a: any) => [a.bucket, a.count]));
    expect(m.exceptions.open - earlier.province.money.exceptions.open).to.equal(3);
    expect([ages['0-7'] - was['0-7'], ages['8-30'] - was['8-30'], ages['31+'] - was['31+']]).to.deep.equal([1, 1, 1]);
    expect(m.exceptions.byAge[0]).to.include({ from: daysAgo(7), to: daysAgo(0) });
  });

  it('shows a district officer only the district: batches, payments, exceptions and the share', async () => {
    const r = await get('/dashboard?month=2032-07', officerBaDinh.token);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const m = r.body.money;
    expect(m.batches.map((b: any) => b.status)).to.deep.equal(['submitted', 'processing', 'completed_with_failures']);
    expect(m.approved).to.deep.equal({ count: 7, amount: 5_100_000 });
    expect(m.paid).to.deep.equal({ count: 3, amount: 2_200_000 });
    expect(m.cashless[11]).to.deep.equal({ period: '2032-07', paid: 3, paidWithoutCash: 2, percent: '66.67' });
    expect(m.exceptions.open - earlier.district.money.exceptions.open).to.equal(2);
    // the batch list behind the figure agrees
    const list = await get('/batches?period=2032-07&status=processing', officerBaDinh.token);
    expect(list.body.totals).to.include({ count: 1, itemCount: 3, totalAmount: 2_100_000 });
  });

  it('defaults to the current month in Vietnam, gives an admin-only caller no payment figures, and refuses a bad month', async () => {
    const now = await get('/dashboard', staff.token);
    expect(now.status).to.equal(200);
    expect(now.body.month).to.equal(daysAgo(0).slice(0, 7));
    expect(now.body.money.cashless.at(-1).period).to.equal(now.body.month);
    const a = await get('/dashboard?month=2032-07', admin.token);
    expect([a.status, a.body.money]).to.deep.equal([200, null]);
    const bad = await get('/dashboard?month=2032-13', staff.token);
    expect([bad.status, bad.body.error.code]).to.deep.equal([400, 'VALIDATION_FAILED']);
    expect((await get('/dashboard')).status).to.equal(401);
  });

  it('keeps the figures of one scope and month for DASHBOARD_CACHE_SECONDS, shared by whoever asks in that scope', async () => {
    const { infra } = await testApp();
    const service = new DashboardService(infra.ds, infra.redis, { ...infra.cfg, dashboardCacheSeconds: 30 });
    const asStaff = {
      userId: staff.id,
      username: staff.username,
      roles: ['staff' as const],
      areaId: null,
      areaPath: null,
      sessionId: 's',
      stage: 'full' as const,
    };
    const first = await service.summary(asStaff, '2032-07');
    const key = redisKey(infra.cfg, 'dashboard', '/', '2032-07', first.today);
    const ttl = await infra.redis.ttl(key);
    expect(ttl).to.be.within(1, 30);
    // what is kept is what is answered, to another caller of the same scope too, until it lapses
    await infra.redis.set(key, JSON.stringify({ ...first, month: 'kept' }), 'KEEPTTL');
    const asAuditor = { ...asStaff, userId: auditor.id, username: auditor.username, roles: ['auditor' as const] };
    expect((await service.summary(asAuditor, '2032-07')).month).to.equal('kept');
    expect(first).to.deep.equal((await get('/dashboard?month=2032-07', auditor.token)).body);
    await infra.redis.del(key);
  });
});

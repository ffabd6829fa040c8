import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { auditCount, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, get, patch, post, type Reply } from '../helpers/http';

interface AuditRow {
  action: string;
  entity_type: string;
  entity_id: string | null;
  actor_user_id: number | null;
  request_id: string | null;
  summary: string;
}

/**
 * A programme code no other test uses, as the API stores it (upper case), with
 * letters for digits: audit summaries mask any run of 6 digits, and a process
 * id can be that long.
 */
function progCode(prefix = 'p'): string {
  return uniq(`t-${prefix}`)
    .toUpperCase()
    .replace(/\d/g, (d) => 'ABCDEFGHIJ'[Number(d)]!);
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { infra } = await testApp();
  return (await infra.ds.query(sql, params)) as T[];
}

async function dbProgramme(id: number) {
  const [row] = await query<{ id: number; code: string; name: string; frequency: string; active: number; created_by: number | null }>(
    'SELECT id, code, name, frequency, active, created_by FROM programmes WHERE id = ?',
    [id],
  );
  return row;
}

async function dbProgrammeByCode(code: string) {
  const [row] = await query<{ id: number; name: string }>('SELECT id, name FROM programmes WHERE code = ?', [code]);
  return row;
}

async function dbLevels(id: number) {
  return query<{ effective_from: number; amount: string; reason: string | null; created_by: number | null }>(
    'SELECT effective_from, amount, reason, created_by FROM programme_base_levels WHERE programme_id = ? ORDER BY effective_from',
    [id],
  );
}

async function counts(): Promise<{ programmes: number; levels: number; audits: number }> {
  const [row] = await query<{ p: string; l: string }>(
    'SELECT (SELECT COUNT(*) FROM programmes) AS p, (SELECT COUNT(*) FROM programme_base_levels) AS l',
  );
  return { programmes: Number(row!.p), levels: Number(row!.l), audits: await auditCount() };
}

/** The one audit event a request wrote, found by the request id the response carried. */
async function auditOfRequest(r: Reply): Promise<AuditRow & { summary: any }> {
  const rid = r.headers.get('x-request-id');
  expect(rid, 'X-Request-Id').to.be.a('string').and.not.empty;
  const rows = await query<AuditRow>('SELECT * FROM audit_events WHERE request_id = ?', [rid]);
  expect(rows, `audit events of request ${rid}`).to.have.length(1);
  return { ...rows[0]!, summary: JSON.parse(rows[0]!.summary) };
}

async function auditsOfRequest(r: Reply): Promise<number> {
  const rows = await query<AuditRow>('SELECT * FROM audit_events WHERE request_id = ?', [r.headers.get('x-request-id')]);
  return rows.length;
}

function expectError(r: Reply, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  expect(r.body.error.code, JSON.stringify(r.body)).to.equal(code);
  expect(r.body.error.requestId).to.equal(r.headers.get('x-request-id'));
}

function expectInvalid(r: Reply, location: string, path: string): void {
  expectError(r, 400, 'VALIDATION_FAILED');
  const fields = (r.body.error.details as { location: string; path: string }[]).map((d) => `${d.location}.${d.path}`);
  expect(fields, JSON.stringify(r.body)).to.include(`${location}.${path}`);
}

const put = (path: string, body: unknown, token?: string) => call('PUT', `/api/v1${path}`, { token, body });

const LEVELS = [
  { effectiveFrom: '2021-07', amount: 360000, reason: 'Nghị định 20/2021/NĐ-CP' },
  { effectiveFrom: '2024-07', amount: 500000, reason: 'Nghị định 76/2024/NĐ-CP' },
];

async function createProgramme(token: string, overrides: Record<string, unknown> = {}): Promise<any> {
  const code = progCode();
  const r = await post(
    '/programmes',
    { code, name: `Chương trình ${code}`, frequency: 'monthly', baseLevels: LEVELS, ...overrides },
    token,
  );
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
  return r.body;
}

describe('programmes component', () => {
  let staff: TestUser;
  let admin: TestUser;
  let approver: TestUser;
  let auditor: TestUser;

  before(async () => {
    staff = await makeUser(['staff']);
    admin = await makeUser(['admin'], { area: null });
    approver = await makeUser(['approver']);
    auditor = await makeUser(['auditor'], { area: null });
  });

  describe('demo seed', () => {
    it('holds the three social-assistance programmes with 360,000 from 2021-07 and 500,000 from 2024-07', async () => {
      for (const [code, name] of [
        ['TCXH-NCT80', 'Trợ cấp xã hội người cao tuổi từ đủ 80 tuổi'],
        ['TCXH-KT', 'Trợ cấp xã hội người khuyết tật'],
        ['TCXH-TMC', 'Trợ cấp xã hội trẻ em mồ côi'],
      ]) {
        const row = await dbProgrammeByCode(code!);
        expect(row, code).to.exist;
        const r = await get(`/programmes/${row!.id}`, auditor.token);
        expect(r.status).to.equal(200);
        expect(r.body).to.deep.include({ code, name, frequency: 'monthly', active: true });
        expect(r.body.baseLevels.map((l: any) => [l.effectiveFrom, l.amount])).to.deep.equal([
          ['2021-07', 360000],
          ['2024-07', 500000],
        ]);
      }
    });
  });

  describe('POST /api/v1/programmes', () => {
    it('creates a programme with its base levels, upper-cases the code, stores the name in NFC, and audits it', async () => {
      const code = progCode('c');
      const nfd = 'Trợ cấp thử nghiệm'.normalize('NFD');
      const r = await post(
        '/programmes',
        { code: code.toLowerCase(), name: `  ${nfd}  `, frequency: 'monthly', baseLevels: [LEVELS[1], LEVELS[0]] },
        staff.token,
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.equal({
        id: r.body.id,
        code,
        name: 'Trợ cấp thử nghiệm'.normalize('NFC'),
        frequency: 'monthly',
        active: true,
        baseLevels: LEVELS,
      });
      expect(await dbProgramme(r.body.id)).to.deep.equal({
        id: r.body.id,
        code,
        name: 'Trợ cấp thử nghiệm'.normalize('NFC'),
        frequency: 'monthly',
        active: 1,
        created_by: staff.id,
      });
      expect(await dbLevels(r.body.id)).to.deep.equal([
        { effective_from: 202107, amount: '360000', reason: LEVELS[0]!.reason, created_by: staff.id },
        { effective_from: 202407, amount: '500000', reason: LEVELS[1]!.reason, created_by: staff.id },
      ]);
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({
        action: 'programme.create',
        entity_type: 'programme',
        entity_id: String(r.body.id),
        actor_user_id: staff.id,
      });
      expect(ev.summary).to.deep.equal({
        before: null,
        after: {
          code,
          programmeName: 'Trợ cấp thử nghiệm',
          frequency: 'monthly',
          active: true,
          baseLevels: LEVELS,
        },
      });
    });

    it('lets an admin create an inactive one-off programme with no base levels', async () => {
      const code = progCode('o');
      const r = await post('/programmes', { code, name: 'Quà Tết', frequency: 'one_off', active: false }, admin.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.include({ code, frequency: 'one_off', active: false, baseLevels: [] });
      expect(await dbProgramme(r.body.id)).to.deep.include({ active: 0, frequency: 'one_off', created_by: admin.id });
      expect(await dbLevels(r.body.id)).to.deep.equal([]);
      expect((await auditOfRequest(r)).actor_user_id).to.equal(admin.id);
    });

    it('refuses a code in use, in any case, with 409 PROGRAMME_CODE_TAKEN, writing nothing', async () => {
      const before = await counts();
      const r = await post('/programmes', { code: 'tcxh-nct80', name: 'Trùng mã', frequency: 'monthly', baseLevels: LEVELS }, staff.token);
      expectError(r, 409, 'PROGRAMME_CODE_TAKEN');
      expect(await counts()).to.deep.equal(before);
      expect((await dbProgrammeByCode('TCXH-NCT80'))!.name).to.equal('Trợ cấp xã hội người cao tuổi từ đủ 80 tuổi');
    });

    it('answers two simultaneous creates with the same code with one 201 and one 409 PROGRAMME_CODE_TAKEN', async () => {
      for (let round = 0; round < 3; round++) {
        const code = progCode('r');
        const replies = await Promise.all(
          [staff, admin].map((u) => post('/programmes', { code, name: 'Đua', frequency: 'monthly', baseLevels: LEVELS }, u.token)),
        );
        expect(replies.map((r) => r.status).sort(), JSON.stringify(replies.map((r) => r.body))).to.deep.equal([201, 409]);
        expect(replies.find((r) => r.status === 409)!.body.error.code).to.equal('PROGRAMME_CODE_TAKEN');
        const rows = await query<{ id: number }>('SELECT id FROM programmes WHERE code = ?', [code]);
        expect(rows).to.have.length(1);
        expect(await dbLevels(rows[0]!.id)).to.have.length(2);
      }
    });

    it('refuses bad bodies with 400 VALIDATION_FAILED naming each field, writing nothing', async () => {
      const before = await counts();
      const ok = { code: progCode('v'), name: 'Hợp lệ', frequency: 'monthly', baseLevels: LEVELS };
      const level = LEVELS[0]!;
      const cases: [Record<string, unknown>, string][] = [
        [{ ...ok, code: 'X'.repeat(33) }, 'code'],
        [{ ...ok, code: '' }, 'code'],
        [{ ...ok, code: 'TCXH NCT' }, 'code'],
        [{ ...ok, code: 'TCXH.NCT' }, 'code'],
        [{ ...ok, code: 'ĐB-1' }, 'code'],
        [{ ...ok, code: 'straße' }, 'code'],
        [{ ...ok, code: 123 }, 'code'],
        [{ ...ok, code: undefined }, 'code'],
        [{ ...ok, name: '   ' }, 'name'],
        [{ ...ok, name: 'x'.repeat(301) }, 'name'],
        [{ ...ok, name: 'Hai\ndòng' }, 'name'],
        [{ ...ok, name: undefined }, 'name'],
        [{ ...ok, frequency: 'weekly' }, 'frequency'],
        [{ ...ok, frequency: undefined }, 'frequency'],
        [{ ...ok, active: 'yes' }, 'active'],
        [{ ...ok, baseLevels: 'none' }, 'baseLevels'],
        [{ ...ok, baseLevels: [{ ...level, amount: 0 }] }, 'baseLevels.0.amount'],
        [{ ...ok, baseLevels: [{ ...level, amount: -500000 }] }, 'baseLevels.0.amount'],
        [{ ...ok, baseLevels: [{ ...level, amount: 500000.5 }] }, 'baseLevels.0.amount'],
        [{ ...ok, baseLevels: [{ ...level, amount: 100_000_001 }] }, 'baseLevels.0.amount'],
        [{ ...ok, baseLevels: [{ ...level, amount: '500000' }] }, 'baseLevels.0.amount'],
        [{ ...ok, baseLevels: [{ ...level, effectiveFrom: '2024-13' }] }, 'baseLevels.0.effectiveFrom'],
        [{ ...ok, baseLevels: [{ ...level, effectiveFrom: '2024-7' }] }, 'baseLevels.0.effectiveFrom'],
        [{ ...ok, baseLevels: [{ ...level, effectiveFrom: 202407 }] }, 'baseLevels.0.effectiveFrom'],
        [{ ...ok, baseLevels: [level, { ...level, amount: 400000 }] }, 'baseLevels.1.effectiveFrom'],
        [{ ...ok, baseLevels: [{ ...level, reason: 'x'.repeat(501) }] }, 'baseLevels.0.reason'],
        [{ ...ok, baseLevels: [{ ...level, extra: 1 }] }, 'baseLevels.0'],
        [{ ...ok, id: 5 }, ''],
      ];
      for (const [body, field] of cases) expectInvalid(await post('/programmes', body, staff.token), 'body', field);
      expect(await dbProgrammeByCode(ok.code)).to.equal(undefined);
      expect(await counts()).to.deep.equal(before);
    });

    it('accepts the largest base level, 100,000,000 đồng', async () => {
      const p = await createProgramme(staff.token, { baseLevels: [{ effectiveFrom: '2025-01', amount: 100_000_000 }] });
      expect(p.baseLevels).to.deep.equal([{ effectiveFrom: '2025-01', amount: 100_000_000, reason: null }]);
    });
  });

  describe('GET /api/v1/programmes', () => {
    it('lists programmes in id order, the demo ones included', async () => {
      const r = await get('/programmes?limit=200', staff.token);
      expect(r.status).to.equal(200);
      const ids = (await query<{ id: number }>('SELECT id FROM programmes ORDER BY id LIMIT 200')).map((x) => x.id);
      expect(r.body.items.map((p: { id: number }) => p.id)).to.deep.equal(ids);
      const nct = r.body.items.find((p: { code: string }) => p.code === 'TCXH-NCT80');
      expect(nct).to.deep.equal({
        id: nct.id,
        code: 'TCXH-NCT80',
        name: 'Trợ cấp xã hội người cao tuổi từ đủ 80 tuổi',
        frequency: 'monthly',
        active: true,
      });
    });

    it('searches by part of the code and by part of the Vietnamese name', async () => {
      const byCode = await get('/programmes?q=NCT80', staff.token);
      expect(byCode.body.items.map((p: { code: string }) => p.code)).to.deep.equal(['TCXH-NCT80']);
      const byName = await get(`/programmes?q=${encodeURIComponent('khuyết tật')}`, staff.token);
      expect(byName.body.items.map((p: { code: string }) => p.code)).to.include('TCXH-KT');
      for (const p of byName.body.items) expect(p.name.toLowerCase()).to.contain('khuyết tật');
      const none = await get(`/programmes?q=${encodeURIComponent('%')}`, staff.token);
      expect(none.body).to.deep.equal({ items: [], nextCursor: null });
    });

    it('filters by active, both true and false', async () => {
      const off = await createProgramme(staff.token, { active: false });
      const inactive = await get('/programmes?active=false&limit=200', staff.token);
      expect(inactive.body.items.map((p: { id: number }) => p.id)).to.include(off.id);
      for (const p of inactive.body.items) expect(p.active).to.equal(false);
      const active = await get('/programmes?active=true&limit=200', staff.token);
      expect(active.body.items.map((p: { id: number }) => p.id)).to.not.include(off.id);
      expect(active.body.items.map((p: { code: string }) => p.code)).to.include('TCXH-KT');
      for (const p of active.body.items) expect(p.active).to.equal(true);
    });

    it('walks every programme exactly once by following nextCursor', async () => {
      await createProgramme(staff.token);
      const seen: number[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 500; i++) {
        const r: Reply = await get(`/programmes?limit=2${cursor ? `&cursor=${cursor}` : ''}`, staff.token);
        expect(r.status).to.equal(200);
        expect(r.body.items.length).to.be.at.most(2);
        seen.push(...r.body.items.map((p: { id: number }) => p.id));
        cursor = r.body.nextCursor;
        if (!cursor) break;
      }
      const all = (await query<{ id: number }>('SELECT id FROM programmes ORDER BY id')).map((x) => x.id);
      expect(seen).to.deep.equal(all);
    });

    it('refuses a cursor it did not issue with 400 INVALID_CURSOR and bad query values with 400 VALIDATION_FAILED', async () => {
      expectError(await get('/programmes?cursor=garbage', staff.token), 400, 'INVALID_CURSOR');
      expectError(await get(`/programmes?cursor=${Buffer.from('[-1]').toString('base64url')}`, staff.token), 400, 'INVALID_CURSOR');
      expectInvalid(await get('/programmes?limit=0', staff.token), 'query', 'limit');
      expectInvalid(await get('/programmes?limit=201', staff.token), 'query', 'limit');
      expectInvalid(await get('/programmes?active=yes', staff.token), 'query', 'active');
      expectInvalid(await get('/programmes?q=', staff.token), 'query', 'q');
      expectInvalid(await get('/programmes?colour=red', staff.token), 'query', '');
    });

    it('is open to every role', async () => {
      for (const u of [staff, admin, approver, auditor]) expect((await get('/programmes?limit=1', u.token)).status).to.equal(200);
    });
  });

  describe('GET /api/v1/programmes/:id', () => {
    it('returns the programme with its base levels ordered by effectiveFrom', async () => {
      const p = await createProgramme(staff.token, {
        baseLevels: [
          { effectiveFrom: '2024-07', amount: 500000 },
          { effectiveFrom: '2019-01', amount: 270000 },
          { effectiveFrom: '2021-07', amount: 360000 },
        ],
      });
      const r = await get(`/programmes/${p.id}`, approver.token);
      expect(r.status).to.equal(200);
      expect(r.body.baseLevels.map((l: { effectiveFrom: string }) => l.effectiveFrom)).to.deep.equal(['2019-01', '2021-07', '2024-07']);
      expect(r.body).to.deep.equal(p);
    });

    it('answers an unknown id with 404 PROGRAMME_NOT_FOUND and a bad id with 400 naming params.id', async () => {
      expectError(await get('/programmes/99999999', staff.token), 404, 'PROGRAMME_NOT_FOUND');
      expectInvalid(await get('/programmes/abc', staff.token), 'params', 'id');
      expectInvalid(await get('/programmes/0', staff.token), 'params', 'id');
    });
  });

  describe('PATCH /api/v1/programmes/:id', () => {
    it('renames, changes the frequency of and deactivates a programme, and audits before and after', async () => {
      const p = await createProgramme(staff.token);
      const r = await patch(`/programmes/${p.id}`, { name: ' Tên mới ', frequency: 'one_off', active: false }, staff.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.deep.equal({ ...p, name: 'Tên mới', frequency: 'one_off', active: false });
      expect(await dbProgramme(p.id)).to.deep.include({ name: 'Tên mới', frequency: 'one_off', active: 0, code: p.code });
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({
        action: 'programme.update',
        entity_type: 'programme',
        entity_id: String(p.id),
        actor_user_id: staff.id,
      });
      expect(ev.summary).to.deep.equal({
        before: { code: p.code, programmeName: p.name, frequency: 'monthly', active: true },
        after: { code: p.code, programmeName: 'Tên mới', frequency: 'one_off', active: false },
      });
    });

    it('reactivates a programme and leaves the other fields alone', async () => {
      const p = await createProgramme(admin.token, { active: false });
      const r = await patch(`/programmes/${p.id}`, { active: true }, admin.token);
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal({ ...p, active: true });
    });

    it('refuses bad bodies, a code change and an empty body with 400 naming the field, changing nothing', async () => {
      const p = await createProgramme(staff.token);
      const before = await counts();
      expectInvalid(await patch(`/programmes/${p.id}`, { name: '' }, staff.token), 'body', 'name');
      expectInvalid(await patch(`/programmes/${p.id}`, { frequency: 'daily' }, staff.token), 'body', 'frequency');
      expectInvalid(await patch(`/programmes/${p.id}`, { active: 1 }, staff.token), 'body', 'active');
      expectInvalid(await patch(`/programmes/${p.id}`, { code: 'NEW' }, staff.token), 'body', '');
      expectInvalid(await patch(`/programmes/${p.id}`, { baseLevels: [] }, staff.token), 'body', '');
      expectInvalid(await patch(`/programmes/${p.id}`, {}, staff.token), 'body', '');
      expectInvalid(await patch('/programmes/x', { name: 'A' }, staff.token), 'params', 'id');
      expect(await counts()).to.deep.equal(before);
      expect(await dbProgramme(p.id)).to.deep.include({ name: p.name, code: p.code, active: 1 });
    });

    it('answers an unknown id with 404 PROGRAMME_NOT_FOUND, writing nothing', async () => {
      const before = await counts();
      expectError(await patch('/programmes/99999999', { name: 'Không có' }, staff.token), 404, 'PROGRAMME_NOT_FOUND');
      expect(await counts()).to.deep.equal(before);
    });
  });

  describe('PUT /api/v1/programmes/:id/base-levels/:effectiveFrom', () => {
    it('adds a level from a new month with 201 and audits it with no before', async () => {
      const p = await createProgramme(staff.token);
      const r = await put(`/programmes/${p.id}/base-levels/2025-01`, { amount: 600000, reason: 'Nghị quyết HĐND tỉnh' }, staff.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.equal({
        programmeId: p.id,
        effectiveFrom: '2025-01',
        amount: 600000,
        reason: 'Nghị quyết HĐND tỉnh',
        previousAmount: null,
      });
      expect(await dbLevels(p.id)).to.deep.equal([
        { effective_from: 202107, amount: '360000', reason: LEVELS[0]!.reason, created_by: staff.id },
        { effective_from: 202407, amount: '500000', reason: LEVELS[1]!.reason, created_by: staff.id },
        { effective_from: 202501, amount: '600000', reason: 'Nghị quyết HĐND tỉnh', created_by: staff.id },
      ]);
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({
        action: 'programme.base_level_set',
        entity_type: 'programme',
        entity_id: String(p.id),
        actor_user_id: staff.id,
      });
      expect(ev.summary).to.deep.equal({
        before: null,
        after: { code: p.code, effectiveFrom: '2025-01', amount: 600000, reason: 'Nghị quyết HĐND tỉnh' },
      });
      expect((await get(`/programmes/${p.id}`, staff.token)).body.baseLevels.map((l: any) => l.effectiveFrom)).to.deep.equal([
        '2021-07',
        '2024-07',
        '2025-01',
      ]);
    });

    it('replaces the amount of an existing month with 200 and audits the amounts before and after', async () => {
      const p = await createProgramme(staff.token);
      const r = await put(`/programmes/${p.id}/base-levels/2024-07`, { amount: 550000, reason: 'Tỉnh nâng mức' }, admin.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.deep.equal({
        programmeId: p.id,
        effectiveFrom: '2024-07',
        amount: 550000,
        reason: 'Tỉnh nâng mức',
        previousAmount: 500000,
      });
      const rows = await dbLevels(p.id);
      expect(rows).to.have.length(2);
      expect(rows[1]).to.deep.equal({ effective_from: 202407, amount: '550000', reason: 'Tỉnh nâng mức', created_by: admin.id });
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({ action: 'programme.base_level_set', actor_user_id: admin.id });
      expect(ev.summary).to.deep.equal({
        before: { code: p.code, effectiveFrom: '2024-07', amount: 500000, reason: LEVELS[1]!.reason },
        after: { code: p.code, effectiveFrom: '2024-07', amount: 550000, reason: 'Tỉnh nâng mức' },
      });
    });

    it('answers the same amount and reason sent again with 200, changing and recording nothing', async () => {
      const p = await createProgramme(staff.token);
      const body = { amount: 650000, reason: 'Lặp lại' };
      expect((await put(`/programmes/${p.id}/base-levels/2025-03`, body, staff.token)).status).to.equal(201);
      const before = await counts();
      const again = await put(`/programmes/${p.id}/base-levels/2025-03`, body, staff.token);
      expect(again.status).to.equal(200);
      expect(again.body).to.deep.include({ amount: 650000, previousAmount: 650000 });
      expect(await counts()).to.deep.equal(before);
      expect(await auditsOfRequest(again)).to.equal(0);
    });

    it('adds a level to a programme created without any', async () => {
      const p = await createProgramme(staff.token, { baseLevels: undefined });
      const r = await put(`/programmes/${p.id}/base-levels/2024-01`, { amount: 400000, reason: 'Mức đầu tiên' }, staff.token);
      expect(r.status).to.equal(201);
      expect(await dbLevels(p.id)).to.have.length(1);
    });

    it('refuses a missing or bad reason, a bad amount and a bad month with 400 naming the field, writing nothing', async () => {
      const p = await createProgramme(staff.token);
      const before = await counts();
      const url = `/programmes/${p.id}/base-levels/2025-01`;
      const ok = { amount: 600000, reason: 'Lý do' };
      expectInvalid(await put(url, { amount: 600000 }, staff.token), 'body', 'reason');
      expectInvalid(await put(url, { ...ok, reason: '' }, staff.token), 'body', 'reason');
      expectInvalid(await put(url, { ...ok, reason: '   ' }, staff.token), 'body', 'reason');
      expectInvalid(await put(url, { ...ok, reason: 'x'.repeat(501) }, staff.token), 'body', 'reason');
      expectInvalid(await put(url, { ...ok, reason: null }, staff.token), 'body', 'reason');
      expectInvalid(await put(url, { reason: 'Lý do' }, staff.token), 'body', 'amount');
      expectInvalid(await put(url, { ...ok, amount: 0 }, staff.token), 'body', 'amount');
      expectInvalid(await put(url, { ...ok, amount: -1 }, staff.token), 'body', 'amount');
      expectInvalid(await put(url, { ...ok, amount: 600000.5 }, staff.token), 'body', 'amount');
      expectInvalid(await put(url, { ...ok, amount: 100_000_001 }, staff.token), 'body', 'amount');
      expectInvalid(await put(url, { ...ok, amount: '600000' }, staff.token), 'body', 'amount');
      expectInvalid(await put(url, { ...ok, effectiveFrom: '2025-02' }, staff.token), 'body', '');
      for (const month of ['2025-13', '2025-00', '2025-1', '202501', '1899-12'])
        expectInvalid(await put(`/programmes/${p.id}/base-levels/${month}`, ok, staff.token), 'params', 'effectiveFrom');
      expectInvalid(await put(`/programmes/abc/base-levels/2025-01`, ok, staff.token), 'params', 'id');
      expect(await counts()).to.deep.equal(before);
      expect(await dbLevels(p.id)).to.have.length(2);
    });

    it('accepts exactly 500 characters of reason and exactly 100,000,000 đồng', async () => {
      const p = await createProgramme(staff.token);
      const r = await put(`/programmes/${p.id}/base-levels/2026-01`, { amount: 100_000_000, reason: 'x'.repeat(500) }, staff.token);
      expect(r.status).to.equal(201);
    });

    it('answers an unknown programme with 404 PROGRAMME_NOT_FOUND, writing nothing', async () => {
      const before = await counts();
      expectError(
        await put('/programmes/99999999/base-levels/2025-01', { amount: 1, reason: 'x' }, staff.token),
        404,
        'PROGRAMME_NOT_FOUND',
      );
      expect(await counts()).to.deep.equal(before);
    });

    it('keeps one row per month when two first writes of the same month race', async () => {
      const p = await createProgramme(staff.token);
      const replies = await Promise.all(
        [610000, 620000].map((amount) => put(`/programmes/${p.id}/base-levels/2025-06`, { amount, reason: `Đua ${amount}` }, staff.token)),
      );
      expect(replies.map((r) => r.status).sort()).to.deep.equal([200, 201]);
      const rows = (await dbLevels(p.id)).filter((l) => l.effective_from === 202506);
      expect(rows).to.have.length(1);
      const second = replies.find((r) => r.status === 200)!;
      expect(rows[0]!.amount).to.equal(String(second.body.amount));
    });
  });

  describe('GET /api/v1/programmes/:id/entitlement', () => {
    it('uses 360,000 up to 2024-06 and 500,000 from 2024-07 (the seeded programme)', async () => {
      const nct = (await dbProgrammeByCode('TCXH-NCT80'))!;
      const june = await get(`/programmes/${nct.id}/entitlement?period=2024-06&coefficient=1.5`, approver.token);
      expect(june.status, JSON.stringify(june.body)).to.equal(200);
      expect(june.body).to.deep.equal({
        period: '2024-06',
        baseLevel: 360000,
        effectiveFrom: '2021-07',
        coefficientX100: 150,
        amount: 540000,
      });
      const july = await get(`/programmes/${nct.id}/entitlement?period=2024-07&coefficient=1.5`, auditor.token);
      expect(july.body).to.deep.equal({
        period: '2024-07',
        baseLevel: 500000,
        effectiveFrom: '2024-07',
        coefficientX100: 150,
        amount: 750000,
      });
      const severe = await get(`/programmes/${nct.id}/entitlement?period=2024-07&coefficient=2.5`, staff.token);
      expect(severe.body.amount).to.equal(1250000);
      const juneSevere = await get(`/programmes/${nct.id}/entitlement?period=2024-06&coefficient=2.5`, staff.token);
      expect(juneSevere.body.amount).to.equal(900000);
      const first = await get(`/programmes/${nct.id}/entitlement?period=2021-07&coefficient=2`, staff.token);
      expect(first.body).to.deep.include({ baseLevel: 360000, amount: 720000 });
      const later = await get(`/programmes/${nct.id}/entitlement?period=2030-12&coefficient=1`, staff.token);
      expect(later.body).to.deep.include({ baseLevel: 500000, effectiveFrom: '2024-07', amount: 500000 });
    });

    it('follows a level set through the API from its month on, and a replaced amount at once', async () => {
      const p = await createProgramme(staff.token);
      expect((await put(`/programmes/${p.id}/base-levels/2025-01`, { amount: 600000, reason: 'Tăng' }, staff.token)).status).to.equal(201);
      const dec = await get(`/programmes/${p.id}/entitlement?period=2024-12&coefficient=1.5`, staff.token);
      expect(dec.body).to.deep.include({ baseLevel: 500000, effectiveFrom: '2024-07', amount: 750000 });
      const jan = await get(`/programmes/${p.id}/entitlement?period=2025-01&coefficient=1.5`, staff.token);
      expect(jan.body).to.deep.include({ baseLevel: 600000, effectiveFrom: '2025-01', amount: 900000 });
      expect((await put(`/programmes/${p.id}/base-levels/2024-07`, { amount: 520000, reason: 'Sửa' }, staff.token)).status).to.equal(200);
      const dec2 = await get(`/programmes/${p.id}/entitlement?period=2024-12&coefficient=1.5`, staff.token);
      expect(dec2.body).to.deep.include({ baseLevel: 520000, amount: 780000 });
    });

    it('rounds half a đồng up: 333,333 × 1.5 = 499,999.5 → 500,000', async () => {
      const p = await createProgramme(staff.token, { baseLevels: [{ effectiveFrom: '2024-01', amount: 333333 }] });
      const r = await get(`/programmes/${p.id}/entitlement?period=2024-05&coefficient=1.50`, staff.token);
      expect(r.body).to.deep.equal({
        period: '2024-05',
        baseLevel: 333333,
        effectiveFrom: '2024-01',
        coefficientX100: 150,
        amount: 500000,
      });
      const odd = await get(`/programmes/${p.id}/entitlement?period=2024-05&coefficient=1.15`, staff.token);
      expect(odd.body).to.deep.include({ coefficientX100: 115, amount: 383333 }); // 383332.95
    });

    it('answers a month before the first level, or a programme with no level, with 404 NO_BASE_LEVEL', async () => {
      const nct = (await dbProgrammeByCode('TCXH-NCT80'))!;
      expectError(await get(`/programmes/${nct.id}/entitlement?period=2021-06&coefficient=1.5`, staff.token), 404, 'NO_BASE_LEVEL');
      const bare = await createProgramme(staff.token, { baseLevels: [] });
      expectError(await get(`/programmes/${bare.id}/entitlement?period=2024-07&coefficient=1`, staff.token), 404, 'NO_BASE_LEVEL');
    });

    it('answers an unknown programme with 404 PROGRAMME_NOT_FOUND', async () => {
      expectError(await get('/programmes/99999999/entitlement?period=2024-07&coefficient=1', staff.token), 404, 'PROGRAMME_NOT_FOUND');
    });

    it('refuses a missing or bad period or coefficient with 400 naming the field', async () => {
      const nct = (await dbProgrammeByCode('TCXH-NCT80'))!;
      const url = `/programmes/${nct.id}/entitlement`;
      expectInvalid(await get(`${url}?coefficient=1.5`, staff.token), 'query', 'period');
      for (const period of ['2024-13', '2024-7', '202407', 'July'])
        expectInvalid(await get(`${url}?period=${period}&coefficient=1.5`, staff.token), 'query', 'period');
      expectInvalid(await get(`${url}?period=2024-07`, staff.token), 'query', 'coefficient');
      for (const coef of ['abc', '0', '0.00', '10.01', '1.555', '-1', '1,5', '1e2'])
        expectInvalid(await get(`${url}?period=2024-07&coefficient=${encodeURIComponent(coef)}`, staff.token), 'query', 'coefficient');
      expect((await get(`${url}?period=2024-07&coefficient=10`, staff.token)).body.amount).to.equal(5000000);
      expect((await get(`${url}?period=2024-07&coefficient=0.01`, staff.token)).body.amount).to.equal(5000);
    });
  });

  describe('roles', () => {
    for (const role of ['approver', 'auditor'] as const) {
      it(`refuses an ${role} creating, changing or setting base levels with 403 ROLE_REQUIRED, writing nothing`, async () => {
        const user = { approver, auditor }[role];
        const p = await createProgramme(staff.token);
        const before = await counts();
        const code = progCode('x');
        expectError(await post('/programmes', { code, name: 'Không được', frequency: 'monthly' }, user.token), 403, 'ROLE_REQUIRED');
        expectError(await patch(`/programmes/${p.id}`, { name: 'Không được' }, user.token), 403, 'ROLE_REQUIRED');
        expectError(await put(`/programmes/${p.id}/base-levels/2025-01`, { amount: 1, reason: 'x' }, user.token), 403, 'ROLE_REQUIRED');
        expectError(await put(`/programmes/${p.id}/base-levels/2024-07`, { amount: 1, reason: 'x' }, user.token), 403, 'ROLE_REQUIRED');
        expect(await dbProgrammeByCode(code)).to.equal(undefined);
        expect(await dbProgramme(p.id)).to.deep.include({ name: p.name });
        expect((await dbLevels(p.id)).map((l) => l.amount)).to.deep.equal(['360000', '500000']);
        expect(await counts()).to.deep.equal(before);
      });
    }
  });

  describe('authentication', () => {
    it('refuses every endpoint without a token with 401 TOKEN_MISSING, writing nothing', async () => {
      const p = await createProgramme(staff.token);
      const before = await counts();
      const endpoints: [string, string, unknown][] = [
        ['GET', '/api/v1/programmes', undefined],
        ['GET', `/api/v1/programmes/${p.id}`, undefined],
        ['POST', '/api/v1/programmes', { code: progCode('a'), name: 'x', frequency: 'monthly' }],
        ['PATCH', `/api/v1/programmes/${p.id}`, { name: 'x' }],
        ['PUT', `/api/v1/programmes/${p.id}/base-levels/2025-01`, { amount: 1, reason: 'x' }],
        ['GET', `/api/v1/programmes/${p.id}/entitlement?period=2024-07&coefficient=1`, undefined],
      ];
      for (const [method, path, body] of endpoints) {
        expectError(await call(method, path, body === undefined ? {} : { body }), 401, 'TOKEN_MISSING');
      }
      expect(await counts()).to.deep.equal(before);
      expect(await dbProgramme(p.id)).to.deep.include({ name: p.name });
    });
  });

  describe('OpenAPI document', () => {
    it('describes every programme operation, with both 200 and 201 for setting a base level', async () => {
      const r = await call('GET', '/api/v1/openapi.json');
      const paths = r.body.paths as Record<string, Record<string, any>>;
      expect(Object.keys(paths['/api/v1/programmes']!)).to.include.members(['get', 'post']);
      expect(Object.keys(paths['/api/v1/programmes/{id}']!)).to.include.members(['get', 'patch']);
      expect(paths['/api/v1/programmes/{id}/entitlement']!.get).to.exist;
      const putOp = paths['/api/v1/programmes/{id}/base-levels/{effectiveFrom}']!.put;
      expect(Object.keys(putOp.responses)).to.include.members(['200', '201', '400', '401', '403', '404']);
      expect(putOp['x-roles']).to.deep.equal(['staff', 'admin']);
    });
  });
});

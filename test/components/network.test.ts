import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import { nearestPoint } from '../../src/components/network';
import { testApp } from '../helpers/app';
import { enrol, makeProgramme } from '../helpers/batches';
import { areaId, lastAudit, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, get, patch, post } from '../helpers/http';

// this file's own month and communes: nobody else pays anyone for 2037, and no other test registers points in Tây Hồ (003)
const MONTH = 203703;
const HEADER = ['point_code', 'kind', 'operator', 'name', 'area_code', 'address', 'latitude', 'longitude', 'opening_hours', 'active'];

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

function importFile(token: string, content: string | Buffer, fileName = 'points.csv') {
  const form = new FormData();
  form.append('file', new Blob([content]), fileName);
  return call('POST', '/api/v1/cash-out-point-imports', { token, form });
}

async function problemsOf(token: string, id: string): Promise<{ row: number; column: string | null; code: string }[]> {
  const r = await get(`/cash-out-point-imports/${id}/problems?limit=200`, token);
  expect(r.status).to.equal(200);
  return r.body.items.map((p: any) => ({ row: p.row, column: p.column, code: p.code }));
}

const csv = (rows: string[][], header = HEADER) => stringify([header, ...rows]);

/** A completed batch holding succeeded payments of MONTH, each to its enrolment's channel, bank or wallet. */
async function paid(programmeId: number, maker: TestUser, enrolmentIds: string[]): Promise<void> {
  const prefix = uniq('NET').toUpperCase().slice(0, 20);
  const b = await sql<{ insertId: number }>(
    `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
     SELECT ?, 'regular', ?, ?, ?, id, path, 'completed', ? FROM areas WHERE code = '01'`,
    [prefix, programmeId, MONTH, MONTH, maker.id],
  );
  let seq = 0;
  for (const e of enrolmentIds) {
    seq += 1;
    await sql(
      `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
         coefficient_x100, area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked, status)
       SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, ?, 0, 750000, 500000, 150, b.area_id, b.full_name, e.channel,
         e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked, e.wallet_enc, e.wallet_masked, 'succeeded'
       FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
      [b.insertId, seq, `${prefix}-${seq}`, MONTH, e],
    );
  }
}

describe('the withdrawal network', function () {
  this.timeout(30_000);
  let staff: TestUser;
  let staffBaDinh: TestUser;
  let auditor: TestUser;
  let admin: TestUser;
  let approver: TestUser;
  let phuThuong: number;
  let nhatTan: number;

  before(async () => {
    await testApp();
    staff = await makeUser(['staff']);
    staffBaDinh = await makeUser(['staff'], { area: '001' });
    auditor = await makeUser(['auditor'], { area: null });
    admin = await makeUser(['admin'], { area: null });
    approver = await makeUser(['approver'], { area: '003' });
    phuThuong = await areaId('00091');
    nhatTan = await areaId('00094');
  });

  after(async () => (await testApp()).services.exports.whenIdle());

  describe('the registry', () => {
    const atm = () => ({
      kind: 'atm',
      operator: '970436',
      pointCode: uniq('ATM').toUpperCase(),
      name: 'ATM Vietcombank Phú Thượng',
      areaId: phuThuong,
      address: '  12 Phú Thượng,   Tây Hồ ',
      latitude: 21.085123,
      longitude: 105.8091,
      openingHours: '24/7',
    });

    it('registers a point for staff of the area, audited with the actor, and lists it by commune, kind and operator', async () => {
      const body = atm();
      const r = await post('/cash-out-points', body, staff.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.include({ kind: 'atm', pointCode: body.pointCode, address: '12 Phú Thượng, Tây Hồ', latitude: 21.085123 });
      expect(r.body.operator).to.deep.equal({ type: 'bank', code: '970436', name: 'Vietcombank' });
      expect(r.body.area.code).to.equal('00091');
      const ev = await lastAudit('cash_out_point.create');
      expect(ev.actor_user_id).to.equal(staff.id);
      expect(ev.entity_id).to.equal(String(r.body.id));

      for (const q of [`areaId=${phuThuong}`, 'kind=atm', 'operator=970436']) {
        const list = await get(`/cash-out-points?${q}&limit=200`, auditor.token);
        expect(list.status).to.equal(200);
        expect(
          list.body.items.map((p: any) => p.id),
          q,
        ).to.include(r.body.id);
      }
      expect((await get(`/cash-out-points?areaId=${nhatTan}`, admin.token)).body.items.map((p: any) => p.id)).not.to.include(r.body.id);
      expect((await get('/cash-out-points?kind=post_office&limit=200', admin.token)).body.items.map((p: any) => p.id)).not.to.include(
        r.body.id,
      );
      // deactivating keeps the point, inactive
      const off = await patch(`/cash-out-points/${r.body.id}`, { active: false }, staff.token);
      expect(off.status).to.equal(200);
      expect(off.body.active).to.equal(false);
      expect((await lastAudit('cash_out_point.deactivate')).entity_id).to.equal(String(r.body.id));
      expect(
        (await get(`/cash-out-points?active=true&areaId=${phuThuong}&limit=200`, staff.token)).body.items.map((p: any) => p.id),
      ).not.to.include(r.body.id);
    });

    it('refuses each bad value with its code and the field', async () => {
      const cases: [Record<string, unknown>, number, string, string?][] = [
        [{ areaId: await areaId('003') }, 400, 'AREA_NOT_COMMUNE', 'areaId'],
        [{ areaId: 999_999 }, 400, 'AREA_NOT_FOUND', 'areaId'],
        [{ operator: '970999' }, 400, 'UNKNOWN_BANK', 'operator'],
        [{ operator: 'VIETTELMONEY' }, 400, 'OPERATOR_FORMAT', 'operator'],
        [{ kind: 'mobile_money_agent', operator: 'NOPE' }, 400, 'UNKNOWN_WALLET_PROVIDER', 'operator'],
        [{ kind: 'post_office', operator: '970436' }, 400, 'UNKNOWN_POSTAL_OPERATOR', 'operator'],
        [{ kind: 'kiosk' }, 400, 'VALIDATION_FAILED', 'kind'],
        [{ pointCode: 'bad code!' }, 400, 'VALIDATION_FAILED', 'pointCode'],
        [{ longitude: null }, 400, 'VALIDATION_FAILED', 'longitude'],
        [{ latitude: 91 }, 400, 'VALIDATION_FAILED', 'latitude'],
        [{ latitude: 21.1234567 }, 400, 'VALIDATION_FAILED', 'latitude'],
        [{ openingHours: 'x'.repeat(121) }, 400, 'VALIDATION_FAILED', 'openingHours'],
        [{ name: '' }, 400, 'VALIDATION_FAILED', 'name'],
      ];
      for (const [change, status, code, field] of cases) {
        const r = await post('/cash-out-points', { ...atm(), ...change }, staff.token);
        expect(r.status, `${JSON.stringify(change)}: ${JSON.stringify(r.body)}`).to.equal(status);
        expect(r.body.error.code, JSON.stringify(change)).to.equal(code);
        expect(JSON.stringify(r.body.error.details ?? r.body.error.message), JSON.stringify(change)).to.include(field);
      }
      const first = await post('/cash-out-points', atm(), staff.token);
      const again = await post('/cash-out-points', { ...atm(), pointCode: first.body.pointCode }, staff.token);
      expect([again.status, again.body.error.code]).to.deep.equal([409, 'POINT_EXISTS']);
      const mismatch = await patch(`/cash-out-points/${first.body.id}`, { kind: 'post_office' }, staff.token);
      expect([mismatch.status, mismatch.body.error.code]).to.deep.equal([400, 'KIND_OPERATOR_MISMATCH']);
      const kind = await patch(`/cash-out-points/${first.body.id}`, { kind: 'bank_agent', latitude: null, longitude: null }, staff.token);
      expect(kind.status).to.equal(200);
      expect([kind.body.kind, kind.body.latitude]).to.deep.equal(['bank_agent', null]);
    });

    it('keeps staff to their own area, lets auditors and administrators read, and nobody else', async () => {
      const own = await post('/cash-out-points', atm(), staff.token);
      const out = await post('/cash-out-points', atm(), staffBaDinh.token);
      expect([out.status, out.body.error.code]).to.deep.equal([403, 'AREA_OUT_OF_SCOPE']);
      const edit = await patch(`/cash-out-points/${own.body.id}`, { name: 'Đổi tên' }, staffBaDinh.token);
      expect([edit.status, edit.body.error.code]).to.deep.equal([404, 'POINT_NOT_FOUND']);
      expect((await get(`/cash-out-points/${own.body.id}`, staffBaDinh.token)).status).to.equal(404);
      expect((await get(`/cash-out-points?areaId=${phuThuong}`, staffBaDinh.token)).body.error.code).to.equal('AREA_OUT_OF_SCOPE');
      // moving a point of one's own area into another's is refused too
      const moved = await patch(
        `/cash-out-points/${own.body.id}`,
        { areaId: await areaId('00001') },
        (await makeUser(['staff'], { area: '003' })).token,
      );
      expect([moved.status, moved.body.error.code]).to.deep.equal([403, 'AREA_OUT_OF_SCOPE']);
      expect((await get(`/cash-out-points/${own.body.id}`, auditor.token)).status).to.equal(200);
      expect((await get(`/cash-out-points/${own.body.id}`, admin.token)).status).to.equal(200);
      expect((await post('/cash-out-points', atm(), auditor.token)).status).to.equal(403);
      expect((await patch(`/cash-out-points/${own.body.id}`, { active: false }, admin.token)).status).to.equal(403);
      expect((await get('/cash-out-points', approver.token)).status).to.equal(403);
    });
  });

  describe('POST /api/v1/cash-out-point-imports', () => {
    it('writes the valid rows, reports every bad one by row and column, and a second import of the file changes nothing', async () => {
      const a = uniq('PT').toUpperCase();
      const rows = [
        [`${a}-1`, 'ATM', '970418', 'ATM BIDV Nhật Tân', '00094', '1 Nhật Tân', '21.0801', '105.8201', '24/7', ''],
        [`${a}-2`, 'Bưu điện', 'vnpost', 'Bưu điện Nhật Tân', '00094', '2 Nhật Tân', '', '', 'T2-T7 7:30-17:00', 'có'],
        [`${a}-3`, 'mobile_money_agent', 'VIETTELMONEY', 'Đại lý Viettel', '00094', '3 Nhật Tân', '', '', '', '1'],
        [`${a}-4`, 'kiosk', '970418', 'X', '00094', 'x', '', '', '', ''], // row 5: kind
        [`${a}-5`, 'atm', '970999', 'X', '00094', 'x', '', '', '', ''], // row 6: bank
        [`${a}-6`, 'atm', '970418', 'X', '003', 'x', '', '', '', ''], // row 7: a district
        [`${a}-7`, 'atm', '970418', 'X', '00094', 'x', '91', '105', '', ''], // row 8: range
        [`${a}-8`, 'atm', '970418', 'X', '00094', 'x', '21.1', '', '', ''], // row 9: half a position
        [`${a}-1`, 'atm', '970418', 'X', '00094', 'x', '', '', '', ''], // row 10: the point of row 2 again
        ['', 'atm', '970418', '', '00094', 'x', '', '', '', 'maybe'], // row 11: code, name, active
        [`${a}-9`, 'atm', '970418', 'X', '99999', 'x', '', '', '', ''], // row 12: no such commune
      ];
      const file = csv(rows);
      const r = await importFile(staff.token, file);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.include({
        status: 'completed',
        rowsRead: 11,
        rowsValid: 3,
        rowsInvalid: 8,
        pointsCreated: 3,
        pointsUpdated: 0,
      });
      expect(await problemsOf(staff.token, r.body.id)).to.deep.equal([
        { row: 5, column: 'kind', code: 'UNKNOWN_KIND' },
        { row: 6, column: 'operator', code: 'UNKNOWN_BANK' },
        { row: 7, column: 'area_code', code: 'AREA_NOT_COMMUNE' },
        { row: 8, column: 'latitude', code: 'COORDINATE_RANGE' },
        { row: 9, column: 'longitude', code: 'COORDINATES_PAIRED' },
        { row: 10, column: 'point_code', code: 'DUPLICATE_POINT' },
        { row: 11, column: 'point_code', code: 'REQUIRED' },
        { row: 11, column: 'name', code: 'REQUIRED' },
        { row: 11, column: 'active', code: 'ACTIVE_FORMAT' },
        { row: 12, column: 'area_code', code: 'UNKNOWN_AREA' },
      ]);
      const stored = await sql<any[]>(
        'SELECT point_code, kind, operator_type, operator_code, latitude, opening_hours, active FROM cash_out_points WHERE point_code LIKE ? ORDER BY point_code',
        [`${a}-%`],
      );
      expect(stored.map((s) => [s.point_code, s.kind, s.operator_type, s.operator_code, s.latitude, s.active])).to.deep.equal([
        [`${a}-1`, 'atm', 'bank', '970418', '21.080100', 1],
        [`${a}-2`, 'post_office', 'post', 'VNPOST', null, 1],
        [`${a}-3`, 'mobile_money_agent', 'wallet', 'VIETTELMONEY', null, 1],
      ]);
      expect((await lastAudit('cash_out_point.import')).entity_id).to.equal(r.body.id);

      const again = await importFile(staff.token, file);
      expect(again.body).to.deep.include({ rowsValid: 3, pointsCreated: 0, pointsUpdated: 0, pointsUnchanged: 3 });
      // one change, one deactivation: two updated, the rest untouched
      const changed = csv([[...rows[0]!.slice(0, 8), 'T2-CN 6:00-22:00', ''], [...rows[1]!.slice(0, 9), 'không'], rows[2]!]);
      const third = await importFile(staff.token, changed);
      expect(third.body).to.deep.include({ pointsCreated: 0, pointsUpdated: 2, pointsUnchanged: 1, rowsInvalid: 0 });
      const after = await sql<any[]>(
        'SELECT point_code, opening_hours, active FROM cash_out_points WHERE point_code LIKE ? ORDER BY point_code',
        [`${a}-%`],
      );
      expect(after.map((s) => [s.opening_hours, s.active])).to.deep.equal([
        ['T2-CN 6:00-22:00', 1],
        ['T2-T7 7:30-17:00', 0],
        [null, 1],
      ]);
    });

    it('reads XLSX with Vietnamese headers, and refuses rows of communes and points outside the uploader’s area', async () => {
      const a = uniq('PX').toUpperCase();
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('Điểm rút tiền');
      ws.addRow(['Mã điểm', 'Loại điểm', 'Đơn vị vận hành', 'Tên điểm', 'Mã đơn vị hành chính', 'Địa chỉ', 'Vĩ độ', 'Kinh độ']);
      ws.addRow([`${a}-1`, 'Chi nhánh ngân hàng', 970436, 'Vietcombank Tứ Liên', '00097', '5 Tứ Liên', 21.07, 105.83]);
      ws.addRow([`${a}-2`, 'ATM', '970436', 'ATM Vietcombank Phúc Xá', '00001', '1 Phúc Xá', null, null]);
      const r = await importFile(staff.token, Buffer.from(await wb.xlsx.writeBuffer()), 'diem.xlsx');
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.include({ format: 'xlsx', pointsCreated: 2, rowsInvalid: 0 });
      const [p] = await sql<any[]>('SELECT kind, latitude, longitude FROM cash_out_points WHERE point_code = ?', [`${a}-1`]);
      expect(p).to.deep.equal({ kind: 'bank_branch', latitude: '21.070000', longitude: '105.830000' });

      // staff of Ba Đình: a Tây Hồ commune, and a point registered in Tây Hồ under another commune of theirs
      const other = csv([
        [`${a}-3`, 'atm', '970436', 'X', '00097', 'x', '', '', '', ''],
        [`${a}-1`, 'atm', '970436', 'X', '00004', 'x', '', '', '', ''],
        [`${a}-2`, 'atm', '970436', 'ATM Vietcombank Phúc Xá', '00001', '1 Phúc Xá', '', '', '', 'no'],
      ]);
      const out = await importFile(staffBaDinh.token, other);
      expect(out.body).to.deep.include({ rowsValid: 1, rowsInvalid: 2, pointsCreated: 0, pointsUpdated: 1 });
      expect(await problemsOf(staffBaDinh.token, out.body.id)).to.deep.equal([
        { row: 2, column: 'area_code', code: 'AREA_OUT_OF_SCOPE' },
        { row: 3, column: 'point_code', code: 'POINT_OUT_OF_SCOPE' },
      ]);
      // the import of another area is not theirs to read; the province's staff and auditors read it
      expect((await get(`/cash-out-point-imports/${r.body.id}`, staffBaDinh.token)).status).to.equal(404);
      expect((await get(`/cash-out-point-imports/${out.body.id}`, auditor.token)).status).to.equal(200);
      expect((await get('/cash-out-point-imports', staff.token)).body.items.map((i: any) => i.id)).to.include.members([
        r.body.id,
        out.body.id,
      ]);
      expect((await importFile(auditor.token, other)).status).to.equal(403);
    });

    it('records a file whose header is wrong as failed, with the columns named, and writes no point', async () => {
      const a = uniq('PH').toUpperCase();
      const r = await importFile(
        staff.token,
        csv([[a, 'atm', '970436', 'X', '00094']], ['point_code', 'kind', 'operator', 'name', 'area_code', 'adress']),
      );
      expect(r.status).to.equal(201);
      expect(r.body.status).to.equal('failed');
      expect(r.body.error.code).to.equal('BAD_HEADER');
      expect(await problemsOf(staff.token, r.body.id)).to.deep.equal([
        { row: 1, column: 'adress', code: 'UNKNOWN_COLUMN' },
        { row: 1, column: 'address', code: 'MISSING_COLUMN' },
      ]);
      expect((await sql<any[]>('SELECT id FROM cash_out_points WHERE point_code = ?', [a])).length).to.equal(0);
      const wrongType = await importFile(staff.token, 'x', 'points.txt');
      expect([wrongType.status, wrongType.body.error.code]).to.deep.equal([400, 'UNSUPPORTED_FILE_TYPE']);
    });

    it('creates the points of a file once when two imports of it run at the same time', async () => {
      const a = uniq('PC').toUpperCase();
      const file = csv(
        Array.from({ length: 40 }, (_, i) => [`${a}-${i}`, 'atm', '970407', `ATM ${i}`, '00100', `${i} Quảng An`, '', '', '', '']),
      );
      const [x, y] = await Promise.all([importFile(staff.token, file), importFile(staff.token, file)]);
      expect([x.status, y.status]).to.deep.equal([201, 201]);
      expect([x.body.pointsCreated, y.body.pointsCreated].sort()).to.deep.equal([0, 40]);
      expect([x.body.pointsUnchanged, y.body.pointsUnchanged].sort()).to.deep.equal([0, 40]);
      const [count] = await sql<{ n: string }[]>('SELECT COUNT(*) AS n FROM cash_out_points WHERE point_code LIKE ?', [`${a}-%`]);
      expect(Number(count!.n)).to.equal(40);
    });
  });

  describe('the access report', () => {
    let prog: { id: number };
    before(async () => {
      prog = await makeProgramme();
      // Phú Thượng (00091): an MB point; two paid by MB, one by Techcombank (no point), one by MoMo (no point), one in cash.
      // Nhật Tân (00094), whose points the import test above registered (BIDV, VNPOST, Viettel Money): one paid by MB (no point).
      await post(
        '/cash-out-points',
        {
          kind: 'bank_branch',
          operator: '970422',
          pointCode: uniq('MB').toUpperCase(),
          name: 'MB Phú Thượng',
          areaId: phuThuong,
          address: '9 Phú Thượng',
        },
        staff.token,
      );
      const people = [
        await enrol(prog.id, { area: '00091', channel: 'BANK', bankBin: '970422' }),
        await enrol(prog.id, { area: '00091', channel: 'BANK', bankBin: '970422' }),
        await enrol(prog.id, { area: '00091', channel: 'BANK', bankBin: '970407' }),
        await enrol(prog.id, { area: '00091', channel: 'WALLET', walletProvider: 'MOMO' }),
        await enrol(prog.id, { area: '00091', channel: 'CASH' }),
        await enrol(prog.id, { area: '00094', channel: 'BANK', bankBin: '970422' }),
      ];
      await paid(
        prog.id,
        staff,
        people.map((p) => p.enrolmentId),
      );
    });

    it('counts, per commune, people paid by bank and wallet, the points, and who has no point of their own operator, most first', async () => {
      const r = await get(`/network-access?period=2037-03&areaId=${await areaId('003')}`, approver.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      const byCode = Object.fromEntries(r.body.communes.map((c: any) => [c.area.code, c]));
      expect(byCode['00091']).to.deep.include({ paidByBank: 3, paidByWallet: 1, withoutPoint: 2 });
      expect(byCode['00091'].gaps).to.deep.equal([
        { type: 'bank', code: '970407', name: 'Techcombank', people: 1 },
        { type: 'wallet', code: 'MOMO', name: 'MoMo', people: 1 },
      ]);
      expect(byCode['00091'].pointsByOperator.find((o: any) => o.code === '970422')).to.deep.include({ points: 1 });
      expect(byCode['00094']).to.deep.include({ paidByBank: 1, paidByWallet: 0, withoutPoint: 1 });
      expect(byCode['00094'].pointsByKind).to.deep.include({ atm: 1, post_office: 0, mobile_money_agent: 1 });
      // ordered by the people without a point, most first
      const order = r.body.communes.map((c: any) => c.withoutPoint);
      expect(order).to.deep.equal([...order].sort((x: number, y: number) => y - x));
      expect(r.body.communes[0].area.code).to.equal('00091');
      const sum = (k: string) => r.body.communes.reduce((s: number, c: any) => s + c[k], 0);
      expect([r.body.total.paidByBank, r.body.total.withoutPoint, r.body.total.points]).to.deep.equal([
        sum('paidByBank'),
        sum('withoutPoint'),
        sum('points'),
      ]);
      expect(r.body.definition).to.match(/succeeded/);
      // an area outside the caller's scope is refused
      const out = await get(`/network-access?period=2037-03&areaId=${await areaId('001')}`, approver.token);
      expect([out.status, out.body.error.code]).to.deep.equal([403, 'AREA_OUT_OF_SCOPE']);
      expect((await get('/network-access?period=2037-13', approver.token)).status).to.equal(400);
    });

    it('exports the report as CSV with a manifest, one row per commune in the report’s order', async () => {
      const district = await areaId('003');
      const report = (await get(`/network-access?period=2037-03&areaId=${district}`, auditor.token)).body;
      const r = await post('/exports', { kind: 'network_access', format: 'csv', period: '2037-03', areaId: district }, staff.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(202);
      let m = r.body;
      for (let i = 0; m.status === 'running' && i < 200; i++) {
        await new Promise((res) => setTimeout(res, 50));
        m = (await get(`/exports/${m.id}`, staff.token)).body;
      }
      expect(m.status).to.equal('done');
      expect(m.rowCount).to.equal(report.communes.length);
      expect(m.totals).to.deep.include({ period: '2037-03', withoutPoint: report.total.withoutPoint, points: report.total.points });
      const { url } = await testApp();
      const res = await fetch(`${url}/api/v1/exports/${m.id}/file`, { headers: { authorization: `Bearer ${staff.token}` } });
      const text = await res.text();
      expect(res.headers.get('x-content-sha256')).to.equal(m.sha256);
      const lines = parse(text, { bom: true, columns: true }) as Record<string, string>[];
      expect(lines.map((l) => [l.communeCode, Number(l.withoutPoint)])).to.deep.equal(
        report.communes.map((c: any) => [c.area.code, c.withoutPoint]),
      );
      expect(lines[0]!.operatorsWithoutPoint).to.equal('970407:1 MOMO:1');
    });

    it('finds the point of a recipient’s operator in their commune in one query, the nearest when both have a position', async () => {
      const { infra } = await testApp();
      const code = uniq('NR').toUpperCase();
      for (const [i, lat] of [21.09, 21.081, 21.2].entries()) {
        await post(
          '/cash-out-points',
          {
            kind: 'atm',
            operator: '970405',
            pointCode: `${code}-${i}`,
            name: `Agribank ${i}`,
            areaId: nhatTan,
            address: `${i}`,
            latitude: lat,
            longitude: 105.82,
          },
          staff.token,
        );
      }
      const near = await nearestPoint(infra.ds, {
        operatorType: 'bank',
        operatorCode: '970405',
        areaId: nhatTan,
        latitude: 21.08,
        longitude: 105.82,
      });
      expect(near?.name).to.equal('Agribank 1');
      const none = await nearestPoint(infra.ds, { operatorType: 'bank', operatorCode: '970405', areaId: phuThuong });
      expect(none).to.equal(null);
      const [plan] = await infra.ds.query(
        `EXPLAIN SELECT cp.id FROM cash_out_points cp WHERE cp.operator_type = 'bank' AND cp.operator_code = '970405' AND cp.area_id = ? AND cp.active = 1`,
        [nhatTan],
      );
      expect(plan.key).to.equal('ix_cash_out_points_lookup');
    });
  });
});

import { createHash } from 'node:crypto';
import { expect } from 'chai';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { UNTOLD_EXPORT_COLUMNS, UNTOLD_REASONS } from '../../src/components/notifications';
import vi from '../../src/web/features/notifications/messages.vi.json';
import { testApp, type TestApp } from '../helpers/app';
import { enrol, makeProgramme } from '../helpers/batches';
import { areaId, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, get } from '../helpers/http';

const labels = vi as Record<string, string>;
const post = (path: string, body: unknown, token: string) => call('POST', `/api/v1${path}`, { token, body });

/**
 * A batch of Quận Ba Đình (001) whose messages went every way: not told for a reason the service writes (no mobile,
 * opted out), one the gateway reported (a number out of service), one the gateway named in its own words, a refusal
 * without a reason; told (delivered) and told otherwise (a hand-over superseded). Three communes.
 */
describe('GET /api/v1/notifications/batches/{batchId}/untold and its export (kind sms_untold)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let staff: TestUser;
  let colleague: TestUser;
  let approver: TestUser;
  let auditor: TestUser;
  let otherDistrict: TestUser;
  let admin: TestUser;
  let batchId: string;
  let communes: Record<string, number>;
  /** every phone, national ID and account of the batch's people: none may be in a file */
  const numbers: string[] = [];

  const sql = <T = any>(q: string, params: unknown[] = []) => app.infra.ds.query(q, params) as Promise<T>;

  before(async () => {
    app = await testApp();
    staff = await makeUser(['staff'], { area: '001' });
    colleague = await makeUser(['staff'], { area: '001' });
    approver = await makeUser(['approver'], { area: '001' });
    auditor = await makeUser(['auditor'], { area: null });
    otherDistrict = await makeUser(['approver'], { area: '002' });
    admin = await makeUser(['admin'], { area: null });
    communes = { '00001': await areaId('00001'), '00004': await areaId('00004'), '00006': await areaId('00006') };
    const prog = await makeProgramme();
    const prefix = `B202612${uniq('')
      .replace(/[^a-z0-9]/gi, '')
      .toUpperCase()
      .slice(-8)
      .padStart(8, 'Q')}`;
    const b = await sql<{ insertId: number }>(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       SELECT ?, 'regular', ?, 202612, 202612, id, path, 'completed', ? FROM areas WHERE code = '001'`,
      [prefix, prog.id, staff.id],
    );
    batchId = String(b.insertId);
    // name, commune, phone or none, status, reason, created (UTC)
    const people: [string, string, string | null, string, string | null, string][] = [
      ['Nguyễn Thị Lan', '00001', null, 'skipped', 'NO_MOBILE', '2026-12-10T17:30:00Z'],
      ['Trần Văn Bình', '00001', '0912000201', 'skipped', 'OPTED_OUT', '2026-12-10T03:00:00Z'],
      ['Lê Thị Hoa', '00004', null, 'skipped', 'NO_MOBILE', '2026-12-10T03:00:00Z'],
      ['Phạm Văn Cường', '00004', '0912000204', 'failed', 'NUMBER_NOT_IN_SERVICE', '2026-12-11T03:00:00Z'],
      ['Võ Thị Dung', '00006', '0912000205', 'failed', 'CARRIER_BUSY', '2026-12-11T03:00:00Z'],
      ['Đỗ Văn Em', '00001', '0912000206', 'delivered', null, '2026-12-11T03:00:00Z'],
      ['Bùi Thị Giang', '00004', '0912000207', 'dropped', 'SUPERSEDED', '2026-12-11T03:00:00Z'],
      ['Hồ Văn Hải', '00001', '0912000208', 'refused', null, '2026-12-11T03:00:00Z'],
    ];
    let seq = 0;
    for (const [fullName, commune, phone, status, reason, created] of people) {
      seq += 1;
      const e = await enrol(prog.id, { area: commune, fullName });
      numbers.push(e.account);
      const [nid] = await sql<{ national_id_enc: Buffer }[]>('SELECT national_id_enc FROM beneficiaries WHERE id = ?', [e.beneficiaryId]);
      numbers.push(app.services.cipher.decrypt(nid!.national_id_enc, 'nid'));
      if (phone) {
        numbers.push(phone, phone.slice(1));
        await sql('UPDATE beneficiaries SET phone_enc = ?, phone_masked = ? WHERE id = ?', [
          app.services.cipher.encrypt(phone, 'phone'),
          `${phone.slice(0, 3)}****${phone.slice(-3)}`,
          e.beneficiaryId,
        ]);
      }
      await sql(
        `INSERT INTO notification_messages (beneficiary_id, event, subject, reference, programme_id, area_id, batch_id, payment_seq, status, reason, created_at)
         VALUES (?, 'payment_paid', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          e.beneficiaryId,
          `${prefix}-${seq}`,
          `NTF-${prefix}-${seq}-PAID`,
          prog.id,
          communes[commune],
          batchId,
          seq,
          status,
          reason,
          new Date(created),
        ],
      );
    }
  });

  after(async () => (await testApp()).services.exports.whenIdle());

  const untold = (query: string, token = staff.token) => get(`/notifications/batches/${batchId}/untold${query}`, token);
  const names = (r: { body: { items: { fullName: string }[] } }) => r.body.items.map((i) => i.fullName);

  /** Every item the API lists with these filters, page after page. */
  async function allItems(query: string, token = staff.token): Promise<any[]> {
    const out: any[] = [];
    let after: string | null = null;
    do {
      const r = await untold(`?limit=2${query}${after ? `&after=${encodeURIComponent(after)}` : ''}`, token);
      expect(r.status, r.text).to.equal(200);
      out.push(...r.body.items);
      after = r.body.next;
    } while (after);
    return out;
  }

  describe('filters', () => {
    it('lists the whole batch with each recipient’s commune, the counts by reason and the communes with untold messages', async () => {
      const r = await untold('');
      expect(r.status, r.text).to.equal(200);
      expect(r.body.byReason).to.deep.equal({ NO_MOBILE: 2, OPTED_OUT: 1, NUMBER_NOT_IN_SERVICE: 1, CARRIER_BUSY: 1, refused: 1 });
      // by reference: the order of the list and of the file
      expect(names(r)).to.deep.equal(['Nguyễn Thị Lan', 'Trần Văn Bình', 'Lê Thị Hoa', 'Phạm Văn Cường', 'Võ Thị Dung', 'Hồ Văn Hải']);
      expect(r.body.items[2]).to.include({
        areaId: communes['00004'],
        areaName: 'Phường Trúc Bạch',
        status: 'skipped',
        reason: 'NO_MOBILE',
      });
      expect(r.body.communes).to.deep.equal([
        { areaId: communes['00001'], name: 'Phường Phúc Xá', count: 3 },
        { areaId: communes['00004'], name: 'Phường Trúc Bạch', count: 2 },
        { areaId: communes['00006'], name: 'Phường Vĩnh Phúc', count: 1 },
      ]);
      expect(r.text).to.not.match(/0912/);
    });

    it('narrows the items to a reason and keeps every reason’s count', async () => {
      const r = await untold('?reason=NO_MOBILE');
      expect(names(r)).to.deep.equal(['Nguyễn Thị Lan', 'Lê Thị Hoa']);
      expect(r.body.byReason).to.deep.equal({ NO_MOBILE: 2, OPTED_OUT: 1, NUMBER_NOT_IN_SERVICE: 1, CARRIER_BUSY: 1, refused: 1 });
      // a message without a reason is counted, and filtered, under its status
      expect(names(await untold('?reason=refused'))).to.deep.equal(['Hồ Văn Hải']);
      // a code the gateway gave in its own words is a reason of this batch
      expect(names(await untold('?reason=CARRIER_BUSY'))).to.deep.equal(['Võ Thị Dung']);
      // a reason the service knows that this batch has none of: an empty list, not a refusal
      const none = await untold('?reason=UNDELIVERABLE');
      expect(none.status).to.equal(200);
      expect(none.body.items).to.deep.equal([]);
    });

    it('narrows the items and the counts to a commune or a district, with the reason too, and pages them by reference', async () => {
      const c = await untold(`?areaId=${communes['00004']}`);
      expect(names(c)).to.deep.equal(['Lê Thị Hoa', 'Phạm Văn Cường']);
      expect(c.body.byReason).to.deep.equal({ NO_MOBILE: 1, NUMBER_NOT_IN_SERVICE: 1 });
      expect(c.body.communes).to.have.length(3); // still every commune, to choose another
      expect(names(await untold(`?areaId=${communes['00004']}&reason=NO_MOBILE`))).to.deep.equal(['Lê Thị Hoa']);
      expect(names(await untold(`?areaId=${communes['00001']}&reason=NUMBER_NOT_IN_SERVICE`))).to.deep.equal([]);
      expect((await untold(`?areaId=${await areaId('001')}`)).body.items).to.have.length(6);
      const paged = await allItems(`&areaId=${communes['00001']}`);
      expect(paged.map((i) => i.fullName)).to.deep.equal(['Nguyễn Thị Lan', 'Trần Văn Bình', 'Hồ Văn Hải']);
    });

    it('refuses a reason that is none with 400 UNKNOWN_REASON naming the parameter, and a malformed one with VALIDATION_FAILED', async () => {
      const r = await untold('?reason=NOT_A_REASON');
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal('UNKNOWN_REASON');
      expect(r.body.error.message).to.match(/^reason: NOT_A_REASON/);
      expect(r.body.error.details).to.deep.include({ location: 'query', path: 'reason', message: 'not a reason of the counts' });
      // a hand-over told by its newer revision is not untold: its reason is none of the counts
      expect((await untold('?reason=SUPERSEDED')).body.error.code).to.equal('UNKNOWN_REASON');
      const bad = await untold('?reason=no%20mobile');
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal('VALIDATION_FAILED');
      expect(bad.body.error.message).to.match(/^query\.reason/);
      expect((await untold('?areaId=abc')).body.error.message).to.match(/^query\.areaId/);
    });

    it('knows a Vietnamese label for every reason it knows', () => {
      for (const r of UNTOLD_REASONS) {
        expect(labels[`notifications.reason.${r}`] ?? labels[`notifications.status.${r}`], r).to.be.a('string');
      }
    });
  });

  describe('scope', () => {
    it('answers an officer of another district 404 BATCH_NOT_FOUND, for the list and the export', async () => {
      const r = await untold('', otherDistrict.token);
      expect(r.status).to.equal(404);
      expect(r.body.error.code).to.equal('BATCH_NOT_FOUND');
      const x = await post('/exports', { kind: 'sms_untold', format: 'csv', batchId }, otherDistrict.token);
      expect(x.status).to.equal(404);
      expect(x.body.error.code).to.equal('BATCH_NOT_FOUND');
    });

    it('answers an area outside the caller’s subtree as a missing one: 404 AREA_NOT_FOUND', async () => {
      const outside = await untold(`?areaId=${await areaId('00040')}`);
      expect(outside.status).to.equal(404);
      expect(outside.body.error.code).to.equal('AREA_NOT_FOUND');
      const missing = await untold('?areaId=4000000000');
      expect(missing.status).to.equal(404);
      expect(missing.body.error.code).to.equal('AREA_NOT_FOUND');
      expect(missing.body.error.message).to.equal(outside.body.error.message.replace(/\d+$/, '4000000000'));
      const x = await post('/exports', { kind: 'sms_untold', format: 'csv', batchId, areaId: await areaId('00040') }, staff.token);
      expect(x.status).to.equal(404);
      expect(x.body.error.code).to.equal('AREA_NOT_FOUND');
    });

    it('is not for administrators (403 ROLE_REQUIRED), and an export refuses an unknown reason as the list does', async () => {
      expect((await untold('', admin.token)).status).to.equal(403);
      const x = await post('/exports', { kind: 'sms_untold', format: 'csv', batchId }, admin.token);
      expect(x.status).to.equal(403);
      expect(x.body.error.code).to.equal('ROLE_REQUIRED');
      const bad = await post('/exports', { kind: 'sms_untold', format: 'csv', batchId, reason: 'NOT_A_REASON' }, staff.token);
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal('UNKNOWN_REASON');
      const [made] = await sql<{ n: string }[]>("SELECT COUNT(*) AS n FROM exports WHERE kind = 'sms_untold' AND user_id = ?", [admin.id]);
      expect(Number(made!.n)).to.equal(0);
    });
  });

  describe('the export', () => {
    async function waitDone(id: string, token: string): Promise<any> {
      const end = Date.now() + 20_000;
      for (;;) {
        const r = await get(`/exports/${id}`, token);
        expect(r.status, r.text).to.equal(200);
        if (r.body.status !== 'running') return r.body;
        if (Date.now() > end) throw new Error(`export ${id} still running`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }

    async function download(id: string, token: string): Promise<{ status: number; bytes: Buffer; json?: any }> {
      const res = await fetch(`${app.url}/api/v1/exports/${id}/file`, { headers: { authorization: `Bearer ${token}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      return {
        status: res.status,
        bytes,
        ...((res.headers.get('content-type') ?? '').includes('json') ? { json: JSON.parse(bytes.toString()) } : {}),
      };
    }

    async function exportOf(body: Record<string, unknown>, token: string): Promise<{ manifest: any; bytes: Buffer }> {
      const r = await post('/exports', { kind: 'sms_untold', batchId, ...body }, token);
      expect(r.status, r.text).to.equal(202);
      const manifest = await waitDone(r.body.id, token);
      expect(manifest.status, manifest.error).to.equal('done');
      const d = await download(manifest.id, token);
      expect(d.status).to.equal(200);
      expect(createHash('sha256').update(d.bytes).digest('hex')).to.equal(manifest.sha256);
      return { manifest, bytes: d.bytes };
    }

    /** The line the file must hold for an item of the API: the commune, the name and the console's words. */
    const lineOf = (i: any): string[] => {
      const vn = new Date(new Date(i.createdAt).getTime() + 7 * 3600_000).toISOString();
      return [
        i.areaName,
        i.fullName,
        labels[`notifications.event.${i.event}`]!,
        labels[`notifications.status.${i.status}`]!,
        i.reason === null ? labels[`notifications.status.${i.status}`]! : (labels[`notifications.reason.${i.reason}`] ?? i.reason),
        i.reference,
        `${vn.slice(8, 10)}/${vn.slice(5, 7)}/${vn.slice(0, 4)}`,
      ];
    };

    /**
     * None of the people's numbers; in a file, no long run of digits at all but in the message references (a batch's
     * prefix is the month and random letters and digits: B202612 then 3 is already nine digits; an event's summary
     * holds a SHA-256).
     */
    const expectNoNumber = (text: string, file = true) => {
      for (const n of numbers) expect(text, 'a phone, national ID or account').to.not.contain(n);
      if (file) expect(text.replace(/NTF-[A-Za-z0-9-]+/g, 'NTF-…')).to.not.match(/\d{9,}/);
    };

    it('writes as CSV the lines the API lists, line by line, in Vietnamese words, with no number; audited', async () => {
      const { manifest, bytes } = await exportOf({ format: 'csv' }, staff.token);
      const text = bytes.toString('utf8');
      expect(text.charCodeAt(0)).to.equal(0xfeff);
      const rows = parse(bytes, { bom: true }) as string[][];
      expect(rows[0]).to.deep.equal([...UNTOLD_EXPORT_COLUMNS]);
      const items = await allItems('');
      expect(rows.slice(1)).to.deep.equal(items.map(lineOf));
      expect(rows[1]).to.deep.equal([
        'Phường Phúc Xá',
        'Nguyễn Thị Lan',
        'Đã chuyển tiền',
        'Không gửi',
        'Không có số di động',
        items[0].reference,
        '11/12/2026', // made at 17:30 UTC on the 10th: 00:30 on the 11th in Vietnam
      ]);
      expect(rows.find((r) => r[1] === 'Võ Thị Dung')![4]).to.equal('CARRIER_BUSY'); // a code nobody worded is shown as it is
      expect(rows.find((r) => r[1] === 'Hồ Văn Hải')![4]).to.equal('Bị từ chối');
      expectNoNumber(text);
      expect(manifest).to.deep.include({ kind: 'sms_untold', rowCount: 6, fullValues: false, totalAmount: null });
      expect(manifest.params).to.deep.equal({ batchId, areaCode: '001' });
      expect(manifest.areaPath).to.match(/^\/\d+\/\d+\/$/);
      expect(manifest.totals.byReason).to.deep.equal({ NO_MOBILE: 2, OPTED_OUT: 1, NUMBER_NOT_IN_SERVICE: 1, CARRIER_BUSY: 1, refused: 1 });
      expect(manifest.fileName).to.equal(`export-${manifest.id}-sms-untold-batch${batchId}-001.csv`);
      for (const action of ['export.requested', 'export.created', 'export.downloaded']) {
        const [ev] = await sql<any[]>('SELECT actor_user_id, summary FROM audit_events WHERE action = ? AND entity_id = ?', [
          action,
          manifest.id,
        ]);
        expect(ev, action).to.exist;
        expect(ev.actor_user_id).to.equal(staff.id);
        expectNoNumber(String(ev.summary), false);
      }
    });

    it('writes the same filters as the API (a reason, a commune) as CSV and XLSX, for an area officer', async () => {
      const filter = { reason: 'NO_MOBILE', areaId: communes['00004'] };
      const items = await allItems(`&reason=NO_MOBILE&areaId=${communes['00004']}`, approver.token);
      expect(items.map((i) => i.fullName)).to.deep.equal(['Lê Thị Hoa']);
      const csv = await exportOf({ format: 'csv', ...filter }, approver.token);
      expect((parse(csv.bytes, { bom: true }) as string[][]).slice(1)).to.deep.equal(items.map(lineOf));
      expect(csv.manifest.params).to.deep.equal({ batchId, reason: 'NO_MOBILE', areaId: communes['00004'], areaCode: '00004' });
      expect(csv.manifest.fileName).to.equal(`export-${csv.manifest.id}-sms-untold-batch${batchId}-NO_MOBILE-00004.csv`);
      const xlsx = await exportOf({ format: 'xlsx', ...filter }, approver.token);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(xlsx.bytes as unknown as ExcelJS.Buffer);
      const sheet = wb.worksheets[0]!;
      const rows: string[][] = [];
      sheet.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map(String)));
      expect(rows).to.deep.equal([[...UNTOLD_EXPORT_COLUMNS], ...items.map(lineOf)]);
      expect(wb.worksheets.map((w) => w.name)).to.deep.equal(['Chưa nhận được tin', 'Manifest']);
      expectNoNumber(rows.flat().join('\n'));
    });

    it('lets only its maker download the file (403 EXPORT_NOT_YOURS to a colleague), an auditor read the manifest', async () => {
      const { manifest } = await exportOf({ format: 'csv' }, staff.token);
      const d = await download(manifest.id, colleague.token);
      expect(d.status).to.equal(403);
      expect(d.json.error.code).to.equal('EXPORT_NOT_YOURS');
      expect((await get(`/exports/${manifest.id}`, auditor.token)).status).to.equal(200);
      expect((await download(manifest.id, auditor.token)).json.error.code).to.equal('EXPORT_NOT_YOURS');
      const far = await download(manifest.id, otherDistrict.token);
      expect(far.status).to.equal(404);
      // an auditor makes one of their own, of the whole batch
      const own = await exportOf({ format: 'csv' }, auditor.token);
      expect(own.manifest.rowCount).to.equal(6);
    });
  });
});

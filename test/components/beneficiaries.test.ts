import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { areaId, lastAudit, makeUser, type TestUser } from '../helpers/factories';
import { get, patch, post } from '../helpers/http';
import { person, rollCsv, upload, waitForImport, type RollRecord } from '../helpers/rolls';
import { testWorker } from '../helpers/worker';

async function sql(q: string, params: unknown[] = []): Promise<any> {
  const { infra } = await testApp();
  return infra.ds.query(q, params);
}

/** Imports rows through the real upload and worker; returns the stored beneficiary ids by national ID. */
async function importPeople(token: string, rows: RollRecord[]): Promise<Map<string, string>> {
  const up = await upload(token, rollCsv(rows));
  const done = await waitForImport(token, up.body.id);
  expect(done.status).to.equal('completed');
  expect(done.progress.rowsInvalid, JSON.stringify((await get(`/roll-imports/${up.body.id}/problems`, token)).body)).to.equal(0);
  const { services } = await testApp();
  const ids = new Map<string, string>();
  for (const r of rows) {
    const [b] = await sql('SELECT id FROM beneficiaries WHERE national_id_hash = ?', [services.cipher.lookupHash('nid', r.national_id!)]);
    ids.set(r.national_id!, String(b.id));
  }
  return ids;
}

describe('the roll API', () => {
  let staff: TestUser;
  let districtStaff: TestUser;
  let approver: TestUser;
  let auditor: TestUser;
  const surname = `Hoàng${Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;
  const hoa = person({ full_name: `${surname} Thị Hoa`, gender: 'F', account_name: `${surname.replace('à', 'a').toUpperCase()} THI HOA` });
  hoa.national_id = `0011${hoa.national_id!.slice(4)}`;
  const binh = person({
    full_name: `${surname} Văn Bình`,
    account_name: `${surname.replace('à', 'a').toUpperCase()} VAN BINH`,
    area_code: '00037',
  });
  let ids: Map<string, string>;

  before(async () => {
    await testWorker();
    staff = await makeUser(['staff'], { area: '01' });
    districtStaff = await makeUser(['staff'], { area: '001' });
    approver = await makeUser(['approver'], { area: '001' });
    auditor = await makeUser(['auditor'], { area: null });
    ids = await importPeople(staff.token, [hoa, binh]);
  });

  describe('GET /api/v1/beneficiaries', () => {
    it('finds people by the start of their name without diacritics, masked, in name order', async () => {
      const folded = surname.replace('à', 'a').toLowerCase();
      const r = await get(`/beneficiaries?q=${encodeURIComponent(folded)}`, staff.token);
      expect(r.status).to.equal(200);
      expect(r.body.items.map((b: { fullName: string }) => b.fullName)).to.deep.equal([`${surname} Thị Hoa`, `${surname} Văn Bình`]);
      for (const b of r.body.items) expect(b.nationalId).to.match(/^\d{4}\*{6}\d{2}$/);
      const given = await get(`/beneficiaries?given=binh%20${encodeURIComponent(folded)}`, staff.token);
      expect(given.body.items.map((b: { id: string }) => b.id)).to.deep.equal([ids.get(binh.national_id!)]);
    });

    it('finds one person by exact national ID', async () => {
      const r = await get(`/beneficiaries?nationalId=${hoa.national_id}`, staff.token);
      expect(r.body.items).to.have.length(1);
      expect(r.body.items[0].id).to.equal(ids.get(hoa.national_id!));
    });

    it('pages through a name search with the cursor, each person once', async () => {
      const folded = surname.replace('à', 'a').toLowerCase();
      const first = await get(`/beneficiaries?q=${encodeURIComponent(folded)}&limit=1`, staff.token);
      expect(first.body.items).to.have.length(1);
      expect(first.body.nextCursor).to.be.a('string');
      const second = await get(`/beneficiaries?q=${encodeURIComponent(folded)}&limit=1&cursor=${first.body.nextCursor}`, staff.token);
      expect(second.body.items).to.have.length(1);
      expect(second.body.items[0].id).not.to.equal(first.body.items[0].id);
    });

    it('limits a district officer to the people of their district', async () => {
      const folded = surname.replace('à', 'a').toLowerCase();
      const r = await get(`/beneficiaries?q=${encodeURIComponent(folded)}`, districtStaff.token);
      expect(r.body.items.map((b: { id: string }) => b.id)).to.deep.equal([ids.get(hoa.national_id!)]);
      const other = await get(`/beneficiaries/${ids.get(binh.national_id!)}`, districtStaff.token);
      expect(other.status).to.equal(404);
      expect(other.body.error.code).to.equal('BENEFICIARY_NOT_FOUND');
    });

    it('filters by programme, channel and status; refuses q with given', async () => {
      const [prog] = await sql("SELECT id FROM programmes WHERE code = 'TCXH-NCT80'");
      const folded = surname.replace('à', 'a').toLowerCase();
      const r = await get(`/beneficiaries?q=${encodeURIComponent(folded)}&programmeId=${prog.id}&channel=BANK&status=active`, staff.token);
      expect(r.body.items).to.have.length(2);
      const none = await get(`/beneficiaries?q=${encodeURIComponent(folded)}&channel=CASH`, staff.token);
      expect(none.body.items).to.have.length(0);
      const both = await get('/beneficiaries?q=a&given=b', staff.token);
      expect(both.status).to.equal(400);
    });
  });

  describe('GET /api/v1/beneficiaries/:id', () => {
    it('shows enrolments with masked identifiers by default', async () => {
      const r = await get(`/beneficiaries/${ids.get(hoa.national_id!)}`, approver.token);
      expect(r.status).to.equal(200);
      expect(r.body.revealed).to.equal(false);
      expect(r.body.enrolments).to.have.length(1);
      expect(r.body.enrolments[0]).to.include({ programmeCode: 'TCXH-NCT80', coefficient: '1.5', status: 'active', channel: 'BANK' });
      expect(r.body.enrolments[0].accountNumber).to.match(/^\*+\d{4}$/);
      expect(JSON.stringify(r.body)).not.to.contain(hoa.national_id!);
    });

    it('reveals full identifiers to staff and auditors, and audits each such read', async () => {
      const id = ids.get(hoa.national_id!)!;
      const r = await get(`/beneficiaries/${id}?reveal=true&reason=${encodeURIComponent('checking a returned payment')}`, auditor.token);
      expect(r.status).to.equal(200);
      expect(r.body.nationalId).to.equal(hoa.national_id);
      expect(r.body.enrolments[0].accountNumber).to.equal(hoa.account_number);
      const event = await lastAudit('beneficiary.reveal');
      expect(event).to.include({ action: 'beneficiary.reveal', entity_id: id, actor_user_id: auditor.id });
      expect(JSON.parse(event.summary)).to.include({ note: 'checking a returned payment' });
      const refused = await get(`/beneficiaries/${id}?reveal=true&reason=curious`, approver.token);
      expect(refused.status).to.equal(403);
      expect(refused.body.error.code).to.equal('REVEAL_NOT_ALLOWED');
    });

    it('refuses a reveal without a reason with 400 VALIDATION_FAILED naming reason, and audits nothing', async () => {
      const id = ids.get(hoa.national_id!)!;
      const before = await lastAudit('beneficiary.reveal');
      for (const q of ['reveal=true', 'reveal=true&reason=%20%20']) {
        const r = await get(`/beneficiaries/${id}?${q}`, staff.token);
        expect(r.status, q).to.equal(400);
        expect(r.body.error.code).to.equal('VALIDATION_FAILED');
        expect(r.body.error.details.map((d: { path: string }) => d.path)).to.include('reason');
        expect(JSON.stringify(r.body)).not.to.contain(hoa.national_id!);
      }
      expect((await lastAudit('beneficiary.reveal')).summary).to.equal(before.summary);
    });

    it('answers 404 for an unknown person and 401 without a token', async () => {
      expect((await get('/beneficiaries/999999999', staff.token)).status).to.equal(404);
      expect((await get('/beneficiaries/1')).status).to.equal(401);
    });
  });

  describe('changes', () => {
    it('corrects a phone with history and audit; refuses a birth date the national ID contradicts', async () => {
      const id = ids.get(hoa.national_id!)!;
      const r = await patch(`/beneficiaries/${id}`, { phone: '0912345678', reason: 'new number given at the commune office' }, staff.token);
      expect(r.status).to.equal(200);
      expect(r.body.phone).to.equal('091*****78');
      const history = await get(`/beneficiaries/${id}/history`, staff.token);
      expect(history.body.items[0]).to.include({
        change: 'beneficiary.updated',
        reason: 'new number given at the commune office',
        changedBy: staff.id,
      });
      expect(await lastAudit('beneficiary.update')).to.include({ action: 'beneficiary.update', entity_id: id });
      const bad = await patch(`/beneficiaries/${id}`, { dateOfBirth: '1975-01-01', reason: 'typo' }, staff.token);
      expect(bad.status).to.equal(400);
      expect(bad.body.error.details.map((d: { path: string }) => d.path)).to.include('nationalId');
    });

    it('changes a coefficient with history; refuses an account another person holds with 409 SHARED_ACCOUNT', async () => {
      const id = ids.get(hoa.national_id!)!;
      const detail = await get(`/beneficiaries/${id}`, staff.token);
      const enrolmentId = detail.body.enrolments[0].id as string;
      const r = await patch(`/enrolments/${enrolmentId}`, { coefficient: '2', reason: 'turned 80' }, staff.token);
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ coefficient: '2', coefficientX100: 200, version: 2 });
      const [h] = await sql('SELECT * FROM roll_history WHERE enrolment_id = ? ORDER BY id DESC LIMIT 1', [enrolmentId]);
      expect(JSON.parse(h.before_state).coefficientX100).to.equal(150);
      expect(JSON.parse(h.after_state).coefficientX100).to.equal(200);
      const shared = await patch(
        `/enrolments/${enrolmentId}`,
        { bankCode: binh.bank_code, accountNumber: binh.account_number, reason: 'new account' },
        staff.token,
      );
      expect(shared.status).to.equal(409);
      expect(shared.body.error.code).to.equal('SHARED_ACCOUNT');
    });

    it('moves a person to a wallet, flagging a name mismatch', async () => {
      const id = ids.get(binh.national_id!)!;
      const detail = await get(`/beneficiaries/${id}`, staff.token);
      const enrolmentId = detail.body.enrolments[0].id as string;
      const r = await patch(
        `/enrolments/${enrolmentId}`,
        {
          channel: 'WALLET',
          walletProvider: 'VIETTELMONEY',
          walletId: '0987654321',
          accountName: 'SOMEONE ELSE',
          reason: 'prefers Viettel Money',
        },
        staff.token,
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.include({
        channel: 'WALLET',
        walletProvider: 'VIETTELMONEY',
        walletId: '098*****21',
        nameMismatch: true,
        bankCode: null,
      });
      const [e] = await sql('SELECT account_hash, account_enc, wallet_enc FROM enrolments WHERE id = ?', [enrolmentId]);
      expect(e.account_hash).to.equal(null);
      expect(e.wallet_enc.includes(Buffer.from('0987654321'))).to.equal(false);
      const audited = await lastAudit('enrolment.updated');
      expect(audited.entity_id).to.equal(enrolmentId);
      const summary = JSON.parse(audited.summary);
      expect(summary.after, 'the holder name is personal data: only that it changed').to.include({
        accountNameChanged: true,
        wallet: '098*****21',
      });
      expect(summary.before).not.to.have.property('accountName');
      expect(summary.after).not.to.have.property('accountName');
      expect(audited.summary).not.to.contain('SOMEONE ELSE');
    });

    it('suspends, resumes and ends an enrolment; refuses illegal moves with 409 ILLEGAL_STATUS_CHANGE', async () => {
      const extra = person();
      const map = await importPeople(staff.token, [extra]);
      const detail = await get(`/beneficiaries/${map.get(extra.national_id!)}`, staff.token);
      const eid = detail.body.enrolments[0].id as string;
      const resumeActive = await post(`/enrolments/${eid}/resume`, { reason: 'not suspended' }, staff.token);
      expect(resumeActive.status).to.equal(409);
      expect(resumeActive.body.error.code).to.equal('ILLEGAL_STATUS_CHANGE');
      expect((await post(`/enrolments/${eid}/suspend`, { reason: 'not at home for verification' }, staff.token)).body.status).to.equal(
        'suspended',
      );
      expect((await post(`/enrolments/${eid}/resume`, { reason: 'verified' }, staff.token)).body.status).to.equal('active');
      const ended = await post(`/enrolments/${eid}/end`, { reason: 'deceased', endPeriod: '2024-10' }, staff.token);
      expect(ended.body).to.include({ status: 'ended', endPeriod: '2024-10', statusReason: 'deceased' });
      expect(await lastAudit('enrolment.ended')).to.include({ action: 'enrolment.ended', entity_id: eid, actor_user_id: staff.id });
      const again = await post(`/enrolments/${eid}/suspend`, { reason: 'x x x' }, staff.token);
      expect(again.status).to.equal(409);
      const changeEnded = await patch(`/enrolments/${eid}`, { coefficient: '2', reason: 'too late' }, staff.token);
      expect(changeEnded.body.error.code).to.equal('ENROLMENT_ENDED');
    });

    it('refuses a correction made on a stale read with 409 BENEFICIARY_CHANGED / ENROLMENT_CHANGED, and changes nothing', async () => {
      const id = ids.get(binh.national_id!)!;
      const read = (await get(`/beneficiaries/${id}`, staff.token)).body;
      const enrolment = read.enrolments[0];
      const first = await patch(
        `/beneficiaries/${id}`,
        { phone: '0933222111', updatedAt: read.updatedAt, reason: 'number checked at the office' },
        staff.token,
      );
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      const stale = await patch(
        `/beneficiaries/${id}`,
        { phone: '0944000111', updatedAt: read.updatedAt, reason: 'other number' },
        staff.token,
      );
      expect(stale.status).to.equal(409);
      expect(stale.body.error.code).to.equal('BENEFICIARY_CHANGED');
      expect((await get(`/beneficiaries/${id}`, staff.token)).body.phone).to.equal('093*****11');

      const ok = await patch(
        `/enrolments/${enrolment.id}`,
        { coefficient: '1.2', version: enrolment.version, reason: 'reviewed' },
        staff.token,
      );
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body.version).to.equal(enrolment.version + 1);
      const late = await patch(
        `/enrolments/${enrolment.id}`,
        { coefficient: '3', version: enrolment.version, reason: 'reviewed again' },
        staff.token,
      );
      expect(late.status).to.equal(409);
      expect(late.body.error).to.include({ code: 'ENROLMENT_CHANGED' });
      expect(late.body.error.details).to.deep.include({ version: enrolment.version + 1 });
      expect((await get(`/beneficiaries/${id}`, staff.token)).body.enrolments[0].coefficient).to.equal('1.2');
      // a version alone changes nothing and is refused like an empty change
      expect((await patch(`/enrolments/${enrolment.id}`, { version: ok.body.version, reason: 'nothing' }, staff.token)).status).to.equal(
        400,
      );
    });

    it('moves a person to another commune of the caller’s area with a reason, history and audit; refuses other areas naming areaId', async () => {
      const mover = person();
      const map = await importPeople(staff.token, [mover]);
      const id = map.get(mover.national_id!)!;
      const read = (await get(`/beneficiaries/${id}`, districtStaff.token)).body;
      expect(read.areaCode).to.equal('00001');
      const [phucTan, trucBach, district] = [await areaId('00037'), await areaId('00004'), await areaId('001')];
      const refusedWith = async (body: object, status: number, code: string) => {
        const r = await patch(`/beneficiaries/${id}`, { updatedAt: read.updatedAt, reason: 'moved house', ...body }, districtStaff.token);
        expect(r.status, JSON.stringify(r.body)).to.equal(status);
        expect(r.body.error.code).to.equal(code);
        return r;
      };
      // a commune of another district: outside a district officer's area
      const outside = await refusedWith({ areaId: phucTan }, 403, 'AREA_OUT_OF_SCOPE');
      expect(outside.body.error.details.map((d: { path: string }) => d.path)).to.deep.equal(['areaId']);
      const notCommune = await refusedWith({ areaId: district }, 400, 'AREA_NOT_COMMUNE');
      expect(notCommune.body.error.details.map((d: { path: string }) => d.path)).to.deep.equal(['areaId']);
      await refusedWith({ areaId: 99_999_999 }, 400, 'UNKNOWN_AREA');
      const noReason = await patch(`/beneficiaries/${id}`, { areaId: trucBach, updatedAt: read.updatedAt }, districtStaff.token);
      expect(noReason.status).to.equal(400);
      expect(noReason.body.error.details[0].path).to.equal('reason');
      expect((await get(`/beneficiaries/${id}`, staff.token)).body).to.include({ areaCode: '00001', updatedAt: read.updatedAt });

      const moved = await patch(
        `/beneficiaries/${id}`,
        { areaId: trucBach, updatedAt: read.updatedAt, reason: 'moved to Trúc Bạch' },
        districtStaff.token,
      );
      expect(moved.status, JSON.stringify(moved.body)).to.equal(200);
      expect(moved.body).to.include({ areaId: trucBach, areaCode: '00004', areaName: 'Phường Trúc Bạch' });
      const [h] = await sql('SELECT * FROM roll_history WHERE beneficiary_id = ? ORDER BY id DESC LIMIT 1', [id]);
      expect(h).to.include({ change_type: 'beneficiary.updated', reason: 'moved to Trúc Bạch', changed_by: districtStaff.id });
      expect(JSON.parse(h.before_state).areaId).to.equal(read.areaId);
      expect(JSON.parse(h.after_state).areaId).to.equal(trucBach);
      const audited = await lastAudit('beneficiary.update');
      expect(audited).to.include({ entity_id: id, actor_user_id: districtStaff.id, area_id: trucBach });
      const summary = JSON.parse(audited.summary);
      expect(summary.before).to.deep.include({ changed: ['areaId'], areaId: read.areaId });
      expect(summary.after).to.deep.equal({ areaId: trucBach });
      // the move was made since: a second one on the first read is refused and moves no one
      const stale = await refusedWith({ areaId: await areaId('00006') }, 409, 'BENEFICIARY_CHANGED');
      expect(stale.body.error.details).to.deep.include({ updatedAt: moved.body.updatedAt });
      expect((await get(`/beneficiaries/${id}`, staff.token)).body.areaCode).to.equal('00004');
    });

    it('applies one of many moves sent at once on the same read, and refuses the others with 409 BENEFICIARY_CHANGED', async () => {
      const mover = person();
      const id = (await importPeople(staff.token, [mover])).get(mover.national_id!)!;
      const read = (await get(`/beneficiaries/${id}`, staff.token)).body;
      const [before] = await sql('SELECT COUNT(*) AS n FROM roll_history WHERE beneficiary_id = ?', [id]);
      const targets = await Promise.all(['00004', '00006', '00007', '00008', '00037', '00040'].map((c) => areaId(c)));
      const replies = await Promise.all(
        targets.map((target) => patch(`/beneficiaries/${id}`, { areaId: target, updatedAt: read.updatedAt, reason: 'moved' }, staff.token)),
      );
      const statuses = replies.map((r) => r.status);
      expect(
        statuses.filter((s) => s === 200),
        JSON.stringify(statuses),
      ).to.have.length(1);
      expect(statuses.filter((s) => s === 409)).to.have.length(targets.length - 1);
      for (const r of replies.filter((x) => x.status === 409)) expect(r.body.error.code).to.equal('BENEFICIARY_CHANGED');
      const winner = replies.find((r) => r.status === 200)!.body;
      expect((await get(`/beneficiaries/${id}`, staff.token)).body.areaId).to.equal(winner.areaId);
      const [after] = await sql('SELECT COUNT(*) AS n FROM roll_history WHERE beneficiary_id = ?', [id]);
      expect(Number(after.n) - Number(before.n)).to.equal(1);
    });

    it('refuses changes by approvers and auditors, and a change without a reason', async () => {
      const id = ids.get(hoa.national_id!)!;
      expect((await patch(`/beneficiaries/${id}`, { phone: null, reason: 'no phone' }, approver.token)).status).to.equal(403);
      expect((await patch(`/beneficiaries/${id}`, { phone: null, reason: 'no phone' }, auditor.token)).status).to.equal(403);
      const noReason = await patch(`/beneficiaries/${id}`, { phone: null }, staff.token);
      expect(noReason.status).to.equal(400);
      expect(noReason.body.error.details[0].path).to.equal('reason');
    });
  });
});

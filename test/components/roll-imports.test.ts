import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { lastAudit, makeUser, type TestUser } from '../helpers/factories';
import { call } from '../helpers/http';
import { person, problemsOf, rollCsv, upload, waitForImport } from '../helpers/rolls';
import { testWorker } from '../helpers/worker';

async function sql(q: string, params: unknown[] = []): Promise<any> {
  const { infra } = await testApp();
  return infra.ds.query(q, params);
}

describe('roll imports', () => {
  let staff: TestUser;
  before(async () => {
    await testWorker();
    staff = await makeUser(['staff'], { area: '01' });
  });

  it('imports a clean CSV: people, enrolments, encrypted identifiers, and an audited result', async () => {
    const second = person({ full_name: 'Trần Thị Bình', gender: 'F', account_name: 'TRAN THI BINH' });
    second.national_id = `0011${second.national_id!.slice(4)}`;
    const rows = [person(), second];
    const up = await upload(staff.token, rollCsv(rows));
    expect(up.status).to.equal(202);
    expect(up.body.status).to.equal('queued');
    const done = await waitForImport(staff.token, up.body.id);
    expect(done.status, JSON.stringify(await problemsOf(staff.token, up.body.id))).to.equal('completed');
    expect(done.progress).to.deep.equal({ rowsRead: 2, rowsValid: 2, rowsInvalid: 0 });
    expect(done.result).to.include({ beneficiariesCreated: 2, enrolmentsCreated: 2, enrolmentsUpdated: 0, enrolmentsUnchanged: 0 });
    const stored = await sql('SELECT * FROM beneficiaries WHERE import_id = ?', [up.body.id]);
    expect(stored).to.have.length(2);
    for (const b of stored) {
      expect(b.national_id_enc.includes(Buffer.from(rows[0]!.national_id!))).to.equal(false);
      expect(b.national_id_masked).to.match(/^\d{4}\*{6}\d{2}$/);
    }
    const ev = await lastAudit();
    expect(ev).to.include({ action: 'roll.import_completed', entity_id: up.body.id, actor_user_id: staff.id });
  });
});

import { expect } from 'chai';
import { currentTotp } from '../../src/components/auth';
import { testApp } from '../helpers/app';
import { areaId, freshTotp, lastAudit, makeUser, TEST_TOTP_SECRET } from '../helpers/factories';
import { call, get, post } from '../helpers/http';
import { testWorker } from '../helpers/worker';
import { createBatch, crew, enrol, makeProgramme, type Crew } from '../helpers/batches';

async function sql(q: string, params: unknown[] = []): Promise<any> {
  const { infra } = await testApp();
  return infra.ds.query(q, params);
}

const wrongCode = () => (currentTotp(TEST_TOTP_SECRET) === '000000' ? '111111' : '000000');

describe('step-up: POST /api/v1/batches/:id/approve needs a fresh TOTP code', () => {
  let c: Crew;
  before(async () => {
    await testWorker();
    c = await crew();
  });

  /** A submitted batch of one payment, and the totals an approver states. */
  async function submitted(): Promise<{ id: string; seen: { itemCount: number; totalAmount: number } }> {
    const prog = await makeProgramme();
    await enrol(prog.id);
    const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    const s = await post(`/batches/${b.id}/submit`, {}, c.staff.token);
    expect(s.status, JSON.stringify(s.body)).to.equal(200);
    return { id: b.id, seen: { itemCount: s.body.itemCount, totalAmount: s.body.totalAmount } };
  }

  const statusOf = async (id: string) => (await get(`/batches/${id}`, c.auditor.token)).body.status as string;
  const failedLogins = async (id: number) => Number((await sql('SELECT failed_logins FROM users WHERE id = ?', [id]))[0].failed_logins);

  it('names a missing or malformed code with 400 VALIDATION_FAILED and approves nothing', async () => {
    const b = await submitted();
    for (const body of [b.seen, { ...b.seen, totp: '12345' }, { ...b.seen, totp: 123456 }]) {
      const r = await post(`/batches/${b.id}/approve`, body, c.approver.token);
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal('VALIDATION_FAILED');
      expect(r.body.error.details.map((d: any) => d.path)).to.deep.equal(['totp']);
    }
    expect(await statusOf(b.id)).to.equal('submitted');
  });

  it('refuses a wrong code with 400 INVALID_TOTP naming totp, counts it as a failed factor, and approves nothing', async () => {
    const approver = await makeUser(['approver']);
    const b = await submitted();
    const r = await post(`/batches/${b.id}/approve`, { ...b.seen, totp: wrongCode() }, approver.token);
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal('INVALID_TOTP');
    expect(r.body.error.details).to.deep.include({
      location: 'body',
      path: 'totp',
      message: 'wrong, expired or already used; wait for the next code',
    });
    expect(await statusOf(b.id)).to.equal('submitted');
    expect(await failedLogins(approver.id)).to.equal(1);
    expect(await lastAudit('auth.step_up_failed')).to.include({ entity_id: String(approver.id), actor_user_id: approver.id });
    const ok = await post(`/batches/${b.id}/approve`, { ...b.seen, totp: await freshTotp(approver) }, approver.token);
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body.status).to.equal('approved');
    expect(await failedLogins(approver.id), 'a good code clears the count').to.equal(0);
  });

  it('refuses a code already used, even by an approval that was itself refused', async () => {
    const approver = await makeUser(['approver']);
    const b1 = await submitted();
    const b2 = await submitted();
    const code = await freshTotp(approver);
    const stale = await post(`/batches/${b1.id}/approve`, { ...b1.seen, totalAmount: b1.seen.totalAmount + 1, totp: code }, approver.token);
    expect(stale.status).to.equal(409);
    expect(stale.body.error.code).to.equal('BATCH_CHANGED');
    for (const b of [b1, b2]) {
      const again = await post(`/batches/${b.id}/approve`, { ...b.seen, totp: code }, approver.token);
      expect(again.status).to.equal(400);
      expect(again.body.error.code).to.equal('INVALID_TOTP');
      expect(again.body.error.details[0].path).to.equal('totp');
      expect(await statusOf(b.id)).to.equal('submitted');
    }
    // the code is spent at the time step it belongs to: a code of an earlier step than the last accepted one is refused too
    await sql('UPDATE users SET totp_last_step = ? WHERE id = ?', [Math.floor(Date.now() / 30_000) + 1, approver.id]);
    const earlier = await post(`/batches/${b2.id}/approve`, { ...b2.seen, totp: currentTotp(TEST_TOTP_SECRET) }, approver.token);
    expect(earlier.body.error.code).to.equal('INVALID_TOTP');
  });

  it('lets one code approve exactly one of two batches sent at the same time', async () => {
    const approver = await makeUser(['approver']);
    const [b1, b2] = [await submitted(), await submitted()];
    const code = await freshTotp(approver);
    const replies = await Promise.all([b1, b2].map((b) => post(`/batches/${b.id}/approve`, { ...b.seen, totp: code }, approver.token)));
    expect(replies.map((r) => r.status).sort()).to.deep.equal([200, 400]);
    expect(replies.find((r) => r.status === 400)!.body.error.code).to.equal('INVALID_TOTP');
    const statuses = [await statusOf(b1.id), await statusOf(b2.id)].sort();
    expect(statuses).to.deep.equal(['approved', 'submitted']);
  });

  it('replays an approval sent again with the same Idempotency-Key without asking for another code', async () => {
    const approver = await makeUser(['approver']);
    const b = await submitted();
    const body = { ...b.seen, totp: await freshTotp(approver) };
    const send = () =>
      call('POST', `/api/v1/batches/${b.id}/approve`, { token: approver.token, body, headers: { 'idempotency-key': `k-${b.id}` } });
    const first = await send();
    expect(first.status).to.equal(200);
    const again = await send();
    expect(again.status).to.equal(200);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
  });

  it('locks the account when wrong codes reach the failed-login limit, and ends its sessions', async () => {
    const { infra } = await testApp();
    const approver = await makeUser(['approver']);
    const b = await submitted();
    const codes: string[] = [];
    for (let i = 0; i < infra.cfg.authMaxFailedLogins; i++) {
      codes.push((await post(`/batches/${b.id}/approve`, { ...b.seen, totp: wrongCode() }, approver.token)).body.error.code);
    }
    expect(codes.slice(0, -1).every((x) => x === 'INVALID_TOTP')).to.equal(true);
    expect(codes.at(-1)).to.equal('ACCOUNT_LOCKED');
    expect((await sql('SELECT locked_at FROM users WHERE id = ?', [approver.id]))[0].locked_at).to.not.equal(null);
    const after = await get('/auth/me', approver.token);
    expect(after.status).to.equal(401);
    expect(await statusOf(b.id)).to.equal('submitted');
  });

  it('under a burst of wrong codes locks the account once, counting each under the row lock', async () => {
    const { infra } = await testApp();
    const approver = await makeUser(['approver']);
    const b = await submitted();
    const replies = await Promise.all(
      Array.from({ length: infra.cfg.authMaxFailedLogins + 3 }, () =>
        post(`/batches/${b.id}/approve`, { ...b.seen, totp: wrongCode() }, approver.token),
      ),
    );
    for (const r of replies) expect(r.body.error.code).to.be.oneOf(['INVALID_TOTP', 'ACCOUNT_LOCKED', 'SESSION_ENDED']);
    const [row] = await sql('SELECT failed_logins, locked_at FROM users WHERE id = ?', [approver.id]);
    expect(row.locked_at).to.not.equal(null);
    expect(Number(row.failed_logins)).to.equal(infra.cfg.authMaxFailedLogins);
    expect(await statusOf(b.id)).to.equal('submitted');
  });
});

import { expect } from 'chai';
import { currentTotp } from '../../src/components/auth';
import { DEMO_PASSWORD, DEMO_TOTP_SECRET } from '../../scripts/demo-data';
import { testApp } from '../helpers/app';
import { areaId, auditCount, lastAudit, makeUser, TEST_PASSWORD, uniq, type TestUser } from '../helpers/factories';
import { call, get, patch, post } from '../helpers/http';

async function sql(q: string, params: unknown[] = []): Promise<any> {
  const { infra } = await testApp();
  return infra.ds.query(q, params);
}

describe('users administration', () => {
  let admin: TestUser;
  let districtAdmin: TestUser;
  before(async () => {
    admin = await makeUser(['admin'], { area: null });
    districtAdmin = await makeUser(['admin'], { area: '001' });
  });

  describe('POST /api/v1/users', () => {
    it('creates a user with a generated temporary password that must be changed, and audits it without personal data', async () => {
      const username = uniq('appr');
      const r = await post(
        '/users',
        { username, displayName: 'Nguyễn Thị Hoa', roles: ['approver'], areaId: await areaId('001') },
        admin.token,
      );
      expect(r.status).to.equal(201);
      expect(r.body.user).to.include({ username, active: true, mustChangePassword: true, totpEnabled: false });
      expect(r.body.temporaryPassword).to.be.a('string').with.length.greaterThanOrEqual(14);
      const [row] = await sql('SELECT password_hash, roles, must_change_password FROM users WHERE id = ?', [r.body.user.id]);
      expect(row.password_hash).to.match(/^scrypt\$/);
      expect(row.roles).to.equal('approver');
      const ev = await lastAudit();
      expect(ev).to.include({
        action: 'user.create',
        entity_id: String(r.body.user.id),
        actor_user_id: admin.id,
        area_id: await areaId('001'),
      });
      expect(ev.summary).not.to.contain('Hoa');
      const first = await call('POST', '/api/v1/auth/login', { body: { username, password: r.body.temporaryPassword } });
      expect(first.status).to.equal(200);
      expect(first.body.stage).to.equal('limited');
      expect(first.body.user.pending).to.deep.equal(['password_change', 'totp_enrolment']);
    });

    it('refuses a taken username with 409 USERNAME_TAKEN and writes nothing', async () => {
      const events = await auditCount();
      const r = await post('/users', { username: admin.username, displayName: 'X', roles: ['staff'], areaId: null }, admin.token);
      expect(r.status).to.equal(409);
      expect(r.body.error.code).to.equal('USERNAME_TAKEN');
      expect(await auditCount()).to.equal(events);
    });

    it('refuses a weak chosen password, a bad username and an unknown area', async () => {
      const weak = await post(
        '/users',
        { username: uniq('w'), displayName: 'X', roles: ['staff'], areaId: null, password: 'abc' },
        admin.token,
      );
      expect(weak.status).to.equal(400);
      expect(weak.body.error.code).to.equal('WEAK_PASSWORD');
      const bad = await post('/users', { username: 'Bad Name!', displayName: 'X', roles: ['staff'], areaId: null }, admin.token);
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal('INVALID_USERNAME');
      const area = await post('/users', { username: uniq('a'), displayName: 'X', roles: ['staff'], areaId: 999999 }, admin.token);
      expect(area.status).to.equal(400);
      expect(area.body.error.code).to.equal('UNKNOWN_AREA');
      const role = await post('/users', { username: uniq('r'), displayName: 'X', roles: ['root'], areaId: null }, admin.token);
      expect(role.status).to.equal(400);
      expect(role.body.error.details[0].path).to.equal('roles.0');
    });

    it('refuses a district admin creating a user outside the district, or with the whole province', async () => {
      const other = await post(
        '/users',
        { username: uniq('o'), displayName: 'X', roles: ['staff'], areaId: await areaId('002') },
        districtAdmin.token,
      );
      expect(other.status).to.equal(403);
      expect(other.body.error.code).to.equal('AREA_OUT_OF_SCOPE');
      const all = await post('/users', { username: uniq('o'), displayName: 'X', roles: ['staff'], areaId: null }, districtAdmin.token);
      expect(all.status).to.equal(403);
      const inside = await post(
        '/users',
        { username: uniq('i'), displayName: 'X', roles: ['staff'], areaId: await areaId('00004') },
        districtAdmin.token,
      );
      expect(inside.status).to.equal(201);
    });

    it('refuses non-admins with 403 ROLE_REQUIRED', async () => {
      for (const role of ['staff', 'approver', 'auditor'] as const) {
        const u = await makeUser([role]);
        const r = await post('/users', { username: uniq('n'), displayName: 'X', roles: ['staff'], areaId: null }, u.token);
        expect(r.status, role).to.equal(403);
        expect(r.body.error.code).to.equal('ROLE_REQUIRED');
      }
    });
  });

  describe('GET /api/v1/users', () => {
    it("lists only users inside the admin's scope, with filters and cursor pages", async () => {
      const inDistrict = await makeUser(['staff'], { area: '00001' });
      const elsewhere = await makeUser(['staff'], { area: '002' });
      const ids: number[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await get(`/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`, districtAdmin.token);
        expect(page.status).to.equal(200);
        expect(page.body.items.length).to.be.at.most(2);
        ids.push(...page.body.items.map((u: { id: number }) => u.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(new Set(ids).size).to.equal(ids.length);
      expect(ids).to.include(inDistrict.id);
      expect(ids).not.to.include(elsewhere.id);
      expect(ids).not.to.include(admin.id);

      const all = await get(`/users?limit=200&role=staff&areaId=${await areaId('002')}`, admin.token);
      expect(all.body.items.map((u: { id: number }) => u.id)).to.include(elsewhere.id);
      expect(all.body.items.every((u: { roles: string[] }) => u.roles.includes('staff'))).to.equal(true);
      const byName = await get(`/users?q=${elsewhere.username}`, admin.token);
      expect(byName.body.items.map((u: { id: number }) => u.id)).to.deep.equal([elsewhere.id]);
    });

    it('gets one user; 404 USER_NOT_FOUND for none and for one outside the scope', async () => {
      const u = await makeUser(['staff'], { area: '002' });
      expect((await get(`/users/${u.id}`, admin.token)).body.username).to.equal(u.username);
      const missing = await get('/users/999999', admin.token);
      expect(missing.status).to.equal(404);
      expect(missing.body.error.code).to.equal('USER_NOT_FOUND');
      const out = await get(`/users/${u.id}`, districtAdmin.token);
      expect(out.status).to.equal(404);
      expect(out.body.error).to.include({ code: 'USER_NOT_FOUND', message: `no user with id ${u.id}` });
    });
  });

  describe('PATCH /api/v1/users/:id and account actions', () => {
    it("changing roles ends the user's sessions and audits before and after", async () => {
      const u = await makeUser(['staff']);
      const r = await patch(`/users/${u.id}`, { roles: ['staff', 'auditor'] }, admin.token);
      expect(r.status).to.equal(200);
      expect(r.body.roles).to.have.members(['staff', 'auditor']);
      const ev = await lastAudit();
      expect(ev).to.include({ action: 'user.update', entity_id: String(u.id) });
      expect(JSON.parse(ev.summary)).to.deep.include({
        before: { active: true, areaId: u.areaId, roles: ['staff'], username: u.username },
      });
      const old = await get('/auth/me', u.token);
      expect(old.status).to.equal(401);
      expect(old.body.error.code).to.equal('SESSION_ENDED');
    });

    it('renaming keeps the sessions; an empty body is refused', async () => {
      const u = await makeUser(['staff']);
      expect((await patch(`/users/${u.id}`, { displayName: 'Trần Văn B' }, admin.token)).status).to.equal(200);
      expect((await get('/auth/me', u.token)).status).to.equal(200);
      const empty = await patch(`/users/${u.id}`, {}, admin.token);
      expect(empty.status).to.equal(400);
    });

    it("moving a user out of the admin's scope is refused", async () => {
      const u = await makeUser(['staff'], { area: '001' });
      const r = await patch(`/users/${u.id}`, { areaId: await areaId('002') }, districtAdmin.token);
      expect(r.status).to.equal(403);
      expect(r.body.error.code).to.equal('AREA_OUT_OF_SCOPE');
      const [row] = await sql('SELECT area_id FROM users WHERE id = ?', [u.id]);
      expect(row.area_id).to.equal(await areaId('001'));
    });

    it('deactivation ends the sessions and blocks login; activation restores it', async () => {
      const u = await makeUser(['staff']);
      const off = await post(`/users/${u.id}/deactivate`, {}, admin.token);
      expect(off.status).to.equal(200);
      expect(off.body).to.include({ active: false, disabledReason: 'deactivated' });
      expect(await lastAudit()).to.include({ action: 'user.deactivate', entity_id: String(u.id), actor_user_id: admin.id });
      expect((await get('/auth/me', u.token)).status).to.equal(401);
      const login = await call('POST', '/api/v1/auth/login', { body: { username: u.username, password: TEST_PASSWORD } });
      expect(login.body.error.code).to.equal('ACCOUNT_DISABLED');
      expect((await post(`/users/${u.id}/deactivate`, {}, admin.token)).body.error.code).to.equal('USER_ALREADY_INACTIVE');
      const on = await post(`/users/${u.id}/activate`, {}, admin.token);
      expect(on.body.active).to.equal(true);
      expect(await lastAudit()).to.include({ action: 'user.activate' });
      expect((await call('POST', '/api/v1/auth/login', { body: { username: u.username, password: TEST_PASSWORD } })).status).to.equal(200);
    });

    it('an admin cannot deactivate themselves or drop their own admin role', async () => {
      const self = await post(`/users/${admin.id}/deactivate`, {}, admin.token);
      expect(self.status).to.equal(403);
      expect(self.body.error.code).to.equal('SELF_CHANGE_REFUSED');
      const drop = await patch(`/users/${admin.id}`, { roles: ['staff'] }, admin.token);
      expect(drop.status).to.equal(403);
    });

    it('reset-password sets a temporary password, forces a change and ends sessions', async () => {
      const u = await makeUser(['staff']);
      const r = await post(`/users/${u.id}/reset-password`, {}, admin.token);
      expect(r.status).to.equal(200);
      expect(r.body.user.mustChangePassword).to.equal(true);
      expect((await get('/auth/me', u.token)).status).to.equal(401);
      const login = await call('POST', '/api/v1/auth/login', { body: { username: u.username, password: r.body.temporaryPassword } });
      expect(login.body.stage).to.equal('limited');
      expect(await lastAudit()).to.include({ action: 'auth.login' });
    });

    it('reset-totp removes the second factor so that the user enrols again', async () => {
      const u = await makeUser(['approver']);
      const r = await post(`/users/${u.id}/reset-totp`, {}, admin.token);
      expect(r.status).to.equal(200);
      expect(r.body.totpEnabled).to.equal(false);
      const [row] = await sql('SELECT totp_secret FROM users WHERE id = ?', [u.id]);
      expect(row.totp_secret).to.equal(null);
      const login = await call('POST', '/api/v1/auth/login', { body: { username: u.username, password: TEST_PASSWORD } });
      expect(login.body.user.pending).to.deep.equal(['totp_enrolment']);
    });
  });

  it('the create-admin command path makes an unscoped admin who must change the password and enrol TOTP, attributed to the OS user', async () => {
    const { services } = await testApp();
    const username = uniq('root');
    const { user, temporaryPassword } = await services.users.bootstrapAdmin({ username, displayName: 'Quản trị' }, 'ops');
    expect(user).to.include({ username, areaId: null, mustChangePassword: true, totpEnabled: false });
    expect(user.roles).to.deep.equal(['admin']);
    const ev = await lastAudit();
    expect(ev).to.include({ action: 'user.create', entity_id: String(user.id), actor_user_id: null });
    const [row] = await sql('SELECT source FROM audit_events ORDER BY id DESC LIMIT 1');
    expect(row.source).to.equal('cli:ops');
    const login = await call('POST', '/api/v1/auth/login', { body: { username, password: temporaryPassword } });
    expect(login.body.user.pending).to.deep.equal(['password_change', 'totp_enrolment']);
  });

  it('walkthrough: the seeded admin creates a district approver, who sets up the account, is refused admin endpoints, and an auditor verifies the trail', async () => {
    const adminLogin = await call('POST', '/api/v1/auth/login', {
      body: { username: 'admin', password: DEMO_PASSWORD, totp: currentTotp(DEMO_TOTP_SECRET) },
    });
    expect(adminLogin.status).to.equal(200);
    const adminToken = adminLogin.body.token as string;
    const badinh = await get('/areas?q=Ba%20%C4%90%C3%ACnh&level=district', adminToken);
    expect(badinh.body.items).to.have.length(1);
    const username = uniq('duyet');
    const created = await post(
      '/users',
      { username, displayName: 'Lê Văn Duyệt', roles: ['approver'], areaId: badinh.body.items[0].id },
      adminToken,
    );
    expect(created.status).to.equal(201);

    const first = await call('POST', '/api/v1/auth/login', { body: { username, password: created.body.temporaryPassword } });
    expect(first.body.stage).to.equal('limited');
    const changed = await post(
      '/auth/password',
      { currentPassword: created.body.temporaryPassword, newPassword: 'Approver-Pass-2026!' },
      first.body.token,
    );
    expect(changed.status).to.equal(200);
    expect(changed.body.stage).to.equal('limited');
    const setup = await post('/auth/totp/setup', {}, changed.body.token);
    const enrolled = await post('/auth/totp/confirm', { code: currentTotp(setup.body.secret) }, changed.body.token);
    expect(enrolled.body.stage).to.equal('full');
    const approverToken = enrolled.body.token as string;
    const refused = await get('/users', approverToken);
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal('ROLE_REQUIRED');
    expect((await get('/audit-events', approverToken)).status).to.equal(403);

    const auditorLogin = await call('POST', '/api/v1/auth/login', { body: { username: 'auditor', password: DEMO_PASSWORD } });
    expect(auditorLogin.status).to.equal(200);
    const events = await get(`/audit-events?entityType=user&entityId=${created.body.user.id}&limit=50`, auditorLogin.body.token);
    expect(events.body.items.map((e: { action: string }) => e.action).reverse()).to.deep.equal([
      'user.create',
      'auth.login',
      'auth.password_change',
      'auth.totp_setup',
      'auth.totp_enabled',
    ]);
    const verify = await get('/audit-events/verify', auditorLogin.body.token);
    expect(verify.body.ok).to.equal(true);
    expect(verify.body.firstBroken).to.equal(null);
  });
});

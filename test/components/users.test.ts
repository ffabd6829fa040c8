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
      const username = uniq('cb');
      const r = await post(
        '/users',
        { username, displayName: 'Nguyễn Thị Hoa', roles: ['staff'], areaId: await areaId('001') },
        admin.token,
      );
      expect(r.status).to.equal(201);
      expect(r.body.user).to.include({ username, active: true, mustChangePassword: true, totpEnabled: false });
      expect(r.body.temporaryPassword).to.be.a('string').with.length.greaterThanOrEqual(14);
      expect(r.body.roleGrant).to.equal(null);
      const [row] = await sql('SELECT password_hash, roles, must_change_password FROM users WHERE id = ?', [r.body.user.id]);
      expect(row.password_hash).to.match(/^scrypt\$/);
      expect(row.roles).to.equal('staff');
      const ev = await lastAudit('user.create');
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
      expect(first.body.user.pending).to.deep.equal(['password_change']);
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
      const ev = await lastAudit('user.update');
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
      expect(await lastAudit('user.deactivate')).to.include({
        action: 'user.deactivate',
        entity_id: String(u.id),
        actor_user_id: admin.id,
      });
      expect((await get('/auth/me', u.token)).status).to.equal(401);
      const login = await call('POST', '/api/v1/auth/login', { body: { username: u.username, password: TEST_PASSWORD } });
      expect(login.body.error.code).to.equal('ACCOUNT_DISABLED');
      expect((await post(`/users/${u.id}/deactivate`, {}, admin.token)).body.error.code).to.equal('USER_ALREADY_INACTIVE');
      const on = await post(`/users/${u.id}/activate`, {}, admin.token);
      expect(on.body.active).to.equal(true);
      expect(await lastAudit('user.activate')).to.include({ action: 'user.activate' });
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
      expect(await lastAudit('auth.login')).to.include({ action: 'auth.login' });
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

  describe('role grants: approver and admin by two administrators', () => {
    let second: TestUser;
    let third: TestUser;
    before(async () => {
      second = await makeUser(['admin'], { area: null });
      third = await makeUser(['admin'], { area: null });
    });

    const login = (username: string, password: string) => call('POST', '/api/v1/auth/login', { body: { username, password } });
    const grantStatus = async (id: number) =>
      ((await sql('SELECT status FROM role_grants WHERE id = ?', [id])) as { status: string }[])[0]!.status;
    const rolesOf = async (id: number) => ((await sql('SELECT roles FROM users WHERE id = ?', [id])) as { roles: string }[])[0]!.roles;

    it('refuses an admin changing their own roles or proposing a grant for themselves with 403 SELF_CHANGE_REFUSED', async () => {
      const self = await patch(`/users/${admin.id}`, { roles: ['approver'] }, admin.token);
      expect(self.status).to.equal(403);
      expect(self.body.error.code).to.equal('SELF_CHANGE_REFUSED');
      const grant = await post(`/users/${admin.id}/role-grants`, { roles: ['approver'] }, admin.token);
      expect(grant.status).to.equal(403);
      expect(grant.body.error.code).to.equal('SELF_CHANGE_REFUSED');
      expect(await rolesOf(admin.id)).to.equal('admin');
      expect(await sql('SELECT id FROM role_grants WHERE user_id = ?', [admin.id])).to.deep.equal([]);
    });

    it('refuses admin combined with staff, approver or auditor with 400 ROLE_COMBINATION on roles, writing nothing', async () => {
      const u = await makeUser(['staff']);
      const events = await auditCount('user');
      for (const other of ['staff', 'approver', 'auditor']) {
        const r = await post('/users', { username: uniq('mix'), displayName: 'X', roles: ['admin', other], areaId: null }, admin.token);
        expect(r.status, other).to.equal(400);
        expect(r.body.error.code).to.equal('ROLE_COMBINATION');
        expect(r.body.error.details[0].path).to.equal('roles');
      }
      const patched = await patch(`/users/${u.id}`, { roles: ['admin', 'approver'] }, admin.token);
      expect(patched.body.error.code).to.equal('ROLE_COMBINATION');
      const proposed = await post(`/users/${u.id}/role-grants`, { roles: ['staff', 'admin'] }, admin.token);
      expect(proposed.body.error.code).to.equal('ROLE_COMBINATION');
      expect(await rolesOf(u.id)).to.equal('staff');
      expect(await auditCount('user')).to.equal(events);
    });

    it('turns a PATCH of a staff account to approver into a grant: nothing changes until another admin confirms, the proposer is refused 403 FOUR_EYES', async () => {
      const u = await makeUser(['staff']);
      const r = await patch(`/users/${u.id}`, { roles: ['approver'] }, admin.token);
      expect(r.status).to.equal(200);
      expect(r.body.roles).to.deep.equal(['staff']);
      expect(r.body.roleGrant.grant).to.deep.include({ userId: u.id, status: 'pending', proposedBy: admin.id, roles: ['approver'] });
      const grantId = r.body.roleGrant.grant.id as number;
      const proposerPart = r.body.roleGrant.temporaryPasswordPart as string;
      expect(proposerPart).to.be.a('string').with.length(10);
      expect(await rolesOf(u.id)).to.equal('staff');
      expect((await get('/auth/me', u.token)).status).to.equal(200);
      expect(await lastAudit('user.role_grant_proposed')).to.include({
        action: 'user.role_grant_proposed',
        entity_id: String(u.id),
        actor_user_id: admin.id,
      });

      const own = await post(`/role-grants/${grantId}/confirm`, {}, admin.token);
      expect(own.status).to.equal(403);
      expect(own.body.error.code).to.equal('FOUR_EYES');
      expect(await rolesOf(u.id)).to.equal('staff');
      expect(await grantStatus(grantId)).to.equal('pending');

      const ok = await post(`/role-grants/${grantId}/confirm`, {}, second.token);
      expect(ok.status).to.equal(200);
      expect(ok.body.user).to.deep.include({ roles: ['approver'], mustChangePassword: true, totpEnabled: false });
      expect(ok.body.grant).to.include({ status: 'confirmed', decidedBy: second.id });
      const confirmerPart = ok.body.temporaryPasswordPart as string;
      const ev = await lastAudit('user.role_grant_confirmed');
      expect(ev).to.include({ entity_id: String(u.id), actor_user_id: second.id });
      expect(ev.summary).not.to.contain(proposerPart);
      expect(ev.summary).not.to.contain(confirmerPart);
      expect((await get('/auth/me', u.token)).status).to.equal(401);
      expect((await sql('SELECT password_part_enc FROM role_grants WHERE id = ?', [grantId]))[0].password_part_enc).to.equal(null);

      // neither administrator alone holds a password of the account
      for (const password of [TEST_PASSWORD, proposerPart, confirmerPart]) expect((await login(u.username, password)).status).to.equal(401);
      const first = await login(u.username, proposerPart + confirmerPart);
      expect(first.status).to.equal(200);
      expect(first.body.user.pending).to.deep.equal(['password_change', 'totp_enrolment']);
    });

    it('creates an approver with no role, no usable password and a pending grant; refuses a chosen password with 400 PASSWORD_NOT_ALLOWED', async () => {
      const chosen = await post(
        '/users',
        { username: uniq('pw'), displayName: 'X', roles: ['approver'], areaId: null, password: 'Chosen-Password-2026!' },
        admin.token,
      );
      expect(chosen.status).to.equal(400);
      expect(chosen.body.error.code).to.equal('PASSWORD_NOT_ALLOWED');
      const r = await post(
        '/users',
        { username: uniq('duyet'), displayName: 'X', roles: ['approver', 'staff'], areaId: await areaId('001') },
        admin.token,
      );
      expect(r.status).to.equal(201);
      expect(r.body.temporaryPassword).to.equal(null);
      expect(r.body.user.roles).to.deep.equal(['staff']);
      expect(r.body.roleGrant.grant).to.deep.include({ roles: ['approver', 'staff'], fromRoles: ['staff'], status: 'pending' });
      const listed = await get(`/role-grants?status=pending&userId=${r.body.user.id}`, second.token);
      expect(listed.body.items.map((g: { id: number }) => g.id)).to.deep.equal([r.body.roleGrant.grant.id]);
      const ok = await post(`/role-grants/${r.body.roleGrant.grant.id}/confirm`, {}, districtAdmin.token);
      expect(ok.status).to.equal(200);
      expect(ok.body.user.roles).to.have.members(['approver', 'staff']);
      expect((await login(r.body.user.username, r.body.roleGrant.temporaryPasswordPart + ok.body.temporaryPasswordPart)).status).to.equal(
        200,
      );
    });

    it('refuses the user a grant is for with 403 FOUR_EYES; an admin password is re-issued only through a confirmed grant (403 SECOND_ADMIN_REQUIRED)', async () => {
      const other = await makeUser(['admin'], { area: null });
      const reset = await post(`/users/${other.id}/reset-password`, {}, admin.token);
      expect(reset.status).to.equal(403);
      expect(reset.body.error.code).to.equal('SECOND_ADMIN_REQUIRED');
      const g = await post(`/users/${other.id}/role-grants`, { roles: ['admin'] }, admin.token);
      expect(g.status).to.equal(201);
      const mine = await post(`/role-grants/${g.body.grant.id}/confirm`, {}, other.token);
      expect(mine.status).to.equal(403);
      expect(mine.body.error.code).to.equal('FOUR_EYES');
      const ok = await post(`/role-grants/${g.body.grant.id}/confirm`, {}, second.token);
      expect(ok.status).to.equal(200);
      expect(ok.body.user).to.deep.include({ roles: ['admin'], totpEnabled: false, mustChangePassword: true });
      const relog = await login(other.username, g.body.temporaryPasswordPart + ok.body.temporaryPasswordPart);
      expect(relog.body.user.pending).to.deep.equal(['password_change', 'totp_enrolment']);
    });

    it('applies a burst of concurrent confirmations once, with one audit event', async () => {
      const u = await makeUser(['staff']);
      const g = await post(`/users/${u.id}/role-grants`, { roles: ['approver'] }, admin.token);
      const id = g.body.grant.id as number;
      const burst = await Promise.all(
        [second, third, second, third, second, third].map((a) => post(`/role-grants/${id}/confirm`, {}, a.token)),
      );
      const won = burst.filter((r) => r.status === 200);
      expect(won).to.have.length(1);
      for (const r of burst.filter((x) => x.status !== 200)) {
        expect(r.status).to.equal(409);
        expect(r.body.error.code).to.equal('ROLE_GRANT_NOT_PENDING');
      }
      const [n] = await sql("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'user.role_grant_confirmed' AND entity_id = ?", [
        String(u.id),
      ]);
      expect(Number(n.n)).to.equal(1);
      expect((await login(u.username, g.body.temporaryPasswordPart + won[0]!.body.temporaryPasswordPart)).status).to.equal(200);
    });

    it('keeps one pending grant per user under concurrent proposals (409 ROLE_GRANT_PENDING)', async () => {
      const u = await makeUser(['staff']);
      const burst = await Promise.all(
        [admin, second, third, admin].map((a) => post(`/users/${u.id}/role-grants`, { roles: ['approver'] }, a.token)),
      );
      expect(burst.filter((r) => r.status === 201)).to.have.length(1);
      for (const r of burst.filter((x) => x.status !== 201)) expect(r.body.error.code).to.equal('ROLE_GRANT_PENDING');
      expect(await sql("SELECT id FROM role_grants WHERE user_id = ? AND status = 'pending'", [u.id])).to.have.length(1);
    });

    it('a rejected grant changes nothing; a grant whose user got other roles meanwhile is stale and never applies', async () => {
      const u = await makeUser(['staff']);
      const [{ password_hash: hash }] = await sql('SELECT password_hash FROM users WHERE id = ?', [u.id]);
      const g1 = await post(`/users/${u.id}/role-grants`, { roles: ['approver'] }, admin.token);
      const rejected = await post(`/role-grants/${g1.body.grant.id}/reject`, {}, second.token);
      expect(rejected.status).to.equal(200);
      expect(rejected.body).to.include({ status: 'rejected', decidedBy: second.id });
      expect(await lastAudit('user.role_grant_rejected')).to.include({ entity_id: String(u.id), actor_user_id: second.id });
      const late = await post(`/role-grants/${g1.body.grant.id}/confirm`, {}, third.token);
      expect(late.status).to.equal(409);
      expect(late.body.error.code).to.equal('ROLE_GRANT_NOT_PENDING');
      expect(await rolesOf(u.id)).to.equal('staff');
      expect((await sql('SELECT password_hash FROM users WHERE id = ?', [u.id]))[0].password_hash).to.equal(hash);

      const g2 = await post(`/users/${u.id}/role-grants`, { roles: ['approver'] }, admin.token);
      expect((await patch(`/users/${u.id}`, { roles: ['staff', 'auditor'] }, third.token)).status).to.equal(200);
      expect(await grantStatus(g2.body.grant.id)).to.equal('stale');
      expect((await post(`/role-grants/${g2.body.grant.id}/confirm`, {}, second.token)).body.error.code).to.equal('ROLE_GRANT_NOT_PENDING');

      const g3 = await post(`/users/${u.id}/role-grants`, { roles: ['approver'] }, admin.token);
      await sql("UPDATE users SET roles = 'auditor' WHERE id = ?", [u.id]);
      const stale = await post(`/role-grants/${g3.body.grant.id}/confirm`, {}, second.token);
      expect(stale.status).to.equal(409);
      expect(stale.body.error.code).to.equal('ROLE_GRANT_STALE');
      expect(await grantStatus(g3.body.grant.id)).to.equal('stale');
      expect(await rolesOf(u.id)).to.equal('auditor');
    });
  });

  it('the create-admin command path makes the first two unscoped admins (password to change, TOTP to enrol, attributed to the OS user) and refuses a third with ADMINS_EXIST', async () => {
    const { services } = await testApp();
    const ids = (await sql("SELECT id FROM users WHERE active = 1 AND FIND_IN_SET('admin', roles) > 0")).map((r: { id: number }) => r.id);
    // the shared test database holds many admins: set them aside so that this is the first start
    await sql('UPDATE users SET active = 0 WHERE id IN (?)', [ids]);
    try {
      const username = uniq('root');
      const { user, temporaryPassword } = await services.users.bootstrapAdmin({ username, displayName: 'Quản trị' }, 'ops');
      expect(user).to.include({ username, areaId: null, mustChangePassword: true, totpEnabled: false });
      expect(user.roles).to.deep.equal(['admin']);
      const ev = await lastAudit('user.create');
      expect(ev).to.include({ action: 'user.create', entity_id: String(user.id), actor_user_id: null });
      const [row] = await sql('SELECT source FROM audit_events WHERE id = ?', [ev.id]);
      expect(row.source).to.equal('cli:ops');
      const login = await call('POST', '/api/v1/auth/login', { body: { username, password: temporaryPassword } });
      expect(login.body.user.pending).to.deep.equal(['password_change', 'totp_enrolment']);

      expect((await services.users.bootstrapAdmin({ username: uniq('root'), displayName: 'Quản trị 2' }, 'ops')).user.roles).to.deep.equal([
        'admin',
      ]);
      const third = uniq('root');
      const err = await services.users.bootstrapAdmin({ username: third, displayName: 'Quản trị 3' }, 'ops').catch((e: unknown) => e);
      expect(err).to.include({ code: 'ADMINS_EXIST' });
      expect(await sql('SELECT id FROM users WHERE username = ?', [third])).to.deep.equal([]);
    } finally {
      await sql('UPDATE users SET active = 1 WHERE id IN (?)', [ids]);
    }
  });

  it('walkthrough: the seeded admin proposes a district approver, the second admin confirms, the approver sets up the account from both halves, is refused admin endpoints, and an auditor verifies the trail', async () => {
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
    expect(created.body.temporaryPassword).to.equal(null);
    expect(created.body.user.roles).to.deep.equal([]);

    const secondLogin = await call('POST', '/api/v1/auth/login', {
      body: { username: 'admin2', password: DEMO_PASSWORD, totp: currentTotp(DEMO_TOTP_SECRET) },
    });
    expect(secondLogin.status).to.equal(200);
    const waiting = await get(`/role-grants?status=pending&userId=${created.body.user.id}`, secondLogin.body.token);
    expect(waiting.body.items).to.have.length(1);
    const confirmed = await post(`/role-grants/${waiting.body.items[0].id}/confirm`, {}, secondLogin.body.token);
    expect(confirmed.status).to.equal(200);
    expect(confirmed.body.user.roles).to.deep.equal(['approver']);
    const temporary = `${created.body.roleGrant.temporaryPasswordPart}${confirmed.body.temporaryPasswordPart}`;

    const first = await call('POST', '/api/v1/auth/login', { body: { username, password: temporary } });
    expect(first.body.stage).to.equal('limited');
    const changed = await post('/auth/password', { currentPassword: temporary, newPassword: 'Approver-Pass-2026!' }, first.body.token);
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
      'user.role_grant_proposed',
      'user.role_grant_confirmed',
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

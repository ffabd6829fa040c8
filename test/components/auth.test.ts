import { expect } from 'chai';
import { Writable } from 'node:stream';
import winston from 'winston';
import { currentTotp, TokenService } from '../../src/components/auth';
import { metricsText } from '../../src/platform/metrics';
import { redisKey } from '../../src/platform/redis';
import { testApp } from '../helpers/app';
import { auditCount, lastAudit, makeUser, TEST_PASSWORD, TEST_TOTP_SECRET, type TestUser } from '../helpers/factories';
import { call, get, post } from '../helpers/http';

async function userRow(id: number): Promise<Record<string, any>> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT * FROM users WHERE id = ?', [id])) as Record<string, any>[];
  return row!;
}

async function sql(q: string, params: unknown[] = []): Promise<any> {
  const { infra } = await testApp();
  return infra.ds.query(q, params);
}

const login = (username: string, password: string, totp?: string, ip?: string) =>
  call('POST', '/api/v1/auth/login', {
    body: { username, password, ...(totp ? { totp } : {}) },
    ...(ip ? { headers: { 'x-forwarded-for': ip } } : {}),
  });

describe('POST /api/v1/auth/login', () => {
  it('logs a staff member in with a full session, and records auth.login', async () => {
    const u = await makeUser(['staff']);
    const r = await login(u.username, TEST_PASSWORD);
    expect(r.status).to.equal(200);
    expect(r.body.stage).to.equal('full');
    expect(r.body.tokenType).to.equal('Bearer');
    expect(r.body.user).to.include({ id: u.id, username: u.username });
    const me = await get('/auth/me', r.body.token);
    expect(me.status).to.equal(200);
    expect(me.body).to.include({ id: u.id, username: u.username });
    const ev = await lastAudit('auth.login');
    expect(ev).to.include({ action: 'auth.login', entity_type: 'user', entity_id: String(u.id), actor_user_id: u.id });
    expect(ev.request_id).to.equal(r.headers.get('x-request-id'));
    expect((await userRow(u.id)).last_login_at).to.be.instanceOf(Date);
  });

  it('accepts the username in any case', async () => {
    const u = await makeUser(['auditor']);
    const r = await login(u.username.toUpperCase(), TEST_PASSWORD);
    expect(r.status).to.equal(200);
  });

  it('refuses a wrong password with 401 INVALID_CREDENTIALS, counts the failure and audits it', async () => {
    const u = await makeUser(['staff']);
    const r = await login(u.username, 'Wrong-Password-2026!');
    expect(r.status).to.equal(401);
    expect(r.body.error.code).to.equal('INVALID_CREDENTIALS');
    expect((await userRow(u.id)).failed_logins).to.equal(1);
    expect(await lastAudit('auth.login_failed')).to.include({ action: 'auth.login_failed', entity_id: String(u.id) });
  });

  it('gives an unknown username the same 401 INVALID_CREDENTIALS', async () => {
    const r = await login('nobody-here', TEST_PASSWORD);
    expect(r.status).to.equal(401);
    expect(r.body.error.code).to.equal('INVALID_CREDENTIALS');
  });

  it('names missing fields with 400 VALIDATION_FAILED', async () => {
    const r = await call('POST', '/api/v1/auth/login', { body: { username: 'x' } });
    expect(r.status).to.equal(400);
    expect(r.body.error.details.map((d: { path: string }) => d.path)).to.deep.equal(['password']);
  });

  it('locks the account after 5 failures until an admin unlocks it', async () => {
    const u = await makeUser(['staff']);
    for (let i = 0; i < 5; i++) expect((await login(u.username, 'Wrong-Password-2026!')).status).to.equal(401);
    const row = await userRow(u.id);
    expect(row.locked_at).to.be.instanceOf(Date);
    expect(await lastAudit('auth.locked')).to.include({ action: 'auth.locked', entity_id: String(u.id) });
    const locked = await login(u.username, TEST_PASSWORD);
    expect(locked.status).to.equal(401);
    expect(locked.body.error.code).to.equal('ACCOUNT_LOCKED');
    // existing sessions end with the lockout
    const before = await get('/auth/me', u.token);
    expect(before.status).to.equal(401);

    const admin = await makeUser(['admin']);
    const unlock = await post(`/users/${u.id}/unlock`, {}, admin.token);
    expect(unlock.status).to.equal(200);
    expect(unlock.body.locked).to.equal(false);
    expect(await lastAudit('user.unlock')).to.include({ action: 'user.unlock', entity_id: String(u.id), actor_user_id: admin.id });
    expect((await login(u.username, TEST_PASSWORD)).status).to.equal(200);
    const again = await post(`/users/${u.id}/unlock`, {}, admin.token);
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('USER_NOT_LOCKED');
  });

  it('rate-limits login attempts per client address with 429 TOO_MANY_LOGIN_ATTEMPTS', async () => {
    const { infra } = await testApp();
    const ip = '192.0.2.77';
    const statuses: number[] = [];
    for (let i = 0; i < infra.cfg.authLoginRatePerMinute + 1; i++) statuses.push((await login('nobody-here', 'x', undefined, ip)).status);
    expect(statuses.slice(0, -1).every((s) => s === 401)).to.equal(true);
    const last = await login('nobody-here', 'x', undefined, ip);
    expect(last.status).to.equal(429);
    expect(last.body.error.code).to.equal('TOO_MANY_LOGIN_ATTEMPTS');
    expect((await login('nobody-here', 'x', undefined, '192.0.2.78')).status).to.equal(401);
  });

  describe('second factor', () => {
    let admin: TestUser;
    before(async () => {
      admin = await makeUser(['admin']);
    });

    it('asks an enrolled admin for the code with 401 TOTP_REQUIRED', async () => {
      const r = await login(admin.username, TEST_PASSWORD);
      expect(r.status).to.equal(401);
      expect(r.body.error.code).to.equal('TOTP_REQUIRED');
    });

    it('refuses a wrong code with 401 INVALID_TOTP and counts it as a failure', async () => {
      const before = (await userRow(admin.id)).failed_logins;
      const wrong = currentTotp(TEST_TOTP_SECRET) === '000000' ? '111111' : '000000';
      const r = await login(admin.username, TEST_PASSWORD, wrong);
      expect(r.status).to.equal(401);
      expect(r.body.error.code).to.equal('INVALID_TOTP');
      expect((await userRow(admin.id)).failed_logins).to.equal(before + 1);
    });

    it('accepts the right code once, and refuses the same code replayed', async () => {
      const code = currentTotp(TEST_TOTP_SECRET);
      const ok = await login(admin.username, TEST_PASSWORD, code);
      expect(ok.status).to.equal(200);
      expect(ok.body.stage).to.equal('full');
      const replay = await login(admin.username, TEST_PASSWORD, code);
      expect(replay.status).to.equal(401);
      expect(replay.body.error.code).to.equal('INVALID_TOTP');
    });

    it('gives an approver without a second factor a limited session until TOTP is enrolled', async () => {
      const approver = await makeUser(['approver'], { area: '001', totp: false });
      const r = await login(approver.username, TEST_PASSWORD);
      expect(r.status).to.equal(200);
      expect(r.body.stage).to.equal('limited');
      expect(r.body.user.pending).to.deep.equal(['totp_enrolment']);
      const refused = await get('/areas', r.body.token);
      expect(refused.status).to.equal(403);
      expect(refused.body.error.code).to.equal('ACCOUNT_SETUP_REQUIRED');

      const confirmEarly = await post('/auth/totp/confirm', { code: '123456' }, r.body.token);
      expect(confirmEarly.status).to.equal(409);
      expect(confirmEarly.body.error.code).to.equal('TOTP_SETUP_REQUIRED');
      const setup = await post('/auth/totp/setup', {}, r.body.token);
      expect(setup.status).to.equal(200);
      expect(setup.body.otpauthUrl).to.match(/^otpauth:\/\/totp\//);
      const stored = await userRow(approver.id);
      expect(Buffer.from(stored.totp_secret).includes(Buffer.from(setup.body.secret))).to.equal(false);
      const bad = await post('/auth/totp/confirm', { code: 'abc' }, r.body.token);
      expect(bad.status).to.equal(400);
      const done = await post('/auth/totp/confirm', { code: currentTotp(setup.body.secret) }, r.body.token);
      expect(done.status).to.equal(200);
      expect(done.body.stage).to.equal('full');
      expect(await lastAudit('auth.totp_enabled')).to.include({ action: 'auth.totp_enabled', entity_id: String(approver.id) });
      expect((await get('/areas', done.body.token)).status).to.equal(200);
      expect((await get('/auth/me', r.body.token)).status, 'the limited token is revoked').to.equal(401);
      const twice = await post('/auth/totp/setup', {}, done.body.token);
      expect(twice.status).to.equal(409);
      expect(twice.body.error.code).to.equal('TOTP_ALREADY_ENABLED');
    });
  });

  it('disables an account unused for more than 45 days at its next login', async () => {
    const u = await makeUser(['staff']);
    await sql('UPDATE users SET last_active_at = ? WHERE id = ?', [new Date(Date.now() - 46 * 86_400_000), u.id]);
    const r = await login(u.username, TEST_PASSWORD);
    expect(r.status).to.equal(401);
    expect(r.body.error.code).to.equal('ACCOUNT_DISABLED');
    const row = await userRow(u.id);
    expect(row.active).to.equal(0);
    expect(row.disabled_reason).to.equal('inactive');
    expect(await lastAudit('user.disabled_inactive')).to.include({
      action: 'user.disabled_inactive',
      entity_id: String(u.id),
      actor_user_id: null,
    });
  });

  it('the scheduled check disables every account unused for more than 45 days and ends their sessions', async () => {
    const { services } = await testApp();
    const stale = await makeUser(['auditor']);
    const fresh = await makeUser(['auditor']);
    await sql('UPDATE users SET last_active_at = ? WHERE id = ?', [new Date(Date.now() - 50 * 86_400_000), stale.id]);
    const n = await services.auth.disableInactive();
    expect(n).to.be.greaterThanOrEqual(1);
    expect((await userRow(stale.id)).active).to.equal(0);
    expect((await userRow(fresh.id)).active).to.equal(1);
    expect((await get('/auth/me', stale.token)).status).to.equal(401);
    expect((await get('/auth/me', fresh.token)).status).to.equal(200);
  });
});

describe('sessions', () => {
  it('ends idle sessions after 15 minutes, 5 for admins', async () => {
    const { infra } = await testApp();
    const staff = await makeUser(['staff']);
    const admin = await makeUser(['admin']);
    const staffLogin = await login(staff.username, TEST_PASSWORD);
    const adminLogin = await login(admin.username, TEST_PASSWORD, currentTotp(TEST_TOTP_SECRET));
    const ttl = async (token: string) => {
      const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;
      return infra.redis.pttl(redisKey(infra.cfg, 'sess', sid));
    };
    expect(await ttl(staffLogin.body.token)).to.be.within(14 * 60_000, 15 * 60_000);
    expect(await ttl(adminLogin.body.token)).to.be.within(4 * 60_000, 5 * 60_000);
    // an idle session is simply gone from Redis
    const sid = JSON.parse(Buffer.from(staffLogin.body.token.split('.')[1], 'base64url').toString()).sid as string;
    await infra.redis.pexpire(redisKey(infra.cfg, 'sess', sid), 1);
    await new Promise((r) => setTimeout(r, 20));
    const r = await get('/auth/me', staffLogin.body.token);
    expect(r.status).to.equal(401);
    expect(r.body.error.code).to.equal('SESSION_ENDED');
  });

  it('notices once, logs as an error and counts that Redis lost every session, while each request gets 401 SESSION_ENDED', async () => {
    const { infra } = await testApp();
    const a = await makeUser(['staff']);
    const b = await makeUser(['staff']);
    const cookieLogin = await post('/auth/login', { username: b.username, password: TEST_PASSWORD, session: 'cookie' });
    const cookie = cookieLogin.headers.get('set-cookie')!.split(';')[0]!;
    const resets = async () => Number(/^welfare_session_store_resets_total\{[^}]*\} (\d+)$/m.exec(await metricsText())?.[1] ?? 0);
    const before = await resets();
    // a session that merely ran out is not a loss: the store's marker is still there
    await infra.redis.del(redisKey(infra.cfg, 'sess', sidOf(a.token)));
    expect((await get('/auth/me', a.token)).body.error.code).to.equal('SESSION_ENDED');
    expect(await resets()).to.equal(before);
    // what a flush does to this deployment's sessions: every key gone, the marker with them
    const keys = await infra.redis.keys(`${redisKey(infra.cfg, 'sess')}:*`);
    await infra.redis.del(...keys, ...(await infra.redis.keys(`${redisKey(infra.cfg, 'usess')}:*`)));
    const errors: string[] = [];
    const capture = new winston.transports.Stream({
      level: 'error',
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          errors.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    infra.log.add(capture);
    try {
      const replies = await Promise.all([
        get('/auth/me', b.token),
        call('GET', '/api/v1/auth/me', { headers: { cookie } }),
        get('/auth/me', a.token),
      ]);
      for (const r of replies) expect([r.status, r.body.error.code]).to.deep.equal([401, 'SESSION_ENDED']);
    } finally {
      infra.log.remove(capture);
    }
    expect(await resets()).to.equal(before + 1);
    expect(errors.filter((m) => /session store lost every session/.test(m))).to.have.length(1);
    // logging in again works and marks the store
    expect((await post('/auth/login', { username: a.username, password: TEST_PASSWORD })).status).to.equal(200);
    expect(await infra.redis.exists(redisKey(infra.cfg, 'sess', 'epoch'))).to.equal(1);
  });

  it('each request pushes the idle deadline forward', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const sid = JSON.parse(Buffer.from(u.token.split('.')[1]!, 'base64url').toString()).sid as string;
    await infra.redis.pexpire(redisKey(infra.cfg, 'sess', sid), 5000);
    expect((await get('/auth/me', u.token)).status).to.equal(200);
    expect(await infra.redis.pttl(redisKey(infra.cfg, 'sess', sid))).to.be.greaterThan(14 * 60_000);
  });

  it('logout ends the session: the same token then gets 401 SESSION_ENDED', async () => {
    const u = await makeUser(['staff']);
    const r = await login(u.username, TEST_PASSWORD);
    const out = await post('/auth/logout', {}, r.body.token);
    expect(out.status).to.equal(204);
    expect(await lastAudit('auth.logout')).to.include({ action: 'auth.logout', entity_id: String(u.id) });
    const after = await get('/auth/me', r.body.token);
    expect(after.status).to.equal(401);
    expect(after.body.error.code).to.equal('SESSION_ENDED');
  });

  it('refresh issues a new token for the same live session', async () => {
    const u = await makeUser(['staff']);
    const r = await post('/auth/refresh', {}, u.token);
    expect(r.status).to.equal(200);
    const sidOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).sid as string;
    expect(sidOf(r.body.token)).to.equal(sidOf(u.token));
    expect(Date.parse(r.body.expiresAt)).to.be.greaterThan(Date.now() + 14 * 60_000);
    expect((await get('/auth/me', r.body.token)).status).to.equal(200);
    await post('/auth/logout', {}, r.body.token);
    expect((await get('/auth/me', u.token)).status, 'both tokens belong to the ended session').to.equal(401);
  });
});

describe('POST /api/v1/auth/password', () => {
  it('forces a first-login password change: limited session, then a full one; old tokens revoked', async () => {
    const u = await makeUser(['staff'], { mustChangePassword: true });
    const r = await login(u.username, TEST_PASSWORD);
    expect(r.status).to.equal(200);
    expect(r.body.stage).to.equal('limited');
    expect(r.body.user.pending).to.deep.equal(['password_change']);
    const refused = await get('/areas', r.body.token);
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal('ACCOUNT_SETUP_REQUIRED');

    const changed = await post('/auth/password', { currentPassword: TEST_PASSWORD, newPassword: 'Another-Password-2027?' }, r.body.token);
    expect(changed.status).to.equal(200);
    expect(changed.body.stage).to.equal('full');
    expect(changed.body.user.mustChangePassword).to.equal(false);
    expect(await lastAudit('auth.password_change')).to.include({ action: 'auth.password_change', entity_id: String(u.id) });
    expect((await get('/auth/me', r.body.token)).status, 'old session revoked').to.equal(401);
    expect((await get('/areas', changed.body.token)).status).to.equal(200);
    expect((await login(u.username, TEST_PASSWORD)).status).to.equal(401);
    expect((await login(u.username, 'Another-Password-2027?')).status).to.equal(200);
  });

  it('refuses a weak new password with 400 WEAK_PASSWORD naming every rule broken, and changes nothing', async () => {
    const u = await makeUser(['staff']);
    const hashBefore = (await userRow(u.id)).password_hash;
    const events = await auditCount();
    const r = await post('/auth/password', { currentPassword: TEST_PASSWORD, newPassword: 'short' }, u.token);
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal('WEAK_PASSWORD');
    const messages = r.body.error.details.map((d: { message: string }) => d.message);
    expect(messages).to.include.members([
      'must be at least 14 characters',
      'must contain an upper-case letter',
      'must contain a digit',
      'must contain a symbol',
    ]);
    expect((await userRow(u.id)).password_hash).to.equal(hashBefore);
    expect(await auditCount()).to.equal(events);
  });

  it('allows 8 characters for an account with a second factor, 14 without', async () => {
    const approver = await makeUser(['approver']);
    expect((await post('/auth/password', { currentPassword: TEST_PASSWORD, newPassword: 'Ab1!cdef' }, approver.token)).status).to.equal(
      200,
    );
    const staff = await makeUser(['staff']);
    const r = await post('/auth/password', { currentPassword: TEST_PASSWORD, newPassword: 'Ab1!cdef' }, staff.token);
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal('WEAK_PASSWORD');
  });

  it('refuses a wrong current password with 400 WRONG_PASSWORD', async () => {
    const u = await makeUser(['staff']);
    const r = await post('/auth/password', { currentPassword: 'nope', newPassword: 'Another-Password-2027?' }, u.token);
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal('WRONG_PASSWORD');
  });

  it('stores only a scrypt hash', async () => {
    const u = await makeUser(['staff']);
    await post('/auth/password', { currentPassword: TEST_PASSWORD, newPassword: 'Stored-Hash-Check-2027!' }, u.token);
    const hash = (await userRow(u.id)).password_hash as string;
    expect(hash).to.match(/^scrypt\$32768\$8\$1\$/);
    expect(hash).not.to.contain('Stored-Hash');
  });
});

const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

describe('account rules under concurrent requests', () => {
  it('locks an account under a burst of wrong passwords with the right one among them, and no session from the burst survives', async function () {
    this.timeout(60_000); // each attempt hashes with scrypt
    const { infra } = await testApp();
    const limit = infra.cfg.authMaxFailedLogins;
    // several accounts at once, each with a different position of the right password, to meet the interleavings
    const accounts = await Promise.all([0, 5, 11].map(async (at) => ({ at, u: await makeUser(['staff']) })));
    await Promise.all(
      accounts.map(async ({ at, u }) => {
        const attempts = Array.from({ length: 11 }, () => 'Wrong-Password-2026!');
        attempts.splice(at, 0, TEST_PASSWORD);
        const replies = await Promise.all(attempts.map((pw) => login(u.username, pw)));
        const row = await userRow(u.id);
        expect(row.locked_at, `account ${u.username} locked`).to.be.instanceOf(Date);
        expect(row.failed_logins, 'the counter of a locked account is never reset below the limit').to.be.at.least(limit);
        for (const r of replies.filter((x) => x.status === 200)) {
          expect((await get('/auth/me', r.body.token)).status, 'a session issued before the lock ends with it').to.equal(401);
        }
        expect((await get('/auth/me', u.token)).status).to.equal(401);
        const after = await login(u.username, TEST_PASSWORD);
        expect(after.status).to.equal(401);
        expect(after.body.error.code).to.equal('ACCOUNT_LOCKED');
      }),
    );
  });

  it('never lets a right password racing the last allowed failure reset the counter of an account it locks', async () => {
    const { infra } = await testApp();
    const limit = infra.cfg.authMaxFailedLogins;
    for (let round = 0; round < 4; round++) {
      const u = await makeUser(['staff']);
      await sql('UPDATE users SET failed_logins = ? WHERE id = ?', [limit - 1, u.id]);
      const [bad, good] = await Promise.all([login(u.username, 'Wrong-Password-2026!'), login(u.username, TEST_PASSWORD)]);
      expect(bad.status).to.equal(401);
      const row = await userRow(u.id);
      if (row.locked_at) {
        expect(row.failed_logins).to.equal(limit);
        if (good.status === 200) expect((await get('/auth/me', good.body.token)).status).to.equal(401);
        else expect(good.body.error.code).to.equal('ACCOUNT_LOCKED');
      } else {
        // the right password landed first: the counter restarted and the wrong one counted once
        expect(good.status).to.equal(200);
        expect(row.failed_logins).to.equal(1);
      }
    }
  });

  it('answers a locked account the same 401 ACCOUNT_LOCKED whether the password is right or wrong, and audits each attempt', async () => {
    const u = await makeUser(['staff']);
    await sql('UPDATE users SET failed_logins = 5, locked_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [u.id]);
    const right = await login(u.username, TEST_PASSWORD);
    const wrong = await login(u.username, 'Wrong-Password-2026!');
    expect(right.status).to.equal(401);
    expect(wrong.status).to.equal(right.status);
    expect(wrong.body.error.code).to.equal('ACCOUNT_LOCKED');
    expect({ ...wrong.body.error, requestId: null }).to.deep.equal({ ...right.body.error, requestId: null });
    expect(await lastAudit('auth.login_refused')).to.include({ action: 'auth.login_refused', entity_id: String(u.id) });
    expect((await userRow(u.id)).failed_logins).to.equal(5);
  });

  it('answers a disabled account the same 401 ACCOUNT_DISABLED whether the password is right or wrong, without counting it', async () => {
    const u = await makeUser(['staff'], { active: false });
    const right = await login(u.username, TEST_PASSWORD);
    const wrong = await login(u.username, 'Wrong-Password-2026!');
    expect(right.status).to.equal(401);
    expect(wrong.status).to.equal(401);
    expect(wrong.body.error.code).to.equal('ACCOUNT_DISABLED');
    expect({ ...wrong.body.error, requestId: null }).to.deep.equal({ ...right.body.error, requestId: null });
    expect(await lastAudit('auth.login_refused')).to.include({ action: 'auth.login_refused', entity_id: String(u.id) });
    expect((await userRow(u.id)).failed_logins).to.equal(0);
  });

  it('answers ACCOUNT_LOCKED to the failure that locks the account', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const codes: string[] = [];
    for (let i = 0; i < infra.cfg.authMaxFailedLogins; i++) codes.push((await login(u.username, 'Wrong-Password-2026!')).body.error.code);
    expect(codes.at(-1)).to.equal('ACCOUNT_LOCKED');
    expect(codes.slice(0, -1).every((c) => c === 'INVALID_CREDENTIALS')).to.equal(true);
  });

  it('accepts one TOTP code once when four logins send it at the same time', async () => {
    const admin = await makeUser(['admin']);
    const code = currentTotp(TEST_TOTP_SECRET);
    const replies = await Promise.all(Array.from({ length: 4 }, () => login(admin.username, TEST_PASSWORD, code)));
    expect(replies.filter((r) => r.status === 200)).to.have.length(1);
    for (const r of replies.filter((x) => x.status !== 200)) {
      expect(r.status).to.equal(401);
      expect(r.body.error.code).to.equal('INVALID_TOTP');
    }
  });

  it('confirms a TOTP enrolment once when the same code is sent four times at once', async () => {
    const approver = await makeUser(['approver'], { area: '001', totp: false });
    const limited = (await login(approver.username, TEST_PASSWORD)).body.token as string;
    const setup = await post('/auth/totp/setup', {}, limited);
    expect(setup.status).to.equal(200);
    const code = currentTotp(setup.body.secret);
    const replies = await Promise.all(Array.from({ length: 4 }, () => post('/auth/totp/confirm', { code }, limited)));
    expect(replies.filter((r) => r.status === 200)).to.have.length(1);
    for (const r of replies.filter((x) => x.status !== 200))
      expect(r.body.error.code).to.be.oneOf(['TOTP_ALREADY_ENABLED', 'SESSION_ENDED']);
    expect((await userRow(approver.id)).totp_enabled).to.equal(1);
  });
});

describe('session lifetime and binding', () => {
  it('keeps the per-user session index at least as long as each session can live, so a password change ends an old session', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const first = await login(u.username, TEST_PASSWORD);
    const second = await login(u.username, TEST_PASSWORD);
    const index = redisKey(infra.cfg, 'usess', u.id);
    const maxMs = infra.cfg.authSessionMaxHours * 3600_000;
    for (const r of [first, second]) {
      const deadline = Number(await infra.redis.hget(redisKey(infra.cfg, 'sess', sidOf(r.body.token)), 'exp'));
      expect(deadline, 'absolute deadline').to.be.within(Date.now() + maxMs - 60_000, Date.now() + maxMs);
      // both on Redis's clock (the deadline is written from TIME by the session script): no rounding between two clocks
      const indexExpiresAt = Number(await infra.redis.call('PEXPIRETIME', index));
      expect(indexExpiresAt, 'index outlives the session').to.be.at.least(deadline);
    }
    const changed = await post(
      '/auth/password',
      { currentPassword: TEST_PASSWORD, newPassword: 'Another-Password-2027?' },
      second.body.token,
    );
    expect(changed.status).to.equal(200);
    expect((await get('/auth/me', first.body.token)).status).to.equal(401);
    expect((await get('/auth/me', u.token)).status).to.equal(401);
  });

  it('ends a session at its absolute deadline even while it is in use, and refresh cannot extend it', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const key = redisKey(infra.cfg, 'sess', sidOf(u.token));
    await infra.redis.hset(key, 'exp', String(Date.now() + 3000));
    expect((await get('/auth/me', u.token)).status).to.equal(200);
    expect(await infra.redis.pttl(key), 'the idle extension stops at the deadline').to.be.at.most(3000);
    const refreshed = await post('/auth/refresh', {}, u.token);
    expect(refreshed.status).to.equal(200);
    expect(await infra.redis.pttl(key)).to.be.at.most(3000);
    await infra.redis.hset(key, 'exp', String(Date.now() - 1));
    for (const token of [u.token, refreshed.body.token]) {
      const r = await get('/auth/me', token);
      expect(r.status).to.equal(401);
      expect(r.body.error.code).to.equal('SESSION_ENDED');
    }
    expect((await post('/auth/refresh', {}, refreshed.body.token)).status).to.equal(401);
  });

  it('refuses with 401 TOKEN_SESSION_MISMATCH a token whose user or roles differ from its session', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const other = await makeUser(['staff']);
    const claims = JSON.parse(Buffer.from(u.token.split('.')[1]!, 'base64url').toString());
    const tokens = new TokenService(infra.cfg);
    const base = { sub: String(u.id), sid: claims.sid, usr: u.username, area: u.areaId, apath: claims.apath, stage: 'full' as const };
    for (const forged of [
      tokens.sign({ ...base, roles: ['staff', 'admin'] }).token,
      tokens.sign({ ...base, roles: ['auditor'] }).token,
      tokens.sign({ ...base, roles: ['staff'], sub: String(other.id), usr: other.username }).token,
    ]) {
      const r = await get('/auth/me', forged);
      expect(r.status).to.equal(401);
      expect(r.body.error.code).to.equal('TOKEN_SESSION_MISMATCH');
    }
    expect((await get('/auth/me', u.token)).status).to.equal(200);
  });

  it('refuses to refresh a session whose user no longer has its roles', async () => {
    const u = await makeUser(['staff']);
    await sql("UPDATE users SET roles = 'staff,auditor' WHERE id = ?", [u.id]);
    const r = await post('/auth/refresh', {}, u.token);
    expect(r.status).to.equal(401);
    expect(r.body.error.code).to.equal('SESSION_ENDED');
    expect((await get('/auth/me', u.token)).status).to.equal(401);
  });
});

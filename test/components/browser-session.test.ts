import { expect } from 'chai';
import { currentTotp, SESSION_COOKIE } from '../../src/components/auth';
import { sessionCookieOf, sessionCookieOptions } from '../../src/components/auth/session-cookie';
import { redisKey } from '../../src/platform/redis';
import { testApp } from '../helpers/app';
import { auditCount, makeUser, TEST_PASSWORD, TEST_TOTP_SECRET, type TestUser } from '../helpers/factories';
import { call, type Reply } from '../helpers/http';

interface Browser {
  cookie: string;
  csrfToken: string;
  login: Reply;
}

const cookieOf = (r: Reply): string => {
  const set = r.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  expect(set, 'a session cookie is set').to.be.a('string');
  return set!.split(';')[0]!;
};

async function browserLogin(u: TestUser, totp?: string): Promise<Browser> {
  const login = await call('POST', '/api/v1/auth/login', {
    body: { username: u.username, password: TEST_PASSWORD, session: 'cookie', ...(totp ? { totp } : {}) },
  });
  expect(login.status, JSON.stringify(login.body)).to.equal(200);
  return { cookie: cookieOf(login), csrfToken: login.body.csrfToken, login };
}

/** A request as the console makes it: the cookie, and the CSRF header when given. */
const fromBrowser = (method: string, path: string, b: { cookie: string; csrf?: string | undefined; body?: unknown; token?: string }) =>
  call(method, `/api/v1${path}`, {
    headers: { cookie: b.cookie, ...(b.csrf !== undefined ? { 'x-csrf-token': b.csrf } : {}) },
    ...(b.body !== undefined ? { body: b.body } : {}),
    ...(b.token ? { token: b.token } : {}),
  });

async function sessionTtl(sid: string): Promise<number> {
  const { infra } = await testApp();
  return infra.redis.pttl(redisKey(infra.cfg, 'sess', sid));
}

const sidOfCookie = (cookie: string) => cookie.slice(SESSION_COOKIE.length + 1).split('.')[0]!;

describe('browser sessions (session: cookie)', () => {
  it('sets an HttpOnly, SameSite=Strict cookie for the whole site and answers the CSRF token, never a token', async () => {
    const u = await makeUser(['staff']);
    const b = await browserLogin(u);
    const set = b.login.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    const attrs = set
      .split(';')
      .slice(1)
      .map((a) => a.trim());
    expect(attrs).to.include.members(['Path=/', 'HttpOnly', 'SameSite=Strict']);
    expect(
      attrs.some((a) => /^(Max-Age|Expires)=/i.test(a)),
      'a browser-session cookie',
    ).to.equal(false);
    expect(attrs, 'not Secure outside production').to.not.include('Secure');
    expect(b.login.body).to.not.have.property('token');
    expect(b.login.body).to.not.have.property('tokenType');
    expect(b.login.body.csrfToken).to.be.a('string').with.length.greaterThan(30);
    expect(b.login.body).to.include({ stage: 'full' });
    expect(b.login.body.user).to.include({ id: u.id, username: u.username });
    expect(b.login.text).to.not.include(b.cookie.split('=')[1]!);
  });

  it('builds the cookie Secure in production only', () => {
    expect(sessionCookieOptions({ mode: 'production' })).to.include({ secure: true, httpOnly: true, sameSite: 'strict', path: '/' });
    expect(sessionCookieOptions({ mode: 'test' }).secure).to.equal(false);
    expect(sessionCookieOptions({ mode: 'development' }).secure).to.equal(false);
  });

  it('reads the session cookie among others, and refuses one sent twice', () => {
    expect(sessionCookieOf('a=1; wd_session=abc.def; b=2')).to.equal('abc.def');
    expect(sessionCookieOf('a=1')).to.equal(undefined);
    expect(sessionCookieOf(undefined)).to.equal(undefined);
    expect(sessionCookieOf('wd_session=x.y; wd_session=z.w')).to.equal(null);
  });

  it('GET /auth/me answers the deadlines and the CSRF token of a cookie session, and the deadlines alone for a bearer one', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const b = await browserLogin(u);
    const me = await fromBrowser('GET', '/auth/me', { cookie: b.cookie });
    expect(me.status, JSON.stringify(me.body)).to.equal(200);
    expect(me.body).to.include({ id: u.id, username: u.username });
    expect(me.body.session.csrfToken).to.equal(b.csrfToken);
    expect(me.body.session.idleSeconds).to.equal(infra.cfg.authIdleMinutes * 60);
    const idleAt = Date.parse(me.body.session.idleExpiresAt);
    expect(idleAt).to.be.within(Date.now() + 14 * 60_000, Date.now() + 15 * 60_000 + 1000);
    expect(Date.parse(me.body.session.expiresAt)).to.be.within(
      Date.now() + infra.cfg.authSessionMaxHours * 3600_000 - 60_000,
      Date.now() + infra.cfg.authSessionMaxHours * 3600_000,
    );
    expect(Date.parse(b.login.body.expiresAt), 'login states the absolute end').to.equal(Date.parse(me.body.session.expiresAt));

    const admin = await makeUser(['admin']);
    const bearer = await call('GET', '/api/v1/auth/me', { token: admin.token });
    expect(bearer.status).to.equal(200);
    expect(bearer.body.session).to.not.have.property('csrfToken');
    expect(bearer.body.session.idleSeconds).to.equal(infra.cfg.authAdminIdleMinutes * 60);
  });

  it('refuses a cookie POST without the CSRF header, or with a wrong one, with 403 CSRF_TOKEN_INVALID and does nothing', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const b = await browserLogin(u);
    const sid = sidOfCookie(b.cookie);
    const [before] = (await infra.ds.query('SELECT password_hash FROM users WHERE id = ?', [u.id])) as { password_hash: string }[];
    const events = await auditCount('user');
    await infra.redis.pexpire(redisKey(infra.cfg, 'sess', sid), 60_000);
    const change = { currentPassword: TEST_PASSWORD, newPassword: 'Another-Password-2027?' };
    for (const csrf of [undefined, '', 'x'.repeat(b.csrfToken.length), `${b.csrfToken}x`]) {
      const r = await fromBrowser('POST', '/auth/password', { cookie: b.cookie, csrf, body: change });
      expect(r.status, `csrf ${String(csrf)}`).to.equal(403);
      expect(r.body.error.code).to.equal('CSRF_TOKEN_INVALID');
    }
    const out = await fromBrowser('POST', '/auth/logout', { cookie: b.cookie });
    expect(out.status).to.equal(403);
    expect(out.body.error.code).to.equal('CSRF_TOKEN_INVALID');
    const [after] = (await infra.ds.query('SELECT password_hash FROM users WHERE id = ?', [u.id])) as { password_hash: string }[];
    expect(after!.password_hash).to.equal(before!.password_hash);
    expect(await auditCount('user')).to.equal(events);
    expect(await sessionTtl(sid), 'a refused request does not extend the session').to.be.at.most(60_000);
    expect((await fromBrowser('GET', '/auth/me', { cookie: b.cookie })).status, 'the session lives on').to.equal(200);
  });

  it('accepts a cookie POST with the right CSRF token; a password change replaces the cookie and the CSRF token', async () => {
    const u = await makeUser(['staff']);
    const b = await browserLogin(u);
    const r = await fromBrowser('POST', '/auth/password', {
      cookie: b.cookie,
      csrf: b.csrfToken,
      body: { currentPassword: TEST_PASSWORD, newPassword: 'Another-Password-2027?' },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.not.have.property('token');
    const next = { cookie: cookieOf(r), csrfToken: r.body.csrfToken as string };
    expect(next.cookie).to.not.equal(b.cookie);
    expect(next.csrfToken).to.be.a('string').and.not.equal(b.csrfToken);
    const old = await fromBrowser('GET', '/auth/me', { cookie: b.cookie });
    expect(old.status).to.equal(401);
    expect(old.body.error.code).to.equal('SESSION_ENDED');
    const me = await fromBrowser('GET', '/auth/me', { cookie: next.cookie });
    expect(me.status).to.equal(200);
    expect(me.body.session.csrfToken).to.equal(next.csrfToken);
    expect(
      (await fromBrowser('POST', '/auth/logout', { cookie: next.cookie, csrf: b.csrfToken })).status,
      "the old session's token",
    ).to.equal(403);
  });

  it('leaves bearer requests as they were: no CSRF header needed, and an Authorization header wins over the cookie', async () => {
    const u = await makeUser(['staff']);
    const other = await makeUser(['staff']);
    const b = await browserLogin(other);
    const refreshed = await call('POST', '/api/v1/auth/refresh', { token: u.token });
    expect(refreshed.status).to.equal(200);
    const both = await fromBrowser('GET', '/auth/me', { cookie: b.cookie, token: u.token });
    expect(both.body.id, 'the bearer user').to.equal(u.id);
    const bearerPost = await fromBrowser('POST', '/auth/refresh', { cookie: b.cookie, token: u.token });
    expect(bearerPost.status, 'the cookie is ignored, so no CSRF check').to.equal(200);
    const badBearer = await call('GET', '/api/v1/auth/me', { headers: { cookie: b.cookie, authorization: 'Bearer nope' } });
    expect(badBearer.status, 'a bad Authorization header is not rescued by the cookie').to.equal(401);
  });

  it('logout ends the cookie session and clears the cookie with Max-Age=0', async () => {
    const u = await makeUser(['staff']);
    const b = await browserLogin(u);
    const out = await fromBrowser('POST', '/auth/logout', { cookie: b.cookie, csrf: b.csrfToken });
    expect(out.status).to.equal(204);
    const cleared = out.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    expect(cleared).to.match(new RegExp(`^${SESSION_COOKIE}=;`));
    expect(cleared).to.include('Max-Age=0');
    const after = await fromBrowser('GET', '/auth/me', { cookie: b.cookie });
    expect(after.status).to.equal(401);
    expect(after.body.error.code).to.equal('SESSION_ENDED');
  });

  it('ends a cookie session when idle like any session, and each request extends it', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    const b = await browserLogin(u);
    const key = redisKey(infra.cfg, 'sess', sidOfCookie(b.cookie));
    await infra.redis.pexpire(key, 5000);
    expect((await fromBrowser('GET', '/beneficiaries?limit=1', { cookie: b.cookie })).status).to.equal(200);
    expect(await infra.redis.pttl(key)).to.be.greaterThan(14 * 60_000);
    await infra.redis.pexpire(key, 1);
    await new Promise((r) => setTimeout(r, 20));
    const r = await fromBrowser('GET', '/auth/me', { cookie: b.cookie });
    expect(r.status).to.equal(401);
    expect(r.body.error.code).to.equal('SESSION_ENDED');
  });

  it('refuses a cookie that names a session without its secret, a malformed one, and one sent twice', async () => {
    const u = await makeUser(['staff']);
    const sid = JSON.parse(Buffer.from(u.token.split('.')[1]!, 'base64url').toString()).sid as string;
    const b = await browserLogin(u);
    for (const cookie of [
      `${SESSION_COOKIE}=${sid}.${'A'.repeat(43)}`,
      `${SESSION_COOKIE}=${sidOfCookie(b.cookie)}.${'A'.repeat(43)}`,
      `${SESSION_COOKIE}=${sid}`,
      `${SESSION_COOKIE}=garbage`,
      `${b.cookie}; ${b.cookie}`,
    ]) {
      const r = await fromBrowser('GET', '/auth/me', { cookie });
      expect(r.status, cookie).to.equal(401);
    }
    expect((await fromBrowser('GET', '/auth/me', { cookie: b.cookie })).status).to.equal(200);
  });

  it('refuses to hand a cookie session a bearer token through refresh with 403 BEARER_SESSION_REQUIRED', async () => {
    const u = await makeUser(['staff']);
    const b = await browserLogin(u);
    const r = await fromBrowser('POST', '/auth/refresh', { cookie: b.cookie, csrf: b.csrfToken });
    expect(r.status).to.equal(403);
    expect(r.body.error.code).to.equal('BEARER_SESSION_REQUIRED');
    expect(r.body).to.not.have.property('token');
  });

  it('works the same for a limited session: TOTP enrolment in a cookie session sets a new cookie and CSRF token', async () => {
    const approver = await makeUser(['approver'], { area: '001', totp: false });
    const b = await browserLogin(approver);
    expect(b.login.body.stage).to.equal('limited');
    const refused = await fromBrowser('GET', '/areas', { cookie: b.cookie });
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal('ACCOUNT_SETUP_REQUIRED');
    const noCsrf = await fromBrowser('POST', '/auth/totp/setup', { cookie: b.cookie });
    expect(noCsrf.body.error.code).to.equal('CSRF_TOKEN_INVALID');
    const setup = await fromBrowser('POST', '/auth/totp/setup', { cookie: b.cookie, csrf: b.csrfToken });
    expect(setup.status).to.equal(200);
    const done = await fromBrowser('POST', '/auth/totp/confirm', {
      cookie: b.cookie,
      csrf: b.csrfToken,
      body: { code: currentTotp(setup.body.secret) },
    });
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    expect(done.body).to.not.have.property('token');
    expect(done.body.stage).to.equal('full');
    const full = cookieOf(done);
    expect((await fromBrowser('GET', '/areas', { cookie: full })).status).to.equal(200);
    expect((await fromBrowser('GET', '/auth/me', { cookie: b.cookie })).status, 'the limited session has ended').to.equal(401);
    const me = await fromBrowser('GET', '/auth/me', { cookie: full });
    expect(me.body.session.csrfToken).to.equal(done.body.csrfToken);
  });

  it('logs an enrolled admin in with a cookie after the second factor', async () => {
    const admin = await makeUser(['admin']);
    const b = await browserLogin(admin, currentTotp(TEST_TOTP_SECRET));
    const me = await fromBrowser('GET', '/auth/me', { cookie: b.cookie });
    expect(me.status).to.equal(200);
    expect(me.body.session.idleSeconds).to.equal(300);
  });
});

/**
 * Everyone's first journeys in Chromium against the real service: the login page, the session kept across a
 * reload, logout, the second factor, the CSRF defence of the browser session (cookie + CSRF).
 */
import { expect } from 'chai';
import { authenticator } from 'otplib';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

const PASSWORD = 'Demo-Password-2026!';
const DEMO_TOTP_SECRET = 'JBSWY3DPEHPK3PXP';

describe('console: login and session (Chromium)', function () {
  this.timeout(60_000);
  let b: Browser | undefined;

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  async function login(username: string, password = PASSWORD): Promise<void> {
    const { page } = b!;
    await page.getByLabel('Tên đăng nhập').fill(username);
    await page.getByLabel('Mật khẩu', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
  }

  it('shows the login page in Vietnamese, with no serious or critical accessibility violation and nothing refused by the CSP', async () => {
    b = await openBrowser();
    const res = await b.page.goto(`${b.url}/login`);
    expect(res!.status()).to.equal(200);
    expect(res!.headers()['content-security-policy']).to.match(/script-src 'self'/);
    await b.page.getByRole('heading', { name: 'Đăng nhập', level: 1 }).waitFor();
    expect(await b.page.getAttribute('html', 'lang')).to.equal('vi');
    expect(await b.page.title()).to.contain('Đăng nhập');
    await expectAccessible(b.page);
    expect(b.cspViolations).to.deep.equal([]);
  });

  it('sends a visitor without a session from a deep link to the login page, keeping the page in ?next=', async () => {
    b = await openBrowser();
    await b.page.goto(`${b.url}/batches/12?tab=items`);
    await b.page.waitForURL(/\/login\?/);
    const u = new URL(b.page.url());
    expect(u.pathname).to.equal('/login');
    expect(u.searchParams.get('next')).to.equal('/batches/12?tab=items');
    await b.page.getByRole('heading', { name: 'Đăng nhập', level: 1 }).waitFor();
  });

  it('reaches every control of the login form with the keyboard alone, in order', async () => {
    b = await openBrowser();
    await b.page.goto(`${b.url}/login`);
    await b.page.getByRole('heading', { name: 'Đăng nhập', level: 1 }).waitFor();
    const focused: string[] = [];
    for (let i = 0; i < 3; i++) {
      await b.page.keyboard.press('Tab');
      focused.push(
        await b.page.evaluate(() => {
          const el = (globalThis as any).document.activeElement;
          return (el?.getAttribute('name') ?? el?.textContent ?? '') as string;
        }),
      );
    }
    expect(focused).to.deep.equal(['username', 'password', 'Đăng nhập']);
  });

  describe('with the cookie session', () => {
    it('tells an unknown user beside the form, in Vietnamese, that the username or password is wrong', async function () {
      b = await openBrowser();
      await b.page.goto(`${b.url}/login`);
      await login('khong.co.ai', 'Sai-Mat-Khau-123!');
      const alert = b.page.getByRole('alert').filter({ hasText: 'Sai tên đăng nhập hoặc mật khẩu.' });
      await alert.waitFor();
      expect(new URL(b.page.url()).pathname).to.equal('/login');
      await expectAccessible(b.page);
    });

    it('logs staff in to the home page with their name, keeps them logged in across a reload, and logs them out', async function () {
      b = await openBrowser();
      await b.page.goto(`${b.url}/login`);
      await login('staff');
      await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
      const welcome = await b.page.locator('.welcome').textContent();
      expect(welcome).to.match(/^Xin chào, .+\.$/);
      // staff sees the staff sections and not the administrators'
      const nav = b.page.getByRole('navigation', { name: 'Điều hướng chính' });
      await nav.getByRole('link', { name: 'Đợt chi trả' }).waitFor();
      expect(await nav.getByRole('link', { name: 'Người dùng' }).count()).to.equal(0);
      await expectAccessible(b.page);

      // the session is an HttpOnly cookie: nothing a script can read
      const cookie = (await b.context.cookies()).find((c) => c.name === 'wd_session');
      expect(cookie, 'wd_session cookie').to.not.equal(undefined);
      expect(cookie!.httpOnly).to.equal(true);
      expect(cookie!.sameSite).to.equal('Strict');
      expect(await b.page.evaluate(() => (globalThis as any).document.cookie as string)).to.not.contain('wd_session');

      await b.page.reload();
      await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
      expect(await b.page.locator('.welcome').textContent()).to.equal(welcome);

      await b.page.getByRole('button', { name: 'Đăng xuất' }).click();
      await b.page.waitForURL(/\/login/);
      await b.page.getByText('Bạn đã đăng xuất.').waitFor();
      // the cookie no longer opens anything
      await b.page.goto(`${b.url}/`);
      await b.page.waitForURL(/\/login/);
    });

    it('asks the admin for the TOTP code after the password, then lets them in', async function () {
      b = await openBrowser();
      await b.page.goto(`${b.url}/login`);
      await login('admin');
      const code = b.page.getByLabel('Mã xác thực (6 chữ số)');
      await code.waitFor();
      await expectAccessible(b.page);
      await code.fill(authenticator.generate(DEMO_TOTP_SECRET));
      await b.page.getByRole('button', { name: 'Đăng nhập' }).click();
      await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
      await b.page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Người dùng' }).waitFor();
    });

    it('refuses an unsafe request of the cookie session without X-CSRF-Token with 403 CSRF_TOKEN_INVALID', async function () {
      b = await openBrowser();
      await b.page.goto(`${b.url}/login`);
      await login('staff');
      await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
      const answer = await b.page.evaluate(async () => {
        const r = await fetch('/api/v1/auth/logout', { method: 'POST', credentials: 'same-origin' });
        return { status: r.status, body: (await r.json()) as { error: { code: string } } };
      });
      expect(answer.status).to.equal(403);
      expect(answer.body.error.code).to.equal('CSRF_TOKEN_INVALID');
      // nothing done: the session still works
      await b.page.reload();
      await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    });

    it('warns a minute before the idle limit, then returns to the login page keeping the page in ?next=', async function () {
      b = await openBrowser();
      await b.page.clock.install();
      await b.page.goto(`${b.url}/login`);
      await login('staff');
      await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
      await b.page.goto(`${b.url}/profile`);
      await b.page.getByRole('heading', { name: 'Tài khoản của tôi', level: 1 }).waitFor();
      await b.page.clock.fastForward('14:05');
      const warning = b.page.getByRole('alertdialog', { name: 'Phiên làm việc sắp kết thúc' });
      await warning.waitFor();
      await expectAccessible(b.page);
      await b.page.clock.fastForward('01:00');
      await b.page.waitForURL(/\/login\?/);
      const u = new URL(b.page.url());
      expect(u.searchParams.get('next')).to.equal('/profile');
      expect(u.searchParams.get('reason')).to.equal('idle');
      await b.page.getByText('Phiên làm việc đã kết thúc vì không có thao tác.', { exact: false }).waitFor();
    });
  });
});

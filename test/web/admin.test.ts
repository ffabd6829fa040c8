/**
 * Administrators' journeys in Chromium against the real service: creating a commune-scoped user who must change
 * the password at first login, and an approver made through the two-administrator grant (each administrator sees
 * one half of the temporary password once; the new approver changes it and enrols TOTP), logged in through the
 * login page with the browser session (cookie + CSRF).
 */
import { expect } from 'chai';
import { authenticator } from 'otplib';
import { testApp } from '../helpers/app';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

const PASSWORD = 'Demo-Password-2026!';
const DEMO_TOTP_SECRET = 'JBSWY3DPEHPK3PXP';
const NEW_PASSWORD = 'Mat-Khau-Moi-2026!xyz';

/** A username no other test run of this database has used. */
const fresh = (prefix: string) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;

/**
 * Test-only: forgets the TOTP step last used by `username`, so that two logins of a demo user inside one 30-second
 * step are both accepted (the service refuses a code already used, as it must).
 */
async function forgetTotpStep(username: string): Promise<void> {
  const { infra } = await testApp();
  await infra.ds.query('UPDATE users SET totp_last_step = NULL WHERE username = ?', [username]);
}

async function userRow(
  username: string,
): Promise<{ id: number; roles: string; area_id: number | null; must_change_password: number; totp_enabled: number }> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT id, roles, area_id, must_change_password, totp_enabled FROM users WHERE username = ?', [
    username,
  ])) as any[];
  return row;
}

describe('console: administrators (Chromium)', function () {
  this.timeout(90_000);
  const browsers: Browser[] = [];

  beforeEach(function () {});

  afterEach(async function () {
    for (const b of browsers) await screenshotIfFailed(this.currentTest, b.page);
    for (const b of browsers.splice(0)) await b.close();
  });

  async function open(): Promise<Browser> {
    const b = await openBrowser();
    browsers.push(b);
    return b;
  }

  async function login(b: Browser, username: string, password: string, totpSecret?: string): Promise<void> {
    await b.page.goto(`${b.url}/login`);
    await b.page.getByLabel('Tên đăng nhập').fill(username);
    await b.page.getByLabel('Mật khẩu', { exact: true }).fill(password);
    await b.page.getByRole('button', { name: 'Đăng nhập' }).click();
    if (totpSecret) {
      await forgetTotpStep(username);
      const code = b.page.getByLabel('Mã xác thực (6 chữ số)');
      await code.waitFor();
      await code.fill(authenticator.generate(totpSecret));
      await b.page.getByRole('button', { name: 'Đăng nhập' }).click();
    }
  }

  async function adminAt(username: 'admin' | 'admin2', path: string): Promise<Browser> {
    const b = await open();
    await login(b, username, PASSWORD, DEMO_TOTP_SECRET);
    await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    await b.page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Người dùng' }).click();
    await b.page.getByRole('heading', { name: 'Người dùng', level: 1 }).waitFor();
    if (path !== '/users') await b.page.goto(`${b.url}${path}`);
    return b;
  }

  async function changePassword(b: Browser, from: string): Promise<void> {
    await b.page.getByRole('heading', { name: 'Đổi mật khẩu', level: 1 }).waitFor();
    await b.page.getByText('Đây là lần đăng nhập đầu tiên', { exact: false }).waitFor();
    await expectAccessible(b.page);
    await b.page.getByLabel('Mật khẩu hiện tại').fill(from);
    await b.page.getByLabel('Mật khẩu mới', { exact: true }).fill(NEW_PASSWORD);
    await b.page.getByLabel('Nhập lại mật khẩu mới').fill(NEW_PASSWORD);
    await b.page.getByRole('button', { name: 'Đổi mật khẩu' }).click();
  }

  it('an admin creates a commune-scoped user, who at first login must change the password', async () => {
    const username = fresh('canbo.');
    const b = await adminAt('admin', '/users');
    await expectAccessible(b.page);
    await b.page.getByRole('link', { name: 'Tạo người dùng' }).click();
    await b.page.getByRole('heading', { name: 'Tạo người dùng', level: 1 }).waitFor();
    await b.page.getByLabel('Tên đăng nhập').fill(username);
    await b.page.getByLabel('Họ và tên').fill('Nguyễn Thị Hường');
    await b.page.getByRole('checkbox', { name: 'Cán bộ nghiệp vụ' }).check();
    await b.page.getByLabel('Tìm địa bàn (mã hoặc tên)').fill('00001');
    const area = b.page.getByLabel('Địa bàn', { exact: true });
    await area.locator('option', { hasText: 'Phường Phúc Xá' }).waitFor({ state: 'attached' });
    await area.selectOption({ label: 'Phường Phúc Xá (00001) · Xã/Phường' });
    await expectAccessible(b.page);
    await b.page.getByRole('button', { name: 'Tạo người dùng' }).click();

    await b.page.getByRole('heading', { name: `Đã tạo người dùng ${username}`, level: 1 }).waitFor();
    const temporary = (await b.page.locator('.once-secret .secret').textContent())!.trim();
    expect(temporary.length).to.be.greaterThan(10);
    await expectAccessible(b.page);

    const { infra } = await testApp();
    const [commune] = (await infra.ds.query("SELECT id FROM areas WHERE code = '00001'")) as { id: number }[];
    const row = await userRow(username);
    expect(row.roles).to.equal('staff');
    expect(row.area_id).to.equal(commune!.id);
    expect(row.must_change_password).to.equal(1);

    // the list shows them with their commune
    await b.page.getByRole('link', { name: 'Về danh sách người dùng' }).click();
    await b.page.getByLabel('Tên đăng nhập bắt đầu bằng').fill(username);
    await b.page.getByRole('link', { name: username }).waitFor();
    await b.page.getByRole('cell', { name: 'Phường Phúc Xá (00001)' }).waitFor();

    const u = await open();
    await login(u, username, temporary);
    await changePassword(u, temporary);
    await u.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    expect((await userRow(username)).must_change_password).to.equal(0);
  });

  it('makes an approver only with a second administrator: each sees one half of the password once; the approver changes it and enrols TOTP', async () => {
    const username = fresh('duyet.');
    const a1 = await adminAt('admin', '/users/new');
    await a1.page.getByRole('heading', { name: 'Tạo người dùng', level: 1 }).waitFor();
    await a1.page.getByLabel('Tên đăng nhập').fill(username);
    await a1.page.getByLabel('Họ và tên').fill('Trần Văn Đức');
    await a1.page.getByRole('checkbox', { name: 'Cán bộ phê duyệt' }).check();
    await a1.page.getByText('cần một quản trị viên thứ hai xác nhận', { exact: false }).waitFor();
    await a1.page.getByRole('button', { name: 'Tạo người dùng' }).click();
    await a1.page.getByText('Nửa đầu mật khẩu tạm:').waitFor();
    const firstHalf = (await a1.page.locator('.once-secret .secret').textContent())!.trim();
    await expectAccessible(a1.page);
    // no role yet, no usable password
    expect((await userRow(username)).roles).to.equal('');

    // the proposer cannot confirm their own proposal: the page offers only to withdraw it
    await a1.page.goto(`${a1.url}/users`);
    await a1.page.getByRole('button', { name: `Rút đề nghị cho ${username}` }).waitFor();
    expect(await a1.page.getByRole('button', { name: `Xác nhận cho ${username}` }).count()).to.equal(0);

    const a2 = await adminAt('admin2', '/users');
    await a2.page.getByRole('button', { name: `Xác nhận cho ${username}` }).click();
    await a2.page.getByText(`Nửa sau mật khẩu tạm của ${username}:`).waitFor();
    const secondHalf = (await a2.page.locator('.once-secret .secret').textContent())!.trim();
    await expectAccessible(a2.page);
    expect((await userRow(username)).roles).to.equal('approver');

    const u = await open();
    await login(u, username, `${firstHalf}${secondHalf}`);
    await changePassword(u, `${firstHalf}${secondHalf}`);
    await u.page.getByRole('heading', { name: 'Đăng ký xác thực hai lớp', level: 1 }).waitFor();
    await u.page.getByRole('button', { name: 'Bắt đầu đăng ký' }).click();
    const secret = (await u.page.locator('code.secret').textContent())!.replace(/\s+/g, '');
    await u.page.getByLabel('Mã xác thực').fill(authenticator.generate(secret));
    await u.page.getByRole('button', { name: 'Xác nhận' }).click();
    await u.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    const row = await userRow(username);
    expect(row.must_change_password).to.equal(0);
    expect(row.totp_enabled).to.equal(1);
  });

  it('shows the area tree, banks and wallets, providers and routes, and queues, each without a serious accessibility violation', async () => {
    const b = await adminAt('admin', '/areas');
    await b.page.getByRole('heading', { name: 'Địa bàn', level: 1 }).waitFor();
    await b.page.getByRole('button', { name: 'Mở Thành phố Hà Nội (01)' }).click();
    await b.page.getByRole('button', { name: 'Quận Ba Đình (001)', exact: true }).click();
    await b.page.getByRole('heading', { name: 'Quận Ba Đình (001)', level: 2 }).waitFor();
    await expectAccessible(b.page);

    await b.page.goto(`${b.url}/reference`);
    await b.page.getByRole('heading', { name: 'Ngân hàng', level: 2 }).waitFor();
    await b.page.getByRole('cell', { name: '970436' }).waitFor();
    await expectAccessible(b.page);

    await b.page.goto(`${b.url}/providers`);
    await b.page.getByRole('cell', { name: 'sandbox' }).first().waitFor();
    await b.page.getByRole('button', { name: 'Tạm dừng sandbox' }).click();
    await b.page.getByText('Đã tạm dừng sandbox', { exact: false }).waitFor();
    const { infra } = await testApp();
    const [p] = (await infra.ds.query("SELECT paused FROM providers WHERE name = 'sandbox'")) as { paused: number }[];
    expect(p!.paused).to.equal(1);
    await b.page.getByRole('button', { name: 'Tiếp tục sandbox' }).click();
    await b.page.getByText('sandbox đã tiếp tục chi trả.').waitFor();
    await expectAccessible(b.page);

    await b.page.goto(`${b.url}/queues`);
    await b.page.getByRole('rowheader', { name: /payments\.dispatch/ }).waitFor();
    await expectAccessible(b.page);
  });
});

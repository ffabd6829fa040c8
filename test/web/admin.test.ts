/**
 * Administrators' journeys in Chromium against the real service: creating a commune-scoped user who must change
 * the password at first login, and an approver made through the two-administrator grant (each administrator sees
 * one half of the temporary password once; the new approver changes it and enrols TOTP), logged in through the
 * login page with the browser session (cookie + CSRF).
 */
import { expect } from 'chai';
import { authenticator } from 'otplib';
import { testApp } from '../helpers/app';
import { makeUser } from '../helpers/factories';
import { post } from '../helpers/http';
import { startTestSandbox } from '../helpers/sandbox';
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
    await expectAccessible(b.page);

    await b.page.goto(`${b.url}/queues`);
    await b.page.getByRole('rowheader', { name: /payments\.dispatch/ }).waitFor();
    await expectAccessible(b.page);
  });
  /** A fresh administrator's token for setting up records through the API (not the browser's own session). */
  async function adminToken(): Promise<string> {
    return (await makeUser(['admin'], { area: null })).token;
  }

  it('edits an area through a confirmation listing the change, and deletes an unused one; a refusal is shown beside the delete', async () => {
    const { infra } = await testApp();
    const token = await adminToken();
    const [badinh] = (await infra.ds.query("SELECT id FROM areas WHERE code = '001'")) as { id: number }[];
    const code = `T${Date.now().toString(36).slice(-6)}${Math.floor(Math.random() * 100)}`.toUpperCase();
    const made = await post('/areas', { code, name: 'Phường Thử Nghiệm', level: 'commune', parentId: badinh!.id }, token);
    expect(made.status, JSON.stringify(made.body)).to.equal(201);

    const b = await adminAt('admin', '/areas');
    await b.page.getByRole('heading', { name: 'Địa bàn', level: 1 }).waitFor();
    await b.page.getByRole('button', { name: 'Mở Thành phố Hà Nội (01)' }).click();
    // Ba Đình has sub-areas: deleting it is refused, and the refusal stands beside the delete control
    await b.page.getByRole('button', { name: 'Quận Ba Đình (001)', exact: true }).click();
    await b.page.getByRole('button', { name: 'Xóa Quận Ba Đình' }).click();
    await b.page.getByRole('button', { name: 'Xác nhận xóa' }).click();
    await b.page.getByText('Địa bàn còn đơn vị trực thuộc', { exact: false }).waitFor();
    await expectAccessible(b.page);
    expect((await infra.ds.query("SELECT id FROM areas WHERE code = '001'")).length).to.equal(1);

    await b.page.getByRole('button', { name: 'Mở Quận Ba Đình (001)' }).click();
    await b.page.getByRole('button', { name: `Phường Thử Nghiệm (${code})`, exact: true }).click();
    await b.page.getByRole('heading', { name: `Phường Thử Nghiệm (${code})`, level: 2 }).waitFor();
    await b.page.getByLabel('Tên địa bàn', { exact: true }).fill('Phường Thử Nghiệm Mới');
    await b.page.getByRole('button', { name: 'Lưu thay đổi' }).click();
    // nothing is sent before the confirmation, which lists the change
    await b.page.getByText('Tên địa bàn: Phường Thử Nghiệm → Phường Thử Nghiệm Mới').waitFor();
    await expectAccessible(b.page);
    expect(((await infra.ds.query('SELECT name FROM areas WHERE code = ?', [code])) as { name: string }[])[0]!.name).to.equal(
      'Phường Thử Nghiệm',
    );
    await b.page.getByRole('button', { name: 'Xác nhận lưu' }).click();
    await b.page.getByText('Đã lưu Phường Thử Nghiệm Mới.').waitFor();
    expect(((await infra.ds.query('SELECT name FROM areas WHERE code = ?', [code])) as { name: string }[])[0]!.name).to.equal(
      'Phường Thử Nghiệm Mới',
    );

    await b.page.getByRole('button', { name: 'Xóa Phường Thử Nghiệm Mới' }).click();
    await b.page.getByText(`Xóa hẳn địa bàn Phường Thử Nghiệm Mới (${code})?`, { exact: false }).waitFor();
    await b.page.getByRole('button', { name: 'Xác nhận xóa' }).click();
    await b.page.getByText(`Đã xóa địa bàn Phường Thử Nghiệm Mới (${code}).`).waitFor();
    expect((await infra.ds.query('SELECT id FROM areas WHERE code = ?', [code])).length).to.equal(0);
    await expectAccessible(b.page);
  });

  it('edits a bank from the list with a confirmation; an emptied name is refused beside the field', async () => {
    const { infra } = await testApp();
    const token = await adminToken();
    const randomBin = () => `96${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
    let bin = randomBin();
    while (((await infra.ds.query('SELECT bin FROM banks WHERE bin = ?', [bin])) as unknown[]).length > 0) bin = randomBin();
    const shortName = `TB${bin}`;
    expect((await post('/banks', { bin, shortName, name: 'Ngân hàng Thử nghiệm' }, token)).status).to.equal(201);

    const b = await adminAt('admin', '/reference');
    await b.page.getByRole('button', { name: `Sửa ${shortName}` }).click();
    const panel = b.page.getByRole('region', { name: `Sửa ngân hàng ${shortName} (${bin})` });
    await panel.getByLabel('Tên ngân hàng').fill('');
    await panel.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await panel.getByText('Bắt buộc nhập.').waitFor();
    await panel.getByLabel('Tên ngân hàng').fill('Ngân hàng TMCP Thử nghiệm');
    await panel.getByLabel('Đang hoạt động').uncheck();
    await panel.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await panel.getByText('Tên ngân hàng: Ngân hàng Thử nghiệm → Ngân hàng TMCP Thử nghiệm').waitFor();
    await panel.getByText('Trạng thái: Đang hoạt động → Ngừng hoạt động').waitFor();
    await expectAccessible(b.page);
    await panel.getByRole('button', { name: 'Xác nhận lưu' }).click();
    await b.page.getByText(`Đã lưu ngân hàng ${shortName}.`).waitFor();
    const [row] = (await infra.ds.query('SELECT name, active FROM banks WHERE bin = ?', [bin])) as { name: string; active: number }[];
    expect(row).to.deep.equal({ name: 'Ngân hàng TMCP Thử nghiệm', active: 0 });
    await b.page.getByRole('row', { name: new RegExp(`${bin}.*Ngân hàng TMCP Thử nghiệm.*Ngừng hoạt động`) }).waitFor();
    await expectAccessible(b.page);

    // a wallet provider's cap, checked before it is sent
    const code = `VT${bin}`;
    const made = await post('/wallet-providers', { code, name: 'Ví Thử nghiệm', kind: 'mobile_money', monthlyCap: 10_000_000 }, token);
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    await b.page.reload();
    await b.page.getByRole('button', { name: `Sửa ${code}` }).click();
    const wallet = b.page.getByRole('region', { name: `Sửa đơn vị ví ${code}` });
    await wallet.getByLabel('Hạn mức mỗi tháng (đồng)').fill('0');
    await wallet.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await wallet.locator('.field__error').getByText('Số đồng nguyên', { exact: false }).waitFor();
    await wallet.getByLabel('Hạn mức mỗi tháng (đồng)').fill('5000000');
    await wallet.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await wallet.getByText('Hạn mức mỗi tháng (đồng): 10.000.000 ₫ → 5.000.000 ₫').waitFor();
    await wallet.getByRole('button', { name: 'Xác nhận lưu' }).click();
    await b.page.getByText(`Đã lưu đơn vị ví ${code}.`).waitFor();
    const [w] = (await infra.ds.query('SELECT monthly_cap FROM wallet_providers WHERE code = ?', [code])) as { monthly_cap: string }[];
    expect(Number(w!.monthly_cap)).to.equal(5_000_000);
  });

  it('pauses and resumes a provider with a confirmation, shows its refusals beside the fields, and sets and deletes a route chosen from the list', async () => {
    const { infra } = await testApp();
    const providerRow = async () =>
      (
        (await infra.ds.query("SELECT paused, active, base_url FROM providers WHERE name = 'sandbox'")) as {
          paused: number;
          active: number;
          base_url: string | null;
        }[]
      )[0]!;
    const before = await providerRow();
    const b = await adminAt('admin', '/providers');
    try {
      await b.page.getByRole('cell', { name: 'sandbox' }).first().waitFor();
      await b.page.getByRole('button', { name: 'Tạm dừng sandbox' }).click();
      await b.page.getByText('Tạm dừng sandbox? Không gửi lệnh chi mới', { exact: false }).waitFor();
      await expectAccessible(b.page);
      expect((await providerRow()).paused).to.equal(0);
      await b.page.getByRole('button', { name: 'Xác nhận tạm dừng' }).click();
      await b.page.getByText('Đã tạm dừng sandbox', { exact: false }).waitFor();
      expect((await providerRow()).paused).to.equal(1);
      await b.page.getByRole('button', { name: 'Tiếp tục sandbox' }).click();
      await b.page.getByRole('button', { name: 'Xác nhận tiếp tục' }).click();
      await b.page.getByText('sandbox đã tiếp tục chi trả.').waitFor();
      expect((await providerRow()).paused).to.equal(0);

      // refused edits: each reason beside its field, nothing written
      await b.page.getByRole('button', { name: 'Sửa sandbox' }).click();
      const panel = b.page.getByRole('region', { name: 'Sửa đơn vị chi trả sandbox' });
      await panel.getByLabel('Đang hoạt động').uncheck();
      await panel.getByRole('button', { name: 'Lưu thay đổi' }).click();
      await panel.getByText('Trạng thái: Đang hoạt động → Ngừng hoạt động').waitFor();
      await panel.getByRole('button', { name: 'Xác nhận lưu' }).click();
      await panel.locator('.check-field .field__error').getByText('Còn luồng chi trả trỏ tới đơn vị này', { exact: false }).waitFor();
      await expectAccessible(b.page);
      await panel.getByLabel('Đang hoạt động').check();
      await panel.getByLabel('Địa chỉ kết nối').fill('http://user:secret@127.0.0.1:9/');
      await panel.getByLabel('Số yêu cầu đồng thời').fill('5000');
      await panel.getByRole('button', { name: 'Lưu thay đổi' }).click();
      await panel.getByText('Số nguyên từ 1 đến 1.000.', { exact: true }).and(panel.locator('.field__error')).waitFor();
      await panel.getByLabel('Số yêu cầu đồng thời').fill('50');
      await panel.getByRole('button', { name: 'Lưu thay đổi' }).click();
      await panel.getByRole('button', { name: 'Xác nhận lưu' }).click();
      await panel.getByText('không kèm tên đăng nhập, tham số hay dấu #', { exact: false }).and(panel.locator('.field__error')).waitFor();
      expect(await providerRow()).to.deep.equal(before);
      await panel.getByRole('button', { name: 'Hủy' }).click();

      // an API provider without its connection is refused, each missing field named beside it, and nothing is added
      const create = b.page.getByRole('region', { name: 'Thêm đơn vị chi trả' });
      await create.getByLabel('Tên').fill('nh-thu-nghiem');
      await create.getByRole('button', { name: 'Thêm đơn vị chi trả' }).click();
      await create.getByText('Tên: nh-thu-nghiem').waitFor();
      await create.getByRole('button', { name: 'Xác nhận lưu' }).click();
      const missing = create.locator('.field__error').getByText('Bắt buộc với kết nối API.');
      await missing.first().waitFor();
      expect(await missing.count()).to.equal(3);
      expect(await infra.ds.query("SELECT id FROM providers WHERE name = 'nh-thu-nghiem'")).to.deep.equal([]);
      await expectAccessible(b.page);

      // a route for one bank, the bank and the provider chosen from the lists
      const routes = b.page.getByRole('region', { name: 'Đặt luồng chi trả' });
      await routes.getByLabel('Kênh').selectOption({ label: 'Ngân hàng' });
      await routes.getByLabel('Ngân hàng (mã BIN)').selectOption({ label: '970436 · Vietcombank' });
      await routes.getByLabel('Đơn vị chi trả').selectOption({ label: 'sandbox · Môi trường thử' });
      await expectAccessible(b.page);
      await routes.getByRole('button', { name: 'Đặt luồng' }).click();
      await routes.getByText('Tạo luồng chi trả mới cho kênh Ngân hàng?').waitFor();
      await routes.getByText('Mã áp dụng: 970436 · Vietcombank').waitFor();
      await routes.getByRole('button', { name: 'Xác nhận đặt luồng' }).click();
      await b.page.getByText('Đã đặt luồng Ngân hàng · 970436 · Vietcombank: chi qua sandbox.').waitFor();
      const routeRows = () =>
        infra.ds.query(
          "SELECT p.name FROM provider_routes r JOIN providers p ON p.id = r.provider_id WHERE r.channel = 'BANK' AND r.match_code = '970436'",
        );
      expect(await routeRows()).to.deep.equal([{ name: 'sandbox' }]);

      await b.page.getByRole('button', { name: 'Xóa luồng Ngân hàng · 970436 · Vietcombank' }).click();
      await b.page.getByText('Xóa luồng Ngân hàng · 970436 · Vietcombank (đang chi qua sandbox)?', { exact: false }).waitFor();
      await expectAccessible(b.page);
      await b.page.getByRole('button', { name: 'Xác nhận xóa luồng' }).click();
      await b.page.getByText('Đã xóa luồng Ngân hàng · 970436 · Vietcombank.').waitFor();
      expect(await routeRows()).to.deep.equal([]);
    } finally {
      await infra.ds.query("UPDATE providers SET paused = 0 WHERE name = 'sandbox'");
      await infra.ds.query("DELETE FROM provider_routes WHERE channel = 'BANK' AND match_code = '970436'");
    }
  });

  it('tests a provider’s connection from its row and says in Vietnamese what the provider answered', async () => {
    const good = 'console-good-secret-0123456789';
    const sandbox = await startTestSandbox({ clientId: 'console-test', secret: good, initialFloat: 4_000_000 });
    try {
      const admin = await makeUser(['admin'], { area: null });
      const make = async (name: string, secret: string) => {
        const r = await post('/providers', { name, kind: 'http', baseUrl: sandbox.url, clientId: 'console-test', secret }, admin.token);
        expect(r.status, JSON.stringify(r.body)).to.equal(201);
        return name;
      };
      const right = await make(fresh('tk-dung-'), good);
      const wrong = await make(fresh('tk-sai-'), 'console-wrong-secret-987654321');
      const b = await adminAt('admin', '/providers');
      await b.page.getByRole('button', { name: `Kiểm tra kết nối ${right}` }).click();
      await b.page.getByText(`Kết nối tốt: ${right} nhận chữ ký và báo số dư 4.000.000`, { exact: false }).waitFor();
      await b.page.getByRole('button', { name: `Kiểm tra kết nối ${wrong}` }).click();
      await b.page.getByText(`${wrong} từ chối chữ ký (BAD_SIGNATURE)`, { exact: false }).waitFor();
      await expectAccessible(b.page);
    } finally {
      await sandbox.close();
    }
  });

  it('lists a queue’s jobs by state and pauses and resumes the queue with a confirmation', async () => {
    const { infra } = await testApp();
    // a daily job nothing in the tests waits for; the job is delayed an hour so that no worker takes it
    const name = 'idempotency.purge';
    const queue = infra.queues.get(name);
    const jobId = `console-${process.pid}-${Date.now()}`;
    const job = await queue.add({ importId: '4242' } as never, { jobId, delay: 3_600_000 });
    // more than a page of them, due after it
    const more = await Promise.all(
      Array.from({ length: 55 }, (_, i) =>
        queue.add({ importId: String(i) } as never, { jobId: `${jobId}-${i}`, delay: 3_600_000 + (i + 1) * 1000 }),
      ),
    );
    try {
      const b = await adminAt('admin', '/queues');
      await b.page.getByRole('link', { name }).click();
      await b.page.getByRole('heading', { name: `Hàng đợi ${name}`, level: 1 }).waitFor();
      await b.page.getByLabel('Trạng thái công việc').selectOption('delayed');
      const row = b.page.getByRole('row', { name: new RegExp(`^${jobId} `) });
      await row.waitFor();
      await row.getByText('importId=4242').waitFor();
      await b.page.getByText(/^Công việc 1–50 trên \d+$/).waitFor();
      await expectAccessible(b.page);
      await b.page.getByRole('button', { name: 'Trang sau' }).click();
      await b.page.getByText(/^Công việc 51–\d+ trên \d+$/).waitFor();
      await b.page.getByRole('row', { name: new RegExp(`^${jobId}-54 `) }).waitFor();
      await b.page.getByRole('button', { name: 'Trang trước' }).click();
      await row.waitFor();

      await b.page.getByRole('button', { name: `Tạm dừng hàng đợi ${name}` }).click();
      await b.page.getByText(`Tạm dừng hàng đợi ${name} cho mọi tiến trình xử lý?`, { exact: false }).waitFor();
      expect(await queue.isPaused()).to.equal(false);
      await b.page.getByRole('button', { name: 'Xác nhận tạm dừng' }).click();
      await b.page.getByText(`Đã tạm dừng hàng đợi ${name}.`).waitFor();
      expect(await queue.isPaused()).to.equal(true);
      await expectAccessible(b.page);
      await b.page.getByRole('button', { name: `Tiếp tục hàng đợi ${name}` }).click();
      await b.page.getByRole('button', { name: 'Xác nhận tiếp tục' }).click();
      await b.page.getByText(`Hàng đợi ${name} đã tiếp tục.`).waitFor();
      expect(await queue.isPaused()).to.equal(false);
    } finally {
      await queue.resume();
      await Promise.all([job, ...more].map((j) => j.remove()));
    }
  });

  it('edits a user’s name and scope, and deactivates, reactivates and resets their password, each after a confirmation', async () => {
    const { infra } = await testApp();
    const target = await makeUser(['staff']);
    const b = await adminAt('admin', `/users/${target.id}`);
    await b.page.getByRole('heading', { name: `Người dùng ${target.username}`, level: 1 }).waitFor();
    await b.page.getByLabel('Họ và tên').fill('Phạm Thị Lan');
    await b.page.getByLabel('Tìm địa bàn (mã hoặc tên)').fill('001');
    const area = b.page.getByLabel('Địa bàn', { exact: true });
    await area.locator('option', { hasText: 'Quận Ba Đình (001)' }).waitFor({ state: 'attached' });
    await area.selectOption({ label: 'Quận Ba Đình (001) · Quận/Huyện' });
    await b.page.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await b.page.getByText(`Họ và tên: Test ${target.username} → Phạm Thị Lan`).waitFor();
    await b.page.getByText('Phạm vi địa bàn: Thành phố Hà Nội (01) → Quận Ba Đình (001)').waitFor();
    await expectAccessible(b.page);
    await b.page.getByRole('button', { name: 'Xác nhận lưu' }).click();
    await b.page.getByText('Đã lưu thay đổi; các phiên làm việc của người dùng đã kết thúc.').waitFor();
    const [badinh] = (await infra.ds.query("SELECT id FROM areas WHERE code = '001'")) as { id: number }[];
    const row = await userRow(target.username);
    expect(row.area_id).to.equal(badinh!.id);
    expect(((await infra.ds.query('SELECT display_name FROM users WHERE id = ?', [target.id])) as any[])[0].display_name).to.equal(
      'Phạm Thị Lan',
    );

    const active = async () => ((await infra.ds.query('SELECT active FROM users WHERE id = ?', [target.id])) as any[])[0].active;
    await b.page.getByRole('button', { name: 'Vô hiệu hóa', exact: true }).click();
    await b.page.getByText(`Vô hiệu hóa tài khoản ${target.username}?`, { exact: false }).waitFor();
    await b.page.getByRole('button', { name: 'Hủy' }).click();
    expect(await active()).to.equal(1);
    await b.page.getByRole('button', { name: 'Vô hiệu hóa', exact: true }).click();
    await b.page.getByRole('button', { name: 'Xác nhận vô hiệu hóa' }).click();
    await b.page.getByText('Đã vô hiệu hóa tài khoản; các phiên làm việc đã kết thúc.').waitFor();
    expect(await active()).to.equal(0);
    await b.page.getByRole('button', { name: 'Kích hoạt lại', exact: true }).click();
    await b.page.getByRole('button', { name: 'Xác nhận kích hoạt lại' }).click();
    await b.page.getByText('Đã kích hoạt lại tài khoản.').waitFor();
    expect(await active()).to.equal(1);
    await b.page.getByRole('button', { name: 'Đặt lại mật khẩu', exact: true }).click();
    await b.page.getByRole('button', { name: 'Xác nhận đặt lại mật khẩu' }).click();
    await b.page.getByText('Mật khẩu tạm:').waitFor();
    expect((await userRow(target.username)).must_change_password).to.equal(1);
    await expectAccessible(b.page);
  });

  it('a role change one administrator proposes takes effect only when a second confirms; admin cannot be combined', async () => {
    const target = await makeUser(['staff']);
    const a1 = await adminAt('admin', `/users/${target.id}`);
    await a1.page.getByRole('heading', { name: `Người dùng ${target.username}`, level: 1 }).waitFor();
    await expectAccessible(a1.page);
    const roles = a1.page.getByRole('group', { name: 'Vai trò' });
    await roles.getByRole('checkbox', { name: 'Quản trị' }).check();
    await a1.page.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await a1.page.getByRole('button', { name: 'Xác nhận lưu' }).click();
    await roles.getByText('Vai trò Quản trị không được kết hợp với vai trò khác.').waitFor();
    expect((await userRow(target.username)).roles).to.equal('staff');

    await roles.getByRole('checkbox', { name: 'Quản trị' }).uncheck();
    await roles.getByRole('checkbox', { name: 'Cán bộ phê duyệt' }).check();
    await a1.page.getByText('cần một quản trị viên thứ hai xác nhận', { exact: false }).waitFor();
    await a1.page.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await a1.page.getByText('Vai trò: Cán bộ nghiệp vụ → Cán bộ nghiệp vụ, Cán bộ phê duyệt').waitFor();
    await a1.page.getByRole('button', { name: 'Xác nhận lưu' }).click();
    await a1.page.getByText('Nửa đầu mật khẩu tạm:').waitFor();
    // proposed, not given: the pending grant shows who proposed it
    expect((await userRow(target.username)).roles).to.equal('staff');
    await a1.page.getByRole('cell', { name: 'admin', exact: true }).waitFor();
    await a1.page.getByRole('button', { name: `Rút đề nghị cho ${target.username}` }).waitFor();
    await expectAccessible(a1.page);

    const a2 = await adminAt('admin2', '/users');
    const grant = a2.page
      .getByRole('region', { name: 'Đề nghị cấp vai trò chờ xác nhận' })
      .getByRole('row')
      .filter({ hasText: target.username });
    await grant.getByRole('cell', { name: 'admin', exact: true }).waitFor();
    await a2.page.getByRole('button', { name: `Xác nhận cho ${target.username}` }).click();
    await a2.page.getByText(`Nửa sau mật khẩu tạm của ${target.username}:`).waitFor();
    await expectAccessible(a2.page);
    expect((await userRow(target.username)).roles.split(',').sort()).to.deep.equal(['approver', 'staff']);
  });

  it('an administrator who tries to change their own roles is told why not, and nothing changes', async () => {
    const me = await userRow('admin');
    const b = await adminAt('admin', `/users/${me.id}`);
    await b.page.getByRole('heading', { name: 'Người dùng admin', level: 1 }).waitFor();
    const roles = b.page.getByRole('group', { name: 'Vai trò' });
    await roles.getByRole('checkbox', { name: 'Quản trị' }).uncheck();
    await roles.getByRole('checkbox', { name: 'Kiểm tra viên' }).check();
    await b.page.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await b.page.getByRole('button', { name: 'Xác nhận lưu' }).click();
    await roles.getByText('Bạn không được tự thay đổi vai trò hay quyền của chính mình.').waitFor();
    await expectAccessible(b.page);
    expect((await userRow('admin')).roles).to.equal('admin');
  });
});

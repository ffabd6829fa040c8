/**
 * The monthly cycle from import to export, done in the console only, by the three people who share it: staff import
 * the month's roll and make the batch, an officer of the area approves it with TOTP, staff release it and reconcile the
 * provider's statement, an auditor exports the reconciliation log. Nothing goes through the API on the people's
 * behalf; the API and the database are read only to check what the pages said. The provider (the sandbox, in this
 * process) settles what it was sent, as a bank would.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { authenticator } from 'otplib';
import type { Page } from 'playwright-core';
import { testApp } from '../helpers/app';
import { makeProgramme } from '../helpers/batches';
import { areaId, makeUser, TEST_PASSWORD, TEST_TOTP_SECRET, type TestUser } from '../helpers/factories';
import { get } from '../helpers/http';
import { person, rollCsv } from '../helpers/rolls';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

/** Today's date in Asia/Ho_Chi_Minh as dd/MM/yyyy, the way the pages take it. */
function vnToday(): string {
  return new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10).split('-').reverse().join('/');
}

/**
 * Test only: a TOTP code is accepted once per 30-second step; forgetting the step lets a person who has just logged in
 * step up within the same 30 seconds (a real officer would wait for the next code).
 */
async function forgetTotpStep(user: TestUser): Promise<void> {
  await (await testApp()).infra.ds.query('UPDATE users SET totp_last_step = NULL WHERE id = ?', [user.id]);
}

describe('console: the monthly cycle from import to export, in the browser only (Chromium)', function () {
  this.timeout(120_000);
  const browsers: Browser[] = [];
  let sandbox: TestSandbox;
  let resetSandbox: () => Promise<void>;

  before(async () => {
    const { infra } = await testApp();
    await testWorker();
    sandbox = await startTestSandbox();
    resetSandbox = (await useSandboxFor(infra.ds, sandbox.url)).reset;
  });

  after(async () => {
    await resetSandbox();
    await sandbox.close();
    await (await testApp()).services.exports.whenIdle();
  });

  afterEach(async function () {
    for (const b of browsers) await screenshotIfFailed(this.currentTest, b.page);
    for (const b of browsers.splice(0)) await b.close();
  });

  async function logIn(user: TestUser): Promise<Page> {
    const b = await openBrowser();
    browsers.push(b);
    await b.page.goto(`${b.url}/login`);
    await b.page.getByLabel('Tên đăng nhập').fill(user.username);
    await b.page.getByLabel('Mật khẩu', { exact: true }).fill(TEST_PASSWORD);
    await b.page.getByRole('button', { name: 'Đăng nhập' }).click();
    if (user.roles.includes('approver')) {
      await forgetTotpStep(user);
      await b.page.getByLabel('Mã xác thực (6 chữ số)').fill(authenticator.generate(TEST_TOTP_SECRET));
      await b.page.getByRole('button', { name: 'Đăng nhập' }).click();
    }
    await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    return b.page;
  }

  const nav = (page: Page, name: string) =>
    page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name, exact: true });

  it('staff import the roll and make the batch, an officer approves it, staff pay and reconcile it, an auditor exports the log', async () => {
    const { infra } = await testApp();
    const prog = await makeProgramme();
    const staff = await makeUser(['staff']);
    const officer = await makeUser(['approver'], { area: '001' });
    const auditor = await makeUser(['auditor'], { area: null });

    // 1. staff: the month's roll, three people of a Ba Đình commune and one row the file got wrong
    const people = ['Nguyễn Thị Lan', 'Trần Văn Bình', 'Lê Thị Hoa'].map((full_name) =>
      person({ full_name, programme_code: prog.code, area_code: '00001', coefficient: '1.5' }),
    );
    const csv = rollCsv([...people, person({ programme_code: prog.code, national_id: '12345' })]);
    const s = await logIn(staff);
    await nav(s, 'Nhập danh sách').click();
    await s.getByRole('heading', { name: 'Nhập danh sách người thụ hưởng', level: 1 }).waitFor();
    await s
      .getByLabel('Tệp danh sách (CSV hoặc XLSX)')
      .setInputFiles({ name: 'thang-6.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await s.getByRole('button', { name: 'Tải lên' }).click();
    await s.waitForURL(/\/imports\/\d+$/);
    await s.getByRole('status').filter({ hasText: 'Đã hoàn tất' }).waitFor({ timeout: 30_000 });
    const result = s.locator('section', { has: s.getByRole('heading', { name: 'Kết quả' }) });
    expect(await result.innerText()).to.match(/Người thụ hưởng mới\s+3/);
    await s.getByRole('table', { name: 'Các lỗi theo dòng và cột của tệp' }).locator('tbody tr', { hasText: 'national_id' }).waitFor();

    // 2. staff: the batch of the month for Ba Đình, checked and submitted
    await nav(s, 'Đợt chi trả').click();
    await s.getByRole('link', { name: 'Lập đợt chi trả mới' }).click();
    await s.getByRole('combobox', { name: 'Chương trình' }).selectOption({ label: `Chương trình ${prog.code} (${prog.code})` });
    await s.getByLabel('Tháng chi trả').fill('06/2025');
    await s.getByLabel('Tìm địa bàn (tên hoặc mã)').fill('Ba Dinh');
    await s.getByRole('combobox', { name: 'Địa bàn chi trả (gồm cả các địa bàn trực thuộc)' }).selectOption(String(await areaId('001')));
    await s.getByRole('button', { name: 'Lập đợt (bản nháp)' }).click();
    const created = s.getByText(/^Đã lập đợt số \d+ ở trạng thái bản nháp\.$/);
    await created.waitFor();
    const batchId = /số (\d+)/.exec((await created.textContent())!)![1]!;
    expect(await s.getByTestId('created-count').textContent()).to.equal('3');
    // 3 × 500,000 × 1.5
    await s.getByText('Hai triệu hai trăm năm mươi nghìn đồng', { exact: false }).first().waitFor();
    await s.getByRole('link', { name: 'Mở đợt để rà soát' }).click();
    await s.getByRole('heading', { name: `Đợt chi trả số ${batchId}`, level: 1 }).waitFor();
    await s.getByText('Đã kiểm tra xong.').waitFor({ timeout: 30_000 });
    await s.getByRole('button', { name: 'Trình phê duyệt' }).click();
    await s.locator('.batch-status .badge').filter({ hasText: 'Chờ phê duyệt' }).waitFor();

    // 3. the area officer: from the inbox to the approval, with the count and total they checked and a TOTP code
    const o = await logIn(officer);
    await nav(o, 'Phê duyệt').click();
    await o.getByRole('link', { name: new RegExp(`^Đợt ${batchId}:`) }).click();
    await o.getByRole('heading', { name: `Đợt chi trả ${batchId}`, level: 1 }).waitFor();
    await o.getByText('Hai triệu hai trăm năm mươi nghìn đồng', { exact: false }).first().waitFor();
    await o.getByLabel('Số khoản đã kiểm tra').fill('3');
    await o.getByLabel('Tổng số tiền đã kiểm tra (đồng)').fill('2250000');
    await forgetTotpStep(officer);
    await o.getByLabel('Mã xác thực (6 chữ số)').fill(authenticator.generate(TEST_TOTP_SECRET));
    await o.getByRole('button', { name: 'Phê duyệt', exact: true }).click();
    await o.getByRole('status').filter({ hasText: 'Đã phê duyệt đợt chi trả: 3 khoản, tổng 2.250.000' }).waitFor();

    // 4. staff: released now; the page follows the payments to completed while the bank settles them
    await s.reload();
    await s.locator('.batch-status .badge').filter({ hasText: 'Đã phê duyệt' }).waitFor();
    await s.getByRole('button', { name: 'Chi ngay' }).click();
    await s
      .getByRole('group', { name: /Xác nhận chi 3 khoản/ })
      .getByRole('button', { name: 'Xác nhận chi' })
      .click();
    await s.getByText('Đã bắt đầu chi.').waitFor();
    const end = Date.now() + 30_000;
    let refs: string[] = [];
    while (refs.length < 3) {
      if (Date.now() > end) throw new Error('the payments did not reach the provider');
      refs = (
        (await infra.ds.query("SELECT reference FROM payments WHERE batch_id = ? AND status = 'sent'", [batchId])) as {
          reference: string;
        }[]
      ).map((r) => r.reference);
      if (refs.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    for (const ref of refs) sandbox.ledger.settle(ref, 'SUCCEEDED');
    await s.getByTestId('progress-summary').filter({ hasText: 'Đã xong 3/3 khoản.' }).waitFor({ timeout: 30_000 });
    await s.locator('.batch-status .badge').filter({ hasText: 'Hoàn thành' }).waitFor();

    // 5. staff: today's statement fetched from the provider and matched against what was paid
    await nav(s, 'Đối soát').click();
    await s.getByRole('heading', { name: 'Đối soát', level: 1 }).waitFor();
    await s.getByLabel('Tên đơn vị chi trả').fill('sandbox');
    await s.getByLabel('Ngày giao dịch').fill(vnToday());
    await s.getByRole('button', { name: 'Lấy sao kê từ đơn vị chi trả' }).click();
    await s.waitForURL(/\/reconciliation\/statements\/\d+/);
    await s.getByRole('status').filter({ hasText: 'Đã đối soát' }).waitFor({ timeout: 30_000 });
    const byCategory = s.getByRole('table', { name: /Số món và số tiền theo loại/ });
    // the statement has a line per change of status: each transfer accepted (PENDING), then SUCCEEDED; every line agrees
    const lines = sandbox.ledger.statement(new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10));
    expect(lines.map((l) => [l.reference, l.status]).sort()).to.deep.equal(
      refs
        .flatMap((r) => [
          [r, 'PENDING'],
          [r, 'SUCCEEDED'],
        ])
        .sort(),
    );
    const matched = byCategory.getByRole('row', { name: /Khớp/ });
    expect(await matched.getByRole('cell').first().textContent()).to.equal('6');
    expect(await matched.getByRole('cell').nth(1).textContent()).to.equal('4.500.000\u00a0₫');
    await expectAccessible(s);

    // 6. the auditor: the day's reconciliation log, its SHA-256 as shown equal to the downloaded file's
    const a = await logIn(auditor);
    await nav(a, 'Xuất dữ liệu').click();
    await a.getByRole('heading', { name: 'Xuất dữ liệu', level: 1 }).waitFor();
    await a.getByLabel('Nhật ký đối soát').check();
    await a.getByLabel('CSV (UTF-8)').check();
    await a.getByLabel('Từ ngày').fill(vnToday());
    await a.getByLabel('Đến ngày').fill(vnToday());
    await a.getByRole('button', { name: 'Tạo tệp' }).click();
    await a.getByRole('status').filter({ hasText: 'Đã tạo xong' }).waitFor({ timeout: 30_000 });
    const shown = (await a.locator('code.sha256').textContent())!.trim();
    const [download] = await Promise.all([a.waitForEvent('download'), a.getByRole('link', { name: /^Tải tệp / }).click()]);
    const bytes = await readFile((await download.path())!);
    expect(createHash('sha256').update(bytes).digest('hex')).to.equal(shown);
    const log = bytes.toString('utf8');
    for (const ref of refs) expect(log, `the log lists ${ref}`).to.include(ref);

    // what the service holds: every step by the person who did it
    const batch = (await get(`/batches/${batchId}`, staff.token)).body as Record<string, unknown>;
    expect(batch).to.include({
      status: 'completed',
      createdBy: staff.username,
      submittedBy: staff.username,
      itemCount: 3,
      totalAmount: 2_250_000,
    });
    const [row] = (await infra.ds.query('SELECT approved_by FROM batches WHERE id = ?', [batchId])) as { approved_by: number }[];
    expect(row!.approved_by).to.equal(officer.id);
  });
});

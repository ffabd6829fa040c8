/**
 * Staff's batch journeys in Chromium against the real service, worker and sandbox provider: creating a batch,
 * holding items, submitting it and reading why they cannot approve it; scheduling and releasing an approved batch and
 * following its payments to completed on the same page.
 */
import { expect } from 'chai';
import { authenticator } from 'otplib';
import type { Page } from 'playwright-core';
import { offlineOpenapiDocument } from '../../src/api-document';
import { testApp } from '../helpers/app';
import { createBatch, enrol, makeProgramme, waitForStatus } from '../helpers/batches';
import { areaId, makeUser, TEST_TOTP_SECRET, tokenFor, type TestUser } from '../helpers/factories';
import { get, post } from '../helpers/http';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

const PASSWORD = 'Demo-Password-2026!';

/** The demo staff user (province scope), with a bearer token for the API checks of the test. */
async function demoStaff(): Promise<TestUser> {
  const { infra } = await testApp();
  const [u] = (await infra.ds.query("SELECT id, area_id FROM users WHERE username = 'staff'")) as { id: number; area_id: number | null }[];
  const user = { id: u!.id, username: 'staff', roles: ['staff' as const], areaId: u!.area_id };
  return { ...user, token: await tokenFor(user) };
}

/**
 * The step-up field of an approval, when the service asks for one: the name of the Approval schema's TOTP property.
 * The approval itself is the approver's journey; here it only brings the batch to approved.
 */
function approvalTotpField(): string | undefined {
  const doc = offlineOpenapiDocument() as { components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> } };
  return Object.keys(doc.components?.schemas?.Approval?.properties ?? {}).find((k) => /totp|code/i.test(k));
}

async function approveAs(approver: TestUser, batch: { id: string; itemCount: number; totalAmount: number }): Promise<void> {
  const field = approvalTotpField();
  const body: Record<string, unknown> = { itemCount: batch.itemCount, totalAmount: batch.totalAmount };
  if (field) body[field] = authenticator.generate(TEST_TOTP_SECRET);
  const r = await post(`/batches/${batch.id}/approve`, body, approver.token);
  expect(r.status, JSON.stringify(r.body)).to.equal(200);
}

describe('console: staff batches (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;
  let sandbox: TestSandbox;
  let resetSandbox: () => Promise<void>;
  let staff: TestUser;

  before(async () => {
    const { infra } = await testApp();
    await testWorker();
    sandbox = await startTestSandbox();
    resetSandbox = (await useSandboxFor(infra.ds, sandbox.url)).reset;
    staff = await demoStaff();
  });

  after(async () => {
    await resetSandbox();
    await sandbox.close();
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  /**
   * Logs the demo staff user in through the login page (cookie session), landing on `path`.
   */
  async function openAsStaff(path: string): Promise<Page> {
    b = await openBrowser();
    const { page } = b;
    await page.goto(`${b.url}/login?next=${encodeURIComponent(path)}`);
    await page.getByLabel('Tên đăng nhập').fill('staff');
    await page.getByLabel('Mật khẩu', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.waitForURL((u) => u.pathname === path.split('?')[0]);
    return page;
  }

  it('staff creates a batch, holds two items, submits; the staff member cannot approve it and sees why', async () => {
    const prog = await makeProgramme();
    const names = ['Nguyễn Thị Lan', 'Trần Văn Bình', 'Lê Thị Hoa', 'Phạm Văn Cường'];
    for (const fullName of names) await enrol(prog.id, { area: '00001', fullName, bankBin: '970436' });
    // already paid for the month by another batch of the commune: the new batch leaves her out, saying why
    await enrol(prog.id, { area: '00004', fullName: 'Đỗ Thị Mai', bankBin: '970436' });
    const other = await makeUser(['staff'], { area: '00004' });
    const earlier = await createBatch(other.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('00004') });
    expect(earlier.itemCount).to.equal(1);

    const page = await openAsStaff('/batches');
    await page.getByRole('heading', { name: 'Đợt chi trả', level: 1 }).waitFor();
    await expectAccessible(page);
    await page.getByRole('link', { name: 'Lập đợt chi trả mới' }).click();
    await page.getByRole('heading', { name: 'Lập đợt chi trả', level: 1 }).waitFor();
    await expectAccessible(page);

    // nothing chosen: each missing field says so beside it, and nothing is created
    await page.getByRole('button', { name: 'Lập đợt (bản nháp)' }).click();
    await page.getByText('Bắt buộc nhập.').first().waitFor();
    expect(await page.getByText('Bắt buộc nhập.').count()).to.equal(3);

    await page.getByRole('combobox', { name: 'Chương trình' }).selectOption({ label: `Chương trình ${prog.code} (${prog.code})` });
    // the month as a Vietnamese reader writes it, whatever the browser's language
    const month = page.getByLabel('Tháng chi trả');
    expect(await month.getAttribute('type')).to.equal('text');
    await month.fill('13/2024');
    await month.blur();
    await page.getByText('Tháng không hợp lệ: hãy nhập theo dạng tháng/năm, ví dụ 03/2026.').waitFor();
    await month.fill('12/2024');
    await page.getByLabel('Tìm địa bàn (tên hoặc mã)').fill('Ba Đình');
    await page.getByRole('combobox', { name: 'Địa bàn chi trả (gồm cả các địa bàn trực thuộc)' }).selectOption(String(await areaId('001')));
    await page.getByRole('button', { name: 'Lập đợt (bản nháp)' }).click();

    const created = page.getByText(/^Đã lập đợt số \d+ ở trạng thái bản nháp\.$/);
    await created.waitFor();
    const id = /số (\d+)/.exec((await created.textContent())!)![1]!;
    expect(await page.getByTestId('created-count').textContent()).to.equal('4');
    // 4 × 500,000 × 1.5
    expect(await page.locator('.money').first().textContent()).to.equal('3.000.000\u00a0₫');
    await page.getByText('Ba triệu đồng', { exact: false }).waitFor();
    // the left-out person is shown by name with the reason, not the people in the batch
    const leftOut = page.getByRole('table', { name: 'Người bị để ra ngoài và lý do' });
    await leftOut.getByRole('cell', { name: 'Đỗ Thị Mai' }).waitFor();
    await leftOut.getByRole('cell', { name: 'Đã có khoản chi cho tháng này ở đợt khác' }).waitFor();
    // the detail in words, with the other batch and its payment
    const [elsewhere] = (await get(`/batches/${earlier.id}/items`, staff.token)).body.items as { reference: string }[];
    await leftOut.getByRole('cell', { name: `Khoản ${elsewhere!.reference} của đợt số ${earlier.id}.` }).waitFor();
    await expectAccessible(page);

    await page.getByRole('link', { name: 'Mở đợt để rà soát' }).click();
    await page.getByRole('heading', { name: `Đợt chi trả số ${id}`, level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).to.equal(`/batches/${id}`);
    // the account check runs in the worker; the page follows it without a reload
    await page.getByText('Đã kiểm tra xong.').waitFor({ timeout: 20_000 });

    // item numbers run on across batches: the first two of this one, as the API lists them
    const [first, second] = ((await get(`/batches/${id}/items?limit=2`, staff.token)).body.items as { seq: number }[]).map((i) => i.seq);
    await page.getByRole('checkbox', { name: `Chọn khoản số ${first}` }).check();
    await page.getByRole('checkbox', { name: `Chọn khoản số ${second}` }).check();
    await page.getByText('Đã chọn 2 khoản.').waitFor();
    // holding without a reason is refused beside the reason field, and changes nothing
    await page.getByRole('button', { name: 'Áp dụng' }).click();
    await page.getByText('Hãy nhập lý do.').waitFor();
    expect((await get(`/batches/${id}`, staff.token)).body.heldCount).to.equal(0);
    await page.getByRole('textbox', { name: 'Lý do' }).fill('Chờ xác minh tài khoản với ngân hàng');
    await page.getByRole('button', { name: 'Áp dụng' }).click();
    await page.getByText('Đã cập nhật 2 khoản.').waitFor();
    await page.getByTestId('held-count').filter({ hasText: '2' }).waitFor();
    expect(await page.getByTestId('item-count').textContent()).to.equal('2');
    await expectAccessible(page);

    await page.getByRole('button', { name: 'Trình phê duyệt' }).click();
    await page.getByText('Đã trình phê duyệt.').waitFor();
    await page.locator('.batch-status .badge').filter({ hasText: 'Chờ phê duyệt' }).waitFor();
    // the maker reads that they cannot approve, and why: no approver role, and they made the batch
    const approval = page.getByRole('region', { name: 'Phê duyệt' });
    await approval.getByText('Bạn không thể phê duyệt đợt này: vai trò của bạn không có quyền phê duyệt.').waitFor();
    await approval.getByText('Bạn đã lập, sửa hoặc trình đợt này nên không được phê duyệt', { exact: false }).waitFor();
    await approval.getByText('Quận Ba Đình', { exact: false }).waitFor();
    expect(await page.getByRole('button', { name: /Phê duyệt/ }).count()).to.equal(0);
    await expectAccessible(page);

    // what the service holds: submitted by staff, two items held with the reason, the rest to pay
    const batch = (await get(`/batches/${id}`, staff.token)).body;
    expect(batch).to.include({
      status: 'submitted',
      submittedBy: 'staff',
      createdBy: 'staff',
      heldCount: 2,
      itemCount: 2,
      totalAmount: 1_500_000,
    });
    const { infra } = await testApp();
    const held = (await infra.ds.query("SELECT seq, review_reason FROM payments WHERE batch_id = ? AND review = 'held' ORDER BY seq", [
      id,
    ])) as {
      seq: number;
      review_reason: string;
    }[];
    expect(held.map((h) => [Number(h.seq), h.review_reason])).to.deep.equal([
      [first, 'Chờ xác minh tài khoản với ngân hàng'],
      [second, 'Chờ xác minh tài khoản với ngân hàng'],
    ]);
    // and the API refuses the maker's approval whatever the page shows
    const refused = await post(`/batches/${id}/approve`, { itemCount: 2, totalAmount: 1_500_000 }, staff.token);
    expect(refused.status).to.equal(403);
    expect((await get(`/batches/${id}`, staff.token)).body.status).to.equal('submitted');
  });

  it('staff schedules and releases it; the progress page reaches completed without a reload', async () => {
    const prog = await makeProgramme();
    for (const fullName of ['Vũ Thị Hằng', 'Hoàng Văn Nam', 'Bùi Thị Thu'])
      await enrol(prog.id, { area: '00006', fullName, bankBin: '970436' });
    const batch = await createBatch(staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('001') });
    expect((await post(`/batches/${batch.id}/submit`, {}, staff.token)).status).to.equal(200);
    await approveAs(await makeUser(['approver'], { area: '001' }), batch);

    const page = await openAsStaff(`/batches/${batch.id}`);
    await page.getByRole('heading', { name: `Đợt chi trả số ${batch.id}`, level: 1 }).waitFor();
    await page.locator('.batch-status .badge').filter({ hasText: 'Đã phê duyệt' }).waitFor();
    await expectAccessible(page);
    // a marker in the page's memory: it survives only if the page is never reloaded
    await page.evaluate(() => ((globalThis as unknown as { journeyMarker: string }).journeyMarker = 'same page'));

    const vnTomorrow = new Date(Date.now() + 7 * 3600_000 + 24 * 3600_000).toISOString().slice(0, 16);
    await page.getByLabel('Thời điểm bắt đầu chi (giờ Việt Nam)').fill(vnTomorrow);
    await page.getByRole('button', { name: 'Lên lịch' }).click();
    await page.getByText('Đã lên lịch.').waitFor();
    await page.locator('.batch-status .badge').filter({ hasText: 'Đã lên lịch' }).waitFor();
    const scheduled = (await get(`/batches/${batch.id}`, staff.token)).body;
    expect(scheduled.status).to.equal('scheduled');
    expect(new Date(scheduled.scheduledFor).getTime()).to.equal(new Date(`${vnTomorrow}:00+07:00`).getTime());

    // releasing asks to confirm the count and total, in figures and in words
    await page.getByRole('button', { name: 'Chi ngay' }).click();
    const confirm = page.getByRole('group', { name: /Xác nhận chi 3 khoản/ });
    await confirm.getByText('Xác nhận chi 3 khoản, tổng số tiền 2.250.000\u00a0₫:', { exact: false }).waitFor();
    await confirm.getByText('Hai triệu hai trăm năm mươi nghìn đồng', { exact: false }).waitFor();
    await expectAccessible(page);
    await confirm.getByRole('button', { name: 'Xác nhận chi' }).click();
    await page.getByText('Đã bắt đầu chi.').waitFor();
    await page.getByRole('region', { name: 'Tiến độ chi trả' }).waitFor();

    // the provider settles what it was sent; the page follows the batch to completed on its own
    const { infra } = await testApp();
    const end = Date.now() + 20_000;
    let refs: string[] = [];
    while (refs.length < 3) {
      if (Date.now() > end) throw new Error('payments not sent');
      const rows = (await infra.ds.query("SELECT reference FROM payments WHERE batch_id = ? AND status = 'sent'", [batch.id])) as {
        reference: string;
      }[];
      refs = rows.map((r) => r.reference);
      if (refs.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    for (const ref of refs) sandbox.ledger.settle(ref, 'SUCCEEDED');
    await page.getByTestId('progress-summary').filter({ hasText: 'Đã xong 3/3 khoản.' }).waitFor({ timeout: 20_000 });
    await page.locator('.batch-status .badge').filter({ hasText: 'Hoàn thành' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { journeyMarker?: string }).journeyMarker)).to.equal('same page');
    await expectAccessible(page);

    const done = await waitForStatus(staff.token, batch.id, 'completed');
    expect(done.completedAt).to.be.a('string');
    const progress = await get(`/batches/${batch.id}/progress`, staff.token);
    expect(progress.body.byStatus).to.deep.equal([{ status: 'succeeded', count: 3, amount: 2_250_000 }]);
    const history = (await get(`/batches/${batch.id}/transitions`, staff.token)).body as { to: string; actor: string }[];
    expect(history.map((h) => h.to)).to.include.members(['scheduled', 'processing', 'completed']);
    expect(history.find((h) => h.to === 'processing')!.actor).to.equal('staff');
  });
});

/**
 * An area officer's task in Chromium against the real service: the inbox of submitted batches in their scope, the
 * batch as they judge it, the approval with the count, total and TOTP code, through the browser session (cookie +
 * CSRF).
 */
import { expect } from 'chai';
import { authenticator } from 'otplib';
import { testApp } from '../helpers/app';
import { areaId, lastAudit, makeUser, TEST_PASSWORD, TEST_TOTP_SECRET, type TestUser } from '../helpers/factories';
import { createBatch, enrol, makeProgramme } from '../helpers/batches';
import { post } from '../helpers/http';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

/**
 * Test only: a TOTP code is accepted once per 30-second step, and the login has just used this step's code; forgetting
 * the step lets the approval's step-up use a code of the same step.
 */
async function forgetTotpStep(user: TestUser): Promise<void> {
  const { infra } = await testApp();
  await infra.ds.query('UPDATE users SET totp_last_step = NULL WHERE id = ?', [user.id]);
}

describe('console: an area officer approves a batch (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;
  let sandbox: TestSandbox | undefined;
  let resetSandbox: (() => Promise<void>) | undefined;

  before(async function () {
    const { infra } = await testApp();
    await testWorker();
    sandbox = await startTestSandbox();
    resetSandbox = (await useSandboxFor(infra.ds, sandbox.url)).reset;
  });

  after(async () => {
    await resetSandbox?.();
    await sandbox?.close();
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  async function login(user: TestUser): Promise<void> {
    const { page, url } = b!;
    await page.goto(`${url}/login`);
    await page.getByLabel('Tên đăng nhập').fill(user.username);
    await page.getByLabel('Mật khẩu', { exact: true }).fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await forgetTotpStep(user);
    await page.getByLabel('Mã xác thực (6 chữ số)').fill(authenticator.generate(TEST_TOTP_SECRET));
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
  }

  it('an area officer approves a submitted batch with count, total and TOTP; an officer of another area does not see it', async () => {
    // a batch of Ba Đình (001), made and submitted by staff through the API
    const prog = await makeProgramme();
    await enrol(prog.id, { area: '00001', coefficientX100: 150 });
    await enrol(prog.id, { area: '00001', coefficientX100: 200, channel: 'CASH' });
    const staff = await makeUser(['staff']);
    const created = await createBatch(staff.token, {
      programmeId: prog.id,
      period: '2025-03',
      areaId: await areaId('001'),
      title: 'Tháng 3 Ba Đình',
    });
    const submitted = await post(`/batches/${created.id}/submit`, {}, staff.token);
    expect(submitted.status, JSON.stringify(submitted.body)).to.equal(200);
    const { itemCount, totalAmount } = submitted.body as { itemCount: number; totalAmount: number };
    expect(itemCount).to.equal(2);
    expect(totalAmount).to.equal(1_750_000);

    // an officer of Hoàn Kiếm (002): not in the inbox, and the batch's address finds nothing
    const other = await makeUser(['approver'], { area: '002' });
    b = await openBrowser();
    await login(other);
    await b.page.goto(`${b.url}/approvals`);
    await b.page.getByRole('heading', { name: 'Phê duyệt đợt chi trả', level: 1 }).waitFor();
    const inbox = b.page.getByRole('table', { name: 'Đợt chi trả chờ phê duyệt' });
    await inbox.waitFor();
    await b.page.waitForFunction(() => (globalThis as any).document.querySelector('tbody[aria-busy="false"]') !== null);
    expect(await inbox.getByRole('link', { name: new RegExp(`^Đợt ${created.id}:`) }).count()).to.equal(0);
    await expectAccessible(b.page);
    await b.page.goto(`${b.url}/approvals/${created.id}`);
    await b.page.getByRole('alert').filter({ hasText: 'Không tìm thấy đợt chi trả này trong phạm vi của bạn.' }).waitFor();
    await b.close();

    // the officer of Ba Đình: finds it, sees the totals, approves with what they checked
    const officer = await makeUser(['approver'], { area: '001' });
    b = await openBrowser();
    await login(officer);
    await b.page.goto(`${b.url}/approvals`);
    await b.page.getByRole('link', { name: `Đợt ${created.id}: Tháng 3 Ba Đình` }).click();
    await b.page.getByRole('heading', { name: `Đợt chi trả ${created.id}`, level: 1 }).waitFor();
    await b.page.getByText('Một triệu bảy trăm năm mươi nghìn đồng', { exact: false }).first().waitFor();
    const byChannel = b.page.getByRole('table', { name: 'Theo hình thức chi trả' });
    await byChannel.getByRole('rowheader', { name: 'Tiền mặt' }).waitFor();
    await expectAccessible(b.page);

    // a total that is not the batch's is refused beside the field, before anything is sent
    await b.page.getByLabel('Số khoản đã kiểm tra').fill('2');
    await b.page.getByLabel('Tổng số tiền đã kiểm tra (đồng)').fill('1750001');
    await b.page.getByLabel('Mã xác thực (6 chữ số)').fill('123456');
    await b.page.getByRole('button', { name: 'Phê duyệt', exact: true }).click();
    await b.page.getByText('Không khớp với tổng số tiền của đợt đang hiển thị.').waitFor();

    await b.page.getByLabel('Tổng số tiền đã kiểm tra (đồng)').fill(String(totalAmount));
    await forgetTotpStep(officer);
    await b.page.getByLabel('Mã xác thực (6 chữ số)').fill(authenticator.generate(TEST_TOTP_SECRET));
    await b.page.getByRole('button', { name: 'Phê duyệt', exact: true }).click();
    await b.page.getByRole('status').filter({ hasText: 'Đã phê duyệt đợt chi trả: 2 khoản, tổng 1.750.000' }).waitFor();

    const { infra } = await testApp();
    const [row] = (await infra.ds.query('SELECT status, approved_by FROM batches WHERE id = ?', [created.id])) as {
      status: string;
      approved_by: number;
    }[];
    expect(row).to.deep.equal({ status: 'approved', approved_by: officer.id });
    const audit = await lastAudit('batch.approve');
    expect(String(audit.entity_id)).to.equal(String(created.id));
    expect(audit.actor_user_id).to.equal(officer.id);
  });

  it('tells the officer who submitted a batch, before they try, that another officer must check it', async () => {
    const prog = await makeProgramme();
    await enrol(prog.id, { area: '00001' });
    const maker = await makeUser(['staff', 'approver'], { area: '001' });
    const created = await createBatch(maker.token, { programmeId: prog.id, period: '2025-04', areaId: await areaId('001') });
    expect((await post(`/batches/${created.id}/submit`, {}, maker.token)).status).to.equal(200);
    b = await openBrowser();
    await login(maker);
    await b.page.goto(`${b.url}/approvals/${created.id}`);
    await b.page.getByText('Bạn không thể phê duyệt hoặc trả lại đợt này vì chính bạn đã lập đợt.', { exact: false }).waitFor();
    expect(await b.page.getByRole('button', { name: 'Phê duyệt', exact: true }).count()).to.equal(0);
    await expectAccessible(b.page);
  });
});

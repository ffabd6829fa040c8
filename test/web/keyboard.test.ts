/**
 * Keyboard-only use of the console: on every section's page, as the person it is for, Tab reaches every control in
 * document order with a visible focus indicator; and a whole task, an officer's approval from the login on, done with
 * the keyboard alone (no click).
 */
import { expect } from 'chai';
import { authenticator } from 'otplib';
import type { Page } from 'playwright-core';
import { testApp } from '../helpers/app';
import { createBatch, enrol, makeProgramme } from '../helpers/batches';
import { areaId, makeUser, TEST_PASSWORD, TEST_TOTP_SECRET, type TestUser } from '../helpers/factories';
import { post } from '../helpers/http';
import { testWorker } from '../helpers/worker';
import { expectKeyboardReachable, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

async function forgetTotpStep(user: TestUser): Promise<void> {
  await (await testApp()).infra.ds.query('UPDATE users SET totp_last_step = NULL WHERE id = ?', [user.id]);
}

describe('console: keyboard-only use (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;
  let batch: { id: string; itemCount: number; totalAmount: number };

  before(async () => {
    await testWorker();
    const prog = await makeProgramme();
    for (const fullName of ['Đặng Thị Nga', 'Phan Văn Tài']) await enrol(prog.id, { area: '00001', fullName, bankBin: '970436' });
    const staff = await makeUser(['staff']);
    batch = await createBatch(staff.token, { programmeId: prog.id, period: '2025-02', areaId: await areaId('001'), title: 'Bàn phím' });
    const submitted = await post(`/batches/${batch.id}/submit`, {}, staff.token);
    expect(submitted.status, JSON.stringify(submitted.body)).to.equal(200);
    batch = submitted.body;
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  /** Logs in through the form with the keyboard alone: typing, Tab and Enter. */
  async function keyboardLogin(user: TestUser): Promise<Page> {
    b = await openBrowser();
    const { page } = b;
    await page.goto(`${b.url}/login`);
    await page.getByRole('heading', { name: 'Đăng nhập', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(TEST_PASSWORD);
    await page.keyboard.press('Enter');
    if (user.roles.includes('approver') || user.roles.includes('admin')) {
      const code = page.getByLabel('Mã xác thực (6 chữ số)');
      await code.waitFor();
      await forgetTotpStep(user);
      // the code field takes the focus when it appears
      await page.waitForFunction(() => (globalThis as any).document.activeElement?.getAttribute('name') === 'totp', null, {
        timeout: 2000,
      });
      await page.keyboard.type(authenticator.generate(TEST_TOTP_SECRET));
      await page.keyboard.press('Enter');
    }
    await page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    return page;
  }

  async function sweep(page: Page, paths: string[]): Promise<void> {
    for (const p of paths) {
      await page.goto(`${b!.url}${p}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      // the page's lists and figures have arrived: nothing is loading any more
      await page.waitForFunction(() => !(globalThis as any).document.querySelector('[aria-busy="true"], .loading'));
      const n = await expectKeyboardReachable(page);
      expect(n, `controls reached on ${p}`).to.be.greaterThan(3);
    }
  }

  it('reaches every control of every section by Tab, in order, with a focus indicator, for each role', async () => {
    const staff = await makeUser(['staff']);
    await sweep(await keyboardLogin(staff), [
      '/',
      '/imports',
      '/beneficiaries',
      '/programmes',
      '/batches',
      '/batches/new',
      `/batches/${batch.id}`,
      '/reconciliation',
      '/profile',
    ]);
    await b!.close();
    const auditor = await makeUser(['auditor'], { area: null });
    await sweep(await keyboardLogin(auditor), ['/audit', '/exports', '/coverage']);
    await b!.close();
    const admin = await makeUser(['admin'], { area: null });
    await sweep(await keyboardLogin(admin), ['/users', '/areas', '/reference', '/providers', '/queues']);
  });

  it('an area officer approves a batch with the keyboard alone, from the login to the confirmation', async () => {
    const officer = await makeUser(['approver'], { area: '001' });
    const page = await keyboardLogin(officer);
    /** Tab until the focus is on `target`, then Enter (at most `limit` presses). */
    const tabTo = async (target: ReturnType<Page['getByRole']>, limit = 80) => {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab');
        if (await target.evaluate((el) => el === (globalThis as any).document.activeElement).catch(() => false)) return;
      }
      throw new Error('Tab never reached the control');
    };
    await tabTo(page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Phê duyệt', exact: true }));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Phê duyệt đợt chi trả', level: 1 }).waitFor();
    const link = page.getByRole('link', { name: `Đợt ${batch.id}: Bàn phím` });
    await link.waitFor();
    await tabTo(link);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Đợt chi trả ${batch.id}`, level: 1 }).waitFor();
    await tabTo(page.getByLabel('Số khoản đã kiểm tra'), 200);
    await page.keyboard.type(String(batch.itemCount));
    await page.keyboard.press('Tab');
    await page.keyboard.type(String(batch.totalAmount));
    await tabTo(page.getByLabel('Mã xác thực (6 chữ số)'), 5);
    await forgetTotpStep(officer);
    await page.keyboard.type(authenticator.generate(TEST_TOTP_SECRET));
    await tabTo(page.getByRole('button', { name: 'Phê duyệt', exact: true }), 5);
    await page.keyboard.press('Enter');
    await page
      .getByRole('status')
      .filter({ hasText: `Đã phê duyệt đợt chi trả: ${batch.itemCount} khoản` })
      .waitFor();
    const [row] = (await (await testApp()).infra.ds.query('SELECT status, approved_by FROM batches WHERE id = ?', [batch.id])) as {
      status: string;
      approved_by: number;
    }[];
    expect(row).to.deep.equal({ status: 'approved', approved_by: officer.id });
  });
});

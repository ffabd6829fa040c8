/**
 * The home page in Chromium against the real service: a staff member logs in and reads the month's figures for their
 * district, which equal what GET /dashboard answers, and a figure leads to the list behind it, filtered.
 */
import { expect } from 'chai';
import { formatMoney } from '../../src/web/ui/format';
import { testApp } from '../helpers/app';
import { makeUser, TEST_PASSWORD, uniq, type TestUser } from '../helpers/factories';
import { get } from '../helpers/http';
import { enrol, makeProgramme } from '../helpers/batches';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

/** The current month in Vietnam as YYYY-MM. */
const thisMonth = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 7);

describe('console: the home page shows the month’s figures (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  /** A batch of this month being paid in Ba Đình: one payment succeeded, one still pending. */
  async function processingBatch(maker: TestUser): Promise<void> {
    const prog = await makeProgramme();
    const period = Number(thisMonth().replace('-', ''));
    const prefix = uniq('HOME').toUpperCase().slice(0, 20);
    const r = await sql<{ insertId: number }>(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, item_count, total_amount, created_by)
       SELECT ?, 'regular', ?, ?, ?, id, path, 'processing', 2, 1500000, ? FROM areas WHERE code = '001'`,
      [prefix, prog.id, period, period, maker.id],
    );
    for (const [seq, status] of [
      [1, 'succeeded'],
      [2, 'pending'],
    ] as const) {
      const e = await enrol(prog.id, { area: '00001', channel: 'BANK', fullName: `Người nhận ${seq}` });
      await sql(
        `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, amount, base_level,
           coefficient_x100, area_id, full_name, channel, bank_bin, account_enc, account_masked, status)
         SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, ?, 750000, 500000, 150, b.area_id, b.full_name, e.channel,
           e.bank_bin, e.account_enc, e.account_masked, ?
         FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
        [r.insertId, seq, `${prefix}-${seq}`, period, status, e.enrolmentId],
      );
    }
  }

  it('staff sees the month’s figures as the API gives them, and a figure opens the filtered list', async () => {
    const staff = await makeUser(['staff'], { area: '001' });
    await processingBatch(staff);
    b = await openBrowser();
    const { page, url } = b;
    await page.goto(`${url}/login`);
    await page.getByLabel('Tên đăng nhập').fill(staff.username);
    await page.getByLabel('Mật khẩu', { exact: true }).fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    const month = thisMonth();
    await page.getByRole('heading', { name: `Tháng ${month.slice(5)}/${month.slice(0, 4)}`, level: 2 }).waitFor();

    const d = (await get('/dashboard', staff.token)).body;
    expect(d.month).to.equal(month);
    const running = d.money.batches.find((x: any) => x.status === 'processing');
    expect(running.count).to.be.greaterThan(0);
    const row = page.getByRole('table', { name: 'Đợt chi của tháng theo trạng thái' }).locator('tr[data-status="processing"]');
    expect((await row.locator('td').allInnerTexts()).map((s) => s.trim())).to.deep.equal([
      running.count.toLocaleString('vi-VN'),
      running.itemCount.toLocaleString('vi-VN'),
      formatMoney(running.amount),
    ]);
    const amounts = page.getByRole('region', { name: 'Số tiền' });
    for (const [label, f] of [
      ['Đã phê duyệt', d.money.approved],
      ['Đã chi thành công', d.money.paid],
      ['Chi lỗi', d.money.failed],
      ['Bị hoàn trả', d.money.returned],
    ] as const) {
      const dd = amounts.locator('div', { has: page.getByText(label, { exact: true }) }).locator('dd');
      expect(await dd.innerText(), label).to.contain(formatMoney(f.amount));
    }
    const progress = page.getByRole('region', { name: 'Đang chi' });
    await progress
      .getByText(`${d.money.inProgress.settled} trên ${d.money.inProgress.payments} khoản đã có kết quả`, { exact: false })
      .waitFor();
    const cashless = page.getByRole('table', { name: 'Tỷ lệ không dùng tiền mặt theo tháng' });
    expect(await cashless.getByRole('row').count()).to.equal(13);
    await page.getByRole('img', { name: /Tỷ lệ không dùng tiền mặt, 12 tháng/ }).waitFor();
    await expectAccessible(page);

    await row.getByRole('link', { name: 'Đang chi' }).click();
    await page.getByRole('heading', { name: 'Đợt chi trả', level: 1 }).waitFor();
    expect(new URL(page.url()).search).to.equal(`?period=${month}&status=processing`);
    expect(await page.getByLabel('Trạng thái').inputValue()).to.equal('processing');
    const list = (await get(`/batches?period=${month}&status=processing`, staff.token)).body;
    await page.getByRole('status').getByText(formatMoney(list.totals.totalAmount), { exact: false }).waitFor();
    expect(list.totals.count).to.equal(running.count);
  });
});

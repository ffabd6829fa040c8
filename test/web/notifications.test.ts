/**
 * Staff edit an SMS template in Chromium against the real service: a placeholder outside the whitelist is refused by
 * name, the live preview renders the text for a real recipient with its encoding, segments and cost, and the saved
 * version is in force.
 */
import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { enrol, makeProgramme } from '../helpers/batches';
import { makeUser, TEST_PASSWORD, uniq } from '../helpers/factories';
import { expectAccessible, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

// this journey's own month: nobody else pays anyone for 2038-05
const MONTH = 203805;

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

describe('console: staff edit an SMS template with its live preview (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  it('refuses a placeholder by name, previews the text for a recipient with its segments and cost, and saves a version', async () => {
    const staff = await makeUser(['staff']);
    const prog = await makeProgramme();
    const person = await enrol(prog.id, { account: '1234567004321', fullName: 'Trần Thị Bình' });
    const prefix = uniq('NTFW').toUpperCase().slice(0, 20);
    const batch = await sql<{ insertId: number }>(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       SELECT ?, 'regular', ?, ?, ?, id, path, 'completed', ? FROM areas WHERE code = '01'`,
      [prefix, prog.id, MONTH, MONTH, staff.id],
    );
    await sql(
      `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
         coefficient_x100, area_id, full_name, channel, bank_bin, account_enc, account_masked, status)
       SELECT ?, 1, ?, 'regular', b.id, e.id, e.programme_id, ?, 0, 750000, 500000, 150, b.area_id, b.full_name, e.channel,
         e.bank_bin, e.account_enc, e.account_masked, 'succeeded'
       FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
      [batch.insertId, `${prefix}-1`, MONTH, person.enrolmentId],
    );
    const [p] = await sql<{ code: string }[]>('SELECT code FROM programmes WHERE id = ?', [prog.id]);

    b = await openLoggedIn(staff.username, TEST_PASSWORD);
    const { page } = b;
    await page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Tin nhắn SMS' }).click();
    await page.getByRole('heading', { name: 'Mẫu tin nhắn SMS', level: 1 }).waitFor();
    await page.getByLabel('Tìm chế độ (mã hoặc tên)').fill(p!.code);
    await page.getByRole('option', { name: `${p!.code} · Chương trình ${p!.code}` }).waitFor({ state: 'attached' });
    await page.getByLabel('Chế độ', { exact: true }).selectOption({ label: `${p!.code} · Chương trình ${p!.code}` });
    await page.getByRole('button', { name: 'Đã chuyển tiền' }).click();
    await page.getByRole('heading', { name: 'Sửa mẫu: Đã chuyển tiền', level: 2 }).waitFor();

    const body = page.getByLabel('Nội dung mẫu');
    await page.getByLabel('Xem trước cho người thụ hưởng (mã số)').fill(person.beneficiaryId);
    await body.fill('Trợ cấp tháng {thang}: {so_tien} vào TK ***{tk_cuoi}. CCCD {so_cccd}');
    await page.getByText('Mẫu có trường không được phép: {so_cccd}.').first().waitFor();

    await body.fill('Tro cap thang {thang} cua {ten}: {so_tien} da vao TK ***{tk_cuoi}.');
    await page.getByLabel('Gửi không dấu (GSM-7, khoảng một nửa chi phí)').check();
    const text = page.getByTestId('preview-text');
    await text.filter({ hasText: 'Tro cap thang 05/2038 cua Tran Thi Binh: 750.000d da vao TK ***4321.' }).waitFor();
    expect(await page.getByTestId('preview-count').textContent()).to.match(/^GSM-7, 68 ký tự, 1 tin · Chi phí 650/);
    await expectAccessible(page);

    await page.getByRole('button', { name: 'Lưu phiên bản mới' }).click();
    await page.getByText('Đã lưu phiên bản 1.').waitFor();
    const [saved] = await sql<{ version: number; plain: number; body: string }[]>(
      "SELECT version, plain, body FROM notification_templates WHERE programme_id = ? AND event = 'payment_paid' ORDER BY version DESC LIMIT 1",
      [prog.id],
    );
    expect(saved).to.deep.equal({ version: 1, plain: 1, body: 'Tro cap thang {thang} cua {ten}: {so_tien} da vao TK ***{tk_cuoi}.' });
  });
});

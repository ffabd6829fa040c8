/**
 * Staff keep the withdrawal network in Chromium against the real service: a registry file with a bad row is imported,
 * the problem read by row and column, and the access report names the commune whose recipients' bank has no point there.
 */
import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { enrol, makeProgramme } from '../helpers/batches';
import { areaId, makeUser, TEST_PASSWORD, uniq } from '../helpers/factories';
import { expectAccessible, expectKeyboardReachable, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

// this journey's own month and commune: nobody else pays anyone for 2038-04, nor registers points in Hàng Mã (00043)
const MONTH = 203804;

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

describe('console: staff import the withdrawal network and read where recipients cannot withdraw (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  it('imports a file with a bad row, shows the problem, and the report names the commune whose bank has no point', async () => {
    const staff = await makeUser(['staff']);
    const prog = await makeProgramme();
    // two people of Hàng Mã paid by ACB (970416), one by Vietcombank (970436): only Vietcombank will have a point there
    const people = [
      await enrol(prog.id, { area: '00043', channel: 'BANK', bankBin: '970416' }),
      await enrol(prog.id, { area: '00043', channel: 'BANK', bankBin: '970416' }),
      await enrol(prog.id, { area: '00043', channel: 'BANK', bankBin: '970436' }),
    ];
    const prefix = uniq('NW').toUpperCase().slice(0, 20);
    const batch = await sql<{ insertId: number }>(
      `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
       SELECT ?, 'regular', ?, ?, ?, id, path, 'completed', ? FROM areas WHERE code = '01'`,
      [prefix, prog.id, MONTH, MONTH, staff.id],
    );
    for (const [i, p] of people.entries()) {
      await sql(
        `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
           coefficient_x100, area_id, full_name, channel, bank_bin, account_enc, account_masked, status)
         SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, ?, 0, 750000, 500000, 150, b.area_id, b.full_name, e.channel,
           e.bank_bin, e.account_enc, e.account_masked, 'succeeded'
         FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
        [batch.insertId, i + 1, `${prefix}-${i + 1}`, MONTH, p.enrolmentId],
      );
    }
    const code = uniq('VCB').toUpperCase();
    const file = [
      'Mã điểm,Loại điểm,Đơn vị vận hành,Tên điểm,Mã đơn vị hành chính,Địa chỉ,Giờ mở cửa',
      `${code}-1,ATM,970436,ATM Vietcombank Hàng Mã,00043,12 Hàng Mã,24/7`,
      `${code}-2,ATM,970999,ATM không rõ ngân hàng,00043,14 Hàng Mã,24/7`,
    ].join('\n');

    b = await openLoggedIn(staff.username, TEST_PASSWORD);
    const { page } = b;
    await page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Mạng lưới rút tiền' }).click();
    await page.getByRole('heading', { name: 'Mạng lưới rút tiền', level: 1 }).waitFor();
    await page
      .getByLabel('Tệp CSV hoặc XLSX')
      .setInputFiles({ name: 'diem-rut-tien.csv', mimeType: 'text/csv', buffer: Buffer.from(file) });
    await page.getByRole('button', { name: 'Nhập tệp' }).click();

    await page.getByRole('heading', { name: 'Kết quả nhập tệp diem-rut-tien.csv', level: 1 }).waitFor();
    await page.getByText('Đã nhập xong: các dòng hợp lệ đã được ghi.').waitFor();
    const problems = page.getByRole('table', { name: 'Lỗi theo dòng và cột' });
    await problems.getByRole('cell', { name: 'UNKNOWN_BANK' }).waitFor();
    expect(await problems.locator('tbody tr').first().locator('td').allTextContents()).to.deep.equal([
      '3',
      'operator',
      'UNKNOWN_BANK',
      'no active bank with BIN 970999',
    ]);
    await expectAccessible(page);

    await page.getByRole('link', { name: 'Về danh sách điểm rút tiền' }).click();
    await page.getByRole('link', { name: 'Báo cáo khả năng rút tiền theo xã' }).click();
    await page.getByRole('heading', { name: 'Khả năng rút tiền của người hưởng', level: 1 }).waitFor();
    await page.getByLabel('Tháng chi trả').fill('04/2038');
    await page.getByRole('combobox', { name: 'Địa bàn' }).selectOption(String(await areaId('002')));
    await page.getByRole('button', { name: 'Xem báo cáo' }).click();
    const table = page.getByRole('table', { name: 'Khả năng rút tiền theo xã, tháng 04/2038: Quận Hoàn Kiếm' });
    await table.waitFor();
    // Hàng Mã first: two people whose bank (ACB) has no point in the commune
    const first = table.locator('tbody tr').first();
    expect(await first.locator('th').textContent()).to.equal('Phường Hàng Mã (00043)');
    expect(await first.locator('td').allTextContents()).to.deep.equal(['3', '0', '2', 'ACB: 2 người', '1', 'Cây ATM: 1']);
    await page.getByRole('img', { name: /Người nhận không dùng tiền mặt và người không có điểm rút tiền/ }).waitFor();
    await expectAccessible(page);
    expect(await expectKeyboardReachable(page)).to.be.greaterThan(3);
  });
});

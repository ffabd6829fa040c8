/**
 * An auditor's cashless-coverage journey in Chromium against the real service: the report for a district over a range
 * of months, each month's figures in a table and a chart, the district's areas for the last month, and the people paid
 * in cash in a month downloaded as a CSV whose every line is checked against the API.
 */
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { testApp } from '../helpers/app';
import { enrol, makeProgramme } from '../helpers/batches';
import { areaId, makeUser, TEST_PASSWORD, uniq, type TestUser } from '../helpers/factories';
import { get } from '../helpers/http';
import { expectAccessible, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

// this journey's own months: nobody else pays anyone for 2034
const MONTHS = ['2034-01', '2034-02', '2034-03'];

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

/** A completed batch of the programme holding `paid`: succeeded payments of the given month, to each enrolment's channel. */
async function paidMonth(programmeId: number, maker: TestUser, period: string, paid: { enrolmentId: string; amount: number }[]) {
  const yyyymm = Number(period.replace('-', ''));
  const prefix = uniq('CJ').toUpperCase().slice(0, 20);
  const b = await sql<{ insertId: number }>(
    `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
     SELECT ?, 'regular', ?, ?, ?, id, path, 'completed', ? FROM areas WHERE code = '01'`,
    [prefix, programmeId, yyyymm, yyyymm, maker.id],
  );
  let seq = 0;
  for (const p of paid) {
    seq += 1;
    await sql(
      `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
         coefficient_x100, area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked, status)
       SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, ?, 0, ?, 500000, 150, b.area_id, b.full_name, e.channel,
         e.bank_bin, e.wallet_provider, e.account_enc, e.account_masked, e.wallet_enc, e.wallet_masked, 'succeeded'
       FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
      [b.insertId, seq, `${prefix}-${seq}`, yyyymm, p.amount, p.enrolmentId],
    );
  }
}

describe('console: an auditor reads cashless coverage over months and downloads who was paid in cash (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  it('shows each month’s figures and chart for a district, and the downloaded cash list matches the API line by line', async () => {
    const staff = await makeUser(['staff']);
    const auditor = await makeUser(['auditor']);
    const prog = await makeProgramme();
    // Hoàn Kiếm (002): Lan by bank (00037), Minh by wallet, Hoa and Tâm in cash (00040, 00037)
    const lan = await enrol(prog.id, { area: '00037', channel: 'BANK', fullName: 'Nguyễn Thị Lan' });
    const minh = await enrol(prog.id, { area: '00040', channel: 'WALLET', fullName: 'Trần Văn Minh' });
    const hoa = await enrol(prog.id, { area: '00040', channel: 'CASH', fullName: 'Lê Thị Hoa' });
    const tam = await enrol(prog.id, { area: '00037', channel: 'CASH', fullName: '=Phạm Văn Tâm' });
    await paidMonth(prog.id, staff, '2034-01', [
      { enrolmentId: lan.enrolmentId, amount: 750_000 },
      { enrolmentId: minh.enrolmentId, amount: 750_000 },
      { enrolmentId: hoa.enrolmentId, amount: 750_000 },
    ]);
    await paidMonth(prog.id, staff, '2034-02', [
      { enrolmentId: lan.enrolmentId, amount: 750_000 },
      { enrolmentId: hoa.enrolmentId, amount: 750_000 },
      { enrolmentId: tam.enrolmentId, amount: 1_125_000 },
    ]);
    const district = await areaId('002');
    const api = await Promise.all(MONTHS.map(async (p) => (await get(`/coverage?period=${p}&areaId=${district}`, auditor.token)).body));
    expect(api.map((c) => [c.total.paid, c.total.paidWithoutCash, c.total.paidInCash])).to.deep.equal([
      [3, 2, 1],
      [3, 1, 2],
      [0, 0, 0],
    ]);

    b = await openLoggedIn(auditor.username, TEST_PASSWORD);
    const { page } = b;
    await page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Tỷ lệ không dùng tiền mặt' }).click();
    await page.getByRole('heading', { name: 'Tỷ lệ chi trả không dùng tiền mặt', level: 1 }).waitFor();
    await expectAccessible(page);

    // a range that runs backwards is refused beside the field
    // months as MM/yyyy, whatever the browser's language
    await page.getByLabel('Từ tháng').fill('03/2034');
    await page.getByLabel('Đến tháng').fill('01/2034');
    await page.getByRole('button', { name: 'Xem báo cáo' }).click();
    await page.getByText('Tháng kết thúc phải bằng hoặc sau tháng bắt đầu.').waitFor();
    expect(await page.getByLabel('Đến tháng').getAttribute('aria-invalid')).to.equal('true');

    await page.getByLabel('Từ tháng').fill('01/2034');
    await page.getByLabel('Đến tháng').fill('03/2034');
    await page.getByRole('combobox', { name: 'Địa bàn' }).selectOption(String(district));
    await page.getByRole('button', { name: 'Xem báo cáo' }).click();

    // month by month: the figures the API gives, each month a row
    const months = page.getByRole('table', { name: 'Chi trả không dùng tiền mặt theo tháng, từ 01/2034 đến 03/2034: Quận Hoàn Kiếm' });
    await months.waitFor();
    const rows = months.locator('tbody tr');
    expect(await rows.count()).to.equal(3);
    for (const [i, c] of api.entries()) {
      const cells = await rows.nth(i).locator('th, td').allTextContents();
      const share = c.total.cashlessShare.percent === null ? '—' : `${String(c.total.cashlessShare.percent).replace('.', ',')} %`;
      expect(cells.slice(0, 5), MONTHS[i]).to.deep.equal([
        `${MONTHS[i]!.slice(5)}/${MONTHS[i]!.slice(0, 4)}`,
        String(c.total.paid),
        String(c.total.paidWithoutCash),
        String(c.total.paidInCash),
        share,
      ]);
    }
    expect(api[0].total.cashlessShare.percent).to.equal('66.67');
    // the chart: one image with its title, a bar for each month someone was paid
    const chart = page.getByRole('img', { name: /Tỷ lệ không dùng tiền mặt từ 01\/2034 đến 03\/2034/ });
    await chart.waitFor();
    expect(await chart.locator('rect').count()).to.equal(2);
    // the last month by area: nobody paid in March
    const areas = page.getByRole('table', { name: 'Chi trả không dùng tiền mặt tháng 03/2034, theo địa bàn' });
    expect(
      await areas
        .getByRole('row', { name: /Tổng cộng/ })
        .locator('td')
        .first()
        .textContent(),
    ).to.equal('0');
    // no cash list for a month nobody was paid in cash
    expect(await rows.nth(2).getByRole('button').count()).to.equal(0);
    await expectAccessible(page);

    // February's people paid in cash, as a file: every line as the API lists them
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      months.getByRole('button', { name: 'Tải CSV người nhận tiền mặt tháng 02/2034' }).click(),
    ]);
    expect(download.suggestedFilename()).to.equal('nguoi-nhan-tien-mat-2034-02-002.csv');
    await page.getByText('Đã tải danh sách người nhận tiền mặt tháng 02/2034: 2 người.').waitFor();
    const text = await readFile((await download.path())!, 'utf8');
    expect(text.startsWith('\uFEFF')).to.equal(true);
    const lines = parse(text, { bom: true, columns: true }) as Record<string, string>[];
    const listed = (await get(`/coverage/cash-recipients?period=2034-02&areaId=${district}`, auditor.token)).body.items as {
      beneficiaryId: string;
      fullName: string;
      nationalId: string;
      cashPayments: number;
      cashAmount: number;
      area: { code: string };
    }[];
    expect(listed).to.have.length(2);
    expect(lines.map((l) => [l['Mã người hưởng'], l['Họ và tên'], l['Số định danh (đã che)'], l['Mã xã, phường']])).to.deep.equal(
      // a name that a spreadsheet would run as a formula is written as text
      listed.map((p) => [p.beneficiaryId, p.fullName.startsWith('=') ? `'${p.fullName}` : p.fullName, p.nationalId, p.area.code]),
    );
    expect(lines.map((l) => [Number(l['Số khoản nhận tiền mặt']), Number(l['Số tiền mặt (đồng)'])])).to.deep.equal(
      listed.map((p) => [p.cashPayments, p.cashAmount]),
    );
    expect(lines.reduce((sum, l) => sum + Number(l['Số tiền mặt (đồng)']), 0)).to.equal(1_875_000);
    expect(lines.map((l) => l['Ngày sinh'])).to.deep.equal(['15/03/1940', '15/03/1940']);
    await expectAccessible(page);
  });
});

/**
 * Staff's roll journeys in Chromium against the real service and worker: importing a roll file with bad rows and
 * reading its problems, then finding a person on the roll and revealing their national ID with a reason, through
 * the browser session (cookie + CSRF).
 */
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { lastAudit, makeUser, TEST_PASSWORD, type TestUser } from '../helpers/factories';
import { get } from '../helpers/http';
import { person, rollCsv, upload, waitForImport } from '../helpers/rolls';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

const sql = async (q: string, params: unknown[] = []) => (await testApp()).infra.ds.query(q, params) as Promise<any[]>;

describe('console: staff imports the roll and looks people up (Chromium)', function () {
  this.timeout(60_000);
  let b: Browser | undefined;
  let staff: TestUser;

  before(async function () {
    await testWorker();
    staff = await makeUser(['staff']);
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  it('uploads a roll file with bad rows, follows the import live, reads its problems and downloads them as CSV', async () => {
    b = await openLoggedIn(staff.username, TEST_PASSWORD);
    const { page } = b;
    await page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Nhập danh sách' }).click();
    await page.getByRole('heading', { name: 'Nhập danh sách người thụ hưởng', level: 1 }).waitFor();
    await expectAccessible(page);

    const good = [person(), person()];
    const badId = person({ national_id: '12345' });
    const badCoefficient = person({ coefficient: '99' });
    const csv = rollCsv([good[0]!, badId, good[1]!, badCoefficient]);

    // the upload is held until the progress has been seen: a small file would otherwise be sent before it shows
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/api/v1/roll-imports', async (route) => {
      if (route.request().method() === 'POST') await held;
      await route.continue();
    });
    await page
      .getByLabel('Tệp danh sách (CSV hoặc XLSX)')
      .setInputFiles({ name: 'danh-sach-thang-7.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Tải lên' }).click();
    await page.getByRole('progressbar', { name: 'Tiến độ tải lên' }).waitFor();
    await page.getByRole('button', { name: 'Đang tải lên…' }).waitFor();
    release();

    // the import's own page, which follows the worker without a reload
    await page.waitForURL(/\/imports\/\d+$/);
    const id = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('heading', { name: 'Lần nhập tệp danh-sach-thang-7.csv', level: 1 }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Đã hoàn tất' }).waitFor({ timeout: 20_000 });
    const counts = page.locator('section', { has: page.getByRole('heading', { name: 'Tiến độ' }) }).locator('dl');
    expect(await counts.innerText()).to.match(/Số dòng đã đọc\s+4[\s\S]*Số dòng hợp lệ\s+2[\s\S]*Số dòng có lỗi\s+2/);
    const result = page.locator('section', { has: page.getByRole('heading', { name: 'Kết quả' }) });
    expect(await result.innerText()).to.match(/Người thụ hưởng mới\s+2/);

    const grid = page.getByRole('table', { name: 'Các lỗi theo dòng và cột của tệp' });
    await grid.getByRole('row').nth(1).waitFor();
    const rows = await grid.locator('tbody tr').allInnerTexts();
    // row 1 is the header: the bad people are on rows 3 and 5 of the file
    expect(
      rows.some((r) => /^3\s+national_id\s/.test(r)),
      rows.join('\n'),
    ).to.equal(true);
    expect(
      rows.some((r) => /^5\s+coefficient\s/.test(r)),
      rows.join('\n'),
    ).to.equal(true);
    // the server's English is read in Vietnamese from the problem's code, the original text one click away
    expect(
      rows.some((r) => r.includes('Số định danh cá nhân phải gồm đúng 12 chữ số.')),
      rows.join('\n'),
    ).to.equal(true);
    expect(
      rows.some((r) => r.includes('Hệ số phải từ 0,5 đến 10.')),
      rows.join('\n'),
    ).to.equal(true);
    expect(rows.join('\n')).not.to.match(/must be exactly 12 digits/);
    await expectAccessible(page);

    // the filter narrows the grid to one column, then back to every problem
    await page.getByLabel('Cột', { exact: true }).selectOption('coefficient');
    await page.getByRole('table', { name: 'Các lỗi đã lọc theo mã lỗi hoặc cột' }).waitFor();
    const narrowed = page.getByRole('table', { name: 'Các lỗi đã lọc theo mã lỗi hoặc cột' });
    // the unfiltered rows stay until the filtered answer replaces them
    await narrowed.locator('tbody tr').filter({ hasNotText: 'coefficient' }).first().waitFor({ state: 'detached' });
    await narrowed.locator('tbody tr', { hasText: 'coefficient' }).first().waitFor();
    const onlyCoefficient = await narrowed.locator('tbody tr').allInnerTexts();
    expect(onlyCoefficient.length).to.be.greaterThan(0);
    expect(
      onlyCoefficient.every((r) => /^\d+\s+coefficient\s/.test(r)),
      onlyCoefficient.join('\n'),
    ).to.equal(true);
    expect(await page.getByRole('link', { name: 'Tải các lỗi đang lọc (CSV)' }).getAttribute('href')).to.equal(
      `/api/v1/roll-imports/${id}/problems.csv?column=coefficient`,
    );
    await page.getByLabel('Mã lỗi', { exact: true }).selectOption('NATIONAL_ID_FORMAT');
    await narrowed.getByText('Không có dữ liệu.').waitFor();
    await expectAccessible(page);
    await page.getByLabel('Cột', { exact: true }).selectOption('');
    await page.getByLabel('Mã lỗi', { exact: true }).selectOption('');
    await grid.locator('tbody tr', { hasText: 'national_id' }).first().waitFor();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Tải danh sách lỗi (CSV)' }).click(),
    ]);
    expect(download.suggestedFilename()).to.equal(`roll-import-${id}-problems.csv`);
    const file = (await readFile((await download.path())!, 'utf8')).replace(/^\uFEFF/, '');
    const lines = file.trim().split(/\r?\n/);
    expect(lines[0]).to.equal('row,column,code,message');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).to.include.members(['3,national_id', '5,coefficient']);

    // what the service holds: the two good people, the import finished with two rows refused
    const [imp] = await sql('SELECT status, rows_valid, rows_invalid, uploaded_by FROM roll_imports WHERE id = ?', [id]);
    expect(imp).to.include({ status: 'completed', rows_valid: 2, rows_invalid: 2, uploaded_by: staff.id });
    const { services } = await testApp();
    for (const p of good) {
      const [row] = await sql('SELECT COUNT(*) AS n FROM beneficiaries WHERE national_id_hash = ?', [
        services.cipher.lookupHash('nid', p.national_id!),
      ]);
      expect(Number(row.n)).to.equal(1);
    }
  });

  it('finds a person with and without diacritics, reveals their national ID with a reason, and the read is audited', async () => {
    const surname = `Hoàng${Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;
    const hoa = person({
      full_name: `${surname} Thị Hoa`,
      gender: 'F',
      account_name: `${surname.replace('à', 'a').toUpperCase()} THI HOA`,
    });
    // the fourth digit of a national ID says the sex: 1 for a woman born in the 1900s
    hoa.national_id = `0011${hoa.national_id!.slice(4)}`;
    const up = await upload(staff.token, rollCsv([hoa]));
    expect((await waitForImport(staff.token, up.body.id)).progress.rowsValid).to.equal(1);
    const folded = surname.replace('à', 'a').toLowerCase();

    b = await openLoggedIn(staff.username, TEST_PASSWORD);
    const { page } = b;
    await page.goto(`${b.url}/beneficiaries`);
    await page.getByRole('heading', { name: 'Người thụ hưởng', level: 1 }).waitFor();
    await expectAccessible(page);
    const results = page.getByRole('table', { name: 'Kết quả tìm kiếm, theo họ tên' });
    const search = async (text: string) => {
      await page.getByLabel('Họ và tên hoặc số CCCD').fill(text);
      await page.getByRole('button', { name: 'Tìm kiếm' }).click();
      await results.getByRole('link', { name: `${surname} Thị Hoa` }).waitFor();
      return results.locator('tbody tr').allInnerTexts();
    };
    const withoutDiacritics = await search(`${folded} thi`);
    expect(withoutDiacritics).to.have.length(1);
    // the list never shows the full national ID
    expect(withoutDiacritics[0]).not.to.contain(hoa.national_id);
    expect(await search(`${surname} Thị`)).to.have.length(1);
    expect(await search(hoa.national_id!)).to.have.length(1);

    await results.getByRole('link', { name: `${surname} Thị Hoa` }).click();
    await page.getByRole('heading', { name: `${surname} Thị Hoa`, level: 1 }).waitFor();
    const nid = page.getByTestId('national-id');
    expect(await nid.innerText())
      .to.match(/\*/)
      .and.not.to.contain(hoa.national_id);
    await expectAccessible(page);

    // no reason, no reveal: the page says why and asks the API nothing
    await page.getByRole('button', { name: 'Xem đầy đủ' }).click();
    await page.getByText('Nêu lý do, ít nhất 3 ký tự.').waitFor();
    const reason = 'Đối chiếu hồ sơ chi trả tháng 7';
    await page.getByLabel('Lý do xem').fill(reason);
    await page.getByRole('button', { name: 'Xem đầy đủ' }).click();
    await page.getByText('Đang hiển thị số đầy đủ; lần xem đã được ghi nhật ký.').waitFor();
    expect(await nid.innerText()).to.equal(hoa.national_id);
    await expectAccessible(page);

    const id = new URL(page.url()).pathname.split('/').pop()!;
    const event = await lastAudit('beneficiary.reveal');
    expect(event).to.include({ entity_type: 'beneficiary', entity_id: id, actor_user_id: staff.id });
    expect(JSON.parse(event.summary)).to.include({ note: reason });
    // an auditor reads the same event in the trail
    const auditor = await makeUser(['auditor'], { area: null });
    const trail = await get(`/audit-events?action=beneficiary.reveal&entityId=${id}`, auditor.token);
    expect(trail.status).to.equal(200);
    expect(trail.body.items.map((e: { actorUsername: string }) => e.actorUsername)).to.include(staff.username);

    // the full value is not kept: hidden again, and masked after a reload
    await page.getByRole('button', { name: 'Ẩn lại' }).click();
    expect(await nid.innerText()).not.to.contain(hoa.national_id);
    await page.reload();
    await page.getByRole('heading', { name: `${surname} Thị Hoa`, level: 1 }).waitFor();
    expect(await nid.innerText()).not.to.contain(hoa.national_id);
  });
});

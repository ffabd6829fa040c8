/**
 * Staff's cash pay-point journey in Chromium against the real service and worker: on a released batch with cash
 * payments, find a hand-over on the cash hand-overs page and follow it to the batch, download a pay point's hand-over
 * list, hand the payments over, upload a results file that is refused line by line, then the corrected one; the cash
 * payments become paid.
 */
import { expect } from 'chai';
import { authenticator } from 'otplib';
import type { Page } from 'playwright-core';
import { offlineOpenapiDocument } from '../../src/api-document';
import { testApp } from '../helpers/app';
import { createBatch, enrol, makeProgramme, waitForStatus } from '../helpers/batches';
import { areaId, makeUser, TEST_TOTP_SECRET, tokenFor, type TestUser } from '../helpers/factories';
import { call, get, post } from '../helpers/http';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

const PASSWORD = 'Demo-Password-2026!';

async function demoStaff(): Promise<TestUser> {
  const { infra } = await testApp();
  const [u] = (await infra.ds.query("SELECT id, area_id FROM users WHERE username = 'staff'")) as { id: number; area_id: number | null }[];
  const user = { id: u!.id, username: 'staff', roles: ['staff' as const], areaId: u!.area_id };
  return { ...user, token: await tokenFor(user) };
}

async function approveAs(approver: TestUser, batch: { id: string; itemCount: number; totalAmount: number }): Promise<void> {
  const doc = offlineOpenapiDocument() as { components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> } };
  const field = Object.keys(doc.components?.schemas?.Approval?.properties ?? {}).find((k) => /totp|code/i.test(k));
  const body: Record<string, unknown> = { itemCount: batch.itemCount, totalAmount: batch.totalAmount };
  if (field) body[field] = authenticator.generate(TEST_TOTP_SECRET);
  const r = await post(`/batches/${batch.id}/approve`, body, approver.token);
  expect(r.status, JSON.stringify(r.body)).to.equal(200);
}

describe('console: cash pay points (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;
  let staff: TestUser;

  before(async () => {
    await testApp();
    await testWorker();
    staff = await demoStaff();
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

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

  it('staff hands over a batch’s cash list and uploads the results; the cash payments become paid', async () => {
    const prog = await makeProgramme();
    await enrol(prog.id, { channel: 'CASH', area: '00004', fullName: 'Nguyễn Thị Lan' });
    await enrol(prog.id, { channel: 'CASH', area: '00004', fullName: 'Trần Văn Bình' });
    await enrol(prog.id, { channel: 'CASH', area: '00006', fullName: 'Lê Thị Hoa' });
    const batch = await createBatch(staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    expect(batch.itemCount).to.equal(3);
    expect((await post(`/batches/${batch.id}/submit`, {}, staff.token)).status).to.equal(200);
    await approveAs(await makeUser(['approver'], { area: '01' }), batch);
    expect((await post(`/batches/${batch.id}/release`, {}, staff.token)).body.status).to.equal('processing');

    const { infra: infra0 } = await testApp();
    // the hand-over at Trúc Bạch, in two days: listed on the cash hand-overs page, whose row leads to the batch
    const day = new Date(Date.now() + 7 * 3600_000 + 2 * 86_400_000).toISOString().slice(0, 10);
    const scheduled = await call('PUT', `/api/v1/batches/${batch.id}/paypoints/${await areaId('00004')}/schedule`, {
      token: staff.token,
      body: { date: day, place: 'Nhà văn hoá tổ 5', hours: '7h30-11h00', papers: 'CCCD' },
    });
    expect(scheduled.status, scheduled.text).to.equal(200);
    const page = await openAsStaff('/paypoints');
    await page.getByRole('heading', { name: 'Lịch chi trả tiền mặt', level: 1 }).waitFor();
    const dayText = day.split('-').reverse().join('/');
    const linkName = `Đợt số ${batch.id}, tháng 12/2024 (${prog.code})`;
    const listed = page
      .getByRole('table', { name: 'Lịch chi trả tiền mặt theo ngày và xã, phường' })
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: linkName }) });
    const link = listed.getByRole('link', { name: linkName });
    await link.waitFor();
    expect(await listed.getByRole('cell').allInnerTexts()).to.include.members([dayText, '7h30-11h00', 'Nhà văn hoá tổ 5', 'CCCD', '2']);
    await expectAccessible(page);
    await link.click();
    await page.getByRole('heading', { name: `Đợt chi trả số ${batch.id}`, level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).to.equal(`/batches/${batch.id}`);
    const panel = page.getByRole('region', { name: 'Chi trả tiền mặt' });
    const table = panel.getByRole('table', { name: 'Điểm chi trả tiền mặt: số khoản, số tiền và tình trạng' });
    await table.getByRole('row').nth(2).waitFor();
    expect(await table.getByRole('row').count()).to.equal(3); // header + two pay points
    await expectAccessible(page);

    // each pay point's printable list
    const point = (await get(`/batches/${batch.id}/paypoints`, staff.token)).body.paypoints[0] as { areaName: string; areaCode: string };
    const name = `${point.areaName} (${point.areaCode})`;
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      panel.getByRole('link', { name: `Tải danh sách bàn giao của ${name} (XLSX)` }).click(),
    ]);
    expect(download.suggestedFilename()).to.match(/\.xlsx$/);
    expect(await download.failure()).to.equal(null);

    // results before the hand-over: each line refused with the payment's state in words, nothing recorded
    const early = (await infra0.ds.query('SELECT reference FROM payments WHERE batch_id = ? ORDER BY seq LIMIT 1', [batch.id])) as {
      reference: string;
    }[];
    await panel.getByLabel('Tệp kết quả (CSV)').setInputFiles({
      name: 'ket-qua.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`reference,paid\n${early[0]!.reference},có\n`),
    });
    await panel.getByRole('button', { name: 'Tải lên kết quả' }).click();
    await panel
      .getByRole('table', { name: 'Các dòng bị từ chối trong tệp kết quả' })
      .getByRole('cell', {
        name: `Khoản ${early[0]!.reference} đang ở trạng thái “Chờ gửi”: chưa được bàn giao cho điểm chi trả hoặc đã có kết quả khác.`,
      })
      .waitFor();
    await expectAccessible(page);

    await panel.getByRole('button', { name: 'Bàn giao tất cả (3 khoản)' }).click();
    await panel.getByText('Đã bàn giao 3 khoản cho điểm chi trả.').waitFor();
    const { infra } = await testApp();
    const rows = (await infra.ds.query('SELECT reference, status FROM payments WHERE batch_id = ? ORDER BY seq', [batch.id])) as {
      reference: string;
      status: string;
    }[];
    expect(rows.map((r) => r.status)).to.deep.equal(['sent', 'sent', 'sent']);
    const refs = rows.map((r) => r.reference);

    // a file with an unknown reference is refused whole, the line and its reason shown
    const fileInput = panel.getByLabel('Tệp kết quả (CSV)');
    await fileInput.setInputFiles({
      name: 'ket-qua.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`reference,paid,note\n${refs[0]},có,\nB000000ZZZZZZZZ-9,có,\n`),
    });
    await panel.getByRole('button', { name: 'Tải lên kết quả' }).click();
    await panel.getByText('Tệp kết quả có 1 lỗi nên không ghi nhận khoản nào.', { exact: false }).waitFor();
    const problems = panel.getByRole('table', { name: 'Các dòng bị từ chối trong tệp kết quả' });
    await problems.getByRole('cell', { name: 'Mã khoản B000000ZZZZZZZZ-9 không thuộc đợt này.' }).waitFor();
    expect(await problems.getByRole('cell', { name: '3', exact: true }).count()).to.equal(1);
    await expectAccessible(page);
    expect(
      ((await get(`/batches/${batch.id}/progress`, staff.token)).body.byStatus as { status: string }[]).map((s) => s.status),
    ).to.deep.equal(['sent']);

    // a file without its paid column: the header line is named, in Vietnamese
    await fileInput.setInputFiles({ name: 'ket-qua.csv', mimeType: 'text/csv', buffer: Buffer.from(`reference,note\n${refs[0]},\n`) });
    await panel.getByRole('button', { name: 'Tải lên kết quả' }).click();
    await problems.getByRole('cell', { name: 'Dòng tiêu đề thiếu cột paid.' }).waitFor();
    expect(await problems.getByRole('cell', { name: '1', exact: true }).count()).to.equal(1);
    await expectAccessible(page);

    await fileInput.setInputFiles({
      name: 'ket-qua.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`reference,paid,note\n${refs[0]},có,\n${refs[1]},có,\n${refs[2]},không,không đến nhận\n`),
    });
    await panel.getByRole('button', { name: 'Tải lên kết quả' }).click();
    await panel
      .getByTestId('paypoints-outcome')
      .filter({ hasText: 'Đã ghi nhận: 2 khoản đã nhận tiền, 1 khoản không đến nhận, 0 khoản không đổi.' })
      .waitFor();
    await expectAccessible(page);

    // what the service holds: the two paid, the third not collected, the batch finished with that one failure
    const progress = (await get(`/batches/${batch.id}/progress`, staff.token)).body.byStatus as { status: string; count: number }[];
    expect(progress.map((s) => [s.status, s.count])).to.deep.equal([
      ['failed', 1],
      ['succeeded', 2],
    ]);
    const after = (await infra.ds.query('SELECT status, failure_code FROM payments WHERE batch_id = ? ORDER BY seq', [batch.id])) as {
      status: string;
      failure_code: string | null;
    }[];
    expect(after.map((p) => [p.status, p.failure_code])).to.deep.equal([
      ['succeeded', null],
      ['succeeded', null],
      ['failed', 'NOT_COLLECTED'],
    ]);
    await waitForStatus(staff.token, batch.id, 'completed_with_failures');
    await page.locator('.batch-status .badge').filter({ hasText: /lỗi/i }).first().waitFor({ timeout: 20_000 });
  });
});

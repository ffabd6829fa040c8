/**
 * Staff reconciliation in Chromium against the real service and worker: a statement uploaded, matched by the
 * worker, its run's categories read on the page; an exception worked (commented, resolved with a reason); a
 * write-off proposed by one member of staff and confirmed by a second with a fresh TOTP code, through the browser
 * session (cookie + CSRF).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { authenticator } from 'otplib';
import { testApp } from '../helpers/app';
import { makeUser, TEST_PASSWORD, TEST_TOTP_SECRET } from '../helpers/factories';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openBrowser, screenshotIfFailed, type Browser } from './helpers/browser';

const PASSWORD = 'Demo-Password-2026!';
const HEADER = 'reference,transferId,status,amount,currency,failureCode,occurredAt';

/** A business date of its own (a past day of 2020), so that no other statement of the run supersedes this one. */
function pastDate(): string {
  const d = new Date(Date.UTC(2020, 0, 1) + Math.floor(Math.random() * 360) * 86_400_000);
  return d.toISOString().slice(0, 10);
}

describe('console: staff reconciliation (Chromium)', function () {
  this.timeout(90_000);
  const browsers: Browser[] = [];

  beforeEach(function () {});

  afterEach(async function () {
    for (const b of browsers) await screenshotIfFailed(this.currentTest, b.page);
    for (const b of browsers.splice(0)) await b.close();
  });

  async function loggedIn(username: string, password: string, totpSecret?: string): Promise<Browser> {
    const b = await openBrowser();
    browsers.push(b);
    await b.page.goto(`${b.url}/login`);
    await b.page.getByLabel('Tên đăng nhập').fill(username);
    await b.page.getByLabel('Mật khẩu', { exact: true }).fill(password);
    await b.page.getByRole('button', { name: 'Đăng nhập' }).click();
    if (totpSecret) {
      await b.page.getByLabel('Mã xác thực (6 chữ số)').fill(authenticator.generate(totpSecret));
      await b.page.getByRole('button', { name: 'Đăng nhập' }).click();
    }
    await b.page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
    return b;
  }

  /** Uploads a statement of `lines` unknown references through the page; returns the statement's id. */
  async function uploadUnknown(b: Browser, refs: string[], date: string): Promise<string> {
    const file = path.join(os.tmpdir(), `statement-${refs[0]}.csv`);
    const body = refs.map((r) => `${r},T-${r},SUCCEEDED,250000,VND,,${date}T09:00:00+07:00`).join('\n');
    await writeFile(file, `${HEADER}\n${body}\n`);
    await b.page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Đối soát' }).click();
    await b.page.getByRole('heading', { name: 'Đối soát', level: 1 }).waitFor();
    await expectAccessible(b.page);
    await b.page.getByLabel('Tên đơn vị chi trả').fill('sandbox');
    // the day as a Vietnamese reader types it
    const field = b.page.getByLabel('Ngày giao dịch');
    await field.fill(date.split('-').reverse().join('/'));
    expect(await field.getAttribute('aria-invalid')).to.equal(null);
    await b.page.getByLabel('Tệp sao kê (CSV)').setInputFiles(file);
    await b.page.getByRole('button', { name: 'Tải sao kê lên' }).click();
    await b.page.waitForURL(/\/reconciliation\/statements\/\d+/);
    return new URL(b.page.url()).pathname.split('/').pop()!;
  }

  it('staff uploads a statement and sees its run by category, then works an exception: comments, resolves it with a reason', async () => {
    await testWorker();
    const date = pastDate();
    const refs = [`ZZ${Date.now()}A`, `ZZ${Date.now()}B`];
    const b = await loggedIn('staff', PASSWORD);
    const id = await uploadUnknown(b, refs, date);

    // the worker matches it; the page follows without a reload
    await b.page.getByRole('status').filter({ hasText: 'Đã đối soát' }).waitFor({ timeout: 20_000 });
    const totals = b.page.getByRole('table', { name: /Số món và số tiền theo loại/ });
    await totals.waitFor();
    const unknownRow = totals.getByRole('row', { name: /Không có trong hệ thống/ });
    expect(await unknownRow.getByRole('cell').first().textContent()).to.equal('2');
    expect(await unknownRow.getByRole('cell').nth(1).textContent()).to.equal('500.000\u00a0₫');
    await expectAccessible(b.page);

    const { infra } = await testApp();
    const [run] = (await infra.ds.query('SELECT id FROM recon_runs WHERE statement_id = ?', [id])) as { id: string }[];
    expect(run, 'a run of the statement').to.not.equal(undefined);

    await unknownRow.getByRole('link', { name: 'Không có trong hệ thống' }).click();
    await b.page.getByRole('heading', { name: 'Món cần xử lý', level: 1 }).waitFor();
    await b.page.getByRole('cell', { name: refs[0] }).waitFor();
    await expectAccessible(b.page);
    await b.page
      .getByRole('row', { name: new RegExp(refs[0]!) })
      .getByRole('link')
      .click();
    await b.page.getByRole('heading', { name: /^Món cần xử lý #\d+$/, level: 1 }).waitFor();
    const exceptionId = new URL(b.page.url()).pathname.split('/').pop()!;

    await b.page.getByLabel('Ghi chú').fill('Đã gọi điện cho đơn vị chi trả để hỏi.');
    await b.page.getByRole('button', { name: 'Thêm ghi chú' }).click();
    await b.page.getByText('Đã thêm ghi chú.').waitFor();
    // a reason too short is refused on the page, nothing sent
    await b.page.getByLabel('Cách xử lý').selectOption('no_action');
    await b.page.getByLabel('Lý do').fill('ok');
    await b.page.getByRole('button', { name: 'Ghi nhận đã xử lý' }).click();
    await b.page.getByText('Ghi lý do, ít nhất 5 ký tự.').waitFor();
    await b.page.getByLabel('Lý do').fill('Giao dịch thử của đơn vị chi trả, không phải khoản chi của Sở.');
    await b.page.getByRole('button', { name: 'Ghi nhận đã xử lý' }).click();
    await b.page.getByText('Đã ghi nhận xử lý.').waitFor();
    await expectAccessible(b.page);

    const [x] = (await infra.ds.query('SELECT status, resolution FROM recon_exceptions WHERE id = ?', [exceptionId])) as any[];
    expect(x.status).to.equal('resolved');
    expect(x.resolution).to.equal('no_action');
    const notes = (await infra.ds.query('SELECT kind FROM recon_exception_notes WHERE exception_id = ? ORDER BY id', [exceptionId])) as {
      kind: string;
    }[];
    expect(notes.map((n) => n.kind)).to.deep.equal(['comment', 'resolved']);
  });

  it('a write-off proposed by one member of staff is confirmed only by a second, with a fresh TOTP code', async () => {
    await testWorker();
    const date = pastDate();
    const refs = [`ZW${Date.now()}A`];
    const b = await loggedIn('staff', PASSWORD);
    await uploadUnknown(b, refs, date);
    await b.page.getByRole('link', { name: 'Xem các món cần xử lý của lần này' }).click({ timeout: 20_000 });
    await b.page
      .getByRole('row', { name: new RegExp(refs[0]!) })
      .getByRole('link')
      .click();
    await b.page.getByRole('heading', { name: /^Món cần xử lý #\d+$/, level: 1 }).waitFor();
    const exceptionId = new URL(b.page.url()).pathname.split('/').pop()!;
    await b.page.getByLabel('Cách xử lý').selectOption('written_off');
    await b.page.getByLabel('Lý do').fill('Không xác định được người nhận sau 3 tháng tra soát.');
    await b.page.getByRole('button', { name: 'Đề nghị xóa sổ' }).click();
    await b.page.getByText('Đã đề nghị xóa sổ: chờ người thứ hai xác nhận.').waitFor();
    // the proposer is not offered the decision
    await b.page.getByText('Bạn đã đề nghị xóa sổ món này', { exact: false }).waitFor();
    expect(await b.page.getByRole('button', { name: 'Xác nhận xóa sổ' }).count()).to.equal(0);

    const second = await makeUser(['staff'], { area: '01', totp: true });
    const c = await loggedIn(second.username, TEST_PASSWORD, TEST_TOTP_SECRET);
    await c.page.goto(`${c.url}/reconciliation/exceptions/${exceptionId}`);
    await c.page.getByRole('heading', { name: 'Duyệt đề nghị xóa sổ', level: 2 }).waitFor();
    await expectAccessible(c.page);
    await c.page.getByLabel('Lý do').fill('Đồng ý xóa sổ theo biên bản tra soát.');
    // a wrong code is refused and nothing changes; the refusal names the code field (the API's details name totp), so
    // the page says it beside that field, marks the field invalid and ties the message to it, as for any field
    const code = c.page.getByLabel('Mã xác thực (6 chữ số)');
    await code.fill('000000');
    await c.page.getByRole('button', { name: 'Xác nhận xóa sổ' }).click();
    await code.and(c.page.locator('[aria-invalid="true"]')).waitFor();
    const describedBy = ((await code.getAttribute('aria-describedby')) ?? '').split(' ').filter(Boolean);
    const said = await Promise.all(describedBy.map((id) => c.page.locator(`[id="${id}"]`).textContent()));
    expect(said).to.include('Mã xác thực sai, đã hết hạn hoặc đã dùng. Hãy chờ mã mới và nhập lại.');
    expect(await code.inputValue(), 'the spent code is cleared').to.equal('');
    const { infra } = await testApp();
    const status = async () =>
      ((await infra.ds.query('SELECT status, resolution FROM recon_exceptions WHERE id = ?', [exceptionId])) as any[])[0];
    expect((await status()).status).to.equal('writeoff_proposed');
    // test-only: the login used this step's code; the step-up needs one not used yet
    await infra.ds.query('UPDATE users SET totp_last_step = NULL WHERE id = ?', [second.id]);
    await c.page.getByLabel('Mã xác thực (6 chữ số)').fill(authenticator.generate(TEST_TOTP_SECRET));
    await c.page.getByRole('button', { name: 'Xác nhận xóa sổ' }).click();
    await c.page.getByText('Đã xác nhận xóa sổ.').waitFor();
    expect(await status()).to.deep.equal({ status: 'resolved', resolution: 'written_off' });
  });
});

/**
 * An auditor's task in Chromium against the real service: verify the audit trail's chain, make a reconciliation
 * export, and check that the file downloaded is the one its manifest describes, through the browser session (cookie +
 * CSRF).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { makeUser, TEST_PASSWORD } from '../helpers/factories';
import { get } from '../helpers/http';
import { expectAccessible, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

describe('console: an auditor checks the trail and exports (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  // exports are written in the background: none may outlive the database
  after(async () => (await testApp()).services.exports.whenIdle());

  it('an auditor verifies the audit trail, makes a full reconciliation export with a reason and the SHA-256 shown equals the downloaded file’s', async () => {
    const auditor = await makeUser(['auditor'], { area: null });
    b = await openLoggedIn(auditor.username, TEST_PASSWORD);

    await b.page.goto(`${b.url}/audit`);
    await b.page.getByRole('heading', { name: 'Nhật ký kiểm tra', level: 1 }).waitFor();
    await b.page.getByRole('table', { name: 'Sự kiện trong nhật ký, mới nhất trước' }).getByRole('row').nth(1).waitFor();
    await b.page.getByRole('button', { name: 'Kiểm tra chuỗi nhật ký' }).click();
    // the page says what the API answers (other tests in this process may have broken the chain on purpose)
    const verdict = (await get('/audit-events/verify', auditor.token)).body as { ok: boolean; firstBroken: { code: string } | null };
    if (verdict.ok) await b.page.getByText(/^Chuỗi nhật ký nguyên vẹn: đã kiểm tra [\d.]+ sự kiện\.$/).waitFor();
    else {
      await b.page.getByText('Chuỗi nhật ký bị đứt', { exact: false }).waitFor();
      await b.page.getByText(verdict.firstBroken!.code, { exact: true }).waitFor();
    }
    await expectAccessible(b.page);

    // the filter goes to the API: only this auditor's logins
    await b.page.getByLabel('Thao tác').fill('auth.login');
    await b.page.getByLabel('Mã người thực hiện').fill(String(auditor.id));
    await b.page.getByRole('button', { name: 'Lọc', exact: true }).click();
    const trail = b.page.getByRole('table', { name: 'Sự kiện trong nhật ký, mới nhất trước' });
    // the unfiltered page (whose newest row is this login too) is replaced once the filtered answer arrives
    await trail.locator('tbody tr').nth(1).waitFor({ state: 'detached' });
    await trail
      .getByRole('cell', { name: `${auditor.username} (#${auditor.id})` })
      .first()
      .waitFor();
    expect(await trail.locator('tbody tr').count()).to.equal(1);

    await b.page.goto(`${b.url}/exports`);
    await b.page.getByRole('heading', { name: 'Xuất dữ liệu', level: 1 }).waitFor();
    await expectAccessible(b.page);
    await b.page.getByLabel('Nhật ký đối soát').check();
    await b.page.getByLabel('CSV (UTF-8)').check();
    // days as dd/MM/yyyy; a day that is none is said so beside its field, and the export is not asked for
    await b.page.getByLabel('Từ ngày').fill('01/01/2032');
    await b.page.getByLabel('Đến ngày').fill('31/02/2032');
    await b.page.getByRole('button', { name: 'Tạo tệp' }).click();
    await b.page.getByText('Ngày không hợp lệ: hãy nhập theo dạng ngày/tháng/năm, ví dụ 15/03/1940.').waitFor();
    expect(await b.page.getByLabel('Đến ngày').getAttribute('aria-invalid')).to.equal('true');
    await expectAccessible(b.page);
    await b.page.getByLabel('Đến ngày').fill('31/01/2032');
    // full values need a reason: the field appears with the box, and the form is not sent without it
    await b.page.getByLabel('Xuất đầy đủ số CCCD, số tài khoản và số điện thoại').check();
    const reason = b.page.getByLabel('Lý do cần xuất đầy đủ', { exact: true });
    expect(await reason.getAttribute('required')).to.not.equal(null);
    await b.page.getByRole('button', { name: 'Tạo tệp' }).click();
    await b.page.getByText('Hãy nêu lý do cần xuất đầy đủ (ít nhất 3 ký tự).').waitFor();
    expect(await reason.getAttribute('aria-invalid')).to.equal('true');
    await expectAccessible(b.page);
    await reason.fill('Đối chiếu số tài khoản với sao kê ngân hàng');
    await b.page.getByRole('button', { name: 'Tạo tệp' }).click();
    await b.page.getByRole('heading', { name: /^Biên bản tệp xuất \d+$/, level: 1 }).waitFor();
    await b.page.getByText('Đối chiếu số tài khoản với sao kê ngân hàng', { exact: true }).waitFor();
    await b.page.getByRole('status').filter({ hasText: 'Đã tạo xong' }).waitFor({ timeout: 20_000 });
    const shown = (await b.page.locator('code.sha256').textContent())!.trim();
    expect(shown).to.match(/^[0-9a-f]{64}$/);
    await expectAccessible(b.page);

    const id = /\/exports\/(\d+)$/.exec(new URL(b.page.url()).pathname)![1]!;
    const manifest = (await get(`/exports/${id}`, auditor.token)).body as {
      sha256: string;
      kind: string;
      fullValues: boolean;
      reason: string | null;
      exportedBy: { userId: number };
    };
    expect(manifest).to.include({
      sha256: shown,
      kind: 'reconciliation',
      fullValues: true,
      reason: 'Đối chiếu số tài khoản với sao kê ngân hàng',
    });
    expect(manifest.exportedBy.userId).to.equal(auditor.id);

    const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.getByRole('link', { name: /^Tải tệp / }).click()]);
    const bytes = await readFile((await download.path())!);
    expect(createHash('sha256').update(bytes).digest('hex')).to.equal(shown);

    const { infra } = await testApp();
    const [n] = (await infra.ds.query("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'export.downloaded' AND entity_id = ?", [
      id,
    ])) as {
      n: string;
    }[];
    expect(Number(n!.n)).to.equal(1);
  });
});

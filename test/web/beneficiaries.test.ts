/**
 * Staff corrects a person on the roll in Chromium against the real service: their name and phone, the commune they
 * are paid in (found by a name typed without marks, among the communes of the officer's district only), then the bank
 * and account their enrolment is paid to, chosen from the service's list; each change is seen on the page and in the
 * history, a bad value (a birth date that is no day, or that the national ID contradicts) is shown beside its field,
 * and a change made meanwhile by someone else is explained with a way to read the record again.
 */
import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { areaId, makeUser, TEST_PASSWORD, type TestUser } from '../helpers/factories';
import { get, patch } from '../helpers/http';
import { person, rollCsv, upload, waitForImport } from '../helpers/rolls';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

const sql = async (q: string, params: unknown[] = []) => (await testApp()).infra.ds.query(q, params) as Promise<any[]>;

describe('console: staff corrects a person and an enrolment (Chromium)', function () {
  this.timeout(90_000);
  let b: Browser | undefined;
  let staff: TestUser;

  before(async function () {
    await testWorker();
    // a district officer (Ba Đình): the communes offered for a move are those of the district only
    staff = await makeUser(['staff'], { area: '001' });
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, b?.page);
    await b?.close();
    b = undefined;
  });

  it("corrects a person's name, phone and commune and an enrolment's bank and account, with field errors, a conflict and the history", async () => {
    const surname = `Lê${Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;
    const an = person({ full_name: `${surname} Văn An`, account_name: `LE VAN AN` });
    const up = await upload(staff.token, rollCsv([an]));
    expect((await waitForImport(staff.token, up.body.id)).progress.rowsValid).to.equal(1);
    const found = await get(`/beneficiaries?nationalId=${an.national_id}`, staff.token);
    const id = found.body.items[0].id as string;

    b = await openLoggedIn(staff.username, TEST_PASSWORD);
    const { page } = b;
    await page.goto(`${b.url}/beneficiaries/${id}`);
    await page.getByRole('heading', { name: `${surname} Văn An`, level: 1 }).waitFor();

    // the person: the form shows the current values and sends only the name and the phone
    await page.getByRole('button', { name: 'Sửa thông tin cá nhân' }).click();
    const personForm = page.getByRole('form', { name: 'Sửa thông tin cá nhân' });
    expect(await personForm.getByLabel('Họ và tên').inputValue()).to.equal(`${surname} Văn An`);
    // the birth date as a Vietnamese reader writes it, whatever the browser's language
    const birth = personForm.getByLabel('Ngày sinh');
    expect(await birth.inputValue()).to.equal('15/03/1940');
    expect(await birth.getAttribute('type')).to.equal('text');
    await expectAccessible(page);

    // a text that is no day is said so beside the field once it is left, and nothing is sent
    let patches = 0;
    page.on('request', (r) => {
      if (r.method() === 'PATCH') patches += 1;
    });
    await birth.fill('31/02/1940');
    await personForm.getByLabel('Lý do sửa').fill('Sửa theo giấy khai sinh');
    await personForm.getByText('Ngày không hợp lệ: hãy nhập theo dạng ngày/tháng/năm, ví dụ 15/03/1940.').waitFor();
    expect(await birth.getAttribute('aria-invalid')).to.equal('true');
    await personForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await expectAccessible(page);
    expect(patches).to.equal(0);
    // the arrow keys move a valid day by one
    await birth.fill('14/03/1940');
    await birth.press('ArrowUp');
    expect(await birth.inputValue()).to.equal('15/03/1940');
    expect(await birth.getAttribute('aria-invalid')).to.equal(null);

    // a birth date the national ID contradicts is shown beside the birth date, in Vietnamese
    await birth.fill('01/01/1975');
    await personForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await personForm.getByText('Năm sinh trong số định danh không khớp với ngày sinh.').waitFor();
    expect(await birth.getAttribute('aria-invalid')).to.equal('true');
    await expectAccessible(page);

    await birth.fill('15/03/1940');
    await personForm.getByLabel('Họ và tên').fill(`${surname} Văn Ân`);
    await personForm.getByLabel('Số điện thoại').fill('0987123456');
    await personForm.getByLabel('Lý do sửa').fill('Sửa theo CCCD, số điện thoại mới');
    const sent = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/beneficiaries/${id}`));
    await personForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    const body = (await sent).postDataJSON();
    expect(body).to.have.keys(['fullName', 'phone', 'updatedAt', 'reason']);
    await page.getByText('Đã lưu thông tin cá nhân.').waitFor();
    await page.getByRole('heading', { name: `${surname} Văn Ân`, level: 1 }).waitFor();
    await page.getByText('098*****56').waitFor();
    const history = page.getByRole('table', { name: 'Các thay đổi, mới nhất trước' });
    await history.getByRole('row', { name: /Sửa thông tin cá nhân.*Sửa theo CCCD, số điện thoại mới/ }).waitFor();

    // someone changes the person while the form is open: the save is refused and the page offers the latest details
    await page.getByRole('button', { name: 'Sửa thông tin cá nhân' }).click();
    const meanwhile = await patch(`/beneficiaries/${id}`, { phone: '0911000222', reason: 'called the commune office' }, staff.token);
    expect(meanwhile.status).to.equal(200);
    await personForm.getByLabel('Số điện thoại').fill('0987000111');
    await personForm.getByLabel('Lý do sửa').fill('Số khác');
    await personForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await personForm.getByText('người khác đã thay đổi thông tin của người này').waitFor();
    await expectAccessible(page);
    await personForm.getByRole('button', { name: 'Tải lại thông tin mới nhất' }).click();
    await page.getByText('091*****22', { exact: true }).waitFor();
    await personForm.getByText('Hiện tại: 091*****22. Để trống nếu giữ nguyên.').waitFor();
    expect(await personForm.getByLabel('Số điện thoại').inputValue()).to.equal('');

    // the move to another commune: found by its name typed without marks, among the district's communes only
    const commune = personForm.getByRole('combobox', { name: 'Chuyển đến xã, phường' });
    expect(await commune.locator('option:checked').textContent()).to.equal('Phường Phúc Xá (00001) – nơi hiện tại');
    await personForm.getByLabel('Tìm xã, phường (tên hoặc mã)').fill('phuc');
    await personForm.getByText('Tìm thấy 1 xã, phường khác.').waitFor();
    // Phúc Tân is in another district: not offered
    expect(await commune.locator('option').allTextContents()).to.deep.equal([
      'Phường Phúc Xá (00001) – nơi hiện tại',
      'Phường Vĩnh Phúc (00006)',
    ]);
    await personForm.getByLabel('Tìm xã, phường (tên hoặc mã)').fill('truc bach');
    await commune.locator('option', { hasText: 'Phường Trúc Bạch (00004)' }).waitFor({ state: 'attached' });
    await commune.selectOption({ label: 'Phường Trúc Bạch (00004)' });
    await expectAccessible(page);
    await personForm.getByLabel('Lý do sửa').fill('Chuyển nơi ở về phường Trúc Bạch');
    const moved = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/beneficiaries/${id}`));
    await personForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    const trucBach = await areaId('00004');
    expect((await moved).postDataJSON()).to.deep.include({ areaId: trucBach, reason: 'Chuyển nơi ở về phường Trúc Bạch' });
    expect(Object.keys((await moved).postDataJSON()).sort()).to.deep.equal(['areaId', 'reason', 'updatedAt']);
    await page.getByText('Đã lưu thông tin cá nhân.').waitFor();
    await page.getByText('Phường Trúc Bạch (00004)', { exact: true }).waitFor();
    await history.getByRole('row', { name: /Sửa thông tin cá nhân.*Chuyển nơi ở về phường Trúc Bạch/ }).waitFor();
    expect((await get(`/beneficiaries/${id}`, staff.token)).body).to.include({ areaId: trucBach, areaCode: '00004' });
    await expectAccessible(page);

    // the enrolment: a new account, first with a bad number, shown beside the account number
    await page.getByRole('button', { name: 'Sửa hồ sơ hưởng chế độ TCXH-NCT80' }).click();
    const enrolmentForm = page.getByRole('form', { name: 'Sửa hồ sơ hưởng chế độ TCXH-NCT80' });
    expect(await enrolmentForm.getByLabel('Hệ số').inputValue()).to.equal('1.5');
    // the bank is chosen from the service's active banks, not typed
    const bank = enrolmentForm.getByRole('combobox', { name: 'Ngân hàng' });
    await bank.locator('option[value="970405"]').waitFor({ state: 'attached' });
    expect(await bank.inputValue()).to.equal('970436');
    const banks = (await get('/banks?active=true', staff.token)).body.items as { bin: string }[];
    expect(
      await bank.locator('option:not([value=""])').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value)),
    ).to.deep.equal(banks.map((x) => x.bin));
    await bank.selectOption('970405');
    await expectAccessible(page);
    await enrolmentForm.getByLabel('Số tài khoản').fill('12AB');
    await enrolmentForm.getByLabel('Lý do sửa').fill('Người hưởng đổi tài khoản');
    await enrolmentForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await enrolmentForm.getByText('Số tài khoản phải gồm từ 6 đến 19 chữ số.').waitFor();
    expect(await enrolmentForm.getByLabel('Số tài khoản').getAttribute('aria-invalid')).to.equal('true');
    await expectAccessible(page);
    const account = `77${an.national_id!.slice(-8)}`;
    await enrolmentForm.getByLabel('Số tài khoản').fill(account);
    const sentEnrolment = page.waitForRequest((r) => r.method() === 'PATCH' && /\/enrolments\/\d+$/.test(r.url()));
    await enrolmentForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    expect((await sentEnrolment).postDataJSON()).to.deep.equal({
      bankCode: '970405',
      accountNumber: account,
      version: 1,
      reason: 'Người hưởng đổi tài khoản',
    });
    await page.getByText('Đã lưu hồ sơ hưởng chế độ TCXH-NCT80.').waitFor();
    await page.getByRole('table', { name: 'Hồ sơ hưởng theo chế độ' }).getByText(account.slice(-4), { exact: false }).waitFor();
    await history.getByRole('row', { name: /Sửa hồ sơ hưởng.*Người hưởng đổi tài khoản/ }).waitFor();
    await expectAccessible(page);

    const [h] = await sql('SELECT changed_by, reason FROM roll_history WHERE beneficiary_id = ? ORDER BY id DESC LIMIT 1', [id]);
    expect(h).to.include({ changed_by: staff.id, reason: 'Người hưởng đổi tài khoản' });
    expect((await get(`/beneficiaries/${id}`, staff.token)).body.enrolments[0]).to.include({ bankCode: '970405', channel: 'BANK' });

    // a move to a wallet: the provider is chosen from the service's list as well
    await page.getByRole('button', { name: 'Sửa hồ sơ hưởng chế độ TCXH-NCT80' }).click();
    await enrolmentForm.getByRole('combobox', { name: 'Hình thức nhận' }).selectOption('WALLET');
    const wallet = enrolmentForm.getByRole('combobox', { name: 'Nhà cung cấp ví' });
    expect(await wallet.inputValue()).to.equal('');
    await wallet.locator('option[value="VIETTELMONEY"]').waitFor({ state: 'attached' });
    await wallet.selectOption('VIETTELMONEY');
    await enrolmentForm.getByLabel('Số ví điện tử').fill(`09${an.national_id!.slice(-8)}`);
    await enrolmentForm.getByLabel('Tên chủ tài khoản').fill('LE VAN AN');
    await enrolmentForm.getByLabel('Lý do sửa').fill('Nhận qua ví Viettel Money');
    await expectAccessible(page);
    await enrolmentForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await page.getByText('Đã lưu hồ sơ hưởng chế độ TCXH-NCT80.').waitFor();
    expect((await get(`/beneficiaries/${id}`, staff.token)).body.enrolments[0]).to.include({
      channel: 'WALLET',
      walletProvider: 'VIETTELMONEY',
      bankCode: null,
    });
  });
});

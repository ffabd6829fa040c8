/**
 * Staff corrects a person on the roll in Chromium against the real service: their name and phone, then the account
 * their enrolment is paid to; each change is seen on the page and in the history, a bad value is shown beside its
 * field, and a change made meanwhile by someone else is explained with a way to read the record again.
 */
import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { makeUser, TEST_PASSWORD, type TestUser } from '../helpers/factories';
import { get, patch } from '../helpers/http';
import { person, rollCsv, upload, waitForImport } from '../helpers/rolls';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

const sql = async (q: string, params: unknown[] = []) => (await testApp()).infra.ds.query(q, params) as Promise<any[]>;

describe('console: staff corrects a person and an enrolment (Chromium)', function () {
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

  it("corrects a person's name and phone and an enrolment's account, with field errors, a conflict and the history", async () => {
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
    expect(await personForm.getByLabel('Ngày sinh').inputValue()).to.equal('1940-03-15');
    await expectAccessible(page);

    // a birth date the national ID contradicts is shown beside the birth date, in Vietnamese
    await personForm.getByLabel('Ngày sinh').fill('1975-01-01');
    await personForm.getByLabel('Lý do sửa').fill('Sửa theo giấy khai sinh');
    await personForm.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await personForm.getByText('Năm sinh trong số định danh không khớp với ngày sinh.').waitFor();
    expect(await personForm.getByLabel('Ngày sinh').getAttribute('aria-invalid')).to.equal('true');
    await expectAccessible(page);

    await personForm.getByLabel('Ngày sinh').fill('1940-03-15');
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
    await personForm.getByRole('button', { name: 'Hủy' }).click();

    // the enrolment: a new account, first with a bad number, shown beside the account number
    await page.getByRole('button', { name: 'Sửa hồ sơ hưởng chế độ TCXH-NCT80' }).click();
    const enrolmentForm = page.getByRole('form', { name: 'Sửa hồ sơ hưởng chế độ TCXH-NCT80' });
    expect(await enrolmentForm.getByLabel('Hệ số').inputValue()).to.equal('1.5');
    expect(await enrolmentForm.getByLabel('Mã ngân hàng (BIN)').inputValue()).to.equal('970436');
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
    expect((await sentEnrolment).postDataJSON()).to.deep.equal({ accountNumber: account, version: 1, reason: 'Người hưởng đổi tài khoản' });
    await page.getByText('Đã lưu hồ sơ hưởng chế độ TCXH-NCT80.').waitFor();
    await page.getByRole('table', { name: 'Hồ sơ hưởng theo chế độ' }).getByText(account.slice(-4), { exact: false }).waitFor();
    await history.getByRole('row', { name: /Sửa hồ sơ hưởng.*Người hưởng đổi tài khoản/ }).waitFor();
    await expectAccessible(page);

    const [h] = await sql('SELECT changed_by, reason FROM roll_history WHERE beneficiary_id = ? ORDER BY id DESC LIMIT 1', [id]);
    expect(h).to.include({ changed_by: staff.id, reason: 'Người hưởng đổi tài khoản' });
  });
});

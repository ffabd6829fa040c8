import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { REVEAL_ROLES } from '../../src/components/beneficiaries/beneficiaries.service';
import { CsvSink } from '../../src/components/exports/export-file';
import { FULL_VALUE_ROLES } from '../../src/components/exports/exports.service';
import { testApp } from '../helpers/app';
import { areaId, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, get } from '../helpers/http';
import { enrol, makeProgramme } from '../helpers/batches';

// business dates of this file's own runs: nobody else reconciles in 2031
const DAY = '2031-03-10';
const LATER = '2031-04-02';

interface Fixture {
  providerId: number;
  batchId: string;
  accounts: Record<string, string>;
  refs: Record<string, string>;
}

async function sql<T = any>(q: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(q, params)) as T;
}

/**
 * A hand-made reconciliation: one batch of five payments in Ba Đình (00001, 00004) and Hoàn Kiếm (00040), a statement
 * for DAY with a line in every category, exceptions (one resolved, one with notes), one payment missing, one line of
 * no payment; and a second run on LATER, outside the period asked for.
 */
async function reconFixture(maker: TestUser): Promise<Fixture> {
  const prog = await makeProgramme();
  const prov = await sql<{ insertId: number }>("INSERT INTO providers (name, kind) VALUES (?, 'file')", [uniq('recprov').slice(0, 40)]);
  const providerId = prov.insertId;
  const prefix = uniq('EXP').toUpperCase().slice(0, 20);
  const batch = await sql<{ insertId: number }>(
    `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by)
     SELECT ?, 'regular', ?, 203102, 203102, id, path, 'completed', ? FROM areas WHERE code = '01'`,
    [prefix, prog.id, maker.id],
  );
  const batchId = String(batch.insertId);
  const people: [string, string, 'BANK' | 'WALLET'][] = [
    ['p1', '00001', 'BANK'],
    ['p2', '00004', 'WALLET'],
    ['p3', '00040', 'BANK'],
    ['p4', '00040', 'BANK'],
    ['p5', '00001', 'BANK'],
  ];
  const accounts: Record<string, string> = {};
  const refs: Record<string, string> = {};
  let seq = 0;
  for (const [key, area, channel] of people) {
    const e = await enrol(prog.id, { area, channel, fullName: `Người ${key}` });
    seq += 1;
    accounts[key] = e.account;
    refs[key] = `${prefix}-${seq}`;
    await sql(
      `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, amount, base_level,
         coefficient_x100, area_id, full_name, channel, bank_bin, wallet_provider, account_enc, account_masked, wallet_enc, wallet_masked,
         status, provider_id)
       SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, 203102, 750000, 500000, 150, b.area_id, b.full_name, e.channel, e.bank_bin,
         e.wallet_provider, e.account_enc, e.account_masked, e.wallet_enc, e.wallet_masked, 'succeeded', ?
       FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
      [batchId, seq, refs[key], providerId, e.enrolmentId],
    );
  }
  const stmt = async (date: string) =>
    (
      await sql<{ insertId: number }>(
        "INSERT INTO statements (provider_id, business_date, source, sha256, line_count, status, received_by_name) VALUES (?, ?, 'upload', ?, 0, 'matched', 'test')",
        [providerId, date, createHash('sha256').update(uniq('s')).digest('hex')],
      )
    ).insertId;
  const s1 = await stmt(DAY);
  const run = (
    await sql<{ insertId: number }>(
      "INSERT INTO recon_runs (provider_id, business_date, statement_id, status, started_by_name) VALUES (?, ?, ?, 'done', 'test')",
      [providerId, DAY, s1],
    )
  ).insertId;
  const line = (seqNo: number, lineNo: number, ref: string, status: string, amount: number, category: string, svcStatus: string | null) =>
    sql(
      `INSERT INTO statement_lines (statement_id, batch_id, seq, line_no, reference, transfer_id, status, amount, currency, occurred_at,
         category, service_status, service_amount, settled)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'VND', '2031-03-10T09:00:00+07:00', ?, ?, ?, 0)`,
      [s1, seqNo === 0 ? 0 : batchId, seqNo, lineNo, ref, `T-${lineNo}`, status, amount, category, svcStatus, svcStatus ? 750000 : null],
    );
  await line(1, 2, refs.p1!, 'SUCCEEDED', 750000, 'matched', 'succeeded');
  await line(2, 3, refs.p2!, 'SUCCEEDED', 700000, 'amount_mismatch', 'succeeded');
  await line(3, 4, refs.p3!, 'FAILED', 750000, 'status_mismatch', 'succeeded');
  await line(5, 6, refs.p5!, 'SUCCEEDED', 750000, 'matched', 'succeeded');
  await line(5, 7, refs.p5!, 'SUCCEEDED', 750000, 'duplicate', 'succeeded');
  await line(0, 8, 'ZZZ-UNKNOWN-1', 'SUCCEEDED', 123000, 'unknown', null);
  const exception = async (o: {
    category: string;
    seq: number;
    lineNo: number;
    ref: string;
    area: string | null;
    stmt: [string | null, number | null];
    status?: string;
    resolution?: [string, string];
  }) => {
    const a = o.area ? (await sql<{ id: number; path: string }[]>('SELECT id, path FROM areas WHERE code = ?', [o.area]))[0]! : null;
    const r = await sql<{ insertId: number }>(
      `INSERT INTO recon_exceptions (run_id, provider_id, business_date, category, reference, batch_id, seq, line_no, area_id, area_path,
         statement_status, statement_amount, service_status, service_amount, status, assigned_to, resolution, resolution_note, resolved_by_name, resolved_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        run,
        providerId,
        DAY,
        o.category,
        o.ref,
        o.seq === 0 ? 0 : batchId,
        o.seq,
        o.lineNo,
        a?.id ?? null,
        a?.path ?? null,
        o.stmt[0],
        o.stmt[1],
        o.seq === 0 ? null : 'succeeded',
        o.seq === 0 ? null : 750000,
        o.status ?? 'open',
        maker.id,
        o.resolution?.[0] ?? null,
        o.resolution?.[1] ?? null,
        o.resolution ? maker.username : null,
        o.resolution ? new Date('2031-03-11T03:00:00Z') : null,
      ],
    );
    return r.insertId;
  };
  const x2 = await exception({ category: 'amount_mismatch', seq: 2, lineNo: 3, ref: refs.p2!, area: '00004', stmt: ['SUCCEEDED', 700000] });
  await exception({
    category: 'status_mismatch',
    seq: 3,
    lineNo: 4,
    ref: refs.p3!,
    area: '00040',
    stmt: ['FAILED', 750000],
    status: 'resolved',
    resolution: ['resent', 'resent in batch 99'],
  });
  await exception({ category: 'missing', seq: 4, lineNo: 0, ref: refs.p4!, area: '00040', stmt: [null, null] });
  await exception({ category: 'duplicate', seq: 5, lineNo: 7, ref: refs.p5!, area: '00001', stmt: ['SUCCEEDED', 750000] });
  await exception({ category: 'unknown', seq: 0, lineNo: 8, ref: 'ZZZ-UNKNOWN-1', area: null, stmt: ['SUCCEEDED', 123000] });
  for (const body of ['called the bank', 'bank says the fee was taken, "net" amount'])
    await sql("INSERT INTO recon_exception_notes (exception_id, kind, body, user_id, username) VALUES (?, 'comment', ?, ?, ?)", [
      x2,
      body,
      maker.id,
      maker.username,
    ]);
  // another run, after the period
  const s2 = await stmt(LATER);
  await sql("INSERT INTO recon_runs (provider_id, business_date, statement_id, status, started_by_name) VALUES (?, ?, ?, 'done', 'test')", [
    providerId,
    LATER,
    s2,
  ]);
  await sql(
    `INSERT INTO statement_lines (statement_id, batch_id, seq, line_no, reference, status, amount, currency, occurred_at, category)
     VALUES (?, ?, 1, 2, ?, 'SUCCEEDED', 750000, 'VND', '2031-04-02T09:00:00+07:00', 'matched')`,
    [s2, batchId, refs.p1],
  );
  return { providerId, batchId, accounts, refs };
}

const post = (path: string, body: unknown, token: string, headers: Record<string, string> = {}) =>
  call('POST', `/api/v1${path}`, { token, body, headers });

async function waitDone(id: string, token: string): Promise<any> {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await get(`/exports/${id}`, token);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    if (r.body.status !== 'running') return r.body;
    if (Date.now() > end) throw new Error(`export ${id} still running`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function download(id: string, token: string): Promise<{ status: number; bytes: Buffer; headers: Headers; json?: any }> {
  const { url } = await testApp();
  const res = await fetch(`${url}/api/v1/exports/${id}/file`, { headers: { authorization: `Bearer ${token}` } });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    bytes,
    headers: res.headers,
    ...((res.headers.get('content-type') ?? '').includes('json') ? { json: JSON.parse(bytes.toString('utf8')) } : {}),
  };
}

/** Requests an export, waits for it, downloads it, and checks the file against its manifest. */
async function exportFile(body: Record<string, unknown>, token: string): Promise<{ manifest: any; bytes: Buffer }> {
  const r = await post('/exports', body, token);
  expect(r.status, JSON.stringify(r.body)).to.equal(202);
  expect(r.body.status).to.equal('running');
  const manifest = await waitDone(r.body.id, token);
  expect(manifest.status, manifest.error).to.equal('done');
  const d = await download(manifest.id, token);
  expect(d.status, d.json ? JSON.stringify(d.json) : '').to.equal(200);
  expect(createHash('sha256').update(d.bytes).digest('hex')).to.equal(manifest.sha256);
  expect(d.bytes.length).to.equal(manifest.bytes);
  expect(d.headers.get('x-content-sha256')).to.equal(manifest.sha256);
  return { manifest, bytes: d.bytes };
}

function csvRows(bytes: Buffer): Record<string, string>[] {
  expect(bytes.subarray(0, 3).toString('hex')).to.equal('efbbbf'); // UTF-8 BOM for spreadsheet programs
  return parse(bytes, { columns: true, bom: true }) as Record<string, string>[];
}

async function xlsxRows(bytes: Buffer): Promise<{ rows: Record<string, string>[]; sheets: string[] }> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(bytes as unknown as ExcelJS.Buffer);
  const ws = wb.worksheets[0]!;
  const values = (r: ExcelJS.Row) => (r.values as unknown[]).slice(1);
  const header = values(ws.getRow(1)).map(String);
  const rows: Record<string, string>[] = [];
  ws.eachRow((row, n) => {
    if (n === 1) return;
    const v = values(row);
    rows.push(Object.fromEntries(header.map((h, i) => [h, v[i] === undefined || v[i] === null ? '' : String(v[i])])));
  });
  return { rows, sheets: wb.worksheets.map((w) => w.name) };
}

async function auditOf(action: string, exportId: string): Promise<any> {
  const [row] = await sql<any[]>('SELECT * FROM audit_events WHERE action = ? AND entity_id = ? ORDER BY id DESC LIMIT 1', [
    action,
    exportId,
  ]);
  expect(row, `${action} of export ${exportId}`).to.exist;
  return { ...row, summary: JSON.parse(row.summary) };
}

describe('auditor exports', function () {
  this.timeout(60_000);
  let fx: Fixture;
  let auditor: TestUser;
  let regional: TestUser;
  let admin: TestUser;
  let staff: TestUser;
  let approver: TestUser;
  const recon = (o: Record<string, unknown> = {}) => ({
    kind: 'reconciliation',
    format: 'csv',
    from: '2031-03-01',
    to: '2031-03-31',
    providerId: fx.providerId,
    ...o,
  });

  before(async () => {
    await testApp();
    staff = await makeUser(['staff']);
    auditor = await makeUser(['auditor']);
    regional = await makeUser(['auditor'], { area: '001' });
    admin = await makeUser(['admin'], { area: null });
    approver = await makeUser(['approver']);
    fx = await reconFixture(staff);
  });

  // exports are written in the background: none may outlive the database
  after(async () => (await testApp()).services.exports.whenIdle());

  describe('retention', () => {
    it('deletes files older than EXPORT_RETENTION_DAYS, keeps their manifests as expired, audits it, and refuses the download', async () => {
      const { services, infra } = await testApp();
      const { manifest } = await exportFile(recon(), auditor.token);
      const fresh = await exportFile(recon({ format: 'xlsx' }), auditor.token);
      await sql('UPDATE exports SET finished_at = NOW(3) - INTERVAL ? DAY WHERE id = ?', [infra.cfg.exportRetentionDays + 1, manifest.id]);
      const out = await services.exports.purgeExpired();
      expect(out.expired).to.be.at.least(1);
      const after = (await get(`/exports/${manifest.id}`, auditor.token)).body;
      expect(after).to.deep.include({ status: 'expired', sha256: manifest.sha256 });
      const d = await download(manifest.id, auditor.token);
      expect(d.status).to.equal(409);
      expect(d.json.error.code).to.equal('EXPORT_EXPIRED');
      const [ev] = await sql("SELECT summary FROM audit_events WHERE action = 'export.expired' ORDER BY id DESC LIMIT 1");
      expect(String(ev.summary)).to.contain(String(manifest.id));
      // the younger one is untouched
      expect((await download(fresh.manifest.id, auditor.token)).status).to.equal(200);
      expect((await services.exports.purgeExpired()).expired).to.equal(0);
    });
  });

  describe('POST /api/v1/exports (reconciliation)', () => {
    it('writes every line and missing payment of the period with its category, exception, resolution and notes; the manifest hash is the file’s', async () => {
      const { manifest, bytes } = await exportFile(recon(), auditor.token);
      const rows = csvRows(bytes);
      // lines in key order (lines of no payment have batch 0, so first), then the payments missing from the statement
      expect(rows.map((r) => `${r.item}:${r.reference}:${r.category}`)).to.deep.equal([
        'line:ZZZ-UNKNOWN-1:unknown', // the auditor reads the whole province: lines of no payment included
        `line:${fx.refs.p1}:matched`,
        `line:${fx.refs.p2}:amount_mismatch`,
        `line:${fx.refs.p3}:status_mismatch`,
        `line:${fx.refs.p5}:matched`,
        `line:${fx.refs.p5}:duplicate`,
        `missing:${fx.refs.p4}:missing`,
      ]);
      expect(rows.every((r) => r.businessDate === DAY)).to.equal(true); // the LATER run is outside the period
      const [unknown, p1, p2, p3] = rows as [
        Record<string, string>,
        Record<string, string>,
        Record<string, string>,
        Record<string, string>,
      ];
      expect(p2.statementAmount).to.equal('700000');
      expect(p2.serviceAmount).to.equal('750000');
      expect(p2.exceptionStatus).to.equal('open');
      expect(p2.areaCode).to.equal('00004');
      expect(p2.notes).to.match(/called the bank \| .*bank says the fee was taken, "net" amount$/);
      expect([p3.exceptionStatus, p3.resolution, p3.resolutionNote, p3.resolvedBy]).to.deep.equal([
        'resolved',
        'resent',
        'resent in batch 99',
        staff.username,
      ]);
      expect(p3.resolvedAt).to.equal('2031-03-11T03:00:00.000Z');
      expect(unknown.areaCode).to.equal('');
      expect(unknown.exceptionStatus).to.equal('open');
      expect(rows[6]!.serviceAmount).to.equal('750000');
      // masked destinations: never the account number itself
      expect(p1.destination).to.equal(`${fx.accounts.p1!.slice(0, 2)}****${fx.accounts.p1!.slice(-2)}`);
      expect(bytes.toString('utf8')).not.to.contain(fx.accounts.p1!);

      expect(manifest.rowCount).to.equal(7);
      expect(manifest.totals.byCategory).to.deep.equal({
        matched: { count: 2, amount: 1_500_000 },
        amount_mismatch: { count: 1, amount: 700_000 },
        status_mismatch: { count: 1, amount: 750_000 },
        duplicate: { count: 1, amount: 750_000 },
        unknown: { count: 1, amount: 123_000 },
        missing: { count: 1, amount: 750_000 },
      });
      expect(manifest.totalAmount).to.equal(4_573_000);
      expect(manifest.totals.statementAmount).to.equal(3_823_000); // the six lines
      expect(manifest.totals.runs).to.have.length(1);
      expect(manifest.exportedBy).to.deep.equal({ userId: auditor.id, username: auditor.username });
      expect(manifest.fullValues).to.equal(false);
      expect(manifest.params).to.include({ from: '2031-03-01', to: '2031-03-31', providerId: fx.providerId });

      const requested = await auditOf('export.requested', manifest.id);
      expect(requested.actor_user_id).to.equal(auditor.id);
      expect(requested.summary.after).to.include({ kind: 'reconciliation', fullValues: false });
      const created = await auditOf('export.created', manifest.id);
      expect(created.summary.after.sha256, 'the file hash as the manifest and X-Content-SHA256 give it').to.equal(manifest.sha256);
      expect(created.summary.after.rows).to.equal(7);
      const downloaded = await auditOf('export.downloaded', manifest.id);
      expect(downloaded.actor_user_id).to.equal(auditor.id);
    });

    it('gives the same rows as XLSX as as CSV, with a Manifest sheet', async () => {
      const csv = csvRows((await exportFile(recon(), auditor.token)).bytes);
      const x = await exportFile(recon({ format: 'xlsx' }), auditor.token);
      const { rows, sheets } = await xlsxRows(x.bytes);
      expect(sheets).to.deep.equal(['Reconciliation', 'Manifest']);
      expect(rows).to.deep.equal(csv);
      expect(x.manifest.rowCount).to.equal(csv.length);
      expect(x.bytes.subarray(0, 2).toString()).to.equal('PK');
    });

    it('shows full account numbers and wallet ids to an auditor who asks with a reason, and audits that they asked and why', async () => {
      const why = 'Đối chiếu với sao kê ngân hàng';
      const { manifest, bytes } = await exportFile(recon({ full: true, reason: `  ${why} ` }), auditor.token);
      const rows = csvRows(bytes);
      expect(rows[1]!.destination).to.equal(fx.accounts.p1);
      expect(rows[2]!.destination).to.equal(fx.accounts.p2); // the wallet
      expect(manifest.fullValues).to.equal(true);
      expect(manifest.reason).to.equal(why);
      expect((await get(`/exports/${manifest.id}`, auditor.token)).body.reason).to.equal(why);
      const requested = await auditOf('export.requested', manifest.id);
      expect(requested.summary.after).to.include({ fullValues: true, reason: why });
    });

    it('refuses full values without a reason with 400 VALIDATION_FAILED naming reason, and records nothing', async () => {
      const [before] = await sql<{ n: number }[]>('SELECT COUNT(*) AS n FROM exports');
      for (const body of [
        recon({ full: true }),
        recon({ full: true, reason: '  ' }),
        { kind: 'cash_recipients', format: 'csv', period: '2031-03', full: true },
      ]) {
        const r = await post('/exports', body, auditor.token);
        expect(r.status, JSON.stringify(body)).to.equal(400);
        expect(r.body.error.code).to.equal('VALIDATION_FAILED');
        expect(r.body.error.details.map((d: { path: string }) => d.path)).to.include('reason');
      }
      const [after] = await sql<{ n: number }[]>('SELECT COUNT(*) AS n FROM exports');
      expect(Number(after!.n)).to.equal(Number(before!.n));
    });

    it('keeps no reason for a masked export', async () => {
      const { manifest } = await exportFile(recon({ reason: 'not needed' }), auditor.token);
      expect(manifest.fullValues).to.equal(false);
      expect(manifest.reason).to.equal(null);
      expect((await auditOf('export.requested', manifest.id)).summary.after.reason).to.equal(null);
    });

    it('refuses full values to an administrator (who may export, but not read identifiers) with 403 FULL_VALUES_NOT_ALLOWED', async () => {
      const r = await post('/exports', recon({ full: true, reason: 'checking the accounts' }), admin.token);
      expect(r.status).to.equal(403);
      expect(r.body.error.code).to.equal('FULL_VALUES_NOT_ALLOWED');
      const ok = await exportFile(recon(), admin.token);
      expect(ok.manifest.rowCount).to.equal(7);
    });

    it('gives a regional auditor only the payments and exceptions of their district: no other district, no line of no payment', async () => {
      const { manifest, bytes } = await exportFile(recon(), regional.token);
      const rows = csvRows(bytes);
      expect(rows.map((r) => `${r.reference}:${r.category}`)).to.deep.equal([
        `${fx.refs.p1}:matched`,
        `${fx.refs.p2}:amount_mismatch`,
        `${fx.refs.p5}:matched`,
        `${fx.refs.p5}:duplicate`,
      ]);
      expect(manifest.rowCount).to.equal(4);
      expect(manifest.totalAmount).to.equal(750_000 * 3 + 700_000);
      expect(manifest.areaPath).to.match(/^\/\d+\/\d+\/$/);
      const hk = await post('/exports', recon({ areaId: await areaId('002') }), regional.token);
      expect(hk.status).to.equal(403);
      expect(hk.body.error.code).to.equal('AREA_OUT_OF_SCOPE');
    });

    it('narrows to an area asked for: Hoàn Kiếm has the status mismatch and the missing payment', async () => {
      const { bytes } = await exportFile(recon({ areaId: await areaId('002') }), auditor.token);
      expect(csvRows(bytes).map((r) => `${r.item}:${r.category}`)).to.deep.equal(['line:status_mismatch', 'missing:missing']);
    });

    it('refuses staff and approvers with 403 ROLE_REQUIRED', async () => {
      for (const u of [staff, approver]) {
        const r = await post('/exports', recon(), u.token);
        expect(r.status).to.equal(403);
        expect(r.body.error.code).to.equal('ROLE_REQUIRED');
        const a = await post('/exports', { kind: 'audit_trail', format: 'csv', from: '2031-03-01', to: '2031-03-02' }, u.token);
        expect(a.status).to.equal(403);
      }
    });

    it('answers bad parameters with 400 and a code naming the problem', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [recon({ from: '2031-03-31', to: '2031-03-01' }), 'PERIOD_REVERSED'],
        [recon({ from: '2029-01-01', to: '2031-03-01' }), 'PERIOD_TOO_LONG'],
        [recon({ areaId: 987654 }), 'AREA_NOT_FOUND'],
        [recon({ providerId: 987654 }), 'PROVIDER_NOT_FOUND'],
        [recon({ format: 'pdf' }), 'VALIDATION_FAILED'],
        [recon({ from: '2031-02-30' }), 'VALIDATION_FAILED'],
        [{ kind: 'audit_trail', format: 'csv', from: '2031-03-01', to: '2031-03-02', full: true }, 'VALIDATION_FAILED'],
        [{ kind: 'everything', format: 'csv' }, 'VALIDATION_FAILED'],
      ];
      for (const [body, code] of cases) {
        const r = await post('/exports', body, auditor.token);
        expect(r.status, JSON.stringify(body)).to.equal(400);
        expect(r.body.error.code, JSON.stringify(body)).to.equal(code);
      }
      const fmt = await post('/exports', recon({ format: 'pdf' }), auditor.token);
      expect(fmt.body.error.details[0].path).to.equal('format');
    });

    it('replays the same answer for the same Idempotency-Key instead of exporting twice', async () => {
      const key = uniq('exp-key');
      const first = await post('/exports', recon(), auditor.token, { 'idempotency-key': key });
      const again = await post('/exports', recon(), auditor.token, { 'idempotency-key': key });
      expect(first.status).to.equal(202);
      expect(again.status).to.equal(202);
      expect(again.body.id).to.equal(first.body.id);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      await waitDone(first.body.id, auditor.token);
    });
  });

  describe('GET /api/v1/exports, /exports/:id, /exports/:id/file', () => {
    it('lists only your own exports, newest first, and lets only you download the file', async () => {
      const other = await makeUser(['auditor']);
      const { manifest } = await exportFile(recon(), auditor.token);
      const mine = await get('/exports?limit=200', auditor.token);
      expect(mine.status).to.equal(200);
      const ids = mine.body.items.map((m: any) => Number(m.id));
      expect(ids[0]).to.equal(Number(manifest.id));
      expect(ids).to.deep.equal([...ids].sort((a, b) => b - a));
      expect(mine.body.items.every((m: any) => m.exportedBy.userId === auditor.id)).to.equal(true);
      expect((await get('/exports', other.token)).body.items).to.deep.equal([]);
      // another province-wide auditor may read the manifest, not take the file
      expect((await get(`/exports/${manifest.id}`, other.token)).status).to.equal(200);
      const d = await download(manifest.id, other.token);
      expect(d.status).to.equal(403);
      expect(d.json.error.code).to.equal('EXPORT_NOT_YOURS');
      // a regional auditor cannot see a province-wide export at all
      expect((await get(`/exports/${manifest.id}`, regional.token)).status).to.equal(404);
      expect((await get(`/exports/${manifest.id}`, staff.token)).status).to.equal(404);
    });

    it("answers staff asking for another person's export file in their area with 403 EXPORT_NOT_YOURS, and outside it with 404", async () => {
      const maker = await makeUser(['staff']);
      const colleague = await makeUser(['staff']);
      const elsewhere = await makeUser(['staff'], { area: '001' });
      // a province-wide cash list: inside the colleague's scope, outside the district officer's
      const { manifest } = await exportFile({ kind: 'cash_recipients', format: 'csv', period: '2031-03' }, maker.token);
      const d = await download(manifest.id, colleague.token);
      expect(d.status).to.equal(403);
      expect(d.json.error.code).to.equal('EXPORT_NOT_YOURS');
      expect(d.json.error.message).to.match(/only the person who made an export/);
      const far = await download(manifest.id, elsewhere.token);
      expect(far.status).to.equal(404);
      expect(far.json.error.code).to.equal('EXPORT_NOT_FOUND');
      expect((await download('999999999', colleague.token)).json.error.code).to.equal('EXPORT_NOT_FOUND');
    });

    it('reports an export whose process died (no heartbeat for a minute) as failed, and refuses its file with 409 EXPORT_FAILED', async () => {
      const r = await sql<{ insertId: number }>(
        `INSERT INTO exports (kind, format, params, status, heartbeat_at, user_id, username)
         VALUES ('audit_trail', 'csv', '{}', 'running', NOW(3) - INTERVAL 2 MINUTE, ?, ?)`,
        [auditor.id, auditor.username],
      );
      const m = await get(`/exports/${r.insertId}`, auditor.token);
      expect(m.body.status).to.equal('failed');
      expect(m.body.error).to.match(/^interrupted/);
      const d = await download(String(r.insertId), auditor.token);
      expect(d.status).to.equal(409);
      expect(d.json.error.code).to.equal('EXPORT_FAILED');
    });
  });

  describe('an export that cannot be written', () => {
    it('is marked failed with a message that leaks nothing, the failure is audited, and the next export works', async () => {
      const { services } = await testApp();
      const svc = services.exports as unknown as { dir: string };
      const dir = svc.dir;
      const blocker = path.join(os.tmpdir(), `${uniq('not-a-dir')}`);
      await writeFile(blocker, 'x');
      svc.dir = path.join(blocker, 'exports'); // mkdir fails: a file stands where the directory should be
      let id: string;
      try {
        const r = await post('/exports', recon(), auditor.token);
        expect(r.status).to.equal(202);
        id = r.body.id;
        await services.exports.whenIdle();
      } finally {
        svc.dir = dir;
      }
      const m = (await get(`/exports/${id}`, auditor.token)).body;
      expect(m.status).to.equal('failed');
      expect(m.error).to.equal('the export failed; see the service log');
      expect(m.sha256).to.equal(null);
      const failed = await auditOf('export.failed', id);
      expect(failed.actor_user_id).to.equal(auditor.id);
      expect((await exportFile(recon(), auditor.token)).manifest.rowCount).to.equal(7);
    });
  });

  describe('POST /api/v1/exports (audit trail)', () => {
    const today = () => new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 10);

    it('exports the whole trail of the day to an unscoped administrator as an unbroken hash chain', async () => {
      const { manifest, bytes } = await exportFile({ kind: 'audit_trail', format: 'csv', from: today(), to: today() }, admin.token);
      const rows = csvRows(bytes);
      expect(rows.length).to.equal(manifest.rowCount).and.to.be.greaterThan(10);
      for (let i = 1; i < rows.length; i++) {
        expect(Number(rows[i]!.id)).to.equal(Number(rows[i - 1]!.id) + 1);
        expect(rows[i]!.prevHash).to.equal(rows[i - 1]!.hash);
      }
      expect(rows.some((r) => r.areaId === '')).to.equal(true); // events of no area (logins, users) included
      expect(rows.some((r) => r.action === 'export.requested' && r.entityId === manifest.id)).to.equal(true);
      const [count] = await sql<{ n: string }[]>('SELECT COUNT(*) AS n FROM audit_events WHERE id <= ?', [rows[rows.length - 1]!.id]);
      expect(rows.length).to.equal(Number(count!.n)); // the test database's whole trail so far is today's
      expect(manifest.totals.lastId).to.equal(rows[rows.length - 1]!.id);
    });

    it('gives a regional auditor only the events of their district', async () => {
      const { bytes } = await exportFile({ kind: 'audit_trail', format: 'csv', from: today(), to: today() }, regional.token);
      const rows = csvRows(bytes);
      const inDistrict = new Set(
        (
          await sql<{ code: string }[]>("SELECT s.code FROM areas d JOIN areas s ON s.path LIKE CONCAT(d.path, '%') WHERE d.code = '001'")
        ).map((a) => a.code),
      );
      expect(rows.length).to.be.greaterThan(0);
      expect(rows.every((r) => inDistrict.has(r.areaCode!))).to.equal(true);
      expect(rows.some((r) => r.action === 'export.requested')).to.equal(true); // their own export requests
    });
  });

  describe('a run of the real matcher', () => {
    const PAST = '2021-06-15'; // statements cannot be in the future; nobody else reconciles this day

    it('exports exactly the run’s count and amount in every category', async () => {
      const { services } = await testApp();
      const prog = await makeProgramme();
      const name = uniq('mprov').slice(0, 40);
      const pv = await sql<{ insertId: number }>("INSERT INTO providers (name, kind, base_url) VALUES (?, 'http', 'http://127.0.0.1:9')", [
        name,
      ]);
      // the engine's reference form: B + the month + 8 letters and digits
      const prefix = `B202106${Array.from({ length: 8 }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'[Math.floor(Math.random() * 32)]).join('')}`;
      const b = await sql<{ insertId: number }>(
        `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by, released_at)
         SELECT ?, 'regular', ?, 202106, 202106, id, path, 'processing', ?, '2021-06-14 01:00:00' FROM areas WHERE code = '01'`,
        [prefix, prog.id, staff.id],
      );
      const refs: string[] = [];
      for (let seq = 1; seq <= 5; seq++) {
        const e = await enrol(prog.id, { area: seq % 2 ? '00001' : '00040' });
        refs.push(`${prefix}-${seq}`);
        await sql(
          `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, amount, base_level,
             coefficient_x100, area_id, full_name, channel, bank_bin, account_enc, account_masked, status, provider_id, transfer_id, sent_at)
           SELECT ?, ?, ?, 'regular', b.id, e.id, e.programme_id, 202106, 540000, 360000, 150, b.area_id, b.full_name, e.channel, e.bank_bin,
             e.account_enc, e.account_masked, 'succeeded', ?, ?, '2021-06-15 03:00:00'
           FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.id = ?`,
          [b.insertId, seq, refs[seq - 1], pv.insertId, `T-${seq}`, e.enrolmentId],
        );
      }
      const at = `${PAST}T09:00:00+07:00`;
      const lines = [
        [refs[0], 'T-1', 'SUCCEEDED', '540000', 'VND', '', at],
        [refs[1], 'T-2', 'SUCCEEDED', '500000', 'VND', '', at], // amount mismatch
        [refs[2], 'T-3', 'FAILED', '540000', 'VND', 'ACCOUNT_CLOSED', at], // status mismatch
        [refs[3], 'T-4', 'SUCCEEDED', '540000', 'VND', '', at],
        [refs[3], 'T-4', 'SUCCEEDED', '540000', 'VND', '', at], // duplicate
        ['NOT-OURS-1', 'T-X', 'SUCCEEDED', '77000', 'VND', '', at], // unknown
        // refs[4]: missing
      ];
      const file = path.join(os.tmpdir(), `${uniq('stmt')}.csv`);
      const content = `reference,transferId,status,amount,currency,failureCode,occurredAt\n${lines.map((l) => l.join(',')).join('\n')}\n`;
      await writeFile(file, content);
      const actor = { userId: staff.id, username: staff.username, roles: ['staff'], requestId: null, source: 'test' };
      const got = await services.reconciliation.upload(actor, name, PAST, {
        path: file,
        fileName: 'statement.csv',
        size: Buffer.byteLength(content),
        sha256: createHash('sha256').update(content).digest('hex'),
      });
      // matched here, or by a test worker that took the queued job first (the whole suite runs one)
      const end = Date.now() + 20_000;
      for (;;) {
        const [st] = await sql<{ status: string }[]>('SELECT status FROM statements WHERE id = ?', [got.statement.id]);
        if (st!.status === 'matched') break;
        if (Date.now() > end) throw new Error(`statement ${got.statement.id} still ${st!.status}`);
        await services.reconciliation.process(got.statement.id).catch((e: { code?: string }) => {
          if (e.code !== 'STATEMENT_BUSY') throw e;
        });
        await new Promise((res) => setTimeout(res, 100));
      }
      const [run] = await sql<any[]>('SELECT * FROM recon_runs WHERE statement_id = ?', [got.statement.id]);
      const { manifest, bytes } = await exportFile(
        { kind: 'reconciliation', format: 'csv', from: PAST, to: PAST, providerId: pv.insertId },
        auditor.token,
      );
      const cats = ['matched', 'amount_mismatch', 'status_mismatch', 'missing', 'unknown', 'duplicate'];
      const fromRun = Object.fromEntries(
        cats
          .map((c) => [c, { count: Number(run[`${c}_count`]), amount: Number(run[`${c}_amount`]) }])
          .filter(([, v]) => (v as any).count > 0),
      );
      expect(fromRun).to.have.keys(cats); // the statement has every category, so the comparison covers them all
      expect(manifest.totals.byCategory).to.deep.equal(fromRun);
      const rows = csvRows(bytes);
      expect(rows.filter((r) => r.exceptionId !== '').length).to.equal(5); // every item not matched has its exception
      expect(rows.find((r) => r.category === 'missing')!.reference).to.equal(refs[4]);
    });
  });

  it('full values are offered to exactly the roles that may reveal identifiers on the roll', () => {
    expect([...FULL_VALUE_ROLES].sort()).to.deep.equal([...REVEAL_ROLES].sort());
  });
});

describe('export CSV cells', () => {
  it('keeps text that a spreadsheet would run as a formula as text, and leaves numbers and ordinary text alone', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'csv-cells-')), 'out.csv');
    const sink = new CsvSink(file, ['note', 'amount']);
    for (const note of ['=HYPERLINK("http://x","y")', '+1', '-2', '@SUM(A1)', '\tx', 'bình thường', 'a,b']) await sink.row([note, -5]);
    const { sha256 } = await sink.close();
    const raw = await readFile(file);
    expect(createHash('sha256').update(raw).digest('hex')).to.equal(sha256);
    const rows = parse(raw, { bom: true, columns: true }) as { note: string; amount: string }[];
    expect(rows.map((r) => r.note)).to.deep.equal([
      '\'=HYPERLINK("http://x","y")',
      "'+1",
      "'-2",
      "'@SUM(A1)",
      "'\tx",
      'bình thường',
      'a,b',
    ]);
    expect(rows.every((r) => r.amount === '-5')).to.equal(true);
  });
});

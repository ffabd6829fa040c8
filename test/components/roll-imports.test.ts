import { expect } from 'chai';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import express from 'express';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { enqueueRollImport } from '../../src/job-catalog';
import { runRollImport } from '../../jobs/roll-import.processor';
import { importFilePath } from '../../src/components/beneficiaries/roll-imports.service';
import { COLUMNS, type Column } from '../../src/components/beneficiaries/roll-columns';
import { RollImportRunner, type RollImportOptions, type RollImportReport } from '../../src/components/beneficiaries';
import type { DataSource } from 'typeorm';
import { type AppError } from '../../src/platform/errors';
import { receiveFile } from '../../src/platform/http/upload';
import { closeInfra, openInfra } from '../../src/boot';
import { buildServices } from '../../src/container';
import { seedDemo } from '../../scripts/seed';
import { testApp } from '../helpers/app';
import { lastAudit, makeUser, type TestUser } from '../helpers/factories';
import { call } from '../helpers/http';
import { DEFAULT_COLUMNS, person, problemsOf, rollCsv, upload, waitForImport, type RollRecord } from '../helpers/rolls';
import { testWorker } from '../helpers/worker';
import { sharedStringsBomb } from '../helpers/xlsx-bomb';
import { processors } from '../../jobs/worker';

type Problem = { row: number; column: string | null; code: string; message: string };

async function sql(q: string, params: unknown[] = []): Promise<any> {
  const { infra } = await testApp();
  return infra.ds.query(q, params);
}

async function cipher() {
  return (await testApp()).services.cipher;
}

/**
 * What an import stored, comparable across imports and databases: people and enrolments by keyed hash, areas and
 * programmes by code, ciphertexts opened (they differ by their random IVs).
 */
async function storedRoll(ds: DataSource, id: string) {
  const c = await cipher();
  const open = (v: Buffer | null, aad: string) => (v === null ? null : c.decrypt(v, aad));
  const people = await ds.query(
    `SELECT b.national_id_hash, b.national_id_enc, b.national_id_masked, b.full_name, b.name_search, b.given_search, b.date_of_birth,
       b.gender, b.phone_hash, b.phone_enc, b.phone_masked, a.code AS area FROM beneficiaries b JOIN areas a ON a.id = b.area_id
     WHERE b.import_id = ? ORDER BY b.national_id_hash`,
    [id],
  );
  const enrolments = await ds.query(
    `SELECT b.national_id_hash, p.code AS programme, e.coefficient_x100, e.start_period, e.end_period, e.status, e.channel, e.bank_bin,
       e.account_hash, e.account_enc, e.account_masked, e.account_name, e.wallet_provider, e.wallet_hash, e.wallet_enc,
       e.wallet_masked, e.name_mismatch
     FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id JOIN programmes p ON p.id = e.programme_id
     WHERE e.import_id = ? ORDER BY b.national_id_hash, p.code`,
    [id],
  );
  return {
    people: people.map((x: any) => ({ ...x, national_id_enc: open(x.national_id_enc, 'nid'), phone_enc: open(x.phone_enc, 'phone') })),
    enrolments: enrolments.map((x: any) => ({
      ...x,
      account_enc: open(x.account_enc, 'account'),
      wallet_enc: open(x.wallet_enc, 'wallet'),
    })),
  };
}

/** A runner that keeps the reports of its runs. */
class ReportingRunner extends RollImportRunner {
  private readonly reports = new Map<string, RollImportReport>();
  private readonly waiting = new Map<string, (report: RollImportReport) => void>();

  override async run(importId: string, filePath: string): Promise<RollImportReport | null> {
    const report = await super.run(importId, filePath);
    if (report) {
      this.reports.set(report.importId, report);
      this.waiting.get(report.importId)?.(report);
    }
    return report;
  }

  /** The report of the run that completed this import, once that run has returned (the import shows completed a little before). */
  reportOf(importId: string): Promise<RollImportReport> {
    const id = String(importId);
    const done = this.reports.get(id);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no report of import ${id}`)), 10_000);
      this.waiting.set(id, (report) => {
        clearTimeout(timer);
        resolve(report);
      });
    });
  }
}

/**
 * Runs `fn` with the imports of the test worker run by a runner of these options (the production defaults for those
 * not given), which keeps their reports.
 */
async function withRunner<T>(options: RollImportOptions, fn: (runner: ReportingRunner) => Promise<T>): Promise<T> {
  const { infra, services } = await testApp();
  const usual = services.rollImportRunner;
  const runner = new ReportingRunner(infra.ds, services.cipher, services.audit, infra.log, options);
  services.rollImportRunner = runner;
  try {
    return await fn(runner);
  } finally {
    services.rollImportRunner = usual;
  }
}

/** Prepared XA branches of roll imports in this test database (merges left between their two commits). */
async function ourBranches(): Promise<string[]> {
  const [{ db }] = await sql('SELECT DATABASE() AS db');
  return (await sql('XA RECOVER')).map((x: any) => String(x.data)).filter((x: string) => x.startsWith(`roll-import:${db}:`));
}

/** Uploads and waits until the worker is done with it; the final import view. */
async function importFile(token: string, content: string | Buffer, fileName = 'roll.csv'): Promise<any> {
  const up = await upload(token, content, fileName);
  expect(up.status, up.text).to.equal(202);
  expect(up.body.status).to.equal('queued');
  return waitForImport(token, up.body.id, 30_000);
}

/** Every problem of an import, all pages. */
async function allProblems(token: string, id: string): Promise<Problem[]> {
  const out: Problem[] = [];
  let cursor: string | null = null;
  do {
    const r: { status: number; text: string; body: any } = await call(
      'GET',
      `/api/v1/roll-imports/${id}/problems?limit=50${cursor ? `&cursor=${cursor}` : ''}`,
      { token },
    );
    expect(r.status, r.text).to.equal(200);
    out.push(...(r.body.items as Problem[]));
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
}

const brief = (ps: Problem[]) => ps.map((p) => `${p.row}|${p.column ?? ''}|${p.code}`).sort();

async function nidHash(nid: string): Promise<Buffer> {
  return (await cipher()).lookupHash('nid', nid);
}

async function beneficiary(nid: string): Promise<any> {
  const [b] = await sql(
    'SELECT b.*, a.code AS area_code FROM beneficiaries b JOIN areas a ON a.id = b.area_id WHERE b.national_id_hash = ?',
    [await nidHash(nid)],
  );
  return b;
}

async function enrolment(nid: string, programme = 'TCXH-NCT80'): Promise<any> {
  const [e] = await sql(
    `SELECT e.* FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id JOIN programmes p ON p.id = e.programme_id
     WHERE b.national_id_hash = ? AND p.code = ?`,
    [await nidHash(nid), programme],
  );
  return e;
}

async function historyOf(nid: string): Promise<any[]> {
  return sql('SELECT h.* FROM roll_history h JOIN beneficiaries b ON b.id = h.beneficiary_id WHERE b.national_id_hash = ? ORDER BY h.id', [
    await nidHash(nid),
  ]);
}

/** Rows of the roll written by one import. */
async function writtenBy(importId: string): Promise<{ beneficiaries: number; enrolments: number; history: number }> {
  const [[b], [e], [h]] = await Promise.all([
    sql('SELECT COUNT(*) AS n FROM beneficiaries WHERE import_id = ?', [importId]),
    sql('SELECT COUNT(*) AS n FROM enrolments WHERE import_id = ?', [importId]),
    sql('SELECT COUNT(*) AS n FROM roll_history WHERE import_id = ?', [importId]),
  ]);
  return { beneficiaries: Number(b.n), enrolments: Number(e.n), history: Number(h.n) };
}

async function rollCounts(): Promise<{ beneficiaries: number; enrolments: number; history: number }> {
  const [[b], [e], [h]] = await Promise.all([
    sql('SELECT COUNT(*) AS n FROM beneficiaries'),
    sql('SELECT COUNT(*) AS n FROM enrolments'),
    sql('SELECT COUNT(*) AS n FROM roll_history'),
  ]);
  return { beneficiaries: Number(b.n), enrolments: Number(e.n), history: Number(h.n) };
}

/** The uploaded file leaves IMPORT_DIR once the import is final (the worker removes it just after the status is written). */
async function expectFileRemoved(id: string, format: 'csv' | 'xlsx' = 'csv'): Promise<void> {
  const { infra } = await testApp();
  const file = importFilePath(infra.cfg.importDir, id, format);
  const end = Date.now() + 3000;
  while (existsSync(file) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(existsSync(file), `${file} removed`).to.equal(false);
}

/** The same person's serial, for other numbers that must be unique to them (accounts, wallets). */
const serialOf = (r: RollRecord) => r.national_id!.slice(6);

function female(overrides: RollRecord = {}): RollRecord {
  const r = person({ full_name: 'Trần Thị Bình', gender: 'F', account_name: 'TRAN THI BINH', ...overrides });
  r.national_id = `0011${r.national_id!.slice(4)}`;
  return r;
}

function walletPerson(overrides: RollRecord = {}): RollRecord {
  const r = person({ channel: 'WALLET', bank_code: '', account_number: '', wallet_provider: 'VIETTELMONEY', ...overrides });
  r.wallet_id ??= `08${serialOf(r)}34`;
  return r;
}

const cashPerson = (overrides: RollRecord = {}) =>
  person({ channel: 'CASH', bank_code: '', account_number: '', account_name: '', ...overrides });

const VI_HEADER = Object.fromEntries(COLUMNS.map((c) => [c.key, c.vi])) as Record<Column, string>;

type Cell = string | number | Date | null;

async function xlsxOf(header: string[], rows: Cell[][], more: Record<string, Cell[][]> = {}): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Danh sách');
  ws.addRow(header);
  for (const r of rows) ws.addRow(r);
  for (const [name, extra] of Object.entries(more)) {
    const sheet = wb.addWorksheet(name);
    for (const r of extra) sheet.addRow(r);
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** Roll records as spreadsheet cells: text, except the columns turned into numbers (or dates). */
function cellsOf(r: RollRecord, as: Partial<Record<Column, 'number' | 'date'>> = {}): Cell[] {
  return DEFAULT_COLUMNS.map((c) => {
    const v = r[c] ?? '';
    if (as[c] === 'number') return Number(v);
    if (as[c] === 'date') return new Date(`${v}T00:00:00Z`);
    return v;
  });
}

describe('roll imports', function () {
  this.timeout(60_000);
  let staff: TestUser; // province-wide (01)
  let staff2: TestUser; // province-wide too, another officer
  let districtStaff: TestUser; // Ba Đình (001)
  let auditor: TestUser;
  let approver: TestUser;

  before(async () => {
    await testWorker();
    [staff, staff2, districtStaff, auditor, approver] = await Promise.all([
      makeUser(['staff'], { area: '01' }),
      makeUser(['staff'], { area: '01' }),
      makeUser(['staff'], { area: '001' }),
      makeUser(['auditor']),
      makeUser(['approver'], { area: '001' }),
    ]);
    const [p] = await sql("SELECT COUNT(*) AS n FROM programmes WHERE code IN ('TCXH-NCT80', 'TCXH-KT') AND active = 1");
    expect(Number(p.n), 'demo programmes seeded').to.equal(2);
  });

  it('imports a clean CSV: people, enrolments, encrypted identifiers, and an audited result', async () => {
    const rows = [person(), female()];
    const up = await upload(staff.token, rollCsv(rows));
    expect(up.status).to.equal(202);
    expect(up.body.status).to.equal('queued');
    expect(up.body).to.include({ fileName: 'roll.csv', format: 'csv', uploadedBy: staff.id, scopeAreaId: staff.areaId });
    const done = await waitForImport(staff.token, up.body.id);
    expect(done.status, JSON.stringify(await problemsOf(staff.token, up.body.id))).to.equal('completed');
    expect(done.progress).to.deep.equal({ rowsRead: 2, rowsValid: 2, rowsInvalid: 0 });
    expect(done.result).to.include({ beneficiariesCreated: 2, enrolmentsCreated: 2, enrolmentsUpdated: 0, enrolmentsUnchanged: 0 });
    const stored = await sql('SELECT * FROM beneficiaries WHERE import_id = ?', [up.body.id]);
    expect(stored).to.have.length(2);
    for (const b of stored) {
      expect(b.national_id_enc.includes(Buffer.from(rows[0]!.national_id!))).to.equal(false);
      expect(b.national_id_masked).to.match(/^\d{4}\*{6}\d{2}$/);
    }
    const ev = await lastAudit('roll.import_completed');
    expect(ev).to.include({ action: 'roll.import_completed', entity_id: up.body.id, actor_user_id: staff.id });
    await expectFileRemoved(up.body.id);
  });

  it('refreshes the roll’s optimizer statistics itself after a merge (InnoDB’s own recalculation is off for the roll tables)', async () => {
    const options = await sql(
      `SELECT TABLE_NAME AS t, CREATE_OPTIONS AS o FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('beneficiaries', 'enrolments') ORDER BY TABLE_NAME`,
    );
    expect(options.map((x: any) => [x.t, String(x.o).toLowerCase()])).to.deep.equal([
      ['beneficiaries', 'stats_auto_recalc=0'],
      ['enrolments', 'stats_auto_recalc=0'],
    ]);
    const lastUpdate = async () =>
      (await sql(
        `SELECT table_name AS t, UNIX_TIMESTAMP(last_update) AS at FROM mysql.innodb_table_stats
         WHERE database_name = DATABASE() AND table_name IN ('beneficiaries', 'enrolments') ORDER BY table_name`,
      )) as { t: string; at: string }[];
    const before = await lastUpdate();
    expect(before).to.have.length(2);
    await new Promise((r) => setTimeout(r, 1100)); // last_update counts seconds
    const done = await importFile(staff.token, rollCsv([person(), female()]));
    expect(done.status).to.equal('completed');
    // the import is seen completed at its merge's commit; the statistics follow right after it
    const refreshed = async () => (await lastUpdate()).every((a, i) => Number(a.at) > Number(before[i]!.at));
    for (const end = Date.now() + 5000; !(await refreshed()) && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    const after = await lastUpdate();
    for (const [i, b] of before.entries()) expect(Number(after[i]!.at), b.t).to.be.greaterThan(Number(b.at));
  });

  describe('a file with good and bad rows', () => {
    const good = [
      person(),
      walletPerson({ full_name: 'Lê Văn Cường', account_name: 'LE VAN CUONG' }),
      cashPerson({ end_period: '2025-12' }),
    ];
    const badId = person({ national_id: '12345', coefficient: '20' });
    const badDate = person({ date_of_birth: '31/02/1940' });
    const badBank = person({ bank_code: '999999' });
    const badPeriod = person({ start_period: '2024-13' });
    const extraCells = person();
    let csv = '';
    let imp: any;

    before(async () => {
      // rows 2..: good, bad id+coefficient, good, (empty line = row 5), bad date, good, bad bank, bad period, extra cells
      const lines = rollCsv([good[0]!, badId, good[1]!]).trimEnd().split('\n');
      const rest = rollCsv([badDate, good[2]!, badBank, badPeriod, extraCells]).trimEnd().split('\n').slice(1);
      rest[rest.length - 1] += ',unexpected';
      csv = [...lines, '', ...rest, ',,,,'].join('\n') + '\n'; // a last row of empty cells, as Excel saves them, is no data
      imp = await importFile(staff.token, csv);
    });

    it('reports every problem with its spreadsheet row (header = 1), column and a message a person can act on', async () => {
      expect(imp.status).to.equal('completed');
      const problems = await allProblems(staff.token, imp.id);
      expect(brief(problems)).to.deep.equal(
        [
          '3|national_id|NATIONAL_ID_FORMAT',
          '3|coefficient|COEFFICIENT_OUT_OF_RANGE',
          '6|date_of_birth|DATE_OF_BIRTH_INVALID_DATE',
          '8|bank_code|BANK_CODE_UNKNOWN',
          '9|start_period|START_PERIOD_FORMAT',
          '10||EXTRA_CELLS',
        ].sort(),
      );
      for (const p of problems) {
        expect(p.message, p.code).to.be.a('string').and.have.length.greaterThan(15);
        for (const r of [...good, badDate, badBank, badPeriod]) expect(p.message).not.to.include(r.national_id);
      }
      const byCode = Object.fromEntries(problems.map((p) => [p.code, p.message]));
      expect(byCode.NATIONAL_ID_FORMAT).to.match(/12 digits/);
      expect(byCode.COEFFICIENT_OUT_OF_RANGE).to.match(/0\.5 to 10/);
      expect(byCode.DATE_OF_BIRTH_INVALID_DATE).to.include('31/02/1940');
    });

    it('stores exactly the good rows and counts rows read, valid and invalid', async () => {
      expect(imp.progress).to.deep.equal({ rowsRead: 8, rowsValid: 3, rowsInvalid: 5 });
      expect(imp.result).to.deep.equal({
        beneficiariesCreated: 3,
        enrolmentsCreated: 3,
        enrolmentsUpdated: 0,
        enrolmentsUnchanged: 0,
        nameMismatches: 0,
      });
      expect(await writtenBy(imp.id)).to.deep.equal({ beneficiaries: 3, enrolments: 3, history: 0 });
      for (const r of good) expect(await beneficiary(r.national_id!), r.full_name).to.exist;
      for (const r of [badDate, badBank, badPeriod, extraCells]) expect(await beneficiary(r.national_id!)).to.equal(undefined);
      const [db] = await sql('SELECT * FROM roll_imports WHERE id = ?', [imp.id]);
      expect(db).to.include({
        status: 'completed',
        rows_read: 8,
        rows_valid: 3,
        rows_invalid: 5,
        beneficiaries_created: 3,
        enrolments_created: 3,
      });
      const w = await enrolment(good[1]!.national_id!);
      expect(w).to.include({
        channel: 'WALLET',
        wallet_provider: 'VIETTELMONEY',
        bank_bin: null,
        account_hash: null,
        account_name: 'LE VAN CUONG',
      });
      const c = await enrolment(good[2]!.national_id!);
      expect(c).to.include({
        channel: 'CASH',
        coefficient_x100: 150,
        start_period: 202401,
        end_period: 202512,
        account_name: null,
        status: 'active',
      });
    });

    it('offers the same problems as a CSV download, in row order', async () => {
      const r = await call('GET', `/api/v1/roll-imports/${imp.id}/problems.csv`, { token: staff.token });
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^text\/csv/);
      expect(r.headers.get('content-disposition')).to.include(`roll-import-${imp.id}-problems.csv`);
      const records = parseCsv(r.text, { bom: true, columns: true }) as Record<string, string>[];
      expect(Object.keys(records[0]!)).to.deep.equal(['row', 'column', 'code', 'message']);
      const fromCsv = records.map((x) => ({ row: Number(x.row), column: x.column || null, code: x.code!, message: x.message! }));
      const fromApi = await allProblems(staff.token, imp.id);
      expect(fromCsv).to.have.deep.members(fromApi);
      expect(fromCsv.map((p) => p.row)).to.deep.equal([...fromCsv.map((p) => p.row)].sort((a, b) => a - b));
      expect(
        fromApi.map((p) => p.row),
        'the API lists problems in row order too',
      ).to.deep.equal(fromCsv.map((p) => p.row));
    });

    it('pages problems with a cursor without losing or repeating any', async () => {
      const first = await call('GET', `/api/v1/roll-imports/${imp.id}/problems?limit=4`, { token: staff.token });
      expect(first.body.items).to.have.length(4);
      expect(first.body.nextCursor).to.be.a('string');
      const second = await call('GET', `/api/v1/roll-imports/${imp.id}/problems?limit=4&cursor=${first.body.nextCursor}`, {
        token: staff.token,
      });
      expect(second.body.items).to.have.length(2);
      expect(second.body.nextCursor).to.equal(null);
      expect([...first.body.items, ...second.body.items]).to.deep.equal(await allProblems(staff.token, imp.id));
    });

    it('narrows the problems to one code or one column, pages the narrowed list, and the CSV takes the same filter', async () => {
      const all = await allProblems(staff.token, imp.id);
      const byCode = await call('GET', `/api/v1/roll-imports/${imp.id}/problems?code=NATIONAL_ID_FORMAT&limit=50`, { token: staff.token });
      expect(byCode.status).to.equal(200);
      expect(byCode.body.items).to.deep.equal(all.filter((p) => p.code === 'NATIONAL_ID_FORMAT'));
      expect(byCode.body.items).to.have.length.greaterThan(0);

      const column = all.find((p) => p.column !== null)!.column!;
      const byColumn = await call('GET', `/api/v1/roll-imports/${imp.id}/problems?column=${column}&limit=1`, { token: staff.token });
      const rest = await call(
        'GET',
        `/api/v1/roll-imports/${imp.id}/problems?column=${column}&limit=50&cursor=${byColumn.body.nextCursor ?? ''}`,
        { token: staff.token },
      );
      const expected = all.filter((p) => p.column === column);
      expect([...byColumn.body.items, ...(byColumn.body.nextCursor ? rest.body.items : [])]).to.deep.equal(expected);

      const both = await call('GET', `/api/v1/roll-imports/${imp.id}/problems?code=NATIONAL_ID_FORMAT&column=gender`, {
        token: staff.token,
      });
      expect(both.body.items).to.deep.equal([]);

      const csv = await call('GET', `/api/v1/roll-imports/${imp.id}/problems.csv?code=NATIONAL_ID_FORMAT`, { token: staff.token });
      const records = parseCsv(csv.text, { bom: true, columns: true }) as Record<string, string>[];
      expect(records.map((x) => x.code)).to.deep.equal(all.filter((p) => p.code === 'NATIONAL_ID_FORMAT').map((p) => p.code));
    });

    it('refuses a problem filter that is not a code with 400 VALIDATION_FAILED', async () => {
      const r = await call('GET', `/api/v1/roll-imports/${imp.id}/problems?code=${encodeURIComponent("x' OR 1=1")}`, {
        token: staff.token,
      });
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal('VALIDATION_FAILED');
    });

    it('takes the corrected file again without duplicating the rows that were already valid', async () => {
      const fixed = [
        good[0]!,
        { ...badId, national_id: person().national_id!, coefficient: '2' },
        good[1]!,
        { ...badDate, date_of_birth: '28/02/1940' },
      ];
      const again = await importFile(staff.token, rollCsv([...fixed, good[2]!]));
      expect(again.status).to.equal('completed');
      expect(await allProblems(staff.token, again.id)).to.deep.equal([]);
      expect(again.result).to.include({ beneficiariesCreated: 2, enrolmentsCreated: 2, enrolmentsUpdated: 0, enrolmentsUnchanged: 3 });
      const [n] = await sql('SELECT COUNT(*) AS n FROM beneficiaries WHERE national_id_hash IN (?)', [
        await Promise.all([...good, ...fixed].map((r) => nidHash(r.national_id!))),
      ]);
      expect(Number(n.n)).to.equal(5);
    });
  });

  describe('CSV as Excel saves it', () => {
    it('accepts a BOM, CRLF line ends, Vietnamese headers in any case and empty columns after the last one', async () => {
      const p = person();
      const header = DEFAULT_COLUMNS.map((c) => ` ${VI_HEADER[c].toUpperCase()} `);
      const csv = `\ufeff${rollCsv([p], DEFAULT_COLUMNS)
        .trimEnd()
        .split('\n')
        .map((l, i) => `${i === 0 ? header.join(',') : l},,`)
        .join('\r\n')}\r\n,,,,\r\n`;
      const imp = await importFile(staff.token, csv);
      expect(imp.status, JSON.stringify(await problemsOf(staff.token, imp.id))).to.equal('completed');
      expect(imp.progress).to.deep.equal({ rowsRead: 1, rowsValid: 1, rowsInvalid: 0 });
      expect((await beneficiary(p.national_id!)).full_name).to.equal('Nguyễn Văn An');
    });
  });

  describe('importing the same file twice', () => {
    it('changes nothing the second time and reports every enrolment unchanged', async () => {
      const rows = [person(), walletPerson(), cashPerson(), female(), person({ programme_code: 'TCXH-KT' })];
      rows.push({ ...rows[0]!, programme_code: 'TCXH-KT', coefficient: '2' }); // the same person on a second programme
      const csv = rollCsv(rows);
      const first = await importFile(staff.token, csv);
      expect(first.result).to.include({ beneficiariesCreated: 5, enrolmentsCreated: 6 });
      const snapshot = async () => ({
        people: await sql(
          'SELECT id, updated_at, updated_by, import_id, area_id, phone_hash FROM beneficiaries WHERE import_id = ? ORDER BY id',
          [first.id],
        ),
        enrolments: await sql('SELECT id, updated_at, version, updated_by, import_id FROM enrolments WHERE import_id = ? ORDER BY id', [
          first.id,
        ]),
        counts: await rollCounts(),
      });
      const before = await snapshot();
      expect(before.people).to.have.length(5);
      expect(before.enrolments).to.have.length(6);

      const second = await importFile(staff.token, csv);
      expect(second.status).to.equal('completed');
      expect(second.progress).to.deep.equal({ rowsRead: 6, rowsValid: 6, rowsInvalid: 0 });
      expect(second.result).to.deep.equal({
        beneficiariesCreated: 0,
        enrolmentsCreated: 0,
        enrolmentsUpdated: 0,
        enrolmentsUnchanged: 6,
        nameMismatches: 0,
      });
      expect(await snapshot()).to.deep.equal(before);
      expect(await writtenBy(second.id)).to.deep.equal({ beneficiaries: 0, enrolments: 0, history: 0 });
    });
  });

  describe('a later file for the same person and programme', () => {
    it('updates the enrolment and keeps its history: masked before/after, who, which import; version incremented', async () => {
      const p = person();
      const first = await importFile(staff.token, rollCsv([p]));
      expect(first.result.enrolmentsCreated).to.equal(1);
      const before = await enrolment(p.national_id!);
      expect(before.version).to.equal(1);

      const wallet = `03${serialOf(p)}77`;
      const later: RollRecord = {
        ...p,
        coefficient: '2,25',
        start_period: '2024-03',
        end_period: '2026-02',
        channel: 'WALLET',
        bank_code: '',
        account_number: '',
        wallet_provider: 'vnptmoney',
        wallet_id: wallet,
      };
      const second = await importFile(staff2.token, rollCsv([later]));
      expect(second.status).to.equal('completed');
      expect(second.result).to.deep.equal({
        beneficiariesCreated: 0,
        enrolmentsCreated: 0,
        enrolmentsUpdated: 1,
        enrolmentsUnchanged: 0,
        nameMismatches: 0,
      });
      const after = await enrolment(p.national_id!);
      expect(after.id).to.equal(before.id);
      expect(after).to.include({
        coefficient_x100: 225,
        start_period: 202403,
        end_period: 202602,
        channel: 'WALLET',
        bank_bin: null,
        account_hash: null,
        account_enc: null,
        account_masked: null,
        wallet_provider: 'VNPTMONEY',
        version: 2,
        updated_by: staff2.id,
        created_by: staff.id,
        import_id: second.id,
      });
      const c = await cipher();
      expect(after.wallet_hash.equals(c.lookupHash('wallet', `VNPTMONEY:${wallet}`))).to.equal(true);
      expect(c.decrypt(after.wallet_enc, 'wallet')).to.equal(wallet);

      const history = await historyOf(p.national_id!);
      expect(history).to.have.length(1);
      const h = history[0]!;
      expect(h).to.include({ change_type: 'enrolment.updated', enrolment_id: after.id, changed_by: staff2.id, import_id: second.id });
      expect(JSON.parse(h.before_state)).to.deep.equal({
        coefficientX100: 150,
        startPeriod: 202401,
        endPeriod: null,
        channel: 'BANK',
        bankBin: '970436',
        account: `******${p.account_number!.slice(-4)}`,
        accountName: 'NGUYEN VAN AN',
        walletProvider: null,
        wallet: null,
      });
      expect(JSON.parse(h.after_state)).to.deep.equal({
        coefficientX100: 225,
        startPeriod: 202403,
        endPeriod: 202602,
        channel: 'WALLET',
        bankBin: null,
        account: null,
        accountName: 'NGUYEN VAN AN',
        walletProvider: 'VNPTMONEY',
        wallet: `${wallet.slice(0, 3)}*****${wallet.slice(-2)}`,
      });
      expect(h.before_state + h.after_state).not.to.include(p.account_number);
      expect(h.before_state + h.after_state).not.to.include(wallet);
    });

    it('records a move to another commune and a new phone as a change of the person, with masked phones', async () => {
      const p = person();
      await importFile(staff.token, rollCsv([p]));
      const phone = `07${serialOf(p)}55`;
      const moved = await importFile(staff2.token, rollCsv([{ ...p, area_code: '00004', phone }]));
      expect(moved.result).to.include({ beneficiariesCreated: 0, enrolmentsCreated: 0, enrolmentsUpdated: 0, enrolmentsUnchanged: 1 });
      const b = await beneficiary(p.national_id!);
      expect(b).to.include({
        area_code: '00004',
        updated_by: staff2.id,
        import_id: moved.id,
        phone_masked: `${phone.slice(0, 3)}*****${phone.slice(-2)}`,
      });
      expect(b.phone_hash.equals((await cipher()).lookupHash('phone', phone))).to.equal(true);
      const [h] = await historyOf(p.national_id!);
      expect(h).to.include({ change_type: 'beneficiary.updated', enrolment_id: null, changed_by: staff2.id, import_id: moved.id });
      expect(JSON.parse(h.after_state)).to.deep.equal({ areaId: b.area_id, phone: b.phone_masked });
      expect(JSON.parse(h.before_state).phone).to.equal(`${p.phone!.slice(0, 3)}*****${p.phone!.slice(-2)}`);
    });
  });

  describe('conflicting personal data', () => {
    it('reports PERSON_CONFLICT for a stored person with another birth date, name or gender, and leaves the record as it was', async () => {
      const dob = person();
      const name = person();
      const gender = person();
      await importFile(staff.token, rollCsv([dob, name, gender]));
      // a record corrected by hand to female: the file (male, as the ID says) now disagrees with it
      await sql("UPDATE beneficiaries SET gender = 'F' WHERE national_id_hash = ?", [await nidHash(gender.national_id!)]);
      const stored = await Promise.all([dob, name, gender].map((r) => beneficiary(r.national_id!)));
      const enrolled = await Promise.all([dob, name, gender].map((r) => enrolment(r.national_id!)));

      const ok = person();
      const imp = await importFile(
        staff2.token,
        rollCsv([
          { ...dob, date_of_birth: '1940-04-01', coefficient: '3' },
          { ...name, full_name: 'Nguyễn Văn Ân', coefficient: '3' },
          { ...gender, coefficient: '3' },
          ok,
        ]),
      );
      expect(imp.status).to.equal('completed');
      const problems = await allProblems(staff2.token, imp.id);
      expect(brief(problems)).to.deep.equal([
        '2|national_id|PERSON_CONFLICT',
        '3|national_id|PERSON_CONFLICT',
        '4|national_id|PERSON_CONFLICT',
      ]);
      expect(problems.find((p) => p.row === 2)!.message).to.include('date_of_birth');
      expect(problems.find((p) => p.row === 3)!.message).to.include('full_name');
      expect(problems.find((p) => p.row === 4)!.message).to.include('gender');
      expect(imp.progress).to.deep.equal({ rowsRead: 4, rowsValid: 1, rowsInvalid: 3 });
      expect(imp.result).to.include({ beneficiariesCreated: 1, enrolmentsCreated: 1, enrolmentsUpdated: 0 });
      expect(await Promise.all([dob, name, gender].map((r) => beneficiary(r.national_id!)))).to.deep.equal(stored);
      expect(await Promise.all([dob, name, gender].map((r) => enrolment(r.national_id!)))).to.deep.equal(enrolled);
    });

    it('refuses a row whose gender disagrees with the national ID before it can touch the stored person', async () => {
      const p = person();
      await importFile(staff.token, rollCsv([p]));
      const stored = await beneficiary(p.national_id!);
      const imp = await importFile(staff.token, rollCsv([{ ...p, gender: 'F' }]));
      expect(brief(await allProblems(staff.token, imp.id))).to.deep.equal(['2|national_id|NATIONAL_ID_GENDER_MISMATCH']);
      expect(await beneficiary(p.national_id!)).to.deep.equal(stored);
    });

    it('reports PERSON_DIFFERS_IN_FILE on every row of a national ID whose personal data differ within the file', async () => {
      const p = person();
      const imp = await importFile(
        staff.token,
        rollCsv([p, person(), { ...p, programme_code: 'TCXH-KT', full_name: 'Nguyễn Văn Anh', account_name: 'NGUYEN VAN ANH' }]),
      );
      const problems = await allProblems(staff.token, imp.id);
      expect(brief(problems)).to.deep.equal(['2|national_id|PERSON_DIFFERS_IN_FILE', '4|national_id|PERSON_DIFFERS_IN_FILE']);
      expect(problems[0]!.message).to.include('2, 4');
      expect(imp.progress).to.deep.equal({ rowsRead: 3, rowsValid: 1, rowsInvalid: 2 });
      expect(await beneficiary(p.national_id!)).to.equal(undefined);
    });

    it('reports DUPLICATE_IN_FILE on both rows of the same person and programme, and stores neither', async () => {
      const p = person();
      const imp = await importFile(staff.token, rollCsv([p, person(), { ...p, coefficient: '2' }]));
      const problems = await allProblems(staff.token, imp.id);
      expect(brief(problems)).to.deep.equal(['2|programme_code|DUPLICATE_IN_FILE', '4|programme_code|DUPLICATE_IN_FILE']);
      expect(problems[0]!.message).to.include('2, 4');
      expect(imp.result).to.include({ beneficiariesCreated: 1, enrolmentsCreated: 1 });
      expect(await beneficiary(p.national_id!)).to.equal(undefined);
    });

    it('lists problems in row order, whether found while reading or by the whole-file checks', async () => {
      const p = person();
      const imp = await importFile(staff.token, rollCsv([p, person({ coefficient: 'x' }), { ...p }, person({ gender: 'X' })]));
      const problems = await allProblems(staff.token, imp.id);
      expect(problems.map((x) => `${x.row}|${x.code}`)).to.deep.equal([
        '2|DUPLICATE_IN_FILE',
        '3|COEFFICIENT_FORMAT',
        '4|DUPLICATE_IN_FILE',
        '5|GENDER_INVALID',
      ]);
      const csv = await call('GET', `/api/v1/roll-imports/${imp.id}/problems.csv`, { token: staff.token });
      const fromCsv = (parseCsv(csv.text, { bom: true, columns: true }) as Record<string, string>[]).map((x) => `${x.row}|${x.code}`);
      expect(fromCsv).to.deep.equal(problems.map((x) => `${x.row}|${x.code}`));
    });

    it('accepts one person on two programmes when the personal data agree: one person, two enrolments', async () => {
      const p = person();
      const imp = await importFile(staff.token, rollCsv([p, { ...p, programme_code: 'TCXH-KT', coefficient: '1' }]));
      expect(await allProblems(staff.token, imp.id)).to.deep.equal([]);
      expect(imp.result).to.include({ beneficiariesCreated: 1, enrolmentsCreated: 2 });
      expect((await enrolment(p.national_id!, 'TCXH-KT')).coefficient_x100).to.equal(100);
    });
  });

  describe('shared accounts', () => {
    it('reports SHARED_ACCOUNT on both rows of two people with the same bank account in one file', async () => {
      const a = person();
      const b = female({ account_number: a.account_number! });
      const otherBank = person({ account_number: a.account_number!, bank_code: '970415' }); // same digits, another bank: not shared
      const imp = await importFile(staff.token, rollCsv([a, b, otherBank]));
      const problems = await allProblems(staff.token, imp.id);
      expect(brief(problems)).to.deep.equal(['2|account_number|SHARED_ACCOUNT', '3|account_number|SHARED_ACCOUNT']);
      expect(problems[0]!.message).not.to.include(a.account_number);
      expect(await beneficiary(a.national_id!)).to.equal(undefined);
      expect(await beneficiary(b.national_id!)).to.equal(undefined);
      expect(await enrolment(otherBank.national_id!)).to.include({ bank_bin: '970415' });
    });

    it('reports SHARED_ACCOUNT for a new person given an account already on the roll for someone else', async () => {
      const owner = person();
      await importFile(staff.token, rollCsv([owner]));
      const newcomer = person({ account_number: owner.account_number! });
      const imp = await importFile(staff.token, rollCsv([newcomer, person()]));
      const problems = await allProblems(staff.token, imp.id);
      expect(brief(problems)).to.deep.equal(['2|account_number|SHARED_ACCOUNT']);
      expect(problems[0]!.message).to.include('already on the roll');
      expect(imp.result).to.include({ beneficiariesCreated: 1, enrolmentsCreated: 1 });
      expect(await beneficiary(newcomer.national_id!)).to.equal(undefined);
      expect((await enrolment(owner.national_id!)).version, 'the owner keeps the account').to.equal(1);
    });

    it('checks the accounts of a file against the roll also when some of its people are stored: changed rows, not unchanged ones', async () => {
      const owner = person();
      const mover = female();
      const walletOwner = walletPerson();
      const stays = person();
      await importFile(staff.token, rollCsv([owner, mover, walletOwner, stays]));
      // stays unchanged; mover now gives owner's account; a newcomer gives the stored wallet holder's wallet
      const newcomer = walletPerson({ wallet_id: walletOwner.wallet_id! });
      const again = await importFile(staff.token, rollCsv([stays, { ...mover, account_number: owner.account_number! }, newcomer]));
      expect(brief(await allProblems(staff.token, again.id))).to.deep.equal([
        '3|account_number|SHARED_ACCOUNT',
        '4|wallet_id|SHARED_ACCOUNT',
      ]);
      expect(again.result).to.include({ beneficiariesCreated: 0, enrolmentsCreated: 0, enrolmentsUpdated: 0, enrolmentsUnchanged: 1 });
      expect((await enrolment(mover.national_id!)).version, 'the mover keeps their account').to.equal(1);
      expect(await beneficiary(newcomer.national_id!)).to.equal(undefined);
    });

    it('does the same for wallets: in one file, and against the roll', async () => {
      const a = walletPerson();
      const b = walletPerson({ wallet_id: a.wallet_id! });
      const sameNumberOtherProvider = walletPerson({ wallet_id: a.wallet_id!, wallet_provider: 'MOMO' });
      const inFile = await importFile(staff.token, rollCsv([a, b, sameNumberOtherProvider]));
      expect(brief(await allProblems(staff.token, inFile.id))).to.deep.equal(['2|wallet_id|SHARED_ACCOUNT', '3|wallet_id|SHARED_ACCOUNT']);
      expect(inFile.result.beneficiariesCreated).to.equal(1);

      const c = walletPerson({ wallet_provider: 'MOMO', wallet_id: a.wallet_id! });
      const onRoll = await importFile(staff.token, rollCsv([c]));
      expect(brief(await allProblems(staff.token, onRoll.id))).to.deep.equal(['2|wallet_id|SHARED_ACCOUNT']);
      expect(await beneficiary(c.national_id!)).to.equal(undefined);
    });
  });

  describe('encrypting only what the merge writes', () => {
    it('leaves a mostly known file unencrypted while reading and encrypts the new and changed rows afterwards', async () => {
      const known = [person(), person(), walletPerson(), female()];
      const moved = { ...known[1]!, account_number: `19${serialOf(known[1]!)}4242` };
      const fresh = cashPerson({ phone: '0912345678' });
      await withRunner({}, async (runner) => {
        const first = await importFile(staff.token, rollCsv(known));
        expect(first.result.enrolmentsCreated).to.equal(4);
        expect((await runner.reportOf(first.id)).fill).to.deep.equal({ sealedWhileReading: true, filled: 0 });
        // the same file again: nothing to write, nothing encrypted
        const again = await importFile(staff.token, rollCsv(known));
        expect((await runner.reportOf(again.id)).fill).to.deep.equal({ sealedWhileReading: false, filled: 0 });
        // three unchanged, one with a new account, one new person (after the known ones)
        const later = await importFile(staff.token, rollCsv([known[0]!, moved, known[2]!, known[3]!, fresh]));
        expect(later.result).to.include({ beneficiariesCreated: 1, enrolmentsCreated: 1, enrolmentsUpdated: 1, enrolmentsUnchanged: 3 });
        expect((await runner.reportOf(later.id)).fill).to.deep.equal({ sealedWhileReading: false, filled: 2 });
      });
      const c = await cipher();
      const e = await enrolment(moved.national_id!);
      expect(c.decrypt(e.account_enc, 'account')).to.equal(moved.account_number);
      expect(e.account_hash.equals(c.lookupHash('account', `${moved.bank_code}:${moved.account_number}`))).to.equal(true);
      const [b] = await sql('SELECT national_id_enc, phone_enc FROM beneficiaries WHERE national_id_hash = ?', [
        c.lookupHash('nid', fresh.national_id!),
      ]);
      expect(c.decrypt(b.national_id_enc, 'nid')).to.equal(fresh.national_id);
      expect(c.decrypt(b.phone_enc, 'phone')).to.equal('0912345678');
      // the unchanged kept their ciphertexts
      for (const k of [known[0]!, known[2]!]) {
        const [s] = await sql('SELECT national_id_enc FROM beneficiaries WHERE national_id_hash = ?', [
          c.lookupHash('nid', k.national_id!),
        ]);
        expect(c.decrypt(s.national_id_enc, 'nid')).to.equal(k.national_id);
      }
    });

    it('looks again every few batches: new people after 2,000 known ones are encrypted while reading, not afterwards', async () => {
      const known = Array.from({ length: 2000 }, () => person());
      const fresh = Array.from({ length: 1500 }, () => person());
      expect((await importFile(staff.token, rollCsv(known))).result.enrolmentsCreated).to.equal(2000);
      // decided once by the first batch (known people): the new ones are encrypted by the fill pass
      await withRunner({}, async (runner) => {
        const once = await importFile(staff.token, rollCsv([...known, ...fresh.slice(0, 700)]));
        expect(once.result).to.include({ beneficiariesCreated: 700, enrolmentsUnchanged: 2000 });
        expect((await runner.reportOf(once.id)).fill).to.deep.equal({ sealedWhileReading: false, filled: 700 });
      });
      // looked at again for the second batch: it is encrypted while reading, nothing is left for the fill pass
      await withRunner({ probeEvery: 1 }, async (runner) => {
        const again = await importFile(staff.token, rollCsv([...known, ...fresh.slice(700)]));
        expect(again.result).to.include({ beneficiariesCreated: 800, enrolmentsUnchanged: 2000 });
        expect((await runner.reportOf(again.id)).fill).to.deep.equal({ sealedWhileReading: false, filled: 0 });
      });
      const c = await cipher();
      for (const r of [fresh[0]!, fresh[699]!, fresh[700]!, fresh[1499]!]) {
        const b = await beneficiary(r.national_id!);
        expect(c.decrypt(b.national_id_enc, 'nid')).to.equal(r.national_id);
        expect(c.decrypt((await enrolment(r.national_id!)).account_enc, 'account')).to.equal(r.account_number);
      }
    });

    it('refuses the import with FILE_CHANGED, merging nothing, when the file changes before the rows are encrypted', async () => {
      const rows = [person(), walletPerson()];
      let changed = false;
      const beforeFill = async (file: string) => {
        if (changed) return;
        changed = true;
        await writeFile(file, rollCsv([{ ...rows[0]!, account_number: `${rows[0]!.account_number}9` }, rows[1]!]));
      };
      await withRunner({ sealing: 'never', beforeFill }, async () => {
        const imp = await importFile(staff.token, rollCsv(rows));
        expect(imp.status).to.equal('failed');
        expect(imp.error).to.include({ code: 'FILE_CHANGED' });
        const c = await cipher();
        for (const r of rows) {
          const [{ n }] = await sql('SELECT COUNT(*) AS n FROM beneficiaries WHERE national_id_hash = ?', [
            c.lookupHash('nid', r.national_id!),
          ]);
          expect(Number(n)).to.equal(0);
        }
      });
    });
  });

  describe('area scope and reference codes', () => {
    it('refuses rows outside the uploader’s district, non-commune and unknown codes, and people of another district', async () => {
      const elsewhere = person({ area_code: '00037' });
      await importFile(staff.token, rollCsv([elsewhere]));
      const storedElsewhere = await beneficiary(elsewhere.national_id!);
      expect(storedElsewhere.area_code).to.equal('00037');

      const ok = person({ area_code: '00004' });
      const rows = [
        person({ area_code: '00037' }),
        { ...elsewhere, area_code: '00001' },
        person({ area_code: '001' }),
        person({ area_code: '01' }),
        person({ area_code: '99999' }),
        person({ programme_code: 'TCXH-NONE' }),
        ok,
      ];
      const imp = await importFile(districtStaff.token, rollCsv(rows));
      expect(imp.status).to.equal('completed');
      expect(imp.scopeAreaId).to.equal(districtStaff.areaId);
      const problems = await allProblems(districtStaff.token, imp.id);
      expect(brief(problems)).to.deep.equal(
        [
          '2|area_code|AREA_OUT_OF_SCOPE',
          '3|national_id|PERSON_OUT_OF_SCOPE',
          '4|area_code|AREA_NOT_COMMUNE',
          '5|area_code|AREA_NOT_COMMUNE',
          '6|area_code|UNKNOWN_AREA',
          '7|programme_code|UNKNOWN_PROGRAMME',
        ].sort(),
      );
      expect(problems.find((p) => p.row === 4)!.message).to.include('district');
      expect(problems.find((p) => p.row === 5)!.message).to.include('province');
      expect(imp.progress).to.deep.equal({ rowsRead: 7, rowsValid: 1, rowsInvalid: 6 });
      expect(await writtenBy(imp.id)).to.deep.equal({ beneficiaries: 1, enrolments: 1, history: 0 });
      expect((await beneficiary(ok.national_id!)).area_code).to.equal('00004');
      expect(await beneficiary(elsewhere.national_id!)).to.deep.equal(storedElsewhere);
      expect(await beneficiary(rows[0]!.national_id!)).to.equal(undefined);
    });
    it('tells a district officer only that a row of a person on another district’s roll cannot be accepted, and a province officer why', async () => {
      const elsewhere = person({ area_code: '00037' });
      await importFile(staff.token, rollCsv([elsewhere]));
      const imp = await importFile(districtStaff.token, rollCsv([{ ...elsewhere, area_code: '00001' }]));
      const [{ name: wardName }] = await sql("SELECT name FROM areas WHERE code = '00037'");
      const districtAuditor = await makeUser(['auditor'], { area: '001' });
      for (const reader of [districtStaff, districtAuditor]) {
        const [narrow] = await allProblems(reader.token, imp.id);
        expect(narrow).to.deep.equal({
          row: 2,
          column: 'national_id',
          code: 'PERSON_OUT_OF_SCOPE',
          message: 'this row cannot be accepted for your area; ask an officer whose scope covers the person',
        });
        const csv = await call('GET', `/api/v1/roll-imports/${imp.id}/problems.csv`, { token: reader.token });
        expect(csv.text).to.include('this row cannot be accepted for your area').and.not.include('00037').and.not.include(wardName);
      }
      for (const reader of [staff, auditor]) {
        const [wide] = await allProblems(reader.token, imp.id);
        expect(wide!.code).to.equal('PERSON_OUT_OF_SCOPE');
        expect(wide!.message).to.include(`on the roll of ${wardName} (00037)`);
        const csv = await call('GET', `/api/v1/roll-imports/${imp.id}/problems.csv`, { token: reader.token });
        expect(csv.text).to.include(`${wardName} (00037)`);
      }
    });
  });

  describe('encryption and masking', () => {
    it('stores no national ID, account, wallet or phone in plaintext, and keyed hashes that match the values', async () => {
      const bank = person();
      const wallet = walletPerson();
      const imp = await importFile(staff.token, rollCsv([bank, wallet]));
      const moved = await importFile(
        staff.token,
        rollCsv([{ ...bank, account_number: `66${serialOf(bank)}0101`, phone: `05${serialOf(bank)}99` }]),
      );
      expect(moved.result.enrolmentsUpdated).to.equal(1);
      const secrets = [
        bank.national_id!,
        bank.account_number!,
        `66${serialOf(bank)}0101`,
        bank.phone!,
        `05${serialOf(bank)}99`,
        wallet.national_id!,
        wallet.wallet_id!,
        wallet.phone!,
      ];
      const ids = [(await beneficiary(bank.national_id!)).id, (await beneficiary(wallet.national_id!)).id];
      const rows = [
        ...(await sql('SELECT * FROM beneficiaries WHERE id IN (?)', [ids])),
        ...(await sql('SELECT * FROM enrolments WHERE beneficiary_id IN (?)', [ids])),
        ...(await sql('SELECT * FROM roll_history WHERE beneficiary_id IN (?)', [ids])),
        ...(await sql('SELECT * FROM roll_import_problems WHERE import_id IN (?, ?)', [imp.id, moved.id])),
        ...(await sql('SELECT * FROM audit_events WHERE entity_type = ? AND entity_id IN (?, ?)', ['roll_import', imp.id, moved.id])),
      ];
      expect(rows.length).to.be.greaterThan(6);
      for (const row of rows) {
        for (const [col, v] of Object.entries(row)) {
          if (v === null || v === undefined) continue;
          const bytes = Buffer.isBuffer(v) ? v : Buffer.from(v instanceof Date ? v.toISOString() : String(v));
          for (const s of secrets) expect(bytes.includes(Buffer.from(s)), `${col} holds ${s}`).to.equal(false);
        }
      }
      const c = await cipher();
      const b = await beneficiary(bank.national_id!);
      expect(b.national_id_hash.equals(c.lookupHash('nid', bank.national_id!))).to.equal(true);
      expect(b.phone_hash.equals(c.lookupHash('phone', `05${serialOf(bank)}99`))).to.equal(true);
      expect(c.decrypt(b.national_id_enc, 'nid')).to.equal(bank.national_id);
      expect(b.national_id_masked).to.equal(`${bank.national_id!.slice(0, 4)}******${bank.national_id!.slice(-2)}`);
      const e = await enrolment(bank.national_id!);
      expect(e.account_hash.equals(c.lookupHash('account', `970436:66${serialOf(bank)}0101`))).to.equal(true);
      expect(c.decrypt(e.account_enc, 'account')).to.equal(`66${serialOf(bank)}0101`);
      expect(e.account_masked).to.equal(`********0101`);
      const w = await enrolment(wallet.national_id!);
      expect(w.wallet_hash.equals(c.lookupHash('wallet', `VIETTELMONEY:${wallet.wallet_id}`))).to.equal(true);
      expect(w.wallet_masked).to.equal(`${wallet.wallet_id!.slice(0, 3)}*****${wallet.wallet_id!.slice(-2)}`);
      const wb = await beneficiary(wallet.national_id!);
      expect(wb.phone_hash.equals(c.lookupHash('phone', wallet.phone!))).to.equal(true);
      expect(c.decrypt(wb.phone_enc, 'phone')).to.equal(wallet.phone);
    });
  });

  describe('XLSX and CSV', () => {
    it('give the same problems and the same stored roll for the same rows (Vietnamese headers in the workbook)', async () => {
      const rows = [
        person(),
        female(),
        person({ coefficient: '0.1' }),
        cashPerson({ end_period: '2025-06', full_name: 'Phạm  Thị Ðào' }),
        walletPerson({ wallet_provider: 'NOPAY' }),
        walletPerson({ phone: '' }),
      ];
      rows[3]!.national_id = `0011${rows[3]!.national_id!.slice(4)}`;
      rows[3]!.gender = 'Nữ';
      const xlsx = await xlsxOf(
        DEFAULT_COLUMNS.map((c) => VI_HEADER[c]),
        rows.map((r) => cellsOf(r)),
      );
      const fromXlsx = await importFile(staff.token, xlsx, 'Danh sách.xlsx');
      expect(fromXlsx.status, JSON.stringify(await problemsOf(staff.token, fromXlsx.id))).to.equal('completed');
      expect(fromXlsx).to.include({ format: 'xlsx', fileName: 'Danh sách.xlsx' });
      expect(fromXlsx.result).to.include({ beneficiariesCreated: 4, enrolmentsCreated: 4 });
      const xlsxProblems = await allProblems(staff.token, fromXlsx.id);
      expect(brief(xlsxProblems)).to.deep.equal(['4|coefficient|COEFFICIENT_OUT_OF_RANGE', '6|wallet_provider|WALLET_PROVIDER_UNKNOWN']);
      const stored = await Promise.all(
        rows.map(async (r) => ({ b: await beneficiary(r.national_id!), e: await enrolment(r.national_id!) })),
      );
      expect(stored[3]!.b).to.include({ full_name: 'Phạm Thị Ðào', gender: 'F', name_search: 'pham thi dao' });
      expect(stored[3]!.e).to.include({ channel: 'CASH', end_period: 202506 });

      const fromCsv = await importFile(staff.token, rollCsv(rows));
      expect(fromCsv.progress).to.deep.equal(fromXlsx.progress);
      expect(fromCsv.result, 'the CSV of the same rows finds everything already as the workbook stored it').to.deep.equal({
        beneficiariesCreated: 0,
        enrolmentsCreated: 0,
        enrolmentsUpdated: 0,
        enrolmentsUnchanged: 4,
        nameMismatches: 0,
      });
      expect(await allProblems(staff.token, fromCsv.id)).to.deep.equal(xlsxProblems);
      expect(
        await Promise.all(rows.map(async (r) => ({ b: await beneficiary(r.national_id!), e: await enrolment(r.national_id!) }))),
      ).to.deep.equal(stored);
      await expectFileRemoved(fromXlsx.id, 'xlsx');
    });

    it('reads the first worksheet only, and leaves no temporary copy of the workbook behind, also when its header is refused', async () => {
      const ours = () => readdir(os.tmpdir()).then((fs) => fs.filter((f) => f.startsWith(`tmp-${process.pid}-`)));
      const before = await ours();
      const p = person();
      const other = person();
      const good = await xlsxOf(DEFAULT_COLUMNS, [cellsOf(p)], { 'Hướng dẫn': [DEFAULT_COLUMNS, cellsOf(other)] });
      const imp = await importFile(staff.token, good, 'roll.xlsx');
      expect(imp.progress).to.deep.equal({ rowsRead: 1, rowsValid: 1, rowsInvalid: 0 });
      expect(await beneficiary(p.national_id!)).to.exist;
      expect(await beneficiary(other.national_id!)).to.equal(undefined);
      const bad = await importFile(staff.token, await xlsxOf([...DEFAULT_COLUMNS, 'ghi chú'], [cellsOf(person())]), 'roll.xlsx');
      expect(bad.error.code).to.equal('BAD_HEADER');
      expect(await ours()).to.deep.equal(before);
    });

    it('encrypts a workbook’s rows after the checks as it would while reading, number and date cells included', async () => {
      const rows = [person(), walletPerson(), person({ start_period: '2024-05' })];
      const xlsx = await xlsxOf(DEFAULT_COLUMNS, [
        cellsOf(rows[0]!, { national_id: 'number', phone: 'number', coefficient: 'number', bank_code: 'number' }),
        cellsOf(rows[1]!, { national_id: 'number', wallet_id: 'number' }),
        cellsOf({ ...rows[2]!, start_period: '2024-05-01' }, { date_of_birth: 'date', start_period: 'date' }),
      ]);
      await withRunner({ sealing: 'never' }, async (runner) => {
        const imp = await importFile(staff.token, xlsx, 'roll.xlsx');
        expect(imp.status, JSON.stringify(await problemsOf(staff.token, imp.id))).to.equal('completed');
        expect((await runner.reportOf(imp.id)).fill).to.deep.equal({ sealedWhileReading: false, filled: 3 });
        const c = await cipher();
        for (const r of rows) {
          const b = await beneficiary(r.national_id!);
          expect(c.decrypt(b.national_id_enc, 'nid')).to.equal(r.national_id);
          expect(c.decrypt(b.phone_enc, 'phone')).to.equal(r.phone);
        }
        expect(c.decrypt((await enrolment(rows[0]!.national_id!)).account_enc, 'account')).to.equal(rows[0]!.account_number);
        expect(c.decrypt((await enrolment(rows[1]!.national_id!)).wallet_enc, 'wallet')).to.equal(rows[1]!.wallet_id);
        expect(await enrolment(rows[2]!.national_id!)).to.include({ start_period: 202405 });
      });
    });

    it('left-pads IDs and phones held as numbers, takes date cells, and refuses an account number held as a number (NUMBER_CELL)', async () => {
      const padded = person(); // 0010…: a number cell keeps 1040…; 09…: keeps 9…
      const numericAccount = person({ account_number: '' });
      numericAccount.account_number = `1${serialOf(numericAccount)}99`;
      const dated = person({ start_period: '2024-05', end_period: '2026-12' });
      const xlsx = await xlsxOf(DEFAULT_COLUMNS, [
        cellsOf(padded, { national_id: 'number', phone: 'number', coefficient: 'number', bank_code: 'number' }),
        cellsOf(numericAccount, { account_number: 'number' }),
        cellsOf(
          { ...dated, start_period: '2024-05-01', end_period: '2026-12-01' },
          { date_of_birth: 'date', start_period: 'date', end_period: 'date' },
        ),
      ]);
      const imp = await importFile(staff.token, xlsx, 'roll.xlsx');
      const problems = await allProblems(staff.token, imp.id);
      expect(brief(problems)).to.deep.equal(['3|account_number|NUMBER_CELL']);
      expect(problems[0]!.message).to.match(/Text/);
      expect(imp.progress).to.deep.equal({ rowsRead: 3, rowsValid: 2, rowsInvalid: 1 });
      const b = await beneficiary(padded.national_id!);
      expect(b, 'stored under the 12-digit ID with its leading zeros').to.exist;
      expect(b.phone_hash.equals((await cipher()).lookupHash('phone', padded.phone!))).to.equal(true);
      expect((await enrolment(padded.national_id!)).coefficient_x100).to.equal(150);
      expect(await beneficiary(numericAccount.national_id!)).to.equal(undefined);
      const d = await beneficiary(dated.national_id!);
      expect(d, 'a date cell is a date of birth').to.exist;
      expect(d.date_of_birth).to.deep.equal(b.date_of_birth);
      expect(await enrolment(dated.national_id!), 'a month Excel made a date is that month').to.include({
        start_period: 202405,
        end_period: 202612,
      });
    });
  });

  describe('files that cannot be imported', () => {
    /** The import failed as a whole: an error code, a file-level problem, and nothing of it on the roll. */
    async function expectRefused(imp: any, code: string): Promise<Problem[]> {
      expect(imp.status, JSON.stringify(imp.error)).to.equal('failed');
      expect(imp.error.code).to.equal(code);
      expect(imp.error.message).to.be.a('string').with.length.greaterThan(15);
      const problems = await allProblems(staff.token, imp.id);
      expect(
        problems.filter((p) => p.row === 0).map((p) => p.code),
        'the file-level problem',
      ).to.deep.equal([code]);
      expect(await writtenBy(imp.id)).to.deep.equal({ beneficiaries: 0, enrolments: 0, history: 0 });
      const [db] = await sql('SELECT status, error_code, finished_at FROM roll_imports WHERE id = ?', [imp.id]);
      expect(db).to.include({ status: 'failed', error_code: code });
      expect(db.finished_at).to.be.instanceOf(Date);
      const [t] = await sql('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [
        `roll_import_rows_${imp.id}`,
      ]);
      expect(Number(t.n), 'staging table dropped').to.equal(0);
      await expectFileRemoved(imp.id, imp.format);
      return problems;
    }

    const asciiRows = (n: number) => Array.from({ length: n }, () => person({ full_name: 'Nguyen Van An' }));

    it('refuses a Latin-1 / Windows-1258 CSV with FILE_NOT_UTF8, even when the bad bytes come after many good rows', async () => {
      const rows = asciiRows(3000);
      const csv = rollCsv([...rows, person({ full_name: 'Lê Hà', account_name: 'LE HA' })]);
      const imp = await importFile(staff.token, Buffer.from(csv, 'latin1'));
      await expectRefused(imp, 'FILE_NOT_UTF8');
      expect(imp.error.message).to.include('UTF-8');
      expect(await beneficiary(rows[0]!.national_id!)).to.equal(undefined);
    });

    it('refuses a UTF-16 file (with or without a BOM) with FILE_NOT_UTF8', async () => {
      const csv = rollCsv([person()]);
      await expectRefused(
        await importFile(staff.token, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')])),
        'FILE_NOT_UTF8',
      );
      const noBom = await importFile(staff.token, Buffer.from(csv, 'utf16le'));
      await expectRefused(noBom, 'FILE_NOT_UTF8');
      expect(noBom.error.message).to.include('UTF-16');
    });

    it('refuses an unknown column with BAD_HEADER naming it', async () => {
      const p = person();
      const imp = await importFile(staff.token, rollCsv([p], [...DEFAULT_COLUMNS, 'ghi chu']));
      const problems = await expectRefused(imp, 'BAD_HEADER');
      expect(problems.find((x) => x.row === 1)).to.include({ column: 'ghi chu', code: 'UNKNOWN_COLUMN' });
      expect(imp.error.message).to.include('ghi chu');
      expect(await beneficiary(p.national_id!)).to.equal(undefined);
    });

    it('keeps a header that looks like a formula as text in the problems download', async () => {
      const imp = await importFile(staff.token, rollCsv([person()], [...DEFAULT_COLUMNS, '=1+2']));
      await expectRefused(imp, 'BAD_HEADER');
      const r = await call('GET', `/api/v1/roll-imports/${imp.id}/problems.csv`, { token: staff.token });
      const records = parseCsv(r.text, { bom: true, columns: true }) as Record<string, string>[];
      expect(records.find((x) => x.code === 'UNKNOWN_COLUMN')!.column).to.equal("'=1+2");
      expect(records.every((x) => !/^[=+\-@]/.test(x.column!) && !/^[=+\-@]/.test(x.message!))).to.equal(true);
    });

    it('refuses a header with a very long unknown name, or a file separated by semicolons, with BAD_HEADER', async () => {
      const long = await importFile(staff.token, rollCsv([person()], [...DEFAULT_COLUMNS, `remarks ${'x'.repeat(120)}`]));
      await expectRefused(long, 'BAD_HEADER');
      const semicolons = await importFile(staff.token, rollCsv([person({ full_name: 'Nguyen Van An' })]).replace(/,/g, ';'));
      await expectRefused(semicolons, 'BAD_HEADER');
      expect(semicolons.error.message).to.include('comma');
    });

    it('refuses a file without a required column with BAD_HEADER / MISSING_COLUMN', async () => {
      const imp = await importFile(
        staff.token,
        rollCsv(
          [person()],
          DEFAULT_COLUMNS.filter((c) => c !== 'coefficient'),
        ),
      );
      const problems = await expectRefused(imp, 'BAD_HEADER');
      expect(problems.find((x) => x.row === 1)).to.include({ column: 'coefficient', code: 'MISSING_COLUMN' });
    });

    it('refuses a header-only file as EMPTY_FILE, and a 0-byte upload at once with 400 EMPTY_FILE', async () => {
      await expectRefused(await importFile(staff.token, rollCsv([])), 'EMPTY_FILE');
      const before = (await sql('SELECT COUNT(*) AS n FROM roll_imports'))[0].n;
      const empty = await upload(staff.token, Buffer.alloc(0));
      expect(empty.status).to.equal(400);
      expect(empty.body.error.code).to.equal('EMPTY_FILE');
      expect((await sql('SELECT COUNT(*) AS n FROM roll_imports'))[0].n).to.equal(before);
    });

    it('refuses a file whose last line is 100 KB long with LINE_TOO_LONG, storing none of the rows before it', async () => {
      const rows = asciiRows(3000);
      const csv = rollCsv(rows) + `${'9'.repeat(100 * 1024)}\n`;
      const imp = await importFile(staff.token, csv);
      await expectRefused(imp, 'LINE_TOO_LONG');
      expect(await beneficiary(rows[0]!.national_id!)).to.equal(undefined);
      expect(await beneficiary(rows[2999]!.national_id!)).to.equal(undefined);
      expect(imp.error.message).not.to.include('9'.repeat(20));
    });

    it('refuses a .xlsx that is not a zip with NOT_XLSX, and a damaged workbook with UNREADABLE_FILE', async () => {
      await expectRefused(await importFile(staff.token, rollCsv([person()]), 'roll.xlsx'), 'NOT_XLSX');
      const whole = await xlsxOf(DEFAULT_COLUMNS, [cellsOf(person())]);
      await expectRefused(await importFile(staff.token, whole.subarray(0, Math.floor(whole.length / 2)), 'roll.xlsx'), 'UNREADABLE_FILE');
    });

    it('refuses a 300 KB workbook whose shared strings inflate to 300 MB with WORKBOOK_LIMIT, and the worker imports on', async () => {
      const bomb = await sharedStringsBomb(DEFAULT_COLUMNS);
      expect(bomb.length).to.be.below(400 * 1024);
      const heap = process.memoryUsage().heapUsed;
      const [problem] = await expectRefused(await importFile(staff.token, bomb, 'roll.xlsx'), 'WORKBOOK_LIMIT');
      expect(problem!.message).to.include('xl/sharedStrings.xml would inflate more than 200 times (limit ratio)');
      expect(process.memoryUsage().heapUsed - heap, 'the worker (this process) never held the strings').to.be.below(64 * 1024 * 1024);
      const lying = await importFile(staff.token, await sharedStringsBomb(DEFAULT_COLUMNS, { lie: true }), 'roll.xlsx');
      await expectRefused(lying, 'UNREADABLE_FILE');
      expect(lying.error.message).to.include('holds more than its zip declares');
      const after = await importFile(staff.token, await xlsxOf(DEFAULT_COLUMNS, [cellsOf(person())]), 'roll.xlsx');
      expect(after.status).to.equal('completed');
    });

    it('refuses other file types with 400 UNSUPPORTED_FILE_TYPE, leaving nothing behind', async () => {
      const r = await upload(staff.token, rollCsv([person()]), 'roll.txt');
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal('UNSUPPORTED_FILE_TYPE');
      const { infra } = await testApp();
      expect((await readdir(infra.cfg.importDir)).filter((f) => f.endsWith('.part'))).to.deep.equal([]);
    });

    it('refuses a body that is not multipart with 415, and a multipart body without the file field with 400 FILE_REQUIRED', async () => {
      const json = await call('POST', '/api/v1/roll-imports', { token: staff.token, body: { file: 'national_id\n' } });
      expect(json.status).to.equal(415);
      expect(json.body.error.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
      const none = await call('POST', '/api/v1/roll-imports', { token: staff.token });
      expect(none.status).to.equal(415);

      const form = new FormData();
      form.append('note', 'no file here');
      const noFile = await call('POST', '/api/v1/roll-imports', { token: staff.token, form });
      expect(noFile.status).to.equal(400);
      expect(noFile.body.error.code).to.equal('FILE_REQUIRED');

      const wrongField = new FormData();
      wrongField.append('upload', new Blob([rollCsv([person()])]), 'roll.csv');
      const wrong = await call('POST', '/api/v1/roll-imports', { token: staff.token, form: wrongField });
      expect(wrong.status).to.equal(400);
      expect(wrong.body.error.code).to.equal('FILE_REQUIRED');
      expect(wrong.body.error.message).to.include('"file"');
    });
  });

  describe('receiveFile (upload streaming)', () => {
    let server: Server;
    let base = '';
    let dir = '';
    let settled: Promise<unknown> = Promise.resolve();

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'receive-file-'));
      const app = express();
      app.post('/up', (req, res) => {
        const p = receiveFile(req, { field: 'file', maxBytes: 1000, dir });
        settled = p.catch(() => undefined);
        p.then(
          (f) => res.json(f),
          (e: AppError) => res.status(e.status).json({ code: e.code }),
        );
      });
      server = app.listen(0, '127.0.0.1');
      await new Promise<void>((r) => server.once('listening', () => r()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    });

    const send = async (form: FormData) => {
      const r = await fetch(`${base}/up`, { method: 'POST', body: form });
      return { status: r.status, body: (await r.json()) as any };
    };

    it('refuses a file over maxBytes with 413 FILE_TOO_LARGE and leaves no file in the directory', async () => {
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(2000, 'a')]), 'big.csv');
      const r = await send(form);
      expect(r.status).to.equal(413);
      expect(r.body.code).to.equal('FILE_TOO_LARGE');
      expect(await readdir(dir)).to.deep.equal([]);
      await new Promise((res) => setTimeout(res, 100));
      expect(await readdir(dir), 'nothing written after the answer either').to.deep.equal([]);
    });

    it('saves a good file with its size and sha256, under a name of its own', async () => {
      const content = Buffer.from('national_id,full_name\nđồng,Nguyễn\n');
      const form = new FormData();
      form.append('file', new Blob([content]), 'Danh sách.csv');
      const r = await send(form);
      expect(r.status).to.equal(200);
      expect(r.body).to.include({
        fileName: 'Danh sách.csv',
        size: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
      });
      expect(path.dirname(r.body.path)).to.equal(dir);
      expect((await readFile(r.body.path)).equals(content)).to.equal(true);
      await rm(r.body.path);
    });

    it('accepts a file of exactly maxBytes', async () => {
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(1000, 'b')]), 'exact.csv');
      const r = await send(form);
      expect(r.status).to.equal(200);
      expect(r.body.size).to.equal(1000);
      await rm(r.body.path);
    });

    it('refuses a second file with 400 UNEXPECTED_FILE and keeps neither', async () => {
      const form = new FormData();
      form.append('file', new Blob(['a']), 'a.csv');
      form.append('file', new Blob(['b']), 'b.csv');
      const r = await send(form);
      expect(r.status).to.equal(400);
      expect(r.body.code).to.equal('UNEXPECTED_FILE');
      expect(await readdir(dir)).to.deep.equal([]);
    });

    it('gives up on an upload the client abandons, leaving no file', async () => {
      const boundary = 'xyzBOUNDARYxyz';
      const req = http.request(`${base}/up`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '5000' },
      });
      req.on('error', () => undefined);
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\nnational_id,`,
      );
      await new Promise((r) => setTimeout(r, 100));
      req.destroy();
      const outcome = await Promise.race([settled.then(() => 'settled'), new Promise((r) => setTimeout(() => r('hung'), 2000))]);
      expect(outcome).to.equal('settled');
      expect(await readdir(dir)).to.deep.equal([]);
    });
  });

  describe('who may upload and read imports', () => {
    let provinceImport: any;
    let districtImport: any;
    before(async () => {
      provinceImport = await importFile(staff.token, rollCsv([person()]));
      districtImport = await importFile(districtStaff.token, rollCsv([person()]));
    });

    it('refuses approvers and auditors upload with 403 ROLE_REQUIRED, and anyone without a token with 401', async () => {
      for (const u of [approver, auditor]) {
        const r = await upload(u.token, rollCsv([person()]));
        expect(r.status, u.username).to.equal(403);
        expect(r.body.error.code).to.equal('ROLE_REQUIRED');
      }
      const anon = await call('POST', '/api/v1/roll-imports', { form: new FormData() });
      expect(anon.status).to.equal(401);
      expect((await call('GET', `/api/v1/roll-imports/${provinceImport.id}`)).status).to.equal(401);
      expect((await call('GET', `/api/v1/roll-imports/${provinceImport.id}/problems.csv`)).status).to.equal(401);
    });

    it('lets an auditor read imports, their problems and the list', async () => {
      const r = await call('GET', `/api/v1/roll-imports/${provinceImport.id}`, { token: auditor.token });
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ id: provinceImport.id, status: 'completed' });
      expect((await call('GET', `/api/v1/roll-imports/${provinceImport.id}/problems`, { token: auditor.token })).status).to.equal(200);
      expect((await call('GET', `/api/v1/roll-imports/${provinceImport.id}/problems.csv`, { token: auditor.token })).status).to.equal(200);
      const list = await call('GET', '/api/v1/roll-imports?limit=200', { token: auditor.token });
      expect(list.status).to.equal(200);
      expect(list.body.items.map((i: any) => i.id)).to.include(provinceImport.id);
    });

    it('answers a district officer 404 IMPORT_NOT_FOUND for an import uploaded province-wide, as for a missing one, and leaves it out of their list', async () => {
      for (const p of ['', '/problems', '/problems.csv']) {
        const r = await call('GET', `/api/v1/roll-imports/${provinceImport.id}${p}`, { token: districtStaff.token });
        expect(r.status, p).to.equal(404);
        expect(r.body.error).to.include({ code: 'IMPORT_NOT_FOUND', message: `no roll import ${provinceImport.id}` });
      }
      const list = await call('GET', '/api/v1/roll-imports?limit=200', { token: districtStaff.token });
      expect(list.body.items.map((i: any) => i.id)).to.include(districtImport.id);
      expect((await call('GET', `/api/v1/roll-imports/${districtImport.id}`, { token: districtStaff.token })).status).to.equal(200);
      for (const i of list.body.items) expect(i.scopeAreaId).to.equal(districtStaff.areaId);
    });

    it('answers 404 IMPORT_NOT_FOUND for an unknown import and 400 for an id that is not one', async () => {
      const r = await call('GET', '/api/v1/roll-imports/999999999', { token: staff.token });
      expect(r.status).to.equal(404);
      expect(r.body.error.code).to.equal('IMPORT_NOT_FOUND');
      expect((await call('GET', '/api/v1/roll-imports/999999999/problems.csv', { token: staff.token })).status).to.equal(404);
      expect((await call('GET', '/api/v1/roll-imports/abc', { token: staff.token })).status).to.equal(400);
    });

    it('lists imports newest first in cursor pages, filtered by status and by uploader', async () => {
      const me = await makeUser(['staff'], { area: '01' });
      const a = await importFile(me.token, rollCsv([person()]));
      const b = await importFile(me.token, rollCsv([]));
      const c = await importFile(me.token, rollCsv([person()]));
      expect(b.status).to.equal('failed');
      const page1 = await call('GET', '/api/v1/roll-imports?mine=true&limit=2', { token: me.token });
      expect(page1.status).to.equal(200);
      expect(page1.body.items.map((i: any) => i.id)).to.deep.equal([c.id, b.id]);
      const page2 = await call('GET', `/api/v1/roll-imports?mine=true&limit=2&cursor=${page1.body.nextCursor}`, { token: me.token });
      expect(page2.body.items.map((i: any) => i.id)).to.deep.equal([a.id]);
      expect(page2.body.nextCursor).to.equal(null);
      const failed = await call('GET', '/api/v1/roll-imports?mine=true&status=failed', { token: me.token });
      expect(failed.body.items.map((i: any) => i.id)).to.deep.equal([b.id]);
      const all = await call('GET', '/api/v1/roll-imports?status=completed&limit=200', { token: me.token });
      const ids = all.body.items.map((i: any) => Number(i.id));
      expect(ids).to.include.members([Number(a.id), Number(c.id), Number(provinceImport.id)]);
      expect(ids).to.deep.equal([...ids].sort((x, y) => y - x));
      for (const i of all.body.items) expect(i.status).to.equal('completed');
      const bad = await call('GET', '/api/v1/roll-imports?status=done', { token: me.token });
      expect(bad.status).to.equal(400);
    });
  });

  describe('recovery', () => {
    it('runs an import left queued in the database (a lost job) when the sweeper (also run at worker start) queues pending imports', async () => {
      const { infra, services } = await testApp();
      const p = person();
      const content = Buffer.from(rollCsv([p]));
      const res = await sql(
        `INSERT INTO roll_imports (file_name, format, file_sha256, file_size, status, uploaded_by, scope_area_id)
         VALUES ('lost.csv', 'csv', ?, ?, 'queued', ?, ?)`,
        [createHash('sha256').update(content).digest('hex'), content.length, staff.id, staff.areaId],
      );
      const id = String(res.insertId);
      const file = importFilePath(infra.cfg.importDir, id, 'csv');
      await writeFile(file, content);
      const pending = await services.rollImports.pending();
      expect(pending.map((x) => x.id)).to.include(id);
      const swept = await processors(services, infra)['rolls.sweep']({}, { number: 1, of: 1 });
      expect((swept as { queued: number }).queued).to.be.at.least(1);
      const done = await waitForImport(staff.token, id);
      expect(done.status).to.equal('completed');
      expect(done.result.beneficiariesCreated).to.equal(1);
      expect(await beneficiary(p.national_id!)).to.include({ import_id: id, created_by: staff.id });
      await expectFileRemoved(id);
      expect((await services.rollImports.pending()).map((x) => x.id)).not.to.include(id);
    });

    it('changes nothing when a job for a completed import is delivered again, with or without its file', async () => {
      const { infra, services } = await testApp();
      const p = person();
      const csv = rollCsv([p, person({ coefficient: '99' })]);
      const imp = await importFile(staff.token, csv);
      await expectFileRemoved(imp.id);
      const [before] = await sql('SELECT * FROM roll_imports WHERE id = ?', [imp.id]);
      const problems = await allProblems(staff.token, imp.id);
      const counts = await rollCounts();
      const redeliver = runRollImport(services);

      await redeliver({ importId: imp.id }, { number: 1, of: 3 });
      const file = importFilePath(infra.cfg.importDir, imp.id, 'csv');
      await writeFile(file, csv);
      await redeliver({ importId: imp.id }, { number: 1, of: 3 });
      expect(existsSync(file), 'the file of a final import is removed').to.equal(false);
      await enqueueRollImport(infra.queues, imp.id);
      await new Promise((r) => setTimeout(r, 300));

      const [after] = await sql('SELECT * FROM roll_imports WHERE id = ?', [imp.id]);
      expect(after).to.deep.equal(before);
      expect(await allProblems(staff.token, imp.id)).to.deep.equal(problems);
      expect(await rollCounts()).to.deep.equal(counts);
    });
  });

  describe('an import whose worker dies', () => {
    /** An import as the upload leaves it, with its file in IMPORT_DIR. */
    async function queuedImport(content: string): Promise<{ id: string; file: string }> {
      const { infra } = await testApp();
      const res = await sql(
        `INSERT INTO roll_imports (file_name, format, file_sha256, file_size, status, uploaded_by, scope_area_id)
         VALUES ('dies.csv', 'csv', ?, ?, 'running', ?, ?)`,
        [createHash('sha256').update(content).digest('hex'), content.length, staff.id, staff.areaId],
      );
      const id = String(res.insertId);
      const file = importFilePath(infra.cfg.importDir, id, 'csv');
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
      return { id, file };
    }

    it('fails with WORKER_CRASHED, running nothing, when it starts again after two runs whose worker died', async () => {
      const { services } = await testApp();
      const p = person();
      const { id, file } = await queuedImport(rollCsv([p]));
      // two deliveries that started the import and never ended: their process died (Bull hands a stalled job on)
      expect(await services.rollImportRunner.startRun(id)).to.equal(true);
      expect(await services.rollImportRunner.startRun(id)).to.equal(true);

      await runRollImport(services)({ importId: id }, { number: 1, of: 3 });

      const [db] = await sql('SELECT status, error_code, error_message, finished_at FROM roll_imports WHERE id = ?', [id]);
      expect(db).to.include({ status: 'failed', error_code: 'WORKER_CRASHED' });
      expect(db.error_message).to.match(/^the import stopped its worker twice/);
      expect((await allProblems(staff.token, id)).map((x) => `${x.row}|${x.code}`)).to.deep.equal(['0|WORKER_CRASHED']);
      expect(await beneficiary(p.national_id!), 'not run a third time').to.equal(undefined);
      expect(existsSync(file)).to.equal(false);
      expect((await services.rollImports.pending()).map((x) => x.id)).not.to.include(id);
      // delivered again, the outcome stands
      await runRollImport(services)({ importId: id }, { number: 1, of: 3 });
      const [again] = await sql('SELECT status, error_code FROM roll_imports WHERE id = ?', [id]);
      expect(again).to.deep.equal({ status: 'failed', error_code: 'WORKER_CRASHED' });
    });

    it('runs it again after one run whose worker died, and does not count runs that ended in a live process', async () => {
      const { services } = await testApp();
      const p = person();
      const { id } = await queuedImport(rollCsv([p]));
      const runner = services.rollImportRunner;
      // runs that threw and were retried by Bull ended in their process
      for (let i = 0; i < 3; i++) {
        expect(await runner.startRun(id)).to.equal(true);
        await runner.endRun(id);
      }
      expect(await runner.startRun(id), 'one run whose worker died').to.equal(true);

      await runRollImport(services)({ importId: id }, { number: 1, of: 3 });

      const [db] = await sql('SELECT status FROM roll_imports WHERE id = ?', [id]);
      expect(db.status).to.equal('completed');
      expect(await beneficiary(p.national_id!)).to.include({ import_id: id });
    });

    it('counts concurrent starts atomically: of five at once, two run and the rest fail the import', async () => {
      const { services } = await testApp();
      const { id } = await queuedImport(rollCsv([person()]));
      const started = await Promise.all(Array.from({ length: 5 }, () => services.rollImportRunner.startRun(id)));
      expect(started.filter(Boolean)).to.have.length(2);
      const [runs] = await sql('SELECT unfinished FROM roll_import_runs WHERE import_id = ?', [id]);
      expect(runs.unfinished).to.equal(2);
      const [db] = await sql('SELECT status, error_code FROM roll_imports WHERE id = ?', [id]);
      expect(db).to.deep.equal({ status: 'failed', error_code: 'WORKER_CRASHED' });
    });
  });

  describe('how rows are staged', () => {
    it('stages through LOAD DATA LOCAL INFILE where the server allows it, and stores the same roll through INSERTs otherwise', async () => {
      const { infra } = await testApp();
      const stored = async (id: string) => storedRoll(infra.ds, id);
      const csv = rollCsv([
        person({ full_name: 'Nguyễn Văn Ánh', account_name: 'NGUYEN VAN ANH' }),
        walletPerson(),
        cashPerson({ phone: '' }),
        female({ end_period: '2026-12', coefficient: '2,25' }),
        person({ date_of_birth: '1950-02-30' }), // refused
      ]);
      const byLoad = await withRunner({}, async (runner) => {
        const imp = await importFile(staff.token, csv);
        expect((await runner.reportOf(imp.id)).staging).to.equal('load');
        return imp;
      });
      const loaded = await stored(byLoad.id);
      expect(loaded.people).to.have.length(4);
      // the same file into a roll without those people again, staged the other way
      await sql('DELETE FROM enrolments WHERE import_id = ?', [byLoad.id]);
      await sql('DELETE FROM beneficiaries WHERE import_id = ?', [byLoad.id]);
      const byInsert = await withRunner({ stagingMode: 'insert' }, async (runner) => {
        const imp = await importFile(staff.token, csv);
        expect((await runner.reportOf(imp.id)).staging).to.equal('insert');
        expect(imp.progress).to.deep.equal(byLoad.progress);
        expect(imp.result).to.deep.equal(byLoad.result);
        expect(await stored(imp.id)).to.deep.equal(loaded);
        return imp;
      });
      // and LOAD DATA with the hashes, ciphertexts and bytes made on the main thread instead of the staging thread
      await sql('DELETE FROM enrolments WHERE import_id = ?', [byInsert.id]);
      await sql('DELETE FROM beneficiaries WHERE import_id = ?', [byInsert.id]);
      await withRunner({ stagingThread: false }, async (runner) => {
        const inThread = await importFile(staff.token, csv);
        expect((await runner.reportOf(inThread.id)).staging).to.equal('load');
        expect(inThread.result).to.deep.equal(byLoad.result);
        expect(await stored(inThread.id)).to.deep.equal(loaded);
      });
      // and staged without ciphertexts, every accepted row encrypted afterwards by the fill pass
      await sql('DELETE FROM enrolments WHERE import_id = ?', [byLoad.id]);
      await sql('DELETE FROM beneficiaries WHERE import_id = ?', [byLoad.id]);
      await sql('DELETE FROM enrolments WHERE import_id IN (SELECT id FROM roll_imports WHERE id > ?)', [byInsert.id]);
      await sql('DELETE FROM beneficiaries WHERE import_id IN (SELECT id FROM roll_imports WHERE id > ?)', [byInsert.id]);
      await withRunner({ sealing: 'never' }, async (runner) => {
        const filled = await importFile(staff.token, csv);
        expect((await runner.reportOf(filled.id)).fill).to.deep.equal({ sealedWhileReading: false, filled: 4 });
        expect(filled.result).to.deep.equal(byLoad.result);
        expect(await stored(filled.id)).to.deep.equal(loaded);
      });
    });

    it('merges a first import on two connections (people, and enrolments in an XA branch) with the same roll as on one', async () => {
      const p = person();
      const rows = [p, walletPerson(), cashPerson(), female(), { ...p, programme_code: 'TCXH-KT', coefficient: '1,5' }];
      const csv = rollCsv(rows);
      const roll = async (id: string) => ({
        people: await sql(
          `SELECT national_id_hash, full_name, area_id, phone_hash FROM beneficiaries WHERE import_id = ? ORDER BY national_id_hash`,
          [id],
        ),
        enrolments: await sql(
          `SELECT b.national_id_hash, e.programme_id, e.coefficient_x100, e.channel, e.account_hash, e.wallet_hash, e.status
           FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE e.import_id = ? ORDER BY b.national_id_hash, e.programme_id`,
          [id],
        ),
      });
      const parallel = await importFile(staff.token, csv);
      expect(parallel.result).to.include({ beneficiariesCreated: 4, enrolmentsCreated: 5 });
      const stored = await roll(parallel.id);
      expect(stored.enrolments).to.have.length(5);
      expect(await ourBranches()).to.deep.equal([]);
      await sql('DELETE FROM enrolments WHERE import_id = ?', [parallel.id]);
      await sql('DELETE FROM beneficiaries WHERE import_id = ?', [parallel.id]);
      await withRunner({ parallelMerge: false }, async () => {
        const single = await importFile(staff.token, csv);
        expect(single.result).to.deep.equal(parallel.result);
        expect(await roll(single.id)).to.deep.equal(stored);
      });
    });

    it('merges the first import of an empty roll with bulk index builds: the same roll as row by row, then updated as usual', async () => {
      const { infra } = await testApp();
      // a roll of its own, empty (this test run's database holds other tests' people)
      const cfg = { ...infra.cfg, dbName: `${infra.cfg.dbName}_empty` };
      const drop = () => infra.ds.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
      await drop();
      const other = await openInfra('test-empty-roll', cfg);
      try {
        await seedDemo(other.ds, cfg);
        const runner = buildServices(other).rollImportRunner;
        let report: RollImportReport | null = null;
        const [{ id: by }] = await other.ds.query("SELECT id FROM users WHERE username = 'staff'");
        const run = async (csv: string) => {
          const res = await other.ds.query(
            "INSERT INTO roll_imports (file_name, format, file_sha256, file_size, status, uploaded_by, scope_area_id) VALUES ('roll.csv', 'csv', REPEAT('0', 64), 0, 'queued', ?, NULL)",
            [by],
          );
          const id = String(res.insertId);
          const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'bulk-')), 'roll.csv');
          await writeFile(file, csv);
          report = await runner.run(id, file);
          const [imp] = await other.ds.query('SELECT * FROM roll_imports WHERE id = ?', [id]);
          return imp;
        };
        const p = person();
        const rows = [
          p,
          walletPerson(),
          cashPerson(),
          female(),
          { ...p, programme_code: 'TCXH-KT', coefficient: '1,5' },
          person({ date_of_birth: '1950-02-30' }),
        ];
        const first = await run(rollCsv(rows));
        expect(report!.merge).to.equal('bulk');
        expect(first).to.include({ status: 'completed', rows_valid: 5, rows_invalid: 1, beneficiaries_created: 4, enrolments_created: 5 });
        const left = (await other.ds.query('XA RECOVER')).filter((x: any) => String(x.data).startsWith(`roll-import:${cfg.dbName}:`));
        expect(left, 'no branch left prepared').to.deep.equal([]);
        // the same file through the usual path (this run's database is not empty) stores the same roll
        await withRunner({}, async (usualRunner) => {
          const usual = await importFile(staff.token, rollCsv(rows));
          expect((await usualRunner.reportOf(usual.id)).merge).to.not.equal('bulk');
          const bulkRoll = await storedRoll(other.ds, String(first.id));
          expect(bulkRoll.people).to.have.length(4);
          expect(bulkRoll.enrolments).to.have.length(5);
          expect(bulkRoll).to.deep.equal(await storedRoll(infra.ds, usual.id));
        });
        // the roll is not empty any more: the next file updates it as usual, and unique keys hold again
        const second = await run(rollCsv([{ ...p, coefficient: '2' }, person()]));
        expect(report!.merge).to.equal('update');
        expect(second).to.include({ status: 'completed', beneficiaries_created: 1, enrolments_created: 1, enrolments_updated: 1 });
        const [stored] = await other.ds.query(
          'SELECT national_id_hash, national_id_enc, full_name, name_search, given_search, date_of_birth, gender, area_id FROM beneficiaries LIMIT 1',
        );
        let dup: unknown = null;
        await other.ds
          .query(
            "INSERT INTO beneficiaries (national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search, date_of_birth, gender, area_id) VALUES (?, ?, 'x', ?, ?, ?, ?, ?, ?)",
            [
              stored.national_id_hash,
              stored.national_id_enc,
              stored.full_name,
              stored.name_search,
              stored.given_search,
              stored.date_of_birth,
              stored.gender,
              stored.area_id,
            ],
          )
          .catch((e: unknown) => (dup = e));
        expect(String(dup)).to.match(/Duplicate entry/);
      } finally {
        await closeInfra(other);
        await drop();
      }
    });

    it('finishes a merge whose process stopped between its two commits when the job runs again', async () => {
      const rows = [person(), walletPerson(), cashPerson()];
      let stopped = 0;
      const afterDecision = async () => {
        if (stopped > 0) return;
        stopped += 1;
        // what another process sees meanwhile: people, the audit event, no enrolments, the import still running
        throw new Error('the worker stopped here');
      };
      await withRunner({ afterDecision }, async () => {
        const imp = await importFile(staff.token, rollCsv(rows), 'roll.csv');
        expect(stopped).to.equal(1);
        expect(imp.status).to.equal('completed');
        expect(imp.result).to.include({ beneficiariesCreated: 3, enrolmentsCreated: 3 });
        for (const r of rows) expect(await enrolment(r.national_id!, 'TCXH-NCT80')).to.include({ status: 'active' });
        expect(await ourBranches()).to.deep.equal([]);
      });
    });

    it('rolls back a branch left prepared by a merge that never reached its decision', async () => {
      const { infra, services } = await testApp();
      await sql('CREATE TABLE IF NOT EXISTS xa_probe (id INT PRIMARY KEY)');
      const [imp] = await sql("SELECT id FROM roll_imports WHERE status = 'completed' ORDER BY id DESC LIMIT 1");
      const [{ db }] = await sql('SELECT DATABASE() AS db');
      const xid = `roll-import:${db}:${Number(imp.id) + 100000}`;
      // a branch of the same import id in another database is not this database's to decide (XA ids are server-wide:
      // named after this run's database, so that two test runs on one server never meet)
      const other = `roll-import:elsewhere_${db}:${Number(imp.id) + 100000}`;
      for (const [x, row] of [
        [xid, 1],
        [other, 2],
      ] as const) {
        const q = infra.ds.createQueryRunner();
        await q.connect();
        await q.query(`XA START '${x}'`);
        await q.query('INSERT INTO xa_probe VALUES (?)', [row]);
        await q.query(`XA END '${x}'`);
        await q.query(`XA PREPARE '${x}'`);
        (q as any).databaseConnection.destroy(); // the process stopped: the branch stays prepared on the server
        await q.release().catch(() => undefined);
      }
      const prepared = async () => (await sql('XA RECOVER')).map((x: any) => String(x.data));
      expect(await prepared()).to.include.members([xid, other]);
      await services.rollImportRunner.recoverMerges();
      expect(await prepared()).not.to.include(xid);
      expect(await prepared()).to.include(other);
      await sql(`XA ROLLBACK '${other}'`);
      expect(await sql('SELECT * FROM xa_probe')).to.deep.equal([]);
      await sql('DROP TABLE xa_probe');
    });
  });

  describe('repeats far apart in a file (found while reading, checked exactly afterwards)', () => {
    /** 6,000 rows (three staging batches) with repeats thousands of rows apart; spreadsheet row = index + 2. */
    function fileWithRepeats() {
      const rows = Array.from({ length: 6000 }, () => person());
      rows[5990] = { ...rows[10]! }; // the same person and programme twice
      rows[4020] = { ...rows[20]!, programme_code: 'TCXH-KT', phone: '0911111111' }; // personal data differ
      rows[5100] = { ...rows[5100]!, account_number: rows[100]!.account_number }; // two people, one account
      rows[5500] = { ...rows[50]!, programme_code: 'TCXH-KT' }; // one person on two programmes: fine
      return rows;
    }
    const modes: { name: string; options: RollImportOptions }[] = [
      { name: 'LOAD DATA with the staging thread', options: {} },
      { name: 'LOAD DATA on the main thread', options: { stagingThread: false } },
      { name: 'INSERTs', options: { stagingMode: 'insert' } },
    ];
    it('writes candidates while reading when most people are on two programmes, and still finds the one duplicate', async () => {
      const first = Array.from({ length: 2500 }, () => person());
      const rows = [...first, ...first.map((r) => ({ ...r, programme_code: 'TCXH-KT' }))];
      rows[4999] = { ...first[10]! }; // person 10 on TCXH-NCT80 a second time; person 2,499 then only on TCXH-NCT80
      const { done, report } = await withRunner({}, async (runner) => {
        const imp = await importFile(staff.token, rollCsv(rows));
        return { done: imp, report: await runner.reportOf(imp.id) };
      });
      expect((await problemsOf(staff.token, done.id)).map((p) => [p.row, p.code])).to.deep.equal([
        [12, 'DUPLICATE_IN_FILE'],
        [5001, 'DUPLICATE_IN_FILE'],
      ]);
      expect(done.result).to.include({ beneficiariesCreated: 2500, enrolmentsCreated: 4998 });
      // every person and account is met twice: thousands of candidates, written in several batches while reading
      expect(report.repeats.candidates).to.be.at.least(4998);
      expect(report.repeats.rowsChecked).to.equal(4999); // all but person 2,499's one row
      const [p10] = await sql(
        `SELECT COUNT(*) AS enrolments, MIN(p.code) AS programme FROM enrolments e JOIN beneficiaries b ON b.id = e.beneficiary_id
         JOIN programmes p ON p.id = e.programme_id WHERE b.national_id_hash = ?`,
        [(await cipher()).lookupHash('nid', first[10]!.national_id!)],
      );
      expect([Number(p10.enrolments), p10.programme]).to.deep.equal([1, 'TCXH-KT']);
    });

    for (const mode of modes) {
      it(`reports them, staged by ${mode.name}`, async () => {
        const rows = fileWithRepeats();
        const done = await withRunner(mode.options, () => importFile(staff.token, rollCsv(rows)));
        const problems = (await problemsOf(staff.token, done.id)).map((p) => [p.row, p.code]);
        expect(problems).to.deep.equal([
          [12, 'DUPLICATE_IN_FILE'],
          [22, 'PERSON_DIFFERS_IN_FILE'],
          [102, 'SHARED_ACCOUNT'],
          [4022, 'PERSON_DIFFERS_IN_FILE'],
          [5102, 'SHARED_ACCOUNT'],
          [5992, 'DUPLICATE_IN_FILE'],
        ]);
        expect(done.progress).to.deep.equal({ rowsRead: 6000, rowsValid: 5994, rowsInvalid: 6 });
        expect(done.result).to.include({ beneficiariesCreated: 5993, enrolmentsCreated: 5994 });
        const [twice] = await sql(
          `SELECT COUNT(DISTINCT e.beneficiary_id) AS people, COUNT(*) AS enrolments FROM enrolments e
           JOIN beneficiaries b ON b.id = e.beneficiary_id WHERE b.national_id_hash = ?`,
          [(await cipher()).lookupHash('nid', rows[50]!.national_id!)],
        );
        expect([Number(twice.people), Number(twice.enrolments)]).to.deep.equal([1, 2]);
      });
    }
  });

  describe('a large import', () => {
    it('shows progress while it runs and ends with exact counts (30,000 rows)', async () => {
      const n = 30_000;
      const rows = Array.from({ length: n }, () => person());
      const up = await upload(staff.token, rollCsv(rows));
      expect(up.status).to.equal(202);
      const seen: { status: string; phase: string | null; rowsRead: number }[] = [];
      let final: any;
      const end = Date.now() + 45_000;
      for (;;) {
        const r = await call('GET', `/api/v1/roll-imports/${up.body.id}`, { token: staff.token });
        if (r.body.status === 'completed' || r.body.status === 'failed') {
          final = r.body;
          break;
        }
        seen.push({ status: r.body.status, phase: r.body.phase, rowsRead: r.body.progress.rowsRead });
        if (Date.now() > end) throw new Error('import did not finish');
        await new Promise((res) => setTimeout(res, 10));
      }
      const running = seen.filter((s) => s.status === 'running');
      expect(running.length, JSON.stringify(seen.slice(-5))).to.be.greaterThan(0);
      for (const s of running) expect(['reading', 'checking', 'merging']).to.include(s.phase);
      const partial = running.filter((s) => s.phase === 'reading' && s.rowsRead > 0 && s.rowsRead < n).map((s) => s.rowsRead);
      expect(partial.length, 'rows read visible while reading').to.be.greaterThan(0);
      expect(partial).to.deep.equal([...partial].sort((a, b) => a - b));
      expect(final.status).to.equal('completed');
      expect(final.phase).to.equal(null);
      expect(final.progress).to.deep.equal({ rowsRead: n, rowsValid: n, rowsInvalid: 0 });
      expect(final.result).to.deep.equal({
        beneficiariesCreated: n,
        enrolmentsCreated: n,
        enrolmentsUpdated: 0,
        enrolmentsUnchanged: 0,
        nameMismatches: 0,
      });
      expect(await writtenBy(final.id)).to.deep.equal({ beneficiaries: n, enrolments: n, history: 0 });
    });
  });

  after(async () => {
    const { infra } = await testApp();
    const left = (await readdir(infra.cfg.importDir)).filter((f) => f.endsWith('.part'));
    expect(left, 'no upload left half-written').to.deep.equal([]);
  });
});

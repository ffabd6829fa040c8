import { randomInt } from 'node:crypto';
import { expect } from 'chai';
import { parsePeriod } from '../../src/platform/period';
import { testApp } from './app';
import { areaId, freshTotp, makeUser, uniq, type TestUser } from './factories';
import { call, get, post } from './http';

/** A programme of its own for a test (so that no other test's batch overlaps it), with base levels `[YYYY-MM, amount]`. */
export async function makeProgramme(
  levels: [string, number][] = [
    ['2021-07', 360_000],
    ['2024-07', 500_000],
  ],
  frequency: 'monthly' | 'one_off' = 'monthly',
): Promise<{ id: number; code: string }> {
  const { infra } = await testApp();
  const code = uniq('P').toUpperCase().slice(0, 32);
  const res = (await infra.ds.query('INSERT INTO programmes (code, name, frequency) VALUES (?, ?, ?)', [
    code,
    `Chương trình ${code}`,
    frequency,
  ])) as {
    insertId: number;
  };
  for (const [from, amount] of levels) {
    await infra.ds.query('INSERT INTO programme_base_levels (programme_id, effective_from, amount) VALUES (?, ?, ?)', [
      res.insertId,
      parsePeriod(from),
      amount,
    ]);
  }
  return { id: res.insertId, code };
}

export interface Enrol {
  area?: string;
  coefficientX100?: number;
  start?: string;
  end?: string | null;
  status?: 'active' | 'suspended' | 'ended';
  channel?: 'BANK' | 'WALLET' | 'CASH';
  bankBin?: string;
  /** account number or wallet id; ends in 0000: the sandbox says NOT_FOUND, 9999: CLOSED */
  account?: string;
  fullName?: string;
  accountName?: string;
  nameMismatch?: boolean;
  walletProvider?: string;
}

/** A person enrolled in a programme, written straight to the roll tables (encrypted as the import writes them). */
export async function enrol(programmeId: number, o: Enrol = {}): Promise<{ beneficiaryId: string; enrolmentId: string; account: string }> {
  const { infra, services } = await testApp();
  const c = services.cipher;
  const nid = `001${randomInt(0, 2) === 0 ? '0' : '1'}${String(randomInt(10, 99))}${String(randomInt(0, 999_999)).padStart(6, '0')}`;
  const fullName = o.fullName ?? 'Nguyễn Văn An';
  const b = (await infra.ds.query(
    `INSERT INTO beneficiaries (national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search, date_of_birth, gender, area_id)
     VALUES (?, ?, ?, ?, ?, ?, '1940-03-15', 'M', ?)`,
    [
      c.lookupHash('nid', `${nid}:${uniq('n')}`),
      c.encrypt(nid, 'nid'),
      `${nid.slice(0, 4)}******${nid.slice(10)}`,
      fullName,
      'nguyen van an',
      'an nguyen van',
      await areaId(o.area ?? '00001'),
    ],
  )) as { insertId: string };
  const channel = o.channel ?? 'BANK';
  const account = o.account ?? `10${String(randomInt(0, 99_999_999)).padStart(8, '0')}1`;
  const bank = channel === 'BANK';
  const wallet = channel === 'WALLET';
  const e = (await infra.ds.query(
    `INSERT INTO enrolments (beneficiary_id, programme_id, coefficient_x100, start_period, end_period, status, channel,
       bank_bin, account_hash, account_enc, account_masked, account_name, wallet_provider, wallet_hash, wallet_enc, wallet_masked, name_mismatch)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      b.insertId,
      programmeId,
      o.coefficientX100 ?? 150,
      parsePeriod(o.start ?? '2024-01'),
      o.end ? parsePeriod(o.end) : null,
      o.status ?? 'active',
      channel,
      bank ? (o.bankBin ?? '970436') : null,
      bank ? c.lookupHash('account', `${o.bankBin ?? '970436'}:${account}`) : null,
      bank ? c.encrypt(account, 'account') : null,
      bank ? `${account.slice(0, 2)}****${account.slice(-2)}` : null,
      channel === 'CASH' ? null : (o.accountName ?? 'NGUYEN VAN AN'),
      wallet ? (o.walletProvider ?? 'MOMO') : null,
      wallet ? c.lookupHash('wallet', `${o.walletProvider ?? 'MOMO'}:${account}`) : null,
      wallet ? c.encrypt(account, 'wallet') : null,
      wallet ? `${account.slice(0, 2)}****${account.slice(-2)}` : null,
      o.nameMismatch ? 1 : 0,
    ],
  )) as { insertId: string };
  return { beneficiaryId: String(b.insertId), enrolmentId: String(e.insertId), account };
}

export interface Crew {
  staff: TestUser;
  staff2: TestUser;
  approver: TestUser;
  auditor: TestUser;
}

/** Staff for the whole province, an approver for the province, an auditor. */
export async function crew(): Promise<Crew> {
  return {
    staff: await makeUser(['staff']),
    staff2: await makeUser(['staff']),
    approver: await makeUser(['approver']),
    auditor: await makeUser(['auditor']),
  };
}

/** Creates a batch (201 expected) and waits until its account check has finished. */
export async function createBatch(token: string, body: Record<string, unknown>): Promise<any> {
  const r = await post('/batches', body, token);
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
  return waitForCheck(token, r.body.id);
}

export async function waitForCheck(token: string, id: string, timeoutMs = 20_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(`/batches/${id}`, token);
    if (!['pending', 'running'].includes(r.body.accountCheck?.status)) return r.body;
    if (Date.now() > end) throw new Error(`batch ${id} account check still ${r.body.accountCheck?.status}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function waitForStatus(token: string, id: string, status: string, timeoutMs = 20_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(`/batches/${id}`, token);
    if (r.body.status === status) return r.body;
    if (Date.now() > end) throw new Error(`batch ${id} is ${r.body.status}, not ${status}, after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export async function allItems(token: string, id: string, query = ''): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const r: { status: number; body: any } = await get(`/batches/${id}/items?limit=200${query}${cursor ? `&cursor=${cursor}` : ''}`, token);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    out.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
}

/** Submit (staff), approve (approver) with the batch's own totals and a fresh code. */
export async function approveBatch(c: Pick<Crew, 'staff' | 'approver'>, id: string): Promise<any> {
  const s = await post(`/batches/${id}/submit`, {}, c.staff.token);
  expect(s.status, JSON.stringify(s.body)).to.equal(200);
  const a = await post(
    `/batches/${id}/approve`,
    { itemCount: s.body.itemCount, totalAmount: s.body.totalAmount, totp: await freshTotp(c.approver) },
    c.approver.token,
  );
  expect(a.status, JSON.stringify(a.body)).to.equal(200);
  return a.body;
}

export { call };

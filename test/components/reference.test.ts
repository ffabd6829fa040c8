import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { auditCount, makeUser, type TestUser } from '../helpers/factories';
import { call, get, patch, post, type Reply } from '../helpers/http';

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { infra } = await testApp();
  return (await infra.ds.query(sql, params)) as T[];
}

async function dbBank(bin: string) {
  const [row] = await query<{ bin: string; short_name: string; name: string; active: number }>(
    'SELECT bin, short_name, name, active FROM banks WHERE bin = ?',
    [bin],
  );
  return row;
}

async function dbWallet(code: string) {
  const [row] = await query<{ code: string; name: string; kind: string; monthly_cap: string | null; active: number }>(
    'SELECT code, name, kind, monthly_cap, active FROM wallet_providers WHERE code = ?',
    [code],
  );
  return row;
}

async function counts(): Promise<{ banks: number; wallets: number; audits: number }> {
  const [row] = await query<{ b: string; w: string }>(
    'SELECT (SELECT COUNT(*) FROM banks) AS b, (SELECT COUNT(*) FROM wallet_providers) AS w',
  );
  return { banks: Number(row!.b), wallets: Number(row!.w), audits: await auditCount('bank', 'wallet_provider') };
}

async function auditOfRequest(
  r: Reply,
): Promise<{ action: string; entity_type: string; entity_id: string; actor_user_id: number; summary: any }> {
  const rid = r.headers.get('x-request-id');
  const rows = await query<any>('SELECT * FROM audit_events WHERE request_id = ?', [rid]);
  expect(rows, `audit events of request ${rid}`).to.have.length(1);
  return { ...rows[0], summary: JSON.parse(rows[0].summary) };
}

function expectError(r: Reply, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  expect(r.body.error.code, JSON.stringify(r.body)).to.equal(code);
  expect(r.body.error.requestId).to.equal(r.headers.get('x-request-id'));
}

function expectInvalid(r: Reply, location: string, path: string): void {
  expectError(r, 400, 'VALIDATION_FAILED');
  const fields = (r.body.error.details as { location: string; path: string }[]).map((d) => `${d.location}.${d.path}`);
  expect(fields, JSON.stringify(r.body)).to.include(`${location}.${path}`);
}

let seq = 0;
/** A BIN no other test uses: 6 digits starting 1 (real NAPAS BINs start 97). */
function newBin(): string {
  seq += 1;
  return `1${String((process.pid * 37 + seq) % 100000).padStart(5, '0')}`;
}

/**
 * A wallet code no other test uses, as stored: letters only, since audit
 * summaries mask any run of 6 digits and a process id can be that long.
 */
function newWalletCode(): string {
  seq += 1;
  return `TW${process.pid}X${seq}`.replace(/\d/g, (d) => 'ABCDEFGHIJ'[Number(d)]!);
}

describe('reference component: banks and wallet providers', () => {
  let admin: TestUser;
  let staff: TestUser;
  let approver: TestUser;
  let auditor: TestUser;

  before(async () => {
    admin = await makeUser(['admin'], { area: null });
    staff = await makeUser(['staff']);
    approver = await makeUser(['approver']);
    auditor = await makeUser(['auditor'], { area: null });
  });

  describe('GET /api/v1/banks', () => {
    it('lists every bank in one reply, ordered by short name, the NAPAS list included', async () => {
      const r = await get('/banks', staff.token);
      expect(r.status).to.equal(200);
      expect(Object.keys(r.body)).to.deep.equal(['items']);
      // the database's collation decides the order (case- and accent-insensitive), not JavaScript's code points
      const all = await query<{ bin: string }>('SELECT bin FROM banks ORDER BY short_name, bin');
      expect(r.body.items.map((b: { bin: string }) => b.bin)).to.deep.equal(all.map((b) => b.bin));
      const napas = r.body.items.filter((b: { bin: string }) => b.bin.startsWith('970')).map((b: { shortName: string }) => b.shortName);
      expect(napas).to.deep.equal(['ACB', 'Agribank', 'BIDV', 'MB', 'Techcombank', 'Vietcombank', 'VietinBank']);
      expect(r.body.items).to.deep.include({
        bin: '970436',
        shortName: 'Vietcombank',
        name: 'Ngân hàng TMCP Ngoại thương Việt Nam',
        active: true,
      });
      expect(r.body.items.map((b: { bin: string }) => b.bin)).to.include.members([
        '970415',
        '970418',
        '970405',
        '970422',
        '970416',
        '970407',
      ]);
    });

    it('filters by active', async () => {
      const bin = newBin();
      expect((await post('/banks', { bin, shortName: 'Đóng', name: 'Ngân hàng đã đóng', active: false }, admin.token)).status).to.equal(
        201,
      );
      const inactive = await get('/banks?active=false', auditor.token);
      expect(inactive.body.items.map((b: { bin: string }) => b.bin)).to.include(bin);
      for (const b of inactive.body.items) expect(b.active).to.equal(false);
      const active = await get('/banks?active=true', approver.token);
      expect(active.body.items.map((b: { bin: string }) => b.bin)).to.not.include(bin);
      expectInvalid(await get('/banks?active=1', staff.token), 'query', 'active');
      expectInvalid(await get('/banks?limit=10', staff.token), 'query', '');
    });
  });

  describe('POST /api/v1/banks', () => {
    it('adds a bank, stores names in NFC, and audits it without the BIN being masked away', async () => {
      const bin = newBin();
      const r = await post('/banks', { bin, shortName: ' Bank X ', name: 'Ngân hàng Thử nghiệm'.normalize('NFD') }, admin.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.equal({ bin, shortName: 'Bank X', name: 'Ngân hàng Thử nghiệm', active: true });
      expect(await dbBank(bin)).to.deep.equal({ bin, short_name: 'Bank X', name: 'Ngân hàng Thử nghiệm', active: 1 });
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({ action: 'bank.create', entity_type: 'bank', entity_id: bin, actor_user_id: admin.id });
      expect(ev.summary).to.deep.equal({ before: null, after: { shortName: 'Bank X', bankName: 'Ngân hàng Thử nghiệm', active: true } });
    });

    it('refuses a BIN already in the list with 409 BANK_EXISTS, writing nothing', async () => {
      const before = await counts();
      expectError(await post('/banks', { bin: '970436', shortName: 'Trùng', name: 'Trùng BIN' }, admin.token), 409, 'BANK_EXISTS');
      expect(await counts()).to.deep.equal(before);
      expect(await dbBank('970436')).to.deep.include({ short_name: 'Vietcombank' });
    });

    it('refuses bad bodies with 400 naming the field, writing nothing', async () => {
      const before = await counts();
      const ok = { bin: newBin(), shortName: 'Tên ngắn', name: 'Tên đầy đủ' };
      for (const [body, field] of [
        [{ ...ok, bin: '97043' }, 'bin'],
        [{ ...ok, bin: '9704360' }, 'bin'],
        [{ ...ok, bin: '97043a' }, 'bin'],
        [{ ...ok, bin: 970436 }, 'bin'],
        [{ ...ok, bin: undefined }, 'bin'],
        [{ ...ok, shortName: '' }, 'shortName'],
        [{ ...ok, shortName: 'x'.repeat(41) }, 'shortName'],
        [{ ...ok, name: ' ' }, 'name'],
        [{ ...ok, name: 'x'.repeat(201) }, 'name'],
        [{ ...ok, name: undefined }, 'name'],
        [{ ...ok, active: 'no' }, 'active'],
        [{ ...ok, swift: 'BFTVVNVX' }, ''],
      ] as [Record<string, unknown>, string][])
        expectInvalid(await post('/banks', body, admin.token), 'body', field);
      expect(await dbBank(ok.bin)).to.equal(undefined);
      expect(await counts()).to.deep.equal(before);
    });
  });

  describe('PATCH /api/v1/banks/:bin', () => {
    it('renames and deactivates a bank, and audits before and after', async () => {
      const bin = newBin();
      await post('/banks', { bin, shortName: 'Cũ', name: 'Tên cũ' }, admin.token);
      const r = await patch(`/banks/${bin}`, { shortName: 'Mới', name: 'Tên mới', active: false }, admin.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.deep.equal({ bin, shortName: 'Mới', name: 'Tên mới', active: false });
      expect(await dbBank(bin)).to.deep.equal({ bin, short_name: 'Mới', name: 'Tên mới', active: 0 });
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({ action: 'bank.update', entity_type: 'bank', entity_id: bin, actor_user_id: admin.id });
      expect(ev.summary).to.deep.equal({
        before: { shortName: 'Cũ', bankName: 'Tên cũ', active: true },
        after: { shortName: 'Mới', bankName: 'Tên mới', active: false },
      });
      const back = await patch(`/banks/${bin}`, { active: true }, admin.token);
      expect(back.body).to.deep.equal({ bin, shortName: 'Mới', name: 'Tên mới', active: true });
    });

    it('answers an unknown BIN with 404 BANK_NOT_FOUND, writing nothing', async () => {
      const before = await counts();
      expectError(await patch('/banks/000000', { active: false }, admin.token), 404, 'BANK_NOT_FOUND');
      expect(await counts()).to.deep.equal(before);
    });

    it('refuses bad bodies and BINs with 400 naming the field, changing nothing', async () => {
      const before = await counts();
      expectInvalid(await patch('/banks/970436', {}, admin.token), 'body', '');
      expectInvalid(await patch('/banks/970436', { bin: '970437' }, admin.token), 'body', '');
      expectInvalid(await patch('/banks/970436', { shortName: '' }, admin.token), 'body', 'shortName');
      expectInvalid(await patch('/banks/970436', { active: null }, admin.token), 'body', 'active');
      expectInvalid(await patch('/banks/97043', { active: false }, admin.token), 'params', 'bin');
      expectInvalid(await patch('/banks/vcb', { active: false }, admin.token), 'params', 'bin');
      expect(await counts()).to.deep.equal(before);
      expect(await dbBank('970436')).to.deep.include({ short_name: 'Vietcombank', active: 1 });
    });
  });

  describe('GET /api/v1/wallet-providers', () => {
    it('lists every provider in one reply, ordered by code, with Mobile Money capped at 10 million đồng', async () => {
      const r = await get('/wallet-providers', approver.token);
      expect(r.status).to.equal(200);
      expect(Object.keys(r.body)).to.deep.equal(['items']);
      const all = await query<{ code: string }>('SELECT code FROM wallet_providers ORDER BY code');
      expect(r.body.items.map((w: { code: string }) => w.code)).to.deep.equal(all.map((w) => w.code));
      expect(r.body.items).to.deep.include({
        code: 'VIETTELMONEY',
        name: 'Viettel Money',
        kind: 'mobile_money',
        monthlyCap: 10000000,
        active: true,
      });
      expect(r.body.items).to.deep.include({ code: 'MOMO', name: 'MoMo', kind: 'ewallet', monthlyCap: null, active: true });
    });

    it('filters by active', async () => {
      const code = newWalletCode();
      await post('/wallet-providers', { code, name: 'Tắt', kind: 'ewallet', monthlyCap: null, active: false }, admin.token);
      const inactive = await get('/wallet-providers?active=false', staff.token);
      expect(inactive.body.items.map((w: { code: string }) => w.code)).to.include(code);
      for (const w of inactive.body.items) expect(w.active).to.equal(false);
      const active = await get('/wallet-providers?active=true', staff.token);
      expect(active.body.items.map((w: { code: string }) => w.code)).to.not.include(code);
    });
  });

  describe('POST /api/v1/wallet-providers', () => {
    it('adds a provider, upper-cases the code, and audits it', async () => {
      const code = newWalletCode();
      const r = await post(
        '/wallet-providers',
        { code: code.toLowerCase(), name: 'Ví Thử', kind: 'mobile_money', monthlyCap: 10000000 },
        admin.token,
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.equal({ code, name: 'Ví Thử', kind: 'mobile_money', monthlyCap: 10000000, active: true });
      expect(await dbWallet(code)).to.deep.equal({ code, name: 'Ví Thử', kind: 'mobile_money', monthly_cap: '10000000', active: 1 });
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({
        action: 'wallet_provider.create',
        entity_type: 'wallet_provider',
        entity_id: code,
        actor_user_id: admin.id,
      });
      expect(ev.summary).to.deep.equal({
        before: null,
        after: { code, providerName: 'Ví Thử', kind: 'mobile_money', monthlyCap: 10000000, active: true },
      });
    });

    it('adds an e-wallet with no cap', async () => {
      const code = newWalletCode();
      const r = await post('/wallet-providers', { code, name: 'Ví không giới hạn', kind: 'ewallet', monthlyCap: null }, admin.token);
      expect(r.status).to.equal(201);
      expect(await dbWallet(code)).to.deep.include({ monthly_cap: null, kind: 'ewallet' });
    });

    it('refuses a code already in the list, in any case, with 409 WALLET_PROVIDER_EXISTS, writing nothing', async () => {
      const before = await counts();
      expectError(
        await post('/wallet-providers', { code: 'momo', name: 'Trùng', kind: 'ewallet', monthlyCap: null }, admin.token),
        409,
        'WALLET_PROVIDER_EXISTS',
      );
      expect(await counts()).to.deep.equal(before);
      expect(await dbWallet('MOMO')).to.deep.include({ name: 'MoMo' });
    });

    it('refuses bad bodies with 400 naming the field, writing nothing', async () => {
      const before = await counts();
      const ok = { code: newWalletCode(), name: 'Ví', kind: 'ewallet', monthlyCap: null };
      for (const [body, field] of [
        [{ ...ok, code: 'A' }, 'code'],
        [{ ...ok, code: 'A'.repeat(21) }, 'code'],
        [{ ...ok, code: 'VI-1' }, 'code'],
        [{ ...ok, code: 'VÍ1' }, 'code'],
        [{ ...ok, code: undefined }, 'code'],
        [{ ...ok, name: '' }, 'name'],
        [{ ...ok, name: 'x'.repeat(201) }, 'name'],
        [{ ...ok, kind: 'bank' }, 'kind'],
        [{ ...ok, kind: undefined }, 'kind'],
        [{ ...ok, monthlyCap: undefined }, 'monthlyCap'],
        [{ ...ok, monthlyCap: 0 }, 'monthlyCap'],
        [{ ...ok, monthlyCap: -1 }, 'monthlyCap'],
        [{ ...ok, monthlyCap: 1000.5 }, 'monthlyCap'],
        [{ ...ok, monthlyCap: '10000000' }, 'monthlyCap'],
        [{ ...ok, monthlyCap: 1_000_000_001 }, 'monthlyCap'],
        [{ ...ok, active: 0 }, 'active'],
        [{ ...ok, url: 'https://x' }, ''],
      ] as [Record<string, unknown>, string][])
        expectInvalid(await post('/wallet-providers', body, admin.token), 'body', field);
      expect(await dbWallet(ok.code)).to.equal(undefined);
      expect(await counts()).to.deep.equal(before);
    });
  });

  describe('PATCH /api/v1/wallet-providers/:code', () => {
    it('changes the name, kind, cap and active flag, and audits before and after', async () => {
      const code = newWalletCode();
      await post('/wallet-providers', { code, name: 'Cũ', kind: 'ewallet', monthlyCap: null }, admin.token);
      const r = await patch(
        `/wallet-providers/${code.toLowerCase()}`,
        { name: 'Mới', kind: 'mobile_money', monthlyCap: 10000000, active: false },
        admin.token,
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.deep.equal({ code, name: 'Mới', kind: 'mobile_money', monthlyCap: 10000000, active: false });
      expect(await dbWallet(code)).to.deep.equal({ code, name: 'Mới', kind: 'mobile_money', monthly_cap: '10000000', active: 0 });
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({ action: 'wallet_provider.update', entity_id: code, actor_user_id: admin.id });
      expect(ev.summary).to.deep.equal({
        before: { code, providerName: 'Cũ', kind: 'ewallet', monthlyCap: null, active: true },
        after: { code, providerName: 'Mới', kind: 'mobile_money', monthlyCap: 10000000, active: false },
      });
    });

    it('removes a cap with monthlyCap null and leaves it alone when monthlyCap is not sent', async () => {
      const code = newWalletCode();
      await post('/wallet-providers', { code, name: 'Có trần', kind: 'mobile_money', monthlyCap: 5000000 }, admin.token);
      const renamed = await patch(`/wallet-providers/${code}`, { name: 'Đổi tên' }, admin.token);
      expect(renamed.body.monthlyCap).to.equal(5000000);
      const uncapped = await patch(`/wallet-providers/${code}`, { monthlyCap: null }, admin.token);
      expect(uncapped.body.monthlyCap).to.equal(null);
      expect(await dbWallet(code)).to.deep.include({ monthly_cap: null, name: 'Đổi tên' });
    });

    it('answers an unknown code with 404 WALLET_PROVIDER_NOT_FOUND, writing nothing', async () => {
      const before = await counts();
      expectError(await patch('/wallet-providers/NOSUCHWALLET', { active: false }, admin.token), 404, 'WALLET_PROVIDER_NOT_FOUND');
      expect(await counts()).to.deep.equal(before);
    });

    it('refuses bad bodies and codes with 400 naming the field, changing nothing', async () => {
      const before = await counts();
      expectInvalid(await patch('/wallet-providers/MOMO', {}, admin.token), 'body', '');
      expectInvalid(await patch('/wallet-providers/MOMO', { code: 'MOMO2' }, admin.token), 'body', '');
      expectInvalid(await patch('/wallet-providers/MOMO', { kind: 'cash' }, admin.token), 'body', 'kind');
      expectInvalid(await patch('/wallet-providers/MOMO', { monthlyCap: 0 }, admin.token), 'body', 'monthlyCap');
      expectInvalid(await patch('/wallet-providers/M-O', { active: false }, admin.token), 'params', 'code');
      expect(await counts()).to.deep.equal(before);
      expect(await dbWallet('MOMO')).to.deep.include({ kind: 'ewallet', monthly_cap: null, active: 1 });
    });
  });

  describe('roles', () => {
    for (const role of ['staff', 'approver', 'auditor'] as const) {
      it(`refuses ${role === 'staff' ? 'a' : 'an'} ${role} changing banks or wallet providers with 403 ROLE_REQUIRED, writing nothing`, async () => {
        const user = { staff, approver, auditor }[role];
        const before = await counts();
        const bin = newBin();
        const code = newWalletCode();
        expectError(await post('/banks', { bin, shortName: 'X', name: 'X' }, user.token), 403, 'ROLE_REQUIRED');
        expectError(await patch('/banks/970436', { active: false }, user.token), 403, 'ROLE_REQUIRED');
        expectError(
          await post('/wallet-providers', { code, name: 'X', kind: 'ewallet', monthlyCap: null }, user.token),
          403,
          'ROLE_REQUIRED',
        );
        expectError(await patch('/wallet-providers/MOMO', { active: false }, user.token), 403, 'ROLE_REQUIRED');
        expect(await dbBank(bin)).to.equal(undefined);
        expect(await dbWallet(code)).to.equal(undefined);
        expect(await dbBank('970436')).to.deep.include({ active: 1 });
        expect(await dbWallet('MOMO')).to.deep.include({ active: 1 });
        expect(await counts()).to.deep.equal(before);
        expect((await get('/banks', user.token)).status).to.equal(200);
        expect((await get('/wallet-providers', user.token)).status).to.equal(200);
      });
    }
  });

  describe('authentication', () => {
    it('refuses every endpoint without a token with 401 TOKEN_MISSING, writing nothing', async () => {
      const before = await counts();
      for (const [method, path, body] of [
        ['GET', '/api/v1/banks', undefined],
        ['POST', '/api/v1/banks', { bin: newBin(), shortName: 'X', name: 'X' }],
        ['PATCH', '/api/v1/banks/970436', { active: false }],
        ['GET', '/api/v1/wallet-providers', undefined],
        ['POST', '/api/v1/wallet-providers', { code: newWalletCode(), name: 'X', kind: 'ewallet', monthlyCap: null }],
        ['PATCH', '/api/v1/wallet-providers/MOMO', { active: false }],
      ] as [string, string, unknown][]) {
        expectError(await call(method, path, body === undefined ? {} : { body }), 401, 'TOKEN_MISSING');
      }
      expect(await counts()).to.deep.equal(before);
    });
  });

  describe('OpenAPI document', () => {
    it('says that the two lists are not paginated and that writing needs the admin role', async () => {
      const r = await call('GET', '/api/v1/openapi.json');
      const paths = r.body.paths as Record<string, Record<string, any>>;
      for (const p of ['/api/v1/banks', '/api/v1/wallet-providers']) {
        expect(paths[p]!.get.description, p).to.match(/not paginated/);
        expect(paths[p]!.post['x-roles'], p).to.deep.equal(['admin']);
      }
      expect(paths['/api/v1/banks/{bin}']!.patch['x-roles']).to.deep.equal(['admin']);
      expect(paths['/api/v1/wallet-providers/{code}']!.patch['x-roles']).to.deep.equal(['admin']);
    });
  });
});

import { expect } from 'chai';
import nock from 'nock';
import { HttpProviderAdapter, routedProviderIdSql } from '../../src/components/providers';
import { AppError } from '../../src/platform/errors';
import { SYSTEM_ACTOR } from '../../src/platform/security';
import { testApp } from '../helpers/app';
import { auditCount, makeUser, type TestUser } from '../helpers/factories';
import { call, del, get, patch, post, type Reply } from '../helpers/http';
import { freePort } from '../helpers/ports';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { infra } = await testApp();
  return (await infra.ds.query(sql, params)) as T[];
}

function expectError(r: Reply, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  expect(r.body.error.code, JSON.stringify(r.body)).to.equal(code);
}

async function auditsOfRequest(r: Reply): Promise<{ action: string; entity_type: string; entity_id: string; summary: any; raw: string }[]> {
  const rows = await query<any>('SELECT * FROM audit_events WHERE request_id = ? ORDER BY id', [r.headers.get('x-request-id')]);
  return rows.map((row) => ({ ...row, summary: JSON.parse(row.summary), raw: JSON.stringify(row) }));
}

const put = (path: string, body: unknown, token: string) => call('PUT', `/api/v1${path}`, { token, body });

let seq = 0;
/** A provider name no other test run uses. */
function newName(prefix = 'tp'): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}`;
}

const SECRET_A = 'provider-secret-AAAA-0123456789';
const SECRET_B = 'provider-secret-BBBB-9876543210';

describe('providers component: providers as data, the routing rule and adapters', () => {
  let admin: TestUser;
  let auditor: TestUser;
  let staff: TestUser;
  let approver: TestUser;
  /** routes this file made, removed at the end: the routing rule is shared by every test */
  const madeRoutes: [string, string][] = [];

  before(async () => {
    admin = await makeUser(['admin'], { area: null });
    auditor = await makeUser(['auditor'], { area: null });
    staff = await makeUser(['staff']);
    approver = await makeUser(['approver']);
  });

  after(async () => {
    for (const [channel, code] of madeRoutes)
      await query('DELETE FROM provider_routes WHERE channel = ? AND match_code = ?', [channel, code]);
  });

  async function createHttp(over: Record<string, unknown> = {}): Promise<Reply> {
    return post(
      '/providers',
      { name: newName(), kind: 'http', baseUrl: 'https://gw.example.vn/partner/', clientId: 'welfare-01', secret: SECRET_A, ...over },
      admin.token,
    );
  }

  describe('the seeded providers and routes', () => {
    it('lists the sandbox and the cash pay points, with the config standing in for the sandbox connection', async () => {
      const r = await get('/providers', admin.token);
      expect(r.status).to.equal(200);
      const byName = new Map((r.body.items as any[]).map((p) => [p.name, p]));
      expect(byName.get('sandbox')).to.deep.include({
        kind: 'sandbox',
        baseUrl: null,
        clientId: null,
        secretSet: false,
        timeoutMs: 10000,
        concurrency: 50,
        rateLimitPerSecond: null,
        paused: false,
        active: true,
      });
      expect(byName.get('cash-paypoints')).to.deep.include({ kind: 'file', baseUrl: null, secretSet: false, active: true });
    });

    it('routes bank and wallet to the sandbox and cash to the pay points', async () => {
      const r = await get('/providers/routes', auditor.token);
      expect(r.status).to.equal(200);
      const any = (r.body.items as any[]).filter((x) => x.matchCode === '*').map((x) => `${x.channel}:${x.providerName}`);
      expect(any).to.have.members(['BANK:sandbox', 'CASH:cash-paypoints', 'WALLET:sandbox']);
    });
  });

  describe('POST /api/v1/providers', () => {
    it('creates an http provider, keeps the secret encrypted, never returns it, and audits the creation without it', async () => {
      const auditsBefore = await auditCount();
      const name = newName();
      const r = await createHttp({ name, timeoutMs: 5000, rateLimitPerSecond: 200, concurrency: 20 });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.include({
        name,
        kind: 'http',
        baseUrl: 'https://gw.example.vn/partner',
        clientId: 'welfare-01',
        secretSet: true,
        timeoutMs: 5000,
        rateLimitPerSecond: 200,
        concurrency: 20,
        paused: false,
        active: true,
      });
      expect(r.body).to.not.have.property('secret');
      expect(r.text).to.not.include(SECRET_A);

      const [row] = await query<{ id: number; secret_enc: Buffer; created_by: number }>(
        'SELECT id, secret_enc, created_by FROM providers WHERE name = ?',
        [name],
      );
      expect(row!.created_by).to.equal(admin.id);
      expect(row!.secret_enc.toString('latin1')).to.not.include(SECRET_A);
      const { services } = await testApp();
      expect(services.cipher.decrypt(row!.secret_enc, `provider:${row!.id}`)).to.equal(SECRET_A);

      expect(await auditCount()).to.equal(auditsBefore + 1);
      const [event] = await auditsOfRequest(r);
      expect(event).to.deep.include({ action: 'provider.create', entity_type: 'provider', entity_id: String(row!.id) });
      expect(event!.summary.after).to.deep.include({ providerName: name, kind: 'http', secretSet: true });
      expect(event!.raw).to.not.include(SECRET_A);

      expect((await get(`/providers/${row!.id}`, auditor.token)).text).to.not.include(SECRET_A);
    });

    it('refuses incomplete or contradictory connections with 400, writing nothing', async () => {
      const before = await auditCount();
      const incomplete = await createHttp({ secret: undefined });
      expectError(incomplete, 400, 'PROVIDER_INCOMPLETE');
      expect(incomplete.body.error.details).to.deep.equal({ missing: ['secret'] });
      expectError(await createHttp({ baseUrl: null, clientId: null }), 400, 'PROVIDER_INCOMPLETE');
      expectError(
        await post('/providers', { name: newName(), kind: 'file', baseUrl: 'https://x.example' }, admin.token),
        400,
        'PROVIDER_FIELD_NOT_FOR_KIND',
      );
      expectError(await createHttp({ baseUrl: 'https://u:p@gw.example.vn' }), 400, 'INVALID_BASE_URL');
      expectError(await createHttp({ baseUrl: 'https://gw.example.vn/?x=1' }), 400, 'INVALID_BASE_URL');
      for (const body of [
        { kind: 'http' },
        { name: 'Upper-Case', kind: 'file' },
        { name: newName(), kind: 'ftp' },
        { name: newName(), kind: 'file', timeoutMs: 10 },
        { name: newName(), kind: 'file', concurrency: 0 },
        { name: newName(), kind: 'sandbox', secret: 'short' },
        { name: newName(), kind: 'sandbox', baseUrl: 'ftp://x.example' },
        { name: newName(), kind: 'file', extra: 1 },
      ]) {
        expectError(await post('/providers', body, admin.token), 400, 'VALIDATION_FAILED');
      }
      expect(await auditCount()).to.equal(before);
    });

    it('refuses a name that is taken with 409 PROVIDER_NAME_TAKEN', async () => {
      expectError(await post('/providers', { name: 'sandbox', kind: 'sandbox' }, admin.token), 409, 'PROVIDER_NAME_TAKEN');
    });

    it('creates once for a replayed Idempotency-Key', async () => {
      const name = newName();
      const headers = { 'idempotency-key': `prov-${name}` };
      const body = { name, kind: 'file' };
      const first = await call('POST', '/api/v1/providers', { token: admin.token, body, headers });
      const again = await call('POST', '/api/v1/providers', { token: admin.token, body, headers });
      expect(first.status).to.equal(201);
      expect(again.status).to.equal(201);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(again.body.id).to.equal(first.body.id);
      expect(await query('SELECT id FROM providers WHERE name = ?', [name])).to.have.length(1);
    });
  });

  describe('PATCH /api/v1/providers/:id', () => {
    it('replaces the secret and limits, audits before and after with secretChanged, and never shows the secret', async () => {
      const created = (await createHttp()).body;
      const r = await patch(`/providers/${created.id}`, { secret: SECRET_B, timeoutMs: 3000, rateLimitPerSecond: null }, admin.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.deep.include({ secretSet: true, timeoutMs: 3000, rateLimitPerSecond: null });
      expect(r.text).to.not.include(SECRET_B);
      const [row] = await query<{ secret_enc: Buffer; updated_by: number }>('SELECT secret_enc, updated_by FROM providers WHERE id = ?', [
        created.id,
      ]);
      const { services } = await testApp();
      expect(services.cipher.decrypt(row!.secret_enc, `provider:${created.id}`)).to.equal(SECRET_B);
      expect(row!.updated_by).to.equal(admin.id);
      const [event] = await auditsOfRequest(r);
      expect(event!.action).to.equal('provider.update');
      expect(event!.summary.before).to.deep.include({ timeoutMs: 10000, secretSet: true });
      expect(event!.summary.after).to.deep.include({ timeoutMs: 3000, secretChanged: true });
      expect(event!.raw).to.not.include(SECRET_B).and.not.include(SECRET_A);
    });

    it('refuses removing what an http provider needs, changing the name or kind, and an unknown id', async () => {
      const created = (await createHttp()).body;
      expectError(await patch(`/providers/${created.id}`, { secret: null }, admin.token), 400, 'PROVIDER_INCOMPLETE');
      expectError(await patch(`/providers/${created.id}`, { name: 'other' }, admin.token), 400, 'VALIDATION_FAILED');
      expectError(await patch(`/providers/${created.id}`, { kind: 'file' }, admin.token), 400, 'VALIDATION_FAILED');
      expectError(await patch(`/providers/${created.id}`, {}, admin.token), 400, 'VALIDATION_FAILED');
      expectError(await patch('/providers/999999', { timeoutMs: 1000 }, admin.token), 404, 'PROVIDER_NOT_FOUND');
      expectError(await get('/providers/999999', admin.token), 404, 'PROVIDER_NOT_FOUND');
    });
  });

  describe('pause and resume', () => {
    it('pauses and resumes, auditing each change once', async () => {
      const created = (await post('/providers', { name: newName(), kind: 'file' }, admin.token)).body;
      const paused = await post(`/providers/${created.id}/pause`, undefined, admin.token);
      expect(paused.status).to.equal(200);
      expect(paused.body.paused).to.equal(true);
      expect((await auditsOfRequest(paused)).map((e) => e.action)).to.deep.equal(['provider.pause']);
      const again = await post(`/providers/${created.id}/pause`, undefined, admin.token);
      expect(again.body.paused).to.equal(true);
      expect(await auditsOfRequest(again)).to.have.length(0);
      const resumed = await post(`/providers/${created.id}/resume`, undefined, admin.token);
      expect(resumed.body.paused).to.equal(false);
      expect((await auditsOfRequest(resumed)).map((e) => e.action)).to.deep.equal(['provider.resume']);
    });
  });

  describe('routes', () => {
    it('routes one bank BIN to a provider (201), replaces it (200), and refuses unknown codes', async () => {
      const a = (await createHttp()).body;
      const b = (await post('/providers', { name: newName(), kind: 'file' }, admin.token)).body;
      madeRoutes.push(['BANK', '970418']);
      const set = await put('/providers/routes/BANK/970418', { providerId: a.id }, admin.token);
      expect(set.status, JSON.stringify(set.body)).to.equal(201);
      expect(set.body).to.deep.include({ channel: 'BANK', matchCode: '970418', providerId: a.id, providerName: a.name });
      const [event] = await auditsOfRequest(set);
      expect(event).to.deep.include({ action: 'provider_route.set', entity_type: 'provider_route', entity_id: 'BANK:970418' });

      const same = await put('/providers/routes/BANK/970418', { providerId: a.id }, admin.token);
      expect(same.status).to.equal(200);
      expect(await auditsOfRequest(same)).to.have.length(0);

      const moved = await put('/providers/routes/BANK/970418', { providerId: b.id }, admin.token);
      expect(moved.status).to.equal(200);
      expect(moved.body.providerId).to.equal(b.id);
      const [movedEvent] = await auditsOfRequest(moved);
      expect(movedEvent!.summary.before).to.deep.include({ providerId: a.id });
      expect(movedEvent!.summary.after).to.deep.include({ providerId: b.id });

      const { services } = await testApp();
      expect((await services.providers.routeFor('BANK', '970418'))!.id).to.equal(b.id);
      expect((await services.providers.routeFor('BANK', '970436'))!.name).to.equal('sandbox');
      expect((await services.providers.routeFor('CASH', null))!.name).to.equal('cash-paypoints');

      expectError(await put('/providers/routes/BANK/123456', { providerId: a.id }, admin.token), 400, 'UNKNOWN_BANK');
      expectError(await put('/providers/routes/BANK/97041', { providerId: a.id }, admin.token), 400, 'INVALID_MATCH_CODE');
      expectError(await put('/providers/routes/WALLET/NOPAY', { providerId: a.id }, admin.token), 400, 'UNKNOWN_WALLET_PROVIDER');
      expectError(await put('/providers/routes/CASH/970418', { providerId: a.id }, admin.token), 400, 'INVALID_MATCH_CODE');
      expectError(await put('/providers/routes/cheque/*', { providerId: a.id }, admin.token), 400, 'VALIDATION_FAILED');
      expectError(await put('/providers/routes/BANK/970418', { providerId: 999999 }, admin.token), 404, 'PROVIDER_NOT_FOUND');
    });

    it('accepts a wallet code in any case and resolves enrolments set-based: exact code first, then *', async () => {
      const p = (await createHttp()).body;
      madeRoutes.push(['WALLET', 'MOMO']);
      const set = await put('/providers/routes/WALLET/momo', { providerId: p.id }, admin.token);
      expect(set.status).to.equal(201);
      expect(set.body.matchCode).to.equal('MOMO');
      const rows = await query<{ k: string; provider_id: number | null }>(
        `SELECT e.k, ${routedProviderIdSql('e')} AS provider_id FROM (
           SELECT 'momo' AS k, 'WALLET' AS channel, NULL AS bank_bin, 'MOMO' AS wallet_provider
           UNION ALL SELECT 'zalo', 'WALLET', NULL, 'ZALOPAY'
           UNION ALL SELECT 'bank', 'BANK', '970436', NULL
           UNION ALL SELECT 'cash', 'CASH', NULL, NULL
           UNION ALL SELECT 'none', 'cheque', NULL, NULL) e`,
      );
      const sandbox = (await query<{ id: number }>("SELECT id FROM providers WHERE name = 'sandbox'"))[0]!.id;
      const cash = (await query<{ id: number }>("SELECT id FROM providers WHERE name = 'cash-paypoints'"))[0]!.id;
      expect(Object.fromEntries(rows.map((r) => [r.k, r.provider_id === null ? null : Number(r.provider_id)]))).to.deep.equal({
        momo: p.id,
        zalo: sandbox,
        bank: sandbox,
        cash,
        none: null,
      });
    });

    it('deletes a route (204, audited), then answers 404 ROUTE_NOT_FOUND', async () => {
      const p = (await createHttp()).body;
      madeRoutes.push(['BANK', '970422']);
      expect((await put('/providers/routes/BANK/970422', { providerId: p.id }, admin.token)).status).to.equal(201);
      const r = await del('/providers/routes/BANK/970422', admin.token);
      expect(r.status).to.equal(204);
      expect((await auditsOfRequest(r)).map((e) => e.action)).to.deep.equal(['provider_route.delete']);
      expectError(await del('/providers/routes/BANK/970422', admin.token), 404, 'ROUTE_NOT_FOUND');
    });

    it('refuses routing to an inactive provider and deactivating a routed one with 409', async () => {
      const inactive = (await post('/providers', { name: newName(), kind: 'file', active: false }, admin.token)).body;
      expectError(await put('/providers/routes/BANK/970405', { providerId: inactive.id }, admin.token), 409, 'PROVIDER_INACTIVE');
      const routed = (await post('/providers', { name: newName(), kind: 'file' }, admin.token)).body;
      madeRoutes.push(['BANK', '970405']);
      expect((await put('/providers/routes/BANK/970405', { providerId: routed.id }, admin.token)).status).to.equal(201);
      const refused = await patch(`/providers/${routed.id}`, { active: false }, admin.token);
      expectError(refused, 409, 'PROVIDER_ROUTED');
      expect(refused.body.error.details).to.deep.equal({ routes: 1 });
      expect((await del('/providers/routes/BANK/970405', admin.token)).status).to.equal(204);
      expect((await patch(`/providers/${routed.id}`, { active: false }, admin.token)).body.active).to.equal(false);
    });
  });

  describe('roles', () => {
    it('lets an auditor read providers and routes but change nothing', async () => {
      expect((await get('/providers', auditor.token)).status).to.equal(200);
      expect((await get('/providers/routes', auditor.token)).status).to.equal(200);
      expectError(await post('/providers', { name: newName(), kind: 'file' }, auditor.token), 403, 'ROLE_REQUIRED');
      expectError(await put('/providers/routes/BANK/970436', { providerId: 1 }, auditor.token), 403, 'ROLE_REQUIRED');
    });

    for (const role of ['staff', 'approver'] as const) {
      it(`refuses ${role === 'staff' ? 'a' : 'an'} ${role} even reading providers with 403 ROLE_REQUIRED`, async () => {
        const user = role === 'staff' ? staff : approver;
        expectError(await get('/providers', user.token), 403, 'ROLE_REQUIRED');
        expectError(await get('/providers/routes', user.token), 403, 'ROLE_REQUIRED');
        expectError(await post('/providers/1/pause', undefined, user.token), 403, 'ROLE_REQUIRED');
      });
    }

    it('refuses callers without a token with 401', async () => {
      expect((await get('/providers')).status).to.equal(401);
    });
  });

  describe('adapterFor', () => {
    let sandbox: TestSandbox;
    let other: TestSandbox;
    let reset: () => Promise<void>;
    let sandboxId: number;

    before(async () => {
      sandbox = await startTestSandbox({ initialFloat: 7_000_000 });
      other = await startTestSandbox({ clientId: 'other-client', secret: SECRET_A, initialFloat: 3_000_000 });
      const { infra } = await testApp();
      ({ providerId: sandboxId, reset } = await useSandboxFor(infra.ds, sandbox.url));
    });

    after(async () => {
      await reset();
      (await testApp()).services.providers.close();
      await sandbox.close();
      await other.close();
    });

    it('speaks to the sandbox provider through the real adapter: balance and account lookups', async () => {
      const { services } = await testApp();
      const adapter = await services.providers.adapterFor(sandboxId);
      expect(adapter).to.be.instanceOf(HttpProviderAdapter);
      expect(await adapter!.balance()).to.deep.equal({ currency: 'VND', available: 7_000_000 });
      sandbox.ledger.registerAccount({ type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: '0123456789' }, 'Nguyễn Văn Đức');
      expect(await adapter!.lookupAccount({ type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: '0123456789' })).to.deep.equal({
        kind: 'answered',
        status: 'ACTIVE',
        accountName: 'NGUYEN VAN DUC',
      });
      expect(await adapter!.lookupAccount({ type: 'WALLET', walletProvider: 'MOMO', walletId: '0912340000' })).to.deep.equal({
        kind: 'answered',
        status: 'NOT_FOUND',
        accountName: null,
      });
    });

    it('caches the adapter and builds a new one when the provider changes', async () => {
      const { services } = await testApp();
      const first = await services.providers.adapterFor(sandboxId);
      expect(await services.providers.adapterFor(sandboxId)).to.equal(first);
      expect((await patch(`/providers/${sandboxId}`, { timeoutMs: 9000 }, admin.token)).status).to.equal(200);
      const second = await services.providers.adapterFor(sandboxId);
      expect(second).to.not.equal(first);
      expect((await second!.balance()).available).to.equal(7_000_000);
      await patch(`/providers/${sandboxId}`, { timeoutMs: 10000 }, admin.token);
    });

    it('notices a change made by another process (the row, not a call of this service)', async () => {
      const { services, infra } = await testApp();
      const first = await services.providers.adapterFor(sandboxId);
      await infra.ds.query('UPDATE providers SET base_url = ? WHERE id = ?', [other.url, sandboxId]);
      try {
        const moved = await services.providers.adapterFor(sandboxId);
        expect(moved).to.not.equal(first);
        // the other sandbox knows another client: the config's client id is refused there
        const err = await moved!.balance().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(AppError);
        expect((err as AppError).code).to.equal('PROVIDER_UNAUTHORIZED');
      } finally {
        await infra.ds.query('UPDATE providers SET base_url = ? WHERE id = ?', [sandbox.url, sandboxId]);
      }
    });

    it('uses the client id and the decrypted secret of an http provider', async () => {
      const created = await createHttp({ baseUrl: other.url, clientId: 'other-client', secret: SECRET_A });
      const { services } = await testApp();
      const adapter = await services.providers.adapterFor(created.body.id);
      expect(await adapter!.balance()).to.deep.equal({ currency: 'VND', available: 3_000_000 });
      await patch(`/providers/${created.body.id}`, { secret: SECRET_B }, admin.token);
      const wrong = await services.providers.adapterFor(created.body.id);
      const err = await wrong!.balance().then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as AppError).code).to.equal('PROVIDER_UNAUTHORIZED');
    });

    it('tests a connection with a signed balance request and names what the provider said, auditing each test', async () => {
      const ok = await post(`/providers/${sandboxId}/test`, {}, admin.token);
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body).to.deep.include({ providerId: sandboxId, ok: true, balance: { currency: 'VND', available: 7_000_000 }, error: null });
      expect(ok.body.latencyMs).to.be.a('number');
      expect((await auditsOfRequest(ok)).map((a) => [a.action, a.summary.after?.ok])).to.deep.equal([['provider.test', true]]);

      // the other sandbox knows this client with SECRET_A: SECRET_B signs wrongly
      const wrong = await createHttp({ baseUrl: other.url, clientId: 'other-client', secret: SECRET_B });
      const bad = await post(`/providers/${wrong.body.id}/test`, {}, admin.token);
      expect(bad.status).to.equal(200);
      expect(bad.body.ok).to.equal(false);
      expect(bad.body.balance).to.equal(null);
      expect(bad.body.error).to.deep.include({
        code: 'PROVIDER_UNAUTHORIZED',
        providerError: 'BAD_SIGNATURE',
        httpStatus: 401,
        transport: null,
      });
      expect(bad.body.error.message).to.contain('401 BAD_SIGNATURE');
      expect(JSON.stringify(bad.body)).to.not.contain(SECRET_B);
      expect((await auditsOfRequest(bad)).map((a) => [a.action, a.summary.after?.error])).to.deep.equal([
        ['provider.test', 'BAD_SIGNATURE'],
      ]);

      // a provider whose clock disagrees with ours (answered here by nock: the host is not loopback)
      const skewed = await createHttp({ baseUrl: 'https://clock.example.vn/api/' });
      const scope = nock('https://clock.example.vn').get('/api/v1/balance').reply(401, { error: 'STALE_TIMESTAMP' });
      const stale = await post(`/providers/${skewed.body.id}/test`, {}, admin.token);
      expect(scope.isDone()).to.equal(true);
      expect(stale.body.error).to.deep.include({ code: 'PROVIDER_UNAUTHORIZED', providerError: 'STALE_TIMESTAMP', httpStatus: 401 });

      const nobody = await createHttp({ baseUrl: `http://127.0.0.1:${await freePort()}/` });
      const down = await post(`/providers/${nobody.body.id}/test`, {}, admin.token);
      expect(down.body.ok).to.equal(false);
      expect(down.body.error).to.deep.include({
        code: 'PROVIDER_UNAVAILABLE',
        transport: 'ECONNREFUSED',
        httpStatus: null,
        providerError: null,
      });
    });

    it('refuses testing a file provider (409 PROVIDER_NOT_TESTABLE), an unknown one (404) and anyone but an admin (403)', async () => {
      const [cash] = await query<{ id: number }>("SELECT id FROM providers WHERE name = 'cash-paypoints'");
      expectError(await post(`/providers/${cash!.id}/test`, {}, admin.token), 409, 'PROVIDER_NOT_TESTABLE');
      expectError(await post('/providers/999999/test', {}, admin.token), 404, 'PROVIDER_NOT_FOUND');
      expectError(await post(`/providers/${sandboxId}/test`, {}, auditor.token), 403, 'ROLE_REQUIRED');
      expectError(await post(`/providers/${sandboxId}/test`, {}, staff.token), 403, 'ROLE_REQUIRED');
    });

    it('gives no adapter for a file provider and 404 for an unknown one', async () => {
      const { services } = await testApp();
      const [cash] = await query<{ id: number }>("SELECT id FROM providers WHERE name = 'cash-paypoints'");
      expect(await services.providers.adapterFor(cash!.id)).to.equal(null);
      const err = await services.providers.adapterFor(999999).then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as AppError).code).to.equal('PROVIDER_NOT_FOUND');
    });

    it('gives the callback URL of the provider under PUBLIC_BASE_URL', async () => {
      const { services, infra } = await testApp();
      expect(services.providers.callbackUrl('sandbox')).to.equal(
        `${infra.cfg.publicBaseUrl.replace(/\/$/, '')}/api/v1/providers/sandbox/callbacks`,
      );
    });

    it('can be driven without HTTP by the service with a system actor', async () => {
      const { services } = await testApp();
      const p = await services.providers.create(SYSTEM_ACTOR, { name: newName('sys'), kind: 'sandbox', baseUrl: sandbox.url });
      expect(p).to.deep.include({ kind: 'sandbox', baseUrl: sandbox.url, clientId: null, secretSet: false });
      expect(await (await services.providers.adapterFor(p.id))!.balance()).to.deep.equal({ currency: 'VND', available: 7_000_000 });
    });
  });
});

import { expect } from 'chai';
import { z } from 'zod';
import { Api } from '../../src/platform/http';
import { canonicalJson, IdempotencyStore } from '../../src/platform/http/idempotency';
import { processors } from '../../jobs/worker';
import { testApp } from '../helpers/app';
import { areaId, auditCount, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, type Reply } from '../helpers/http';

interface KeyRow {
  id: string;
  user_id: number;
  idempotency_key: string;
  method: string;
  route: string;
  request_hash: string;
  state: string;
  response_status: number | null;
  response_body: Buffer | null;
  completed_at: Date | null;
  expires_in_hours: number;
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { infra } = await testApp();
  return (await infra.ds.query(sql, params)) as T[];
}

async function keyRows(key: string): Promise<KeyRow[]> {
  return query<KeyRow>(
    `SELECT id, user_id, idempotency_key, method, route, request_hash, state, response_status, response_body, completed_at,
            TIMESTAMPDIFF(MINUTE, created_at, expires_at) / 60 AS expires_in_hours
     FROM idempotency_keys WHERE idempotency_key = ? ORDER BY id`,
    [key],
  );
}

async function areasWithCode(code: string): Promise<number> {
  const [row] = await query<{ n: string }>('SELECT COUNT(*) AS n FROM areas WHERE code = ?', [code]);
  return Number(row!.n);
}

async function areaAudits(id: number): Promise<number> {
  const [row] = await query<{ n: string }>("SELECT COUNT(*) AS n FROM audit_events WHERE entity_type = 'area' AND entity_id = ?", [
    String(id),
  ]);
  return Number(row!.n);
}

function areaCode(): string {
  const c = uniq('i').replace(/[^0-9a-z]/g, '');
  return c.length <= 16 ? c : c.slice(c.length - 16);
}

function newKey(): string {
  return `k:${uniq('idem')}.${Math.random().toString(36).slice(2)}`;
}

function send(
  method: string,
  path: string,
  token: string,
  body: unknown,
  key?: string,
  raw?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return call(method, `/api/v1${path}`, {
    token,
    ...(raw !== undefined ? { rawBody: raw } : { body }),
    headers: { 'content-type': 'application/json', ...(key !== undefined ? { 'idempotency-key': key } : {}), ...headers },
  });
}

function expectError(r: Reply, status: number, code: string): void {
  expect(r.status, r.text).to.equal(status);
  expect(r.body.error.code, r.text).to.equal(code);
}

function expectReplayOf(replay: Reply, first: Reply): void {
  expect(replay.status, replay.text).to.equal(first.status);
  expect(replay.text).to.equal(first.text);
  expect(replay.headers.get('content-type')).to.equal(first.headers.get('content-type'));
  expect(replay.headers.get('idempotent-replayed')).to.equal('true');
  expect(first.headers.get('idempotent-replayed')).to.equal(null);
}

describe('Idempotency-Key on state-changing routes', () => {
  let admin: TestUser;
  let otherAdmin: TestUser;
  let district: number;

  const areaBody = (code = areaCode()) => ({ code, name: `Xã ${code}`, level: 'commune', parentId: district });

  before(async () => {
    admin = await makeUser(['admin'], { area: null });
    otherAdmin = await makeUser(['admin'], { area: null });
    district = await areaId('001');
  });

  describe('POST /api/v1/areas with a key', () => {
    it('creates once, stores the answer, and replays it for the same body in other whitespace and key order without creating again', async () => {
      const key = newKey();
      const body = areaBody();
      const events = await auditCount();
      const first = await send('POST', '/areas', admin.token, body, key);
      expect(first.status, first.text).to.equal(201);
      expect(first.body).to.deep.include({ code: body.code, parentId: district });
      expect(await auditCount()).to.equal(events + 1);

      const [row] = await keyRows(key);
      expect(row).to.deep.include({
        user_id: admin.id,
        method: 'POST',
        route: '/api/v1/areas',
        state: 'completed',
        response_status: 201,
      });
      expect(row!.request_hash).to.match(/^[0-9a-f]{64}$/);
      expect(row!.completed_at).to.be.instanceOf(Date);
      expect(Number(row!.expires_in_hours)).to.equal(24);

      const reordered = `{ "parentId" : ${district},\n  "level": "commune",\t"name": ${JSON.stringify(body.name)}, "code": "${body.code}" }`;
      const replay = await send('POST', '/areas', admin.token, undefined, key, reordered);
      expectReplayOf(replay, first);
      expect(replay.headers.get('x-request-id')).to.not.equal(first.headers.get('x-request-id'));

      expect(await areasWithCode(body.code)).to.equal(1);
      expect(await areaAudits(first.body.id)).to.equal(1);
      expect(await auditCount()).to.equal(events + 1);
      expect(await keyRows(key)).to.have.length(1);
    });

    it('refuses the same key with another body with 409 IDEMPOTENCY_KEY_REUSED and creates nothing', async () => {
      const key = newKey();
      const first = await send('POST', '/areas', admin.token, areaBody(), key);
      expect(first.status, first.text).to.equal(201);
      const events = await auditCount();
      const other = areaBody();
      expectError(await send('POST', '/areas', admin.token, other, key), 409, 'IDEMPOTENCY_KEY_REUSED');
      expect(await areasWithCode(other.code)).to.equal(0);
      // the same key on another route is another request too
      expectError(
        await send('POST', '/banks', admin.token, { bin: '971999', shortName: 'X', name: 'Ngân hàng X' }, key),
        409,
        'IDEMPOTENCY_KEY_REUSED',
      );
      expect(await query('SELECT bin FROM banks WHERE bin = ?', ['971999'])).to.deep.equal([]);
      expect(await auditCount()).to.equal(events);
      expect((await keyRows(key))[0]!.response_status).to.equal(201);
    });

    it('lets exactly one of several simultaneous requests with one key create; the others get the replay or 409 IDEMPOTENCY_REQUEST_IN_PROGRESS', async () => {
      const key = newKey();
      const body = areaBody();
      const replies = await Promise.all(Array.from({ length: 6 }, () => send('POST', '/areas', admin.token, body, key)));
      const created = replies.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
      expect(created, replies.map((r) => r.text).join('\n')).to.have.length(1);
      for (const r of replies) {
        if (r === created[0]) continue;
        if (r.status === 201) expectReplayOf(r, created[0]!);
        else expectError(r, 409, 'IDEMPOTENCY_REQUEST_IN_PROGRESS');
      }
      expect(await areasWithCode(body.code)).to.equal(1);
      expect(await areaAudits(created[0]!.body.id)).to.equal(1);
      expect(await keyRows(key)).to.have.length(1);
    });

    it('answers 409 IDEMPOTENCY_REQUEST_IN_PROGRESS while the first request runs, then replays its answer', async () => {
      const { services } = await testApp();
      const original = services.areas.create;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      services.areas.create = async (...args) => {
        await gate;
        return original.apply(services.areas, args);
      };
      try {
        const key = newKey();
        const body = areaBody();
        const firstP = send('POST', '/areas', admin.token, body, key);
        for (let i = 0; i < 100 && (await keyRows(key)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect((await keyRows(key))[0]?.state).to.equal('in_progress');
        expectError(await send('POST', '/areas', admin.token, body, key), 409, 'IDEMPOTENCY_REQUEST_IN_PROGRESS');
        release();
        const first = await firstP;
        expect(first.status, first.text).to.equal(201);
        expectReplayOf(await send('POST', '/areas', admin.token, body, key), first);
        expect(await areasWithCode(body.code)).to.equal(1);
      } finally {
        release();
        services.areas.create = original;
      }
    });

    it('keeps keys per user: the same key from two users makes two independent creations', async () => {
      const key = newKey();
      const [a, b] = [areaBody(), areaBody()];
      const ra = await send('POST', '/areas', admin.token, a, key);
      const rb = await send('POST', '/areas', otherAdmin.token, b, key);
      expect(ra.status, ra.text).to.equal(201);
      expect(rb.status, rb.text).to.equal(201);
      expect(rb.headers.get('idempotent-replayed')).to.equal(null);
      expect(await areasWithCode(a.code)).to.equal(1);
      expect(await areasWithCode(b.code)).to.equal(1);
      expect((await keyRows(key)).map((r) => r.user_id).sort()).to.deep.equal([admin.id, otherAdmin.id].sort());
      expectReplayOf(await send('POST', '/areas', otherAdmin.token, b, key), rb);
    });

    it('treats an expired key as new: the request runs again and the key is claimed afresh', async () => {
      const key = newKey();
      const first = await send('POST', '/areas', admin.token, areaBody(), key);
      expect(first.status, first.text).to.equal(201);
      await query('UPDATE idempotency_keys SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE idempotency_key = ?', [key]);
      const [old] = await keyRows(key);
      const body = areaBody();
      const again = await send('POST', '/areas', admin.token, body, key);
      expect(again.status, again.text).to.equal(201);
      expect(again.headers.get('idempotent-replayed')).to.equal(null);
      expect(again.body.id).to.not.equal(first.body.id);
      expect(await areasWithCode(body.code)).to.equal(1);
      const rows = await keyRows(key);
      expect(rows).to.have.length(1);
      expect(rows[0]!.id).to.not.equal(old!.id);
      expect(rows[0]!.request_hash).to.not.equal(old!.request_hash);
      expectReplayOf(await send('POST', '/areas', admin.token, body, key), again);
    });

    it('the daily purge job deletes expired keys and keeps live ones', async () => {
      const { infra, services } = await testApp();
      const expired = newKey();
      const live = newKey();
      expect((await send('POST', '/areas', admin.token, areaBody(), expired)).status).to.equal(201);
      expect((await send('POST', '/areas', admin.token, areaBody(), live)).status).to.equal(201);
      await query('UPDATE idempotency_keys SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE idempotency_key = ?', [expired]);
      const result = (await processors(services, infra)['idempotency.purge']({}, { number: 1, of: 1 })) as { deleted: number };
      expect(result.deleted).to.be.at.least(1);
      expect(await keyRows(expired)).to.have.length(0);
      expect(await keyRows(live)).to.have.length(1);
    });

    it('refuses a malformed key with 400 INVALID_IDEMPOTENCY_KEY and creates nothing; accepts 128 characters of the allowed set', async () => {
      const events = await auditCount();
      for (const bad of ['', 'has space', 'a/b', 'ключ', 'x'.repeat(129), 'a,b']) {
        const body = areaBody();
        const r = await call('POST', '/api/v1/areas', {
          token: admin.token,
          rawBody: Buffer.from(JSON.stringify(body)),
          headers: { 'content-type': 'application/json', 'idempotency-key': Buffer.from(bad).toString('latin1') },
        });
        expectError(r, 400, 'INVALID_IDEMPOTENCY_KEY');
        expect(await areasWithCode(body.code)).to.equal(0);
      }
      expect(await auditCount()).to.equal(events);
      const longest = `Az09_.:-${'k'.repeat(112)}${Math.random().toString(36).slice(2, 10).padEnd(8, '0')}`;
      expect(longest).to.have.length(128);
      const ok = await send('POST', '/areas', admin.token, areaBody(), longest);
      expect(ok.status, ok.text).to.equal(201);
      expect(await keyRows(longest)).to.have.length(1);
    });

    it('stores nothing when the request fails validation before the handler, so the key stays free', async () => {
      const key = newKey();
      expectError(await send('POST', '/areas', admin.token, { ...areaBody(), level: 'galaxy' }, key), 400, 'VALIDATION_FAILED');
      expect(await keyRows(key)).to.deep.equal([]);
      const ok = await send('POST', '/areas', admin.token, areaBody(), key);
      expect(ok.status, ok.text).to.equal(201);
    });

    it('releases the key when the handler fails unexpectedly (500), so that a retry runs', async () => {
      const { infra, services } = await testApp();
      const original = services.areas.create;
      services.areas.create = () => Promise.reject(new Error('disk on fire'));
      infra.log.silent = true; // the expected 'request failed' line
      const key = newKey();
      const body = areaBody();
      try {
        const failed = await send('POST', '/areas', admin.token, body, key);
        expectError(failed, 500, 'INTERNAL');
        expect(failed.text).to.not.include('disk on fire');
      } finally {
        services.areas.create = original;
        infra.log.silent = false;
      }
      expect(await keyRows(key)).to.deep.equal([]);
      const retry = await send('POST', '/areas', admin.token, body, key);
      expect(retry.status, retry.text).to.equal(201);
      expect(retry.headers.get('idempotent-replayed')).to.equal(null);
      expect(await areasWithCode(body.code)).to.equal(1);
    });
  });

  describe('POST /api/v1/users with a key', () => {
    it('replays the temporary password it generated, and keeps the stored answer encrypted', async () => {
      const key = newKey();
      const body = { username: uniq('idemuser'), displayName: 'Người dùng thử', roles: ['staff'], areaId: null };
      const first = await send('POST', '/users', admin.token, body, key);
      expect(first.status, first.text).to.equal(201);
      const password = first.body.temporaryPassword as string;
      expect(password).to.be.a('string').and.not.empty;
      const replay = await send('POST', '/users', admin.token, { ...body }, key);
      expectReplayOf(replay, first);
      expect(await query('SELECT id FROM users WHERE username = ?', [body.username])).to.have.length(1);

      const [row] = await keyRows(key);
      expect(Buffer.isBuffer(row!.response_body)).to.equal(true);
      expect(row!.response_body!.toString('latin1')).to.not.include(password);
      expect(row!.response_body!.toString('latin1')).to.not.include(body.username);
    });

    it('replays a refusal from inside the handler (409 USERNAME_TAKEN) even after the name became free', async () => {
      const taken = await makeUser(['staff']);
      const key = newKey();
      const body = { username: taken.username, displayName: 'Trùng tên', roles: ['staff'], areaId: null };
      const first = await send('POST', '/users', admin.token, body, key);
      expectError(first, 409, 'USERNAME_TAKEN');
      expect((await keyRows(key))[0]).to.deep.include({ state: 'completed', response_status: 409 });

      await query('UPDATE users SET username = ? WHERE id = ?', [uniq('renamed'), taken.id]);
      const events = await auditCount();
      const replay = await send('POST', '/users', admin.token, body, key);
      expectReplayOf(replay, first);
      expect(replay.body.error.requestId).to.equal(first.headers.get('x-request-id'));
      expect(await query('SELECT id FROM users WHERE username = ?', [taken.username])).to.deep.equal([]);
      expect(await auditCount()).to.equal(events);

      const fresh = await send('POST', '/users', admin.token, body, newKey());
      expect(fresh.status, fresh.text).to.equal(201);
    });
  });

  describe('the other idempotent routes', () => {
    it('replays POST /banks, /wallet-providers and /programmes', async () => {
      const bin = `97${String(Date.now()).slice(-4)}`;
      const wallet = `W${uniq('').replace(/[^0-9a-z]/g, '')}`.slice(0, 20).toUpperCase();
      const programme = uniq('IDEM')
        .replace(/[^0-9a-z]/g, '')
        .slice(0, 32);
      const cases: [string, unknown][] = [
        ['/banks', { bin, shortName: 'Idem', name: 'Ngân hàng Idem' }],
        ['/wallet-providers', { code: wallet, name: 'Ví Idem', kind: 'ewallet', monthlyCap: null }],
        ['/programmes', { code: programme, name: 'Chương trình Idem', frequency: 'monthly' }],
      ];
      for (const [path, body] of cases) {
        const key = newKey();
        const first = await send('POST', path, admin.token, body, key);
        expect(first.status, `${path} ${first.text}`).to.equal(201);
        const events = await auditCount();
        expectReplayOf(await send('POST', path, admin.token, body, key), first);
        expect(await auditCount(), path).to.equal(events);
      }
    });
  });

  describe('routes that are not idempotent', () => {
    it('ignore the header, even a malformed one, and run every time', async () => {
      const area = (await send('POST', '/areas', admin.token, areaBody())).body;
      const key = newKey();
      for (const [name, k] of [
        ['Tên một', key],
        ['Tên hai', key],
        ['Tên ba', 'not a valid key!'],
      ]) {
        const r = await send('PATCH', `/areas/${area.id}`, admin.token, { name }, k);
        expect(r.status, r.text).to.equal(200);
        expect(r.body.name).to.equal(name);
        expect(r.headers.get('idempotent-replayed')).to.equal(null);
      }
      expect(await keyRows(key)).to.deep.equal([]);
    });

    it('behave as before on idempotent routes when the header is absent', async () => {
      const body = areaBody();
      const r = await send('POST', '/areas', admin.token, body);
      expect(r.status, r.text).to.equal(201);
      expectError(await send('POST', '/areas', admin.token, body), 409, 'AREA_CODE_TAKEN');
    });
  });

  describe('OpenAPI document', () => {
    it('lists the optional Idempotency-Key header and the 409 answers on the idempotent operations only', async () => {
      const r = await call('GET', '/api/v1/openapi.json');
      const paths = r.body.paths as Record<string, Record<string, any>>;
      const headerOf = (op: any) => (op.parameters ?? []).find((p: any) => p.in === 'header' && p.name === 'Idempotency-Key');
      for (const p of ['/api/v1/users', '/api/v1/areas', '/api/v1/programmes', '/api/v1/banks', '/api/v1/wallet-providers']) {
        const op = paths[p]!.post;
        const header = headerOf(op);
        expect(header, p).to.exist;
        expect(header.required ?? false, p).to.equal(false);
        expect(header.schema.pattern, p).to.be.a('string');
        expect(op.responses['409'].description, p)
          .to.match(/IDEMPOTENCY_KEY_REUSED/)
          .and.match(/IDEMPOTENCY_REQUEST_IN_PROGRESS/);
        expect(op.responses['400'].description, p).to.match(/INVALID_IDEMPOTENCY_KEY/);
        expect(op.responses['201'].headers['Idempotent-Replayed'], p).to.exist;
      }
      expect(paths['/api/v1/users']!.post.responses['409'].description).to.match(/USERNAME_TAKEN/);
      expect(headerOf(paths['/api/v1/areas/{id}']!.patch)).to.equal(undefined);
      expect(headerOf(paths['/api/v1/users/{id}/reset-password']!.post)).to.equal(undefined);
    });
  });

  describe('Api.route with idempotent: true', () => {
    const auth = () => Promise.reject(new Error('unused'));
    const spec = {
      method: 'post' as const,
      path: '/things',
      summary: 'x',
      tags: ['x'],
      access: ['admin'] as const,
      body: z.object({}),
      idempotent: true,
      responses: { 201: { description: 'Created' } },
      handler: () => Promise.resolve({}),
    };

    it('refuses to declare it without a store, on a public route, on a GET, or on a route that does not answer JSON', async () => {
      const { infra, services } = await testApp();
      const store = new IdempotencyStore(infra.ds, services.cipher, infra.log);
      expect(() => new Api(auth).route(spec)).to.throw(/no idempotency store/);
      expect(() => new Api(auth, store).route({ ...spec, access: 'public' })).to.throw(/authenticated/);
      expect(() => new Api(auth, store).route({ ...spec, method: 'get' })).to.throw(/GET/);
      expect(() => new Api(auth, store).route({ ...spec, responses: { 200: { description: 'csv', contentType: 'text/csv' } } })).to.throw(
        /JSON/,
      );
      expect(() => new Api(auth, store).route(spec)).to.not.throw();
    });
  });

  describe('canonicalJson', () => {
    it('sorts object keys at every depth and keeps array order', () => {
      expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).to.equal('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
      expect(canonicalJson({ a: [1, 2] })).to.not.equal(canonicalJson({ a: [2, 1] }));
    });
  });
});

import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app';
import { testApp } from '../helpers/app';
import { expect } from 'chai';
import { call, get } from '../helpers/http';
import { makeUser, TEST_PASSWORD } from '../helpers/factories';
import { enrol, makeProgramme } from '../helpers/batches';

describe('HTTP platform', () => {
  it('answers /healthz and /readyz with MariaDB and Redis reachable', async () => {
    const alive = await call('GET', '/healthz');
    expect(alive.status).to.equal(200);
    const ready = await call('GET', '/readyz');
    expect(ready.status).to.equal(200);
    expect(ready.body).to.deep.equal({ status: 'ready', checks: { mariadb: 'ok', redis: 'ok' } });
  });

  it('echoes a safe X-Request-Id and makes one up otherwise', async () => {
    const given = await call('GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).to.equal('abc-123');
    const unsafe = await call('GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(unsafe.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('replaces a caller X-Request-Id that is too long or holds other characters, in the answer and in the audit trail', async () => {
    const { infra } = await testApp();
    const u = await makeUser(['staff']);
    for (const given of ['a'.repeat(65), 'x'.repeat(128), '"quoted"', "it's", 'tab\there', 'a,b']) {
      const r = await call('POST', '/api/v1/auth/login', {
        body: { username: u.username, password: TEST_PASSWORD },
        headers: { 'x-request-id': given },
      });
      expect(r.status, given).to.equal(200);
      const rid = r.headers.get('x-request-id')!;
      expect(rid, given).to.match(/^[0-9a-f-]{36}$/);
      const [ev] = (await infra.ds.query(
        "SELECT request_id FROM audit_events WHERE action = 'auth.login' AND actor_user_id = ? ORDER BY id DESC LIMIT 1",
        [u.id],
      )) as { request_id: string }[];
      expect(ev!.request_id, given).to.equal(rid);
    }
    const longest = 'Z'.repeat(64);
    expect((await call('GET', '/healthz', { headers: { 'x-request-id': longest } })).headers.get('x-request-id')).to.equal(longest);
  });

  it('answers Cache-Control: no-store on the login, a reveal of personal data, and every other API answer', async () => {
    const u = await makeUser(['staff']);
    const login = await call('POST', '/api/v1/auth/login', { body: { username: u.username, password: TEST_PASSWORD } });
    expect(login.status).to.equal(200);
    expect(login.headers.get('cache-control')).to.equal('no-store');
    const auditor = await makeUser(['auditor']);
    const { beneficiaryId } = await enrol((await makeProgramme()).id);
    const reveal = await get(`/beneficiaries/${beneficiaryId}?reveal=true&reason=checking%20a%20payment`, auditor.token);
    expect(reveal.status).to.equal(200);
    expect(reveal.body.nationalId).to.match(/^\d{12}$/);
    expect(reveal.headers.get('cache-control')).to.equal('no-store');
    expect((await get('/auth/me', u.token)).headers.get('cache-control')).to.equal('no-store');
    expect((await get('/no-such-thing', u.token)).headers.get('cache-control')).to.equal('no-store');
  });

  it('answers unknown routes with the JSON error body and the request id', async () => {
    const r = await call('GET', '/api/v1/no-such-thing', { headers: { 'x-request-id': 'rid-404' } });
    expect(r.status).to.equal(404);
    expect(r.body).to.deep.equal({
      error: { code: 'ROUTE_NOT_FOUND', message: 'no route GET /api/v1/no-such-thing', requestId: 'rid-404' },
    });
  });

  it('refuses malformed JSON with 400 MALFORMED_JSON', async () => {
    const admin = await makeUser(['admin']);
    const r = await call('POST', '/api/v1/areas', {
      token: admin.token,
      rawBody: '{"code":',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal('MALFORMED_JSON');
  });

  it('refuses a body over the size limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const admin = await makeUser(['admin']);
    const r = await call('POST', '/api/v1/areas', {
      token: admin.token,
      body: { code: 'X1', name: 'x'.repeat(1_100_000), level: 'commune', parentId: 1 },
    });
    expect(r.status).to.equal(413);
    expect(r.body.error.code).to.equal('PAYLOAD_TOO_LARGE');
  });

  it('refuses a non-JSON body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const admin = await makeUser(['admin']);
    const r = await call('POST', '/api/v1/areas', {
      token: admin.token,
      rawBody: 'code=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r.status).to.equal(415);
    expect(r.body.error.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
  });

  it('names every invalid field of a body, query and params', async () => {
    const admin = await makeUser(['admin']);
    const r = await call('POST', '/api/v1/areas', { token: admin.token, body: { code: '!!', level: 'planet', extra: 1 } });
    expect(r.status).to.equal(400);
    expect(r.body.error.code).to.equal('VALIDATION_FAILED');
    const paths = (r.body.error.details as { location: string; path: string }[]).map((d) => `${d.location}.${d.path}`);
    expect(paths).to.include.members(['body.code', 'body.name', 'body.level', 'body.parentId', 'body.']);
    const q = await get('/areas?limit=0&colour=red', admin.token);
    expect(q.status).to.equal(400);
    expect((q.body.error.details as { path: string }[]).map((d) => d.path)).to.include.members(['limit', '']);
    const p = await get('/areas/abc', admin.token);
    expect(p.status).to.equal(400);
    expect(p.body.error.details[0].location).to.equal('params');
  });

  it('sets helmet security headers', async () => {
    const r = await call('GET', '/healthz');
    expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(r.headers.get('x-powered-by')).to.equal(null);
  });

  it('serves an OpenAPI 3.1 document describing every route, and the docs page', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    expect(r.status).to.equal(200);
    expect(r.body.openapi).to.equal('3.1.0');
    expect(Object.keys(r.body.paths)).to.include.members([
      '/api/v1/auth/login',
      '/api/v1/users/{id}',
      '/api/v1/areas',
      '/api/v1/audit-events/verify',
    ]);
    expect(r.body.paths['/api/v1/users'].post.requestBody.content['application/json'].schema).to.exist;
    const docs = await call('GET', '/api/docs/');
    expect(docs.status).to.equal(200);
    expect(docs.text).to.contain('swagger-ui');
  });
});

describe('OpenAPI document: routes served before express', () => {
  it('lists the provider callback route with its signature headers, event body and answers', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    const op = r.body.paths['/api/v1/providers/{name}/callbacks']?.post;
    expect(op, 'POST /providers/{name}/callbacks').to.exist;
    expect(op.security).to.deep.equal([]);
    expect(op.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).to.include.members([
      'path:name',
      'header:X-Timestamp',
      'header:X-Signature',
    ]);
    const body = op.requestBody.content['application/json'].schema;
    const event = body.$ref ? r.body.components.schemas[body.$ref.split('/').pop()] : body;
    expect(event.required).to.include.members(['eventId', 'reference', 'transferId', 'status', 'amount', 'currency', 'occurredAt']);
    expect(Object.keys(op.responses)).to.include.members(['200', '400', '401', '404', '413']);
  });
});

describe('API documentation switch', () => {
  it('does not serve the OpenAPI document or the docs page when API_DOCS is off', async () => {
    const { infra, services } = await testApp();
    const server = buildApp({ ...infra, cfg: { ...infra.cfg, apiDocs: 'off' } }, services).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const doc = await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`);
      expect(doc.status).to.equal(404);
      const page = await fetch(`http://127.0.0.1:${port}/api/docs/`);
      expect(page.status).to.equal(404);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).to.equal(200);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

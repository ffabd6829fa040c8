import { expect } from 'chai';
import nock from 'nock';
import { createHmac } from 'node:crypto';
import { HttpProviderAdapter } from '../../src/components/providers/http.adapter';
import type { TransferOrder } from '../../src/components/providers/provider.port';
import { sign, signedHeaders, unixSeconds, verify } from '../../src/components/providers/signing';
import { AppError } from '../../src/platform/errors/app-error';

const BASE = 'https://provider.test';
const SECRET = 'provider-test-secret-0123456789abcdef';
const CLIENT_ID = 'welfare-client-7';
const CALLBACK = 'https://service.example/api/v1/providers/http/callbacks';

const order: TransferOrder = {
  reference: 'PAY-2024-12-000123',
  amount: 500000,
  destination: { type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: '0123456789', accountName: 'NGUYEN VAN A' },
  description: 'TCXH T12/2024 – trợ cấp xã hội',
};

const transfer = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  reference: order.reference,
  transferId: 'T8F3K2',
  status: 'PENDING',
  amount: 500000,
  currency: 'VND',
  failureCode: null,
  createdAt: '2024-12-05T09:00:00+07:00',
  updatedAt: '2024-12-05T09:00:00+07:00',
  ...over,
});

// an Error instance: nock 14 on Node 20 never delivers a plain-object error to the request (it would look like a timeout)
const netError = (code: string): Error => Object.assign(new Error(`socket error ${code}`), { code });

interface Seen {
  method: string;
  path: string;
  headers: Record<string, unknown>;
  body: string;
}

/** Records what reached the provider, body as the exact string nock received. */
function record(scope: nock.Scope): Seen[] {
  const seen: Seen[] = [];
  scope.on('request', (req: { method: string; path: string; headers: Record<string, unknown> }, _i: unknown, body: string) => {
    seen.push({ method: req.method, path: req.path, headers: req.headers, body });
  });
  return seen;
}

function expectSigned(seen: Seen | undefined, method: string, path: string): void {
  expect(seen, 'request reached the provider').to.exist;
  const s = seen!;
  expect(s.method).to.equal(method);
  expect(s.path).to.equal(path);
  expect(s.headers['x-client-id']).to.equal(CLIENT_ID);
  const ts = String(s.headers['x-timestamp']);
  expect(Math.abs(Number(ts) - unixSeconds())).to.be.at.most(5);
  const expected = sign(SECRET, { timestamp: ts, method, pathWithQuery: path, rawBody: Buffer.from(s.body, 'utf8') });
  expect(s.headers['x-signature']).to.equal(expected);
}

describe('provider API signing', () => {
  const now = Date.UTC(2024, 11, 5, 2, 0, 0);
  const ts = unixSeconds(now);
  const body = Buffer.from('{"reference":"A","description":"trợ cấp"}', 'utf8');
  const msg = { timestamp: ts, method: 'post', pathWithQuery: '/v1/transfers?x=1', rawBody: body };

  it('signs timestamp, upper-case method, target and body bytes as lowercase hex HMAC-SHA256', () => {
    const expected = createHmac('sha256', SECRET)
      .update(Buffer.concat([Buffer.from(`${ts}\nPOST\n/v1/transfers?x=1\n`), body]))
      .digest('hex');
    expect(sign(SECRET, msg))
      .to.equal(expected)
      .and.match(/^[0-9a-f]{64}$/);
    expect(sign(SECRET, { ...msg, rawBody: body.toString('utf8') })).to.equal(expected);
  });

  it('gives X-Client-Id only when a client id is passed', () => {
    const withId = signedHeaders(SECRET, msg, CLIENT_ID);
    expect(withId).to.deep.equal({ 'X-Client-Id': CLIENT_ID, 'X-Timestamp': String(ts), 'X-Signature': sign(SECRET, msg) });
    const callback = signedHeaders(SECRET, msg);
    expect(callback).to.not.have.property('X-Client-Id');
    expect(verify(SECRET, callback, 'POST', '/v1/transfers?x=1', body, now)).to.deep.equal({ ok: true });
  });

  it('accepts a message up to 300 s away either way and refuses one further as STALE_TIMESTAMP', () => {
    for (const skew of [-300, 300]) {
      const h = signedHeaders(SECRET, { ...msg, timestamp: ts + skew });
      expect(verify(SECRET, h, 'POST', msg.pathWithQuery, body, now).ok, `skew ${skew}`).to.equal(true);
    }
    for (const skew of [-301, 301]) {
      const h = signedHeaders(SECRET, { ...msg, timestamp: ts + skew });
      expect(verify(SECRET, h, 'POST', msg.pathWithQuery, body, now)).to.deep.equal({ ok: false, reason: 'STALE_TIMESTAMP' });
    }
  });

  it('refuses a missing or malformed timestamp as STALE_TIMESTAMP', () => {
    const h = signedHeaders(SECRET, msg);
    expect(verify(SECRET, { 'X-Signature': h['X-Signature'] }, 'POST', msg.pathWithQuery, body, now).ok).to.equal(false);
    expect(verify(SECRET, { ...h, 'X-Timestamp': '1.7e9' }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal({
      ok: false,
      reason: 'STALE_TIMESTAMP',
    });
  });

  it('refuses a tampered body, target, method or timestamp, and a wrong secret, as BAD_SIGNATURE', () => {
    const h = signedHeaders(SECRET, msg);
    const bad = { ok: false, reason: 'BAD_SIGNATURE' };
    const tampered = Buffer.from(body);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
    expect(verify(SECRET, h, 'POST', msg.pathWithQuery, tampered, now)).to.deep.equal(bad);
    expect(verify(SECRET, h, 'POST', '/v1/transfers?x=2', body, now)).to.deep.equal(bad);
    expect(verify(SECRET, h, 'PUT', msg.pathWithQuery, body, now)).to.deep.equal(bad);
    expect(verify(SECRET, { ...h, 'X-Timestamp': String(ts + 1) }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(bad);
    expect(verify(`${SECRET}x`, h, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(bad);
  });

  it('refuses a signature of another length, an upper-case one, a missing one and a repeated header without throwing', () => {
    const h = signedHeaders(SECRET, msg);
    const bad = { ok: false, reason: 'BAD_SIGNATURE' };
    const sig = h['X-Signature']!;
    expect(verify(SECRET, { ...h, 'X-Signature': sig.slice(0, 63) }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(bad);
    expect(verify(SECRET, { ...h, 'X-Signature': `${sig}00` }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(bad);
    expect(verify(SECRET, { ...h, 'X-Signature': '' }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(bad);
    expect(verify(SECRET, { ...h, 'X-Signature': sig.toUpperCase() }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(bad);
    expect(verify(SECRET, { 'x-timestamp': String(ts) }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(bad);
    expect(verify(SECRET, { 'x-timestamp': String(ts), 'x-signature': [sig, sig] }, 'POST', msg.pathWithQuery, body, now)).to.deep.equal(
      bad,
    );
  });

  it('reads header names case-insensitively, as Node delivers them lower-cased', () => {
    const h = signedHeaders(SECRET, msg);
    const lower = { 'x-timestamp': h['X-Timestamp'], 'x-signature': h['X-Signature'] };
    expect(verify(SECRET, lower, 'post', msg.pathWithQuery, body, new Date(now))).to.deep.equal({ ok: true });
  });
});

describe('HTTP provider adapter', () => {
  let adapter: HttpProviderAdapter;

  beforeEach(() => {
    adapter = new HttpProviderAdapter({ baseUrl: BASE, clientId: CLIENT_ID, secret: SECRET, timeoutMs: 1000, callbackUrl: CALLBACK });
  });

  afterEach(() => {
    adapter.close();
    nock.abortPendingRequests();
    nock.cleanAll();
  });

  describe('send (POST /v1/transfers)', () => {
    it('sends the contract body, signed over its exact bytes, and maps 201 to accepted', async () => {
      const scope = nock(BASE).post('/v1/transfers').reply(201, transfer());
      const seen = record(scope);
      const outcome = await adapter.send(order);
      expect(outcome).to.deep.equal({ kind: 'accepted', transfer: transfer() });
      expectSigned(seen[0], 'POST', '/v1/transfers');
      expect(seen[0]!.body).to.equal(
        JSON.stringify({
          reference: order.reference,
          amount: 500000,
          currency: 'VND',
          destination: order.destination,
          description: order.description,
          callbackUrl: CALLBACK,
        }),
      );
      expect(Number(seen[0]!.headers['content-length'])).to.equal(Buffer.byteLength(seen[0]!.body, 'utf8'));
      expect(scope.isDone()).to.equal(true);
    });

    it('maps a 201 with a transfer already FAILED to accepted with its failure code', async () => {
      nock(BASE)
        .post('/v1/transfers')
        .reply(201, transfer({ status: 'FAILED', failureCode: 'ACCOUNT_CLOSED' }));
      const outcome = await adapter.send(order);
      expect(outcome.kind).to.equal('accepted');
      expect(outcome.kind === 'accepted' && outcome.transfer.failureCode).to.equal('ACCOUNT_CLOSED');
    });

    it('maps 200 to duplicate: accepted before with an identical body', async () => {
      nock(BASE)
        .post('/v1/transfers')
        .reply(200, transfer({ status: 'SUCCEEDED' }));
      expect(await adapter.send(order)).to.deep.equal({ kind: 'duplicate', transfer: transfer({ status: 'SUCCEEDED' }) });
    });

    it('maps 400 to rejected with the provider message', async () => {
      nock(BASE).post('/v1/transfers').reply(400, { error: 'INVALID_REQUEST', message: 'bankCode unknown' });
      expect(await adapter.send(order)).to.deep.equal({ kind: 'rejected', code: 'INVALID_REQUEST', message: 'bankCode unknown' });
    });

    it('maps 401 to unauthorized with the reason', async () => {
      nock(BASE).post('/v1/transfers').reply(401, { error: 'STALE_TIMESTAMP' });
      expect(await adapter.send(order)).to.deep.equal({ kind: 'unauthorized', code: 'STALE_TIMESTAMP' });
    });

    it('maps 409 REFERENCE_CONFLICT to conflict, and a 409 without it to unknown', async () => {
      nock(BASE).post('/v1/transfers').reply(409, { error: 'REFERENCE_CONFLICT' });
      expect(await adapter.send(order)).to.deep.equal({ kind: 'conflict' });
      nock(BASE).post('/v1/transfers').reply(409, '<html>conflict</html>');
      expect((await adapter.send(order)).kind).to.equal('unknown');
    });

    it('maps 429 to retry_later with the Retry-After seconds', async () => {
      nock(BASE).post('/v1/transfers').reply(429, { error: 'RATE_LIMITED' }, { 'Retry-After': '7' });
      expect(await adapter.send(order)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: 7 });
    });

    it('maps 503 to retry_later', async () => {
      nock(BASE).post('/v1/transfers').reply(503, { error: 'UNAVAILABLE' });
      expect(await adapter.send(order)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: null });
    });

    for (const status of [500, 502, 504]) {
      it(`maps ${status} to unknown: the transfer may have been accepted`, async () => {
        nock(BASE).post('/v1/transfers').reply(status, 'Bad Gateway');
        expect(await adapter.send(order)).to.deep.equal({ kind: 'unknown', reason: `STATUS_${status}` });
      });
    }

    it('maps an answer slower than timeoutMs to unknown', async () => {
      nock(BASE).post('/v1/transfers').delay(2000).reply(201, transfer());
      const started = Date.now();
      expect(await adapter.send(order)).to.deep.equal({ kind: 'unknown', reason: 'TIMEOUT' });
      // given up at the timeout (1 s), not when the answer came (2 s)
      expect(Date.now() - started).to.be.below(1900);
    });

    it('maps a reset connection to unknown', async () => {
      nock(BASE).post('/v1/transfers').replyWithError(netError('ECONNRESET'));
      expect(await adapter.send(order)).to.deep.equal({ kind: 'unknown', reason: 'ECONNRESET' });
    });

    it('maps a refused connection (never reached the provider) to retry_later', async () => {
      nock(BASE).post('/v1/transfers').replyWithError(netError('ECONNREFUSED'));
      expect(await adapter.send(order)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: null });
    });

    it('maps a 201 or 200 of the wrong shape to unknown, never to "not accepted"', async () => {
      const wrong = [
        transfer({ amount: 500000.5 }),
        transfer({ amount: '500000' }),
        transfer({ status: 'DONE' }),
        transfer({ reference: 'PAY-OTHER' }),
        transfer({ amount: 400000 }),
        transfer({ status: 'FAILED', failureCode: null }),
        'not json',
      ];
      for (const body of wrong) {
        nock(BASE).post('/v1/transfers').reply(201, body);
        const outcome = await adapter.send(order);
        expect(outcome.kind, JSON.stringify(body)).to.equal('unknown');
      }
      nock(BASE).post('/v1/transfers').reply(200, {});
      expect((await adapter.send(order)).kind).to.equal('unknown');
    });

    it('refuses a non-integer, non-positive or unsafe amount before any request', async () => {
      const scope = nock(BASE).post('/v1/transfers').reply(201, transfer());
      for (const amount of [500000.5, 0, -1, Number.NaN, Number.MAX_SAFE_INTEGER + 1, '500000' as unknown as number]) {
        let caught: unknown;
        try {
          await adapter.send({ ...order, amount });
        } catch (err) {
          caught = err;
        }
        expect(caught, String(amount)).to.be.instanceOf(AppError);
        expect((caught as AppError).code).to.equal('INVALID_AMOUNT');
      }
      expect(scope.isDone()).to.equal(false);
    });

    it('refuses a malformed reference or destination before any request', async () => {
      const bad: TransferOrder[] = [
        { ...order, reference: 'has space' },
        { ...order, reference: 'x'.repeat(65) },
        { ...order, destination: { ...order.destination, bankCode: '97041' } as TransferOrder['destination'] },
        { ...order, description: 'x'.repeat(141) },
      ];
      for (const o of bad) {
        let caught: unknown;
        try {
          await adapter.send(o);
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(AppError);
        expect((caught as AppError).kind).to.equal('invalid');
      }
    });

    it('signs the full target when the base URL has a path prefix, and sends wallet destinations', async () => {
      const prefixed = new HttpProviderAdapter({ baseUrl: `${BASE}/partner/`, clientId: CLIENT_ID, secret: SECRET, timeoutMs: 1000 });
      try {
        const scope = nock(BASE).post('/partner/v1/transfers').reply(201, transfer());
        const seen = record(scope);
        const wallet = { type: 'WALLET' as const, walletProvider: 'MOMO', walletId: '0912345678', accountName: 'NGUYEN VAN A' };
        expect((await prefixed.send({ ...order, destination: wallet, description: undefined })).kind).to.equal('accepted');
        expectSigned(seen[0], 'POST', '/partner/v1/transfers');
        expect(JSON.parse(seen[0]!.body)).to.deep.equal({
          reference: order.reference,
          amount: 500000,
          currency: 'VND',
          destination: wallet,
        });
      } finally {
        prefixed.close();
      }
    });

    it('sends byte-identical bodies for the same order, so a resend is seen as a duplicate', async () => {
      const scope = nock(BASE).post('/v1/transfers').reply(500).post('/v1/transfers').reply(200, transfer());
      const seen = record(scope);
      await adapter.send(order);
      await adapter.send({
        description: order.description,
        destination: { ...order.destination },
        amount: 500000,
        reference: order.reference,
      });
      expect(seen).to.have.length(2);
      expect(seen[1]!.body).to.equal(seen[0]!.body);
    });
  });

  describe('inquire (GET /v1/transfers/{reference})', () => {
    it('maps 200 to found, with a signed GET over an empty body', async () => {
      const scope = nock(BASE)
        .get(`/v1/transfers/${order.reference}`)
        .reply(200, transfer({ status: 'RETURNED', failureCode: 'ACCOUNT_CLOSED' }));
      const seen = record(scope);
      expect(await adapter.inquire(order.reference)).to.deep.equal({
        kind: 'found',
        transfer: transfer({ status: 'RETURNED', failureCode: 'ACCOUNT_CLOSED' }),
      });
      expectSigned(seen[0], 'GET', `/v1/transfers/${order.reference}`);
      expect(seen[0]!.body).to.equal('');
    });

    it('maps 404 NOT_FOUND to not_found', async () => {
      nock(BASE).get(`/v1/transfers/${order.reference}`).reply(404, { error: 'NOT_FOUND' });
      expect(await adapter.inquire(order.reference)).to.deep.equal({ kind: 'not_found' });
    });

    it('does not take a 404 without the contract body as "never accepted"', async () => {
      nock(BASE).get(`/v1/transfers/${order.reference}`).reply(404, '<html>no such route</html>');
      await expectAppError(adapter.inquire(order.reference), 'PROVIDER_BAD_RESPONSE');
    });

    it('maps 500, a timeout and a reset to unknown, 429 and 503 to retry_later', async () => {
      nock(BASE).get(`/v1/transfers/${order.reference}`).reply(500);
      expect(await adapter.inquire(order.reference)).to.deep.equal({ kind: 'unknown', reason: 'STATUS_500' });
      nock(BASE).get(`/v1/transfers/${order.reference}`).delay(2000).reply(200, transfer());
      expect(await adapter.inquire(order.reference)).to.deep.equal({ kind: 'unknown', reason: 'TIMEOUT' });
      nock(BASE).get(`/v1/transfers/${order.reference}`).replyWithError(netError('ECONNRESET'));
      expect(await adapter.inquire(order.reference)).to.deep.equal({ kind: 'unknown', reason: 'ECONNRESET' });
      nock(BASE).get(`/v1/transfers/${order.reference}`).reply(429, {}, { 'Retry-After': '3' });
      expect(await adapter.inquire(order.reference)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: 3 });
      nock(BASE).get(`/v1/transfers/${order.reference}`).reply(503);
      expect(await adapter.inquire(order.reference)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: null });
    });

    it('throws on a 200 of the wrong shape or for another reference', async () => {
      nock(BASE)
        .get(`/v1/transfers/${order.reference}`)
        .reply(200, transfer({ amount: 1.5 }));
      await expectAppError(adapter.inquire(order.reference), 'PROVIDER_BAD_RESPONSE');
      nock(BASE)
        .get(`/v1/transfers/${order.reference}`)
        .reply(200, transfer({ reference: 'PAY-OTHER' }));
      await expectAppError(adapter.inquire(order.reference), 'PROVIDER_BAD_RESPONSE');
    });

    it('refuses a reference that could change the request target', async () => {
      await expectAppError(adapter.inquire('../balance'), 'INVALID_REFERENCE');
    });
  });

  describe('lookupAccount (POST /v1/account-lookups)', () => {
    const dest = { type: 'BANK_ACCOUNT' as const, bankCode: '970415', accountNumber: '0123456789' };

    for (const status of ['ACTIVE', 'CLOSED'] as const) {
      it(`answers ${status} with the account name, sending the destination without a name`, async () => {
        const scope = nock(BASE).post('/v1/account-lookups').reply(200, { status, accountName: 'NGUYEN VAN A' });
        const seen = record(scope);
        const withName = { ...dest, accountName: 'SHOULD NOT BE SENT' };
        expect(await adapter.lookupAccount(withName)).to.deep.equal({ kind: 'answered', status, accountName: 'NGUYEN VAN A' });
        expectSigned(seen[0], 'POST', '/v1/account-lookups');
        expect(JSON.parse(seen[0]!.body)).to.deep.equal({ destination: dest });
      });
    }

    it('answers NOT_FOUND without a name', async () => {
      nock(BASE).post('/v1/account-lookups').reply(200, { status: 'NOT_FOUND' });
      expect(await adapter.lookupAccount(dest)).to.deep.equal({ kind: 'answered', status: 'NOT_FOUND', accountName: null });
    });

    it('answers not_offered on 404', async () => {
      nock(BASE).post('/v1/account-lookups').reply(404);
      expect(await adapter.lookupAccount(dest)).to.deep.equal({ kind: 'not_offered' });
    });

    it('throws on an unknown status, and unavailable on 503', async () => {
      nock(BASE).post('/v1/account-lookups').reply(200, { status: 'MAYBE', accountName: 'X' });
      await expectAppError(adapter.lookupAccount(dest), 'PROVIDER_BAD_RESPONSE');
      nock(BASE).post('/v1/account-lookups').reply(503);
      await expectAppError(adapter.lookupAccount(dest), 'PROVIDER_UNAVAILABLE', 'unavailable');
    });
  });

  describe('balance (GET /v1/balance)', () => {
    it('answers the float as whole đồng, from a signed request', async () => {
      const scope = nock(BASE).get('/v1/balance').reply(200, { currency: 'VND', available: 123456789000 });
      const seen = record(scope);
      expect(await adapter.balance()).to.deep.equal({ currency: 'VND', available: 123456789000 });
      expectSigned(seen[0], 'GET', '/v1/balance');
    });

    it('throws on a fractional, negative or string amount or another currency', async () => {
      for (const body of [
        { currency: 'VND', available: 1.5 },
        { currency: 'VND', available: -1 },
        { currency: 'VND', available: '100' },
        { currency: 'USD', available: 100 },
      ]) {
        nock(BASE).get('/v1/balance').reply(200, body);
        await expectAppError(adapter.balance(), 'PROVIDER_BAD_RESPONSE');
      }
    });

    it('throws unavailable on a timeout or a reset', async () => {
      nock(BASE).get('/v1/balance').delay(2000).reply(200, { currency: 'VND', available: 1 });
      await expectAppError(adapter.balance(), 'PROVIDER_UNAVAILABLE', 'unavailable');
      nock(BASE).get('/v1/balance').replyWithError(netError('ECONNRESET'));
      await expectAppError(adapter.balance(), 'PROVIDER_UNAVAILABLE', 'unavailable');
    });
  });

  describe('statement (GET /v1/statements?date=)', () => {
    const path = '/v1/statements?date=2024-12-05';
    const csv =
      'reference,transferId,status,amount,currency,failureCode,occurredAt\n' +
      'PAY-2024-12-000123,T8F3K2,SUCCEEDED,500000,VND,,2024-12-05T09:00:02+07:00\n' +
      'PAY-2024-12-000124,T8F3K3,FAILED,750000,VND,ACCOUNT_CLOSED,2024-12-05T10:15:00+07:00\n';
    const signedBy = (secret: string, body: string, timestamp?: number): Record<string, string> => ({
      'Content-Type': 'text/csv; charset=utf-8',
      ...signedHeaders(secret, { method: 'GET', pathWithQuery: path, rawBody: Buffer.from(body), timestamp }),
    });

    it('parses a correctly signed statement into typed lines, from a signed request over the query', async () => {
      const scope = nock(BASE).get(path).reply(200, csv, signedBy(SECRET, csv));
      const seen = record(scope);
      expect(await adapter.statement('2024-12-05')).to.deep.equal([
        {
          reference: 'PAY-2024-12-000123',
          transferId: 'T8F3K2',
          status: 'SUCCEEDED',
          amount: 500000,
          currency: 'VND',
          failureCode: null,
          occurredAt: '2024-12-05T09:00:02+07:00',
        },
        {
          reference: 'PAY-2024-12-000124',
          transferId: 'T8F3K3',
          status: 'FAILED',
          amount: 750000,
          currency: 'VND',
          failureCode: 'ACCOUNT_CLOSED',
          occurredAt: '2024-12-05T10:15:00+07:00',
        },
      ]);
      expectSigned(seen[0], 'GET', path);
    });

    it('answers an empty list for a statement with only the header', async () => {
      const empty = 'reference,transferId,status,amount,currency,failureCode,occurredAt\n';
      nock(BASE).get(path).reply(200, empty, signedBy(SECRET, empty));
      expect(await adapter.statement('2024-12-05')).to.deep.equal([]);
    });

    it('refuses a statement signed with another secret, tampered, unsigned or stale', async () => {
      nock(BASE).get(path).reply(200, csv, signedBy('another-secret-0123456789abcdef0123', csv));
      await expectAppError(adapter.statement('2024-12-05'), 'PROVIDER_BAD_SIGNATURE');
      nock(BASE).get(path).reply(200, csv.replace('500000', '5000000'), signedBy(SECRET, csv));
      await expectAppError(adapter.statement('2024-12-05'), 'PROVIDER_BAD_SIGNATURE');
      nock(BASE).get(path).reply(200, csv, { 'Content-Type': 'text/csv' });
      await expectAppError(adapter.statement('2024-12-05'), 'PROVIDER_BAD_SIGNATURE');
      nock(BASE)
        .get(path)
        .reply(200, csv, signedBy(SECRET, csv, unixSeconds() - 301));
      await expectAppError(adapter.statement('2024-12-05'), 'PROVIDER_BAD_SIGNATURE');
    });

    it('refuses a signed statement with a fractional amount, an unknown status or a wrong header', async () => {
      for (const bad of [
        csv.replace('500000', '500000.5'),
        csv.replace('SUCCEEDED', 'DONE'),
        csv.replace('failureCode,', 'code,'),
        csv.replace(',ACCOUNT_CLOSED,', ',,'),
      ]) {
        nock(BASE).get(path).reply(200, bad, signedBy(SECRET, bad));
        await expectAppError(adapter.statement('2024-12-05'), 'PROVIDER_BAD_RESPONSE');
      }
    });

    it('refuses a malformed date before any request', async () => {
      await expectAppError(adapter.statement('2024-12-5&x=1'), 'INVALID_DATE');
    });
  });

  describe('verifyCallback', () => {
    const target = '/api/v1/providers/http/callbacks';
    const event = {
      eventId: 'E7Q',
      reference: order.reference,
      transferId: 'T8F3K2',
      status: 'SUCCEEDED',
      amount: 500000,
      currency: 'VND',
      failureCode: null,
      occurredAt: '2024-12-05T09:00:02+07:00',
    };
    const raw = Buffer.from(JSON.stringify(event));
    const headersFor = (body: Buffer, timestamp?: number) => {
      const h = signedHeaders(SECRET, { method: 'POST', pathWithQuery: target, rawBody: body, timestamp });
      return { 'x-timestamp': h['X-Timestamp'], 'x-signature': h['X-Signature'] };
    };

    it('returns the parsed event of a correctly signed callback', () => {
      expect(adapter.verifyCallback(headersFor(raw), raw, target)).to.deep.equal(event);
    });

    it('refuses a tampered or stale callback as unauthenticated', () => {
      const tampered = Buffer.from(JSON.stringify({ ...event, amount: 5000000 }));
      expect(() => adapter.verifyCallback(headersFor(raw), tampered, target))
        .to.throw(AppError)
        .with.property('code', 'BAD_SIGNATURE');
      expect(() => adapter.verifyCallback(headersFor(raw, unixSeconds() - 600), raw, target))
        .to.throw(AppError)
        .with.property('code', 'STALE_TIMESTAMP');
      expect(() => adapter.verifyCallback(headersFor(raw), raw, `${target}?x=1`))
        .to.throw(AppError)
        .with.property('kind', 'unauthenticated');
    });

    it('refuses a signed body that is not a transfer event as invalid', () => {
      const bad = Buffer.from(JSON.stringify({ ...event, amount: 1.5 }));
      expect(() => adapter.verifyCallback(headersFor(bad), bad, target))
        .to.throw(AppError)
        .with.property('code', 'INVALID_EVENT');
    });
  });
});

async function expectAppError(promise: Promise<unknown>, code: string, kind?: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).to.be.instanceOf(AppError);
  expect((caught as AppError).code).to.equal(code);
  if (kind) expect((caught as AppError).kind).to.equal(kind);
}

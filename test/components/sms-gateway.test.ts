import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import nock from 'nock';
import { SmsGatewayClient } from '../../src/components/notifications';
import { buildSmsSandbox, type SmsSandboxLedger } from '../../src/components/notifications/sandbox';
import { signedHeaders, verify } from '../../src/components/providers/signing';
import { startCallbackReceiver, signedRequest, type CallbackReceiver } from '../helpers/sandbox';

const SECRET = 'sms-test-secret-0123456789abcdef';
const msg = {
  reference: 'NTF-B202612ABCDEFGH-7-PAID',
  to: '+84912345678',
  sender: 'SOLDTBXH',
  text: 'So LDTBXH: Tro cap thang 12/2026 da chuyen.',
};
const object = (status = 'QUEUED', reference = msg.reference) => ({
  reference,
  messageId: 'M7QK2',
  status,
  encoding: 'GSM7',
  segments: 1,
  createdAt: '2026-12-10T08:00:01+07:00',
  updatedAt: '2026-12-10T08:00:01+07:00',
  errorCode: null,
});

describe('SMS gateway client (sms-api.md)', function () {
  this.timeout(20_000);

  describe('against a gateway stand-in (nock), each row of the send table', () => {
    const BASE = 'https://sms.example';
    let client: SmsGatewayClient;
    beforeEach(() => {
      client = new SmsGatewayClient({ baseUrl: `${BASE}/gw`, clientId: 'svc-1', secret: SECRET, timeoutMs: 1000 });
    });
    afterEach(() => {
      client.close();
      nock.cleanAll();
    });
    const gw = () => nock(BASE);

    it('201: accepted, the request signed over its path prefix and exact body, in the contract’s key order', async () => {
      let seen: { headers: http.IncomingHttpHeaders; body: string } | undefined;
      gw()
        .post('/gw/v1/messages')
        .reply(function (_uri, body) {
          seen = { headers: this.req.headers as http.IncomingHttpHeaders, body: typeof body === 'string' ? body : JSON.stringify(body) };
          return [201, object()];
        });
      const out = await client.send({ ...msg, callbackUrl: 'https://svc.example/cb' });
      expect(out.kind).to.equal('accepted');
      expect(Object.keys(JSON.parse(seen!.body) as object)).to.deep.equal(['reference', 'to', 'sender', 'text', 'callbackUrl']);
      expect(seen!.headers['x-client-id']).to.equal('svc-1');
      expect(verify(SECRET, seen!.headers, 'POST', '/gw/v1/messages', seen!.body).ok).to.equal(true);
    });

    it('200: a duplicate of an identical earlier body', async () => {
      gw().post('/gw/v1/messages').reply(200, object('DELIVERED'));
      const out = await client.send(msg);
      expect(out).to.deep.include({ kind: 'duplicate' });
      expect(out.kind === 'duplicate' && out.message.status).to.equal('DELIVERED');
    });

    it('400: refused with the gateway’s code', async () => {
      gw().post('/gw/v1/messages').reply(400, { error: 'INSUFFICIENT_BALANCE', message: 'top up' });
      expect(await client.send(msg)).to.deep.equal({ kind: 'refused', code: 'INSUFFICIENT_BALANCE' });
    });

    it('401: unauthorized, naming BAD_SIGNATURE or STALE_TIMESTAMP', async () => {
      gw().post('/gw/v1/messages').reply(401, { error: 'STALE_TIMESTAMP' });
      expect(await client.send(msg)).to.deep.equal({ kind: 'unauthorized', code: 'STALE_TIMESTAMP' });
    });

    it('409 REFERENCE_CONFLICT: conflict; any other 409 tells nothing', async () => {
      gw().post('/gw/v1/messages').reply(409, { error: 'REFERENCE_CONFLICT' });
      expect(await client.send(msg)).to.deep.equal({ kind: 'conflict' });
      gw().post('/gw/v1/messages').reply(409, { error: 'SOMETHING_ELSE' });
      expect(await client.send(msg)).to.deep.equal({ kind: 'unknown', reason: 'STATUS_409' });
    });

    it('429 and 503: not accepted, try again after Retry-After', async () => {
      gw().post('/gw/v1/messages').reply(429, { error: 'RATE_LIMITED' }, { 'Retry-After': '7' });
      expect(await client.send(msg)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: 7 });
      gw().post('/gw/v1/messages').reply(503, { error: 'UNAVAILABLE' });
      expect(await client.send(msg)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: null });
    });

    const unknowns: [string, () => nock.Scope, string][] = [
      ['a 500', () => gw().post('/gw/v1/messages').reply(500, { error: 'INTERNAL' }), 'STATUS_500'],
      ['a 502', () => gw().post('/gw/v1/messages').reply(502, 'bad gateway'), 'STATUS_502'],
      ['an answer slower than the timeout', () => gw().post('/gw/v1/messages').delay(2000).reply(201, object()), 'TIMEOUT'],
      [
        'a reset',
        () =>
          gw()
            .post('/gw/v1/messages')
            .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
        'ECONNRESET',
      ],
      ['a 201 it cannot read', () => gw().post('/gw/v1/messages').reply(201, { reference: msg.reference }), 'MALFORMED_201'],
      ['a 201 for another reference', () => gw().post('/gw/v1/messages').reply(201, object('QUEUED', 'NTF-OTHER')), 'MISMATCHED_201'],
    ];
    for (const [what, scope, reason] of unknowns) {
      it(`${what}: unknown (ask before sending again)`, async () => {
        scope();
        expect(await client.send(msg)).to.deep.equal({ kind: 'unknown', reason });
      });
    }

    it('asks: 200 found, 404 NOT_FOUND never accepted, a stray 404 unknown, 503 later', async () => {
      gw().get(`/gw/v1/messages/${msg.reference}`).reply(200, object('SENT'));
      const found = await client.ask(msg.reference);
      expect(found.kind === 'found' && found.message.status).to.equal('SENT');
      gw().get(`/gw/v1/messages/${msg.reference}`).reply(404, { error: 'NOT_FOUND' });
      expect(await client.ask(msg.reference)).to.deep.equal({ kind: 'not_found' });
      gw().get(`/gw/v1/messages/${msg.reference}`).reply(404, '<html>no</html>');
      expect(await client.ask(msg.reference)).to.deep.equal({ kind: 'unknown', reason: 'STATUS_404' });
      gw().get(`/gw/v1/messages/${msg.reference}`).reply(503, { error: 'UNAVAILABLE' }, { 'Retry-After': '2' });
      expect(await client.ask(msg.reference)).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: 2 });
    });

    it('balance: segments left, null when billed monthly, the gateway’s error named otherwise', async () => {
      gw().get('/gw/v1/balance').reply(200, { segmentsLeft: 125000, asOf: '2026-12-10T08:00:00+07:00' });
      expect(await client.balance()).to.deep.equal({ segmentsLeft: 125000, asOf: '2026-12-10T08:00:00+07:00' });
      gw().get('/gw/v1/balance').reply(404, { error: 'NOT_FOUND' });
      expect(await client.balance()).to.equal(null);
      gw().get('/gw/v1/balance').reply(401, { error: 'BAD_SIGNATURE' });
      const err = await client.balance().catch((e: unknown) => e as { code: string; details: { providerError: string } });
      expect(err).to.deep.include({ code: 'GATEWAY_UNAUTHORIZED' });
      expect((err as { details: { providerError: string } }).details.providerError).to.equal('BAD_SIGNATURE');
    });

    it('refuses what the contract does not allow before anything leaves', async () => {
      for (const [bad, code] of [
        [{ to: '0912345678' }, 'INVALID_NUMBER'],
        [{ sender: 'TOO-LONG-SENDER' }, 'INVALID_SENDER'],
        [{ text: 'a'.repeat(613) }, 'INVALID_TEXT'],
        [{ reference: 'bad ref' }, 'INVALID_REFERENCE'],
      ] as const) {
        const err = await client.send({ ...msg, ...bad }).catch((e: unknown) => e as { code: string });
        expect(err, code).to.deep.include({ code });
      }
      expect(nock.pendingMocks()).to.have.length(0);
    });
  });

  describe('against the sandbox gateway', () => {
    let server: http.Server;
    let ledger: SmsSandboxLedger;
    let url: string;
    let receiver: CallbackReceiver;
    let client: SmsGatewayClient;

    before(async () => {
      const sandbox = buildSmsSandbox({
        clientId: 'svc-1',
        secret: SECRET,
        prefix: '/sms',
        seed: 'test',
        behaviour: { sentMs: [0, 0], deliverMs: [0, 0] },
      });
      ledger = sandbox.ledger;
      server = http.createServer(sandbox.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      receiver = await startCallbackReceiver();
      client = new SmsGatewayClient({ baseUrl: `${url}/sms`, clientId: 'svc-1', secret: SECRET, timeoutMs: 2000 });
    });
    after(async () => {
      client.close();
      ledger.close();
      await receiver.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('accepts once (201), answers an identical repeat 200 and another text 409; asks find it or NOT_FOUND', async () => {
      const ref = 'NTF-SANDBOX-1-PAID';
      const first = await client.send({ ...msg, reference: ref, callbackUrl: receiver.url });
      expect(first.kind).to.equal('accepted');
      // another callbackUrl alone is not a conflict
      expect((await client.send({ ...msg, reference: ref, callbackUrl: `${receiver.url}?again` })).kind).to.equal('duplicate');
      expect(await client.send({ ...msg, reference: ref, text: 'another text' })).to.deep.equal({ kind: 'conflict' });
      const asked = await client.ask(ref);
      expect(asked.kind).to.equal('found');
      expect(await client.ask('NTF-NEVER-SENT')).to.deep.equal({ kind: 'not_found' });
      expect(ledger.messages.get(ref)!.accepts).to.equal(2);
    });

    it('reports SENT then DELIVERED, signed, to the callbackUrl; the client verifies them', async () => {
      const ref = 'NTF-SANDBOX-2-PAID';
      await client.send({ ...msg, reference: ref, callbackUrl: receiver.url });
      await receiver.waitFor((r) => r.filter((c) => c.rawBody.toString().includes(ref)).length >= 2);
      const reports = receiver.received
        .filter((c) => c.rawBody.toString().includes(ref))
        .map((c) => client.verifyReport(c.headers, c.rawBody, c.path));
      expect(reports.map((r) => r.status)).to.deep.equal(['SENT', 'DELIVERED']);
      const tampered = receiver.received.find((c) => c.rawBody.toString().includes(ref))!;
      expect(() =>
        client.verifyReport(tampered.headers, Buffer.from(tampered.rawBody.toString().replace('SENT', 'DELIVERED')), tampered.path),
      ).to.throw(/signature/);
    });

    it('a number not in service is REJECTED with its code', async () => {
      const ref = 'NTF-SANDBOX-3-PAID';
      await client.send({ ...msg, to: '+84912340000', reference: ref, callbackUrl: receiver.url });
      await receiver.waitFor((r) => r.some((c) => c.rawBody.toString().includes(ref) && c.rawBody.toString().includes('REJECTED')));
      const asked = await client.ask(ref);
      expect(asked.kind === 'found' && [asked.message.status, asked.message.errorCode]).to.deep.equal([
        'REJECTED',
        'NUMBER_NOT_IN_SERVICE',
      ]);
    });

    it('401 BAD_SIGNATURE for another secret, STALE_TIMESTAMP for a clock 10 minutes off', async () => {
      const wrong = new SmsGatewayClient({
        baseUrl: `${url}/sms`,
        clientId: 'svc-1',
        secret: 'another-secret-0123456789',
        timeoutMs: 2000,
      });
      expect(await wrong.send({ ...msg, reference: 'NTF-WRONG' })).to.deep.equal({ kind: 'unauthorized', code: 'BAD_SIGNATURE' });
      wrong.close();
      const body = JSON.stringify({ ...msg, reference: 'NTF-STALE' });
      const headers = signedHeaders(
        SECRET,
        { method: 'POST', pathWithQuery: '/sms/v1/messages', rawBody: body, timestamp: Math.floor(Date.now() / 1000) - 600 },
        'svc-1',
      );
      const res = await fetch(`${url}/sms/v1/messages`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
      expect(res.status).to.equal(401);
      expect(await res.json()).to.deep.equal({ error: 'STALE_TIMESTAMP' });
    });

    it('429 above its rate; an answer lost after accepting is unknown, and asking finds the message', async () => {
      await signedRequest(url, 'svc-1', SECRET, 'POST', '/sms/_sandbox/faults', { ratePerSecond: 1 });
      const a = await client.send({ ...msg, reference: 'NTF-RATE-1' });
      const b = await client.send({ ...msg, reference: 'NTF-RATE-2' });
      expect([a.kind, b.kind]).to.include('retry_later');
      await signedRequest(url, 'svc-1', SECRET, 'POST', '/sms/_sandbox/faults', { ratePerSecond: 0, timeoutShare: 1, timeoutHoldMs: 50 });
      const lost = await client.send({ ...msg, reference: 'NTF-LOST-1' });
      expect(lost.kind).to.equal('unknown');
      await signedRequest(url, 'svc-1', SECRET, 'POST', '/sms/_sandbox/faults', { timeoutShare: 0 });
      expect((await client.ask('NTF-LOST-1')).kind).to.equal('found');
      const summary = JSON.parse((await signedRequest(url, 'svc-1', SECRET, 'GET', '/sms/_sandbox/ledger')).body) as {
        stats: { timedOut: number; rateLimited: number };
      };
      expect(summary.stats.timedOut).to.equal(1);
      expect(summary.stats.rateLimited).to.be.greaterThan(0);
    });

    it('the balance falls by the segments accepted', async () => {
      const before = await client.balance();
      await client.send({ ...msg, reference: 'NTF-BAL-1', text: 'ệ'.repeat(71) });
      const after = await client.balance();
      expect(before!.segmentsLeft - after!.segmentsLeft).to.equal(2);
    });
  });
});

import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { HttpProviderAdapter } from '../../src/components/providers/http.adapter';
import type { TransferOrder } from '../../src/components/providers/provider.port';
import { signedHeaders } from '../../src/components/providers/signing';
import { buildSandboxApp, vnIso, type SandboxLedger } from '../../src/components/providers/sandbox/sandbox.app';
import { AppError } from '../../src/platform/errors/app-error';

const SECRET = 'sandbox-test-secret-0123456789abcdef';
const CLIENT_ID = 'welfare-sandbox-client';
const DAY_MS = 24 * 3600 * 1000;
/** The business date (Asia/Ho_Chi_Minh) of a moment. */
const vnDate = (ms: number): string => vnIso(ms).slice(0, 10);

const order = (reference: string, over: Partial<TransferOrder> = {}): TransferOrder => ({
  reference,
  amount: 500000,
  destination: { type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: '0123456789', accountName: 'NGUYEN VAN A' },
  description: 'TCXH T12/2024 – trợ cấp xã hội',
  ...over,
});

describe('sandbox provider, driven by the HTTP adapter', () => {
  let server: http.Server;
  let baseUrl: string;
  let ledger: SandboxLedger;
  let adapter: HttpProviderAdapter;
  // the sandbox clock is real time (signatures must stay fresh), moved forward only around a direct ledger call
  let shiftMs = 0;
  const extraAdapters: HttpProviderAdapter[] = [];

  const adapterWith = (over: { secret?: string; clientId?: string } = {}): HttpProviderAdapter => {
    const a = new HttpProviderAdapter({
      baseUrl,
      clientId: over.clientId ?? CLIENT_ID,
      secret: over.secret ?? SECRET,
      timeoutMs: 5000,
      callbackUrl: 'http://127.0.0.1:1/callbacks',
    });
    extraAdapters.push(a);
    return a;
  };

  before(async () => {
    const built = buildSandboxApp({ clientId: CLIENT_ID, secret: SECRET, now: () => Date.now() + shiftMs, initialFloat: 2_000_000 });
    ledger = built.ledger;
    server = http.createServer(built.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    adapter = new HttpProviderAdapter({ baseUrl, clientId: CLIENT_ID, secret: SECRET, timeoutMs: 5000 });
  });

  after(async () => {
    adapter.close();
    for (const a of extraAdapters) a.close();
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('accepts a new transfer (201), PENDING with a +07:00 timestamp', async () => {
    const out = await adapter.send(order('SBX-1'));
    expect(out.kind).to.equal('accepted');
    if (out.kind !== 'accepted') return;
    expect(out.transfer).to.include({ reference: 'SBX-1', status: 'PENDING', amount: 500000, currency: 'VND', failureCode: null });
    expect(out.transfer.transferId).to.match(/^T[0-9A-F]{16}$/);
    expect(out.transfer.createdAt).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$/);
    expect(out.transfer.createdAt.slice(0, 10)).to.equal(vnDate(Date.now()));
  });

  it('answers an identical resend as a duplicate (200) with the stored transfer', async () => {
    const first = ledger.get('SBX-1');
    const out = await adapter.send(order('SBX-1'));
    expect(out.kind).to.equal('duplicate');
    if (out.kind === 'duplicate') expect(out.transfer).to.deep.equal(first);
  });

  it('refuses the same reference with another body (409 REFERENCE_CONFLICT)', async () => {
    expect(await adapter.send(order('SBX-1', { amount: 600000 }))).to.deep.equal({ kind: 'conflict' });
  });

  it('rejects an invalid body (400 INVALID_REQUEST with a message), and moves no money', async () => {
    const before = ledger.balance();
    const bad = order('SBX-BAD', {
      destination: { type: 'WALLET', walletProvider: 'MOMO', walletId: '0912345678', accountName: 'NGUYEN VAN B' },
    });
    // the adapter refuses most bad input itself: break the body on the wire with a raw signed request instead
    const body = JSON.stringify({ reference: bad.reference, amount: 1.5, currency: 'USD', destination: bad.destination });
    const res = await rawRequest('POST', '/v1/transfers', body, SECRET);
    expect(res.status).to.equal(400);
    const json = JSON.parse(res.body) as { error: string; message: string };
    expect(json.error).to.equal('INVALID_REQUEST');
    expect(json.message)
      .to.match(/amount/)
      .and.match(/currency/);
    expect(ledger.get('SBX-BAD')).to.equal(undefined);
    expect(ledger.balance()).to.equal(before);

    // description over 140 characters reaches the sandbox only by a raw request too; the adapter would throw
    const long = JSON.stringify({ ...JSON.parse(body), amount: 1, currency: 'VND', description: 'x'.repeat(141) });
    expect((await rawRequest('POST', '/v1/transfers', long, SECRET)).status).to.equal(400);
  });

  it('answers the adapter with rejected for a body the sandbox refuses', async () => {
    const out = await adapter.send(
      order('SBX-2', { destination: { type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: 'x'.repeat(200), accountName: 'A' } }),
    );
    expect(out.kind).to.equal('rejected');
    if (out.kind === 'rejected') expect(out.code).to.equal('INVALID_REQUEST');
  });

  it('answers inquiries: found and not_found', async () => {
    const found = await adapter.inquire('SBX-1');
    expect(found.kind).to.equal('found');
    if (found.kind === 'found') expect(found.transfer).to.deep.equal(ledger.get('SBX-1'));
    expect(await adapter.inquire('SBX-NEVER')).to.deep.equal({ kind: 'not_found' });
  });

  it('takes accepted amounts off the balance; a transfer beyond the float is FAILED with INSUFFICIENT_FUNDS', async () => {
    expect(await adapter.balance()).to.deep.equal({ currency: 'VND', available: 1_500_000 });
    expect((await adapter.send(order('SBX-3', { amount: 700000 }))).kind).to.equal('accepted');
    expect(await adapter.balance()).to.deep.equal({ currency: 'VND', available: 800_000 });
    const short = await adapter.send(order('SBX-4', { amount: 900000 }));
    expect(short.kind).to.equal('accepted');
    if (short.kind === 'accepted') expect(short.transfer).to.include({ status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS' });
    expect((await adapter.balance()).available).to.equal(800_000);
  });

  it('answers account lookups: ACTIVE with the bank-held name, CLOSED (…9999), NOT_FOUND (…0000)', async () => {
    ledger.registerAccount({ type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: '1122334455' }, 'Nguyễn Thị Đào');
    expect(await adapter.lookupAccount({ type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: '1122334455' })).to.deep.equal({
      kind: 'answered',
      status: 'ACTIVE',
      accountName: 'NGUYEN THI DAO',
    });
    const closed = await adapter.lookupAccount({ type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: '1234569999' });
    expect(closed).to.include({ kind: 'answered', status: 'CLOSED' });
    expect(await adapter.lookupAccount({ type: 'WALLET', walletProvider: 'MOMO', walletId: '0912340000' })).to.deep.equal({
      kind: 'answered',
      status: 'NOT_FOUND',
      accountName: null,
    });
  });

  it('refuses a wrong secret or client id: the adapter reports unauthorized, reads throw PROVIDER_UNAUTHORIZED', async () => {
    expect(await adapterWith({ secret: 'not-the-secret' }).send(order('SBX-5'))).to.deep.equal({
      kind: 'unauthorized',
      code: 'BAD_SIGNATURE',
    });
    expect(await adapterWith({ clientId: 'someone-else' }).send(order('SBX-5'))).to.deep.equal({
      kind: 'unauthorized',
      code: 'BAD_SIGNATURE',
    });
    const err = await adapterWith({ secret: 'not-the-secret' })
      .balance()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).code).to.equal('PROVIDER_UNAUTHORIZED');
    expect(ledger.get('SBX-5')).to.equal(undefined);
  });

  it('refuses a stale timestamp (401 STALE_TIMESTAMP)', async () => {
    const res = await rawRequest('GET', '/v1/balance', '', SECRET, Math.floor(Date.now() / 1000) - 301);
    expect(res.status).to.equal(401);
    expect(JSON.parse(res.body)).to.deep.equal({ error: 'STALE_TIMESTAMP' });
  });

  it('settles transfers and lists every change in the signed statement of the business date', async () => {
    ledger.settle('SBX-1', 'SUCCEEDED');
    ledger.settle('SBX-3', 'FAILED', 'ACCOUNT_CLOSED');
    expect(ledger.balance()).to.equal(1_500_000);
    const today = vnDate(Date.now());
    // the return happens on the next business day
    shiftMs = DAY_MS;
    ledger.settle('SBX-1', 'RETURNED', 'ACCOUNT_CLOSED');
    shiftMs = 0;
    const tomorrow = vnDate(Date.now() + DAY_MS);
    expect(() => ledger.settle('SBX-1', 'SUCCEEDED')).to.throw(AppError);
    expect(() => ledger.settle('SBX-4', 'SUCCEEDED')).to.throw(AppError);

    const day1 = await adapter.statement(today);
    expect(day1.map((l) => `${l.reference}:${l.status}:${l.failureCode ?? ''}`)).to.deep.equal([
      'SBX-1:PENDING:',
      'SBX-3:PENDING:',
      'SBX-4:FAILED:INSUFFICIENT_FUNDS',
      'SBX-1:SUCCEEDED:',
      'SBX-3:FAILED:ACCOUNT_CLOSED',
    ]);
    const day2 = await adapter.statement(tomorrow);
    expect(day2).to.have.length(1);
    expect(day2[0]).to.include({ reference: 'SBX-1', status: 'RETURNED', amount: 500000, failureCode: 'ACCOUNT_CLOSED' });
    expect(day2[0]!.occurredAt.slice(0, 10)).to.equal(tomorrow);
    expect((await adapter.inquire('SBX-1')).kind).to.equal('found');
    expect(await adapter.statement(vnDate(Date.now() + 2 * DAY_MS))).to.deep.equal([]);
  });

  /** A signed request with any body, for what the adapter itself would never send. */
  function rawRequest(
    method: string,
    path: string,
    body: string,
    secret: string,
    timestamp?: number,
  ): Promise<{ status: number; body: string }> {
    const raw = Buffer.from(body, 'utf8');
    const headers = {
      ...signedHeaders(secret, { method, pathWithQuery: path, rawBody: raw, timestamp }, CLIENT_ID),
      'content-type': 'application/json',
    };
    return new Promise((resolve, reject) => {
      const req = http.request(`${baseUrl}${path}`, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(raw);
    });
  }
});

import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpProviderAdapter } from '../../src/components/providers/http.adapter';
import type { TransferEvent, TransferOrder } from '../../src/components/providers/provider.port';
import type { LedgerSummary, ListedTransfer, SandboxOptions } from '../../src/components/providers/sandbox/sandbox.app';
import { SandboxLedger } from '../../src/components/providers/sandbox/ledger';
import {
  signedRequest,
  startCallbackReceiver,
  startTestSandbox,
  type CallbackReceiver,
  type ReceivedCallback,
  type TestSandbox,
} from '../helpers/sandbox';

const order = (reference: string, over: Partial<TransferOrder> = {}): TransferOrder => ({
  reference,
  amount: 500000,
  destination: { type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: '0123456789', accountName: 'NGUYEN VAN A' },
  description: 'TCXH T12/2024',
  ...over,
});
const bank = (accountNumber: string, accountName = 'NGUYEN VAN A'): TransferOrder['destination'] => ({
  type: 'BANK_ACCOUNT',
  bankCode: '970415',
  accountNumber,
  accountName,
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await sleep(5)) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
  }
}

describe('sandbox provider: settlement, callbacks and faults', () => {
  const open: { close(): unknown }[] = [];
  let receiver: CallbackReceiver;

  /** A sandbox, a callback receiver and the real adapter sending to the one with the other's URL. */
  async function setup(
    opts: Partial<SandboxOptions> = {},
    answer?: Parameters<typeof startCallbackReceiver>[0],
    timeoutMs = 5000,
  ): Promise<{ sandbox: TestSandbox; adapter: HttpProviderAdapter; events: () => TransferEvent[] }> {
    receiver = await startCallbackReceiver(answer);
    const sandbox = await startTestSandbox(opts);
    const adapter = new HttpProviderAdapter({
      baseUrl: sandbox.url,
      clientId: sandbox.clientId,
      secret: sandbox.secret,
      timeoutMs,
      callbackUrl: `${receiver.url}?provider=sandbox`,
    });
    open.push(receiver, sandbox, adapter);
    // every callback must verify with the adapter, over the exact bytes and target as received
    const events = (): TransferEvent[] => receiver.received.map((c) => adapter.verifyCallback(c.headers, c.rawBody, c.path));
    return { sandbox, adapter, events };
  }

  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  const summaryOf = async (sandbox: TestSandbox): Promise<LedgerSummary> => {
    const res = await sandbox.request('GET', '/_sandbox/ledger');
    expect(res.status).to.equal(200);
    return JSON.parse(res.body) as LedgerSummary;
  };
  const line = (e: TransferEvent): string => `${e.reference}:${e.status}:${e.failureCode ?? ''}`;

  it('settles accepted transfers by itself and posts each change, signed and verifiable by the adapter', async () => {
    const { sandbox, adapter, events } = await setup({ settleMs: [20, 60], initialFloat: 10_000_000 });
    sandbox.ledger.registerAccount({ type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: '5555555555' }, 'Trần Thị Bình');
    const sent = await Promise.all([
      adapter.send(order('AUTO-OK')),
      adapter.send(order('AUTO-NF', { destination: bank('1230000') })),
      adapter.send(order('AUTO-CL', { destination: bank('4569999') })),
      adapter.send(order('AUTO-NM', { destination: bank('5555555555', 'HOANG VAN EM') })),
    ]);
    for (const s of sent) expect(s.kind === 'accepted' && s.transfer.status).to.equal('PENDING');
    // each accepted transfer took its amount from the float; a failed one gives it back when it settles, which on a
    // busy machine may already have happened: the book and the float are read together, in one tick
    const { transfers } = sandbox.ledger.transfers(0, 10);
    expect(transfers).to.have.length(4);
    const notFailed = transfers.filter((t) => t.status !== 'FAILED').length;
    expect(sandbox.ledger.balance()).to.equal(10_000_000 - 500_000 * notFailed);
    await receiver.waitFor((r) => r.length === 4);
    expect(events().map(line)).to.have.members([
      'AUTO-OK:SUCCEEDED:',
      'AUTO-NF:FAILED:ACCOUNT_NOT_FOUND',
      'AUTO-CL:FAILED:ACCOUNT_CLOSED',
      'AUTO-NM:FAILED:NAME_MISMATCH',
    ]);
    for (const c of receiver.received) {
      expect(c.headers).to.not.have.property('x-client-id');
      expect(c.path).to.equal('/callbacks?provider=sandbox');
    }
    const ok = events().find((e) => e.reference === 'AUTO-OK')!;
    const found = await adapter.inquire('AUTO-OK');
    expect(found.kind === 'found' && found.transfer).to.include({ status: 'SUCCEEDED', transferId: ok.transferId });
    // failed transfers gave their amount back to the float
    expect((await adapter.balance()).available).to.equal(9_500_000);
    const summary = await summaryOf(sandbox);
    expect(summary).to.include({ accepted: 4, acceptedMoreThanOnce: 0, succeededAmount: 500000 });
    expect(summary.byStatus).to.deep.equal({ PENDING: 0, SUCCEEDED: 1, FAILED: 3, RETURNED: 0 });
    expect(summary.callbacks).to.include({ events: 4, delivered: 4, attempts: 4, pending: 0 });
  });

  it('with settleMs 0 answers the 201 already final, by the configured failure shares', async () => {
    const { adapter, events } = await setup({ settleMs: 0, failShares: { LIMIT_EXCEEDED: 1 } });
    const out = await adapter.send(order('NOW-1'));
    expect(out.kind === 'accepted' && out.transfer).to.include({ status: 'FAILED', failureCode: 'LIMIT_EXCEEDED' });
    await receiver.waitFor((r) => r.length === 1);
    expect(events().map(line)).to.deep.equal(['NOW-1:FAILED:LIMIT_EXCEEDED']);
  });

  it('sends the FAILED INSUFFICIENT_FUNDS of a transfer beyond the float as an event too', async () => {
    const { adapter, events, sandbox } = await setup({ settleMs: [10, 10], initialFloat: 100_000 });
    const out = await adapter.send(order('POOR-1'));
    expect(out.kind === 'accepted' && out.transfer).to.include({ status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS' });
    await receiver.waitFor((r) => r.length === 1);
    expect(events().map(line)).to.deep.equal(['POOR-1:FAILED:INSUFFICIENT_FUNDS']);
    expect(sandbox.ledger.balance()).to.equal(100_000);
  });

  it('returns a share of succeeded transfers later, and posts SUCCEEDED then RETURNED', async () => {
    const { adapter, events, sandbox } = await setup({ settleMs: 5, returnShare: 1, returnMs: [40, 40], initialFloat: 1_000_000 });
    await adapter.send(order('RET-1'));
    await receiver.waitFor((r) => r.length === 2);
    expect(events().map(line)).to.deep.equal(['RET-1:SUCCEEDED:', 'RET-1:RETURNED:ACCOUNT_CLOSED']);
    expect(sandbox.ledger.balance()).to.equal(1_000_000);
    const [succeeded, returned] = events();
    expect(succeeded!.eventId).to.not.equal(returned!.eventId);
  });

  it('delivers a RETURNED event before its SUCCEEDED when out-of-order delivery is configured', async () => {
    const { adapter, events, sandbox } = await setup({ settleMs: 5, returnShare: 1, returnMs: 30, outOfOrderShare: 1 });
    await adapter.send(order('OOO-1'));
    await receiver.waitFor((r) => r.length === 2);
    expect(events().map(line)).to.deep.equal(['OOO-1:RETURNED:ACCOUNT_CLOSED', 'OOO-1:SUCCEEDED:']);
    await until(() => sandbox.ledger.summary().callbacks.pending === 0);
    expect(sandbox.ledger.summary().callbacks).to.include({ heldBack: 1, delivered: 2 });
    // the statement is the book of record: in the order things happened
    expect(sandbox.ledger.statement(events()[0]!.occurredAt.slice(0, 10)).map((l) => l.status)).to.deep.equal([
      'PENDING',
      'SUCCEEDED',
      'RETURNED',
    ]);
  });

  it('delivers a share of events twice, with the same eventId', async () => {
    const { adapter, events, sandbox } = await setup({ settleMs: 5, duplicateCallbackShare: 1, callbackDelayMs: [5, 15] });
    await adapter.send(order('DUP-1'));
    await adapter.send(order('DUP-2'));
    await receiver.waitFor((r) => r.length === 4);
    await until(() => sandbox.ledger.summary().callbacks.pending === 0);
    await sleep(30);
    expect(receiver.received).to.have.length(4);
    const byId = new Map<string, number>();
    for (const e of events()) byId.set(e.eventId, (byId.get(e.eventId) ?? 0) + 1);
    expect([...byId.values()]).to.deep.equal([2, 2]);
    expect(sandbox.ledger.summary().callbacks).to.include({ events: 2, delivered: 2, duplicatesSent: 2, attempts: 4 });
  });

  it('retries a callback with backoff until it gets a 2xx, then stops', async () => {
    const { adapter, events, sandbox } = await setup({ settleMs: 5, callbackRetryBaseMs: 20, callbackRetryCapMs: 40 }, (_cb, i) =>
      i < 3 ? [503, 500, 401][i]! : 204,
    );
    await adapter.send(order('RTY-1'));
    await receiver.waitFor((r) => r.length === 4);
    await until(() => sandbox.ledger.summary().callbacks.pending === 0);
    await sleep(100);
    expect(receiver.received.map((c) => c.answered)).to.deep.equal([503, 500, 401, 204]);
    expect(new Set(events().map((e) => e.eventId)).size).to.equal(1);
    // each attempt is signed afresh
    expect(events()[3]).to.deep.equal(events()[0]);
    expect(sandbox.ledger.summary().callbacks).to.include({ events: 1, delivered: 1, attempts: 4, failedAttempts: 3, pending: 0 });
  });

  it('gives an event up after callbackGiveUpMs without a 2xx', async () => {
    const { adapter, sandbox } = await setup(
      { settleMs: 5, callbackRetryBaseMs: 10, callbackRetryCapMs: 20, callbackGiveUpMs: 150 },
      () => 500,
    );
    await adapter.send(order('GIVEUP-1'));
    await until(() => sandbox.ledger.summary().callbacks.givenUp === 1);
    const stats = sandbox.ledger.summary().callbacks;
    expect(stats).to.include({ events: 1, delivered: 0, givenUp: 1, pending: 0 });
    expect(stats.attempts).to.be.greaterThan(2);
    expect(receiver.received.length).to.equal(stats.attempts);
  });

  it('keeps a transfer whose answer was lost (timeout after accepting): inquiry finds it, a resend is a duplicate', async () => {
    const { adapter, sandbox } = await setup({ timeoutShare: 1, timeoutHoldMs: 5000 }, undefined, 300);
    const out = await adapter.send(order('TMO-1'));
    expect(out).to.deep.equal({ kind: 'unknown', reason: 'TIMEOUT' });
    expect(sandbox.ledger.get('TMO-1')).to.include({ status: 'PENDING' });
    const found = await adapter.inquire('TMO-1');
    expect(found.kind === 'found' && found.transfer.reference).to.equal('TMO-1');

    // a short hold drops the connection instead: a reset, still unknown
    sandbox.ledger.configure({ timeoutHoldMs: 20 });
    expect(await adapter.send(order('TMO-2'))).to.deep.include({ kind: 'unknown' });
    expect(sandbox.ledger.get('TMO-2')).to.not.equal(undefined);

    sandbox.ledger.configure({ timeoutShare: 0 });
    expect((await adapter.send(order('TMO-1'))).kind).to.equal('duplicate');
    const summary = await summaryOf(sandbox);
    expect(summary).to.include({ accepted: 2, acceptedMoreThanOnce: 0, duplicates: 1 });
    expect(summary.requests.timedOut).to.equal(2);
  });

  it('answers 503 or 500 before accepting when configured, and records nothing', async () => {
    const { adapter, sandbox } = await setup({ fiveXxShare: 1, seed: 'five' });
    const outcomes = [];
    for (let i = 0; i < 8; i++) outcomes.push(await adapter.send(order(`FIVE-${i}`)));
    const kinds = outcomes.map((o) => (o.kind === 'retry_later' ? 'retry_later' : o.kind === 'unknown' ? o.reason : o.kind));
    expect(kinds).to.include('retry_later').and.include('STATUS_500');
    expect(new Set(kinds)).to.have.keys('retry_later', 'STATUS_500');
    expect(outcomes.find((o) => o.kind === 'retry_later')).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: 1 });
    const summary = await summaryOf(sandbox);
    expect(summary.accepted).to.equal(0);
    expect(summary.requests.unavailable + summary.requests.internalErrors).to.equal(8);
    sandbox.ledger.configure({ fiveXxShare: 0 });
    expect(await adapter.inquire('FIVE-0')).to.deep.equal({ kind: 'not_found' });
    expect(sandbox.ledger.balance()).to.equal(1_000_000_000_000);
  });

  it('answers 429 RATE_LIMITED with Retry-After over the in-flight limit, accepting nothing it refused', async () => {
    const { adapter, sandbox } = await setup({ maxInFlight: 2, latencyMs: 150, retryAfterSeconds: 2 });
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((i) => adapter.send(order(`RL-${i}`))));
    const accepted = outcomes.flatMap((o, i) => (o.kind === 'accepted' ? [`RL-${i + 1}`] : []));
    const limited = outcomes.filter((o) => o.kind === 'retry_later');
    expect(accepted).to.have.length(2);
    expect(limited).to.have.length(3);
    expect(limited[0]).to.deep.equal({ kind: 'retry_later', retryAfterSeconds: 2 });
    expect(sandbox.ledger.summary()).to.include({ accepted: 2 });
    expect(sandbox.ledger.summary().requests).to.include({ rateLimited: 3, inFlight: 0 });
    // once the load is gone, requests pass again
    const again = outcomes.findIndex((o) => o.kind === 'retry_later') + 1;
    expect((await adapter.send(order(`RL-${again}`))).kind).to.equal('accepted');
  });

  it('is deterministic with a seed: the same references settle, fail, return and fault the same way', async () => {
    const behaviour: Partial<SandboxOptions> = {
      settleMs: 0,
      failShares: { REJECTED: 0.3, NAME_MISMATCH: 0.2 },
      returnShare: 0.5,
      returnMs: 10,
      fiveXxShare: 0.3,
    };
    const run = async (seed: string): Promise<string[]> => {
      const sandbox = await startTestSandbox({ ...behaviour, seed });
      const adapter = new HttpProviderAdapter({
        baseUrl: sandbox.url,
        clientId: sandbox.clientId,
        secret: sandbox.secret,
        timeoutMs: 5000,
      });
      try {
        const out: string[] = [];
        for (let i = 0; i < 30; i++) {
          const o = await adapter.send(order(`SEED-${i}`));
          out.push(o.kind === 'accepted' ? `${o.transfer.transferId}:${o.transfer.status}:${o.transfer.failureCode ?? ''}` : o.kind);
        }
        await sleep(30);
        for (let i = 0; i < 30; i++) out.push(sandbox.ledger.get(`SEED-${i}`)?.status ?? '-');
        return out;
      } finally {
        adapter.close();
        await sandbox.close();
      }
    };
    const a = await run('seed-1');
    expect(await run('seed-1')).to.deep.equal(a);
    expect(await run('seed-2')).to.not.deep.equal(a);
    const flat = a.join(' ');
    expect(flat).to.include('retry_later').and.include(':SUCCEEDED:').and.include(':FAILED:REJECTED').and.include('RETURNED');
  });

  describe('admin surface /_sandbox (signed like the contract)', () => {
    it('summarises the ledger, pages the transfers, registers holders, sets the float, settles by hand and changes faults', async () => {
      const { sandbox, adapter, events } = await setup({ initialFloat: 5_000_000 });
      for (let i = 1; i <= 5; i++) await adapter.send(order(`ADM-${i}`));

      const page1 = await sandbox.request('GET', '/_sandbox/transfers?limit=2');
      expect(page1.status).to.equal(200);
      const p1 = JSON.parse(page1.body) as { transfers: ListedTransfer[]; next: number | null };
      expect(p1.transfers.map((t) => `${t.seq}:${t.reference}`)).to.deep.equal(['1:ADM-1', '2:ADM-2']);
      expect(p1.transfers[0]!.callbackUrl).to.equal(`${receiver.url}?provider=sandbox`);
      const p3 = JSON.parse((await sandbox.request('GET', `/_sandbox/transfers?after=4&limit=2`)).body) as typeof p1;
      expect(p3).to.deep.include({ next: null });
      expect(p3.transfers.map((t) => t.reference)).to.deep.equal(['ADM-5']);
      expect((await sandbox.request('GET', '/_sandbox/transfers?limit=5000')).status).to.equal(400);

      const settled = await sandbox.request('POST', '/_sandbox/transfers/ADM-1/settle', { status: 'SUCCEEDED' });
      expect(settled.status).to.equal(200);
      expect(JSON.parse(settled.body)).to.include({ reference: 'ADM-1', status: 'SUCCEEDED' });
      expect(
        (await sandbox.request('POST', '/_sandbox/transfers/ADM-1/settle', { status: 'FAILED', failureCode: 'REJECTED' })).status,
      ).to.equal(409);
      expect((await sandbox.request('POST', '/_sandbox/transfers/NOPE/settle', { status: 'SUCCEEDED' })).status).to.equal(404);
      await receiver.waitFor((r) => r.length === 1);
      expect(events().map(line)).to.deep.equal(['ADM-1:SUCCEEDED:']);

      const summary = await summaryOf(sandbox);
      expect(summary).to.include({ accepted: 5, acceptedMoreThanOnce: 0, succeededAmount: 500000, available: 2_500_000 });
      expect(summary.byStatus).to.deep.equal({ PENDING: 4, SUCCEEDED: 1, FAILED: 0, RETURNED: 0 });

      const account = { type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: '1122334455' };
      const reg = await sandbox.request('POST', '/_sandbox/accounts', { destination: account, accountName: 'Nguyễn Thị Đào' });
      expect(JSON.parse(reg.body)).to.deep.equal({ status: 'ACTIVE', accountName: 'NGUYEN THI DAO' });
      expect(await adapter.lookupAccount({ type: 'BANK_ACCOUNT', bankCode: '970436', accountNumber: '1122334455' })).to.deep.include({
        accountName: 'NGUYEN THI DAO',
      });

      const float = await sandbox.request('POST', '/_sandbox/float', { available: 42 });
      expect(JSON.parse(float.body)).to.deep.equal({ currency: 'VND', available: 42 });
      expect(await adapter.balance()).to.deep.equal({ currency: 'VND', available: 42 });
      expect((await sandbox.request('POST', '/_sandbox/float', { available: -1 })).status).to.equal(400);

      const faults = await sandbox.request('POST', '/_sandbox/faults', { fiveXxShare: 1, latencyMs: '1-3', failShares: 'REJECTED:0.1' });
      expect(faults.status).to.equal(200);
      expect(JSON.parse(faults.body))
        .to.include({ fiveXxShare: 1 })
        .and.deep.include({ latencyMs: [1, 3], failShares: { REJECTED: 0.1 } });
      expect((await adapter.send(order('ADM-6'))).kind).to.be.oneOf(['retry_later', 'unknown']);
      const bad = await sandbox.request('POST', '/_sandbox/faults', { fiveXxShare: 2, nonsense: true });
      expect(bad.status).to.equal(400);
      expect(JSON.parse(bad.body).message).to.match(/fiveXxShare/);
      expect(sandbox.ledger.behaviour().fiveXxShare).to.equal(1);
      const current = JSON.parse((await sandbox.request('GET', '/_sandbox/faults')).body) as Record<string, unknown>;
      expect(current).to.include({ fiveXxShare: 1 });
    });

    it('refuses an unsigned or wrongly signed admin request', async () => {
      const { sandbox } = await setup();
      const res = await fetch(`${sandbox.url}/_sandbox/ledger`);
      expect(res.status).to.equal(401);
      const other = await startTestSandbox({ secret: 'another-secret-of-at-least-32-characters!!' });
      open.push(other);
      // our secret at the other sandbox
      expect((await signedRequest(other.url, sandbox.clientId, sandbox.secret, 'GET', '/_sandbox/ledger')).status).to.equal(401);
    });
  });

  it('a manual settle still wins over a scheduled one, and close() stops pending work', async () => {
    // long enough that the second send and the manual settle come before MAN-1's own settlement on a loaded machine
    const { sandbox, adapter } = await setup({ settleMs: 600 });
    await adapter.send(order('MAN-1'));
    await adapter.send(order('MAN-2'));
    sandbox.ledger.settle('MAN-1', 'FAILED', 'REJECTED');
    await receiver.waitFor((r: ReceivedCallback[]) => r.length === 2, 5000);
    expect(sandbox.ledger.get('MAN-1')).to.include({ status: 'FAILED' });
    expect(sandbox.ledger.get('MAN-2')).to.include({ status: 'SUCCEEDED' });
    await adapter.send(order('MAN-3'));
    sandbox.ledger.close();
    await sleep(900);
    expect(sandbox.ledger.get('MAN-3')).to.include({ status: 'PENDING' });
    expect(receiver.received).to.have.length(2);
  });
});

describe('sandbox ledger: which resends are identical', () => {
  // the ledger as the app drives it, without HTTP: a resend with the same fields is a duplicate, whatever the key
  // order or spacing of its JSON; any field that differs (or is added) makes it a conflict
  const base = {
    reference: 'IDN-1',
    amount: 500000,
    currency: 'VND' as const,
    destination: { type: 'BANK_ACCOUNT' as const, bankCode: '970415', accountNumber: '0123456789', accountName: 'NGUYEN VAN A' },
    description: 'TCXH 2024-12',
    callbackUrl: 'http://127.0.0.1:1/callbacks',
  };

  it('answers the same fields in another key order as a duplicate, and any changed, added or removed field as a conflict', () => {
    const ledger = new SandboxLedger({ seed: 'identical' });
    try {
      expect(ledger.create(base).kind).to.equal('created');
      const reordered = JSON.parse(
        '{"callbackUrl":"http://127.0.0.1:1/callbacks","description":"TCXH 2024-12","destination":{"accountName":"NGUYEN VAN A",' +
          '"accountNumber":"0123456789","bankCode":"970415","type":"BANK_ACCOUNT"},"currency":"VND","amount":500000,"reference":"IDN-1"}',
      ) as typeof base;
      expect(ledger.create(reordered).kind).to.equal('duplicate');
      const changed: (typeof base | Record<string, unknown>)[] = [
        { ...base, amount: 500001 },
        { ...base, description: 'TCXH 2024-11' },
        { ...base, callbackUrl: 'http://127.0.0.1:2/callbacks' },
        { ...base, destination: { ...base.destination, accountName: 'NGUYEN VAN B' } },
        { ...base, destination: { ...base.destination, bankCode: '970416' } },
        { ...base, destination: { type: 'WALLET', walletProvider: '970415', walletId: '0123456789', accountName: 'NGUYEN VAN A' } },
      ];
      const { description: _d, ...noDescription } = base;
      const { callbackUrl: _c, ...noCallback } = base;
      changed.push(noDescription, noCallback);
      for (const c of changed) expect(ledger.create(c as typeof base).kind, JSON.stringify(c)).to.equal('conflict');
      // a transfer first sent without a description is not the same as one with it either
      expect(ledger.create({ ...noDescription, reference: 'IDN-2' }).kind).to.equal('created');
      expect(ledger.create({ ...base, reference: 'IDN-2' }).kind).to.equal('conflict');
      expect(ledger.create({ ...noDescription, reference: 'IDN-2' }).kind).to.equal('duplicate');
      expect(ledger.summary()).to.include({ accepted: 2, acceptedMoreThanOnce: 0, duplicates: 2, conflicts: 9 });
    } finally {
      ledger.close();
    }
  });
});

describe('sandbox callbacks: an answer that never comes', () => {
  it('counts the attempt failed after callbackTimeoutMs and delivers the event again', async () => {
    const arrivals: number[] = [];
    // the receiver holds the first delivery without answering, and answers the next one
    const server = http.createServer((req, res) => {
      req.resume();
      arrivals.push(Date.now());
      if (arrivals.length > 1) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`;
    const ledger = new SandboxLedger({
      seed: 'timeout',
      secret: 'sandbox-timeout-secret-0123456789abcdef',
      behaviour: { settleMs: [0, 0], callbackTimeoutMs: 300, callbackRetryBaseMs: 50, callbackRetryCapMs: 100 },
    });
    try {
      ledger.create({
        reference: 'CBT-1',
        amount: 1000,
        currency: 'VND',
        destination: { type: 'WALLET', walletProvider: 'MOMO', walletId: '0912345678', accountName: 'NGUYEN VAN A' },
        callbackUrl: url,
      });
      const end = Date.now() + 5000;
      while (ledger.summary().callbacks.delivered < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(ledger.summary().callbacks).to.include({ events: 1, delivered: 1, attempts: 2, failedAttempts: 1, pending: 0 });
      expect(arrivals).to.have.length(2);
      // the second attempt only after the first had its 300 ms and a backoff
      expect(arrivals[1]! - arrivals[0]!).to.be.at.least(300);
    } finally {
      ledger.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

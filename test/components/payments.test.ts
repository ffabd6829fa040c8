import { expect } from 'chai';
import nock from 'nock';
import { signedHeaders } from '../../src/components/providers/signing';
import { testApp } from '../helpers/app';
import { approveBatch, createBatch, crew, enrol, makeProgramme, waitForStatus, type Crew } from '../helpers/batches';
import { areaId, makeUser, uniq } from '../helpers/factories';
import { call, get, post } from '../helpers/http';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';
import { LocalRateLimiter, RedisRateLimiter, type RateLimiter } from '../../src/components/payments/rate-limiter';
import { redisKey } from '../../src/platform/redis';
import { CallbackBatcher } from '../../src/components/payments/callback-batcher';
import { RedisDispatchMarks } from '../../src/components/payments/dispatch-marks';
import {
  LocalConcurrencyLimiter,
  RedisConcurrencyLimiter,
  type ConcurrencyLimiter,
} from '../../src/components/payments/concurrency-limiter';
import { PaymentEngine, type ChunkJob } from '../../src/components/payments';
import type { TransferEvent } from '../../src/components/providers/provider.port';
import type { EntityManager } from 'typeorm';

const BIN = '970422'; // MB: routed to this file's mocked provider
const SECRET = 'nock-provider-secret-0123456789';

interface Pay {
  seq: string;
  reference: string;
  status: string;
  attempts: number;
  inquiries: number;
  failure_code: string | null;
  last_error: string | null;
  transfer_id: string | null;
}

async function payments(batchId: string): Promise<Pay[]> {
  const { infra } = await testApp();
  return (await infra.ds.query(
    'SELECT seq, reference, status, attempts, inquiries, failure_code, last_error, transfer_id FROM payments WHERE batch_id = ? ORDER BY seq',
    [batchId],
  )) as Pay[];
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForPayments(batchId: string, ok: (p: Pay[]) => boolean, what: string): Promise<Pay[]> {
  return waitFor(what, async () => {
    const p = await payments(batchId);
    return ok(p) ? p : null;
  });
}

function transfer(reference: string, amount: number, status = 'PENDING', failureCode: string | null = null) {
  const at = '2026-11-25T09:00:00+07:00';
  return { reference, transferId: `T-${reference}`, status, amount, currency: 'VND', failureCode, createdAt: at, updatedAt: at };
}

/** `fn` over `items` with at most `limit` calls in flight, the answers in the items' order. */
async function inFlight<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('payment engine', function () {
  this.timeout(60_000);
  let c: Crew;
  let host: string;
  let sandbox: TestSandbox;
  let resetSandbox: () => Promise<void>;
  let providerId: number;

  before(async () => {
    const { infra, services } = await testApp();
    await testWorker();
    c = await crew();
    sandbox = await startTestSandbox();
    resetSandbox = (await useSandboxFor(infra.ds, sandbox.url)).reset;
    const admin = await makeUser(['admin']);
    const actor = { userId: admin.id, username: admin.username, roles: admin.roles, requestId: null, source: 'test' };
    const name = uniq('nockpay')
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 30);
    host = `http://${name}.provider.test`;
    const p = await services.providers.create(actor, {
      name,
      kind: 'http',
      baseUrl: host,
      clientId: 'client-1',
      secret: SECRET,
      timeoutMs: 400,
      concurrency: 20,
    });
    providerId = p.id;
    await services.providers.setRoute(actor, 'BANK', BIN, p.id);
  });

  after(async () => {
    const { infra } = await testApp();
    await infra.ds.query("DELETE FROM provider_routes WHERE channel = 'BANK' AND match_code = ?", [BIN]);
    await resetSandbox();
    await sandbox.close();
    nock.cleanAll();
  });

  afterEach(() => nock.cleanAll());

  /** A released batch of `n` people paid through the mocked provider (or the sandbox), its payments as queued. */
  async function released(n: number, bin = BIN): Promise<{ id: string; refs: string[]; amount: number }> {
    nock(host)
      .get('/v1/balance')
      .reply(200, { currency: 'VND', available: 10 ** 12 })
      .persist();
    const prog = await makeProgramme();
    for (let i = 0; i < n; i++) await enrol(prog.id, { bankBin: bin });
    const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    await approveBatch(c, b.id);
    // the references are read before the release and nothing is awaited after it: the caller's interceptors are in
    // place before the worker (in this process) can claim and send, which takes it several round trips
    const refs = (await payments(b.id)).map((p) => p.reference);
    const r = await post(`/batches/${b.id}/release`, {}, c.staff.token);
    expect(r.body.status, JSON.stringify(r.body)).to.equal('processing');
    return { id: b.id, refs, amount: 750_000 };
  }

  /**
   * The mocked provider as one that keeps what it took, for a batch's references: sends answered `status` (201, or 200
   * for a repeat) and inquiries answered truthfully (found, or 404 NOT_FOUND when never received). On a loaded machine
   * a claim may outlive the tests' short sending lease and be asked about, and the answer must be the truth. Records
   * when each send arrived.
   */
  function keepingProvider(refs: readonly string[], times: number, status = 'PENDING'): { taken: Set<string>; at: number[] } {
    const taken = new Set<string>();
    const at: number[] = [];
    const ours = (ref: string) => refs.includes(ref);
    nock(host)
      .post('/v1/transfers', (body: { reference?: string }) => ours(body.reference ?? ''))
      .times(times)
      .reply((_uri, body) => {
        at.push(Date.now());
        const { reference } = (typeof body === 'string' ? JSON.parse(body) : body) as { reference: string };
        const again = taken.has(reference);
        taken.add(reference);
        return [again ? 200 : 201, transfer(reference, 750_000, status)];
      })
      .get((uri) => uri.startsWith('/v1/transfers/') && ours(decodeURIComponent(uri.slice('/v1/transfers/'.length))))
      .times(times)
      .reply((uri) => {
        const reference = decodeURIComponent(uri.slice('/v1/transfers/'.length));
        return taken.has(reference) ? [200, transfer(reference, 750_000, status)] : [404, { error: 'NOT_FOUND' }];
      });
    return { taken, at };
  }

  it('pays a batch end to end through the sandbox: sent, settled (poll or callback), batch completed', async () => {
    const b = await released(3, '970436');
    const sent = await waitForPayments(b.id, (ps) => ps.every((p) => p.status === 'sent'), 'payments sent');
    for (const p of sent) expect(sandbox.ledger.get(p.reference)).to.include({ status: 'PENDING', amount: 750_000 });
    // one settles by callback, the others are found settled by the poll
    sandbox.ledger.settle(sent[0]!.reference, 'SUCCEEDED');
    sandbox.ledger.settle(sent[1]!.reference, 'SUCCEEDED');
    sandbox.ledger.settle(sent[2]!.reference, 'FAILED', 'ACCOUNT_CLOSED');
    const body = JSON.stringify({
      eventId: `E-${sent[0]!.reference}`,
      reference: sent[0]!.reference,
      transferId: sandbox.ledger.get(sent[0]!.reference)!.transferId,
      status: 'SUCCEEDED',
      amount: 750_000,
      currency: 'VND',
      failureCode: null,
      occurredAt: '2026-11-25T09:00:02+07:00',
    });
    const path = '/api/v1/providers/sandbox/callbacks';
    const cb = await call('POST', path, {
      rawBody: body,
      headers: {
        'content-type': 'application/json',
        ...signedHeaders(sandbox.secret, { method: 'POST', pathWithQuery: path, rawBody: body }),
      },
    });
    expect(cb.status, cb.text).to.equal(200);
    expect(cb.body.outcome).to.equal('applied');
    const done = await waitForStatus(c.staff.token, b.id, 'completed_with_failures');
    expect(done.completedAt).to.be.a('string');
    const final = await payments(b.id);
    expect(final.map((p) => p.status).sort()).to.deep.equal(['failed', 'succeeded', 'succeeded']);
    expect(final.find((p) => p.status === 'failed')!.failure_code).to.equal('ACCOUNT_CLOSED');
    const progress = await get(`/batches/${b.id}/progress`, c.auditor.token);
    expect(progress.body.byStatus).to.deep.equal([
      { status: 'failed', count: 1, amount: 750_000 },
      { status: 'succeeded', count: 2, amount: 1_500_000 },
    ]);
    const tr = await get(`/batches/${b.id}/transitions`, c.auditor.token);
    expect(tr.body.at(-1)).to.include({ from: 'processing', to: 'completed_with_failures', actor: 'system' });
    const { infra } = await testApp();
    const events = (await infra.ds.query(
      'SELECT from_status, to_status, source FROM payment_events WHERE batch_id = ? AND seq = ? ORDER BY id',
      [b.id, sent[0]!.seq],
    )) as { from_status: string; to_status: string; source: string }[];
    expect(events.map((e) => `${e.from_status}>${e.to_status}:${e.source}`)).to.deep.equal([
      'pending>sending:send',
      'sending>sent:send',
      'sent>succeeded:callback',
    ]);
  });

  it('records a refusal (400) as failed and never sends it again', async () => {
    const b = await released(1);
    const send = nock(host).post('/v1/transfers').reply(400, { error: 'INVALID_REQUEST', message: 'bad account' });
    const [p] = await waitForPayments(b.id, (ps) => ps[0]!.status === 'failed', 'failed');
    expect(p).to.include({ failure_code: 'REJECTED', attempts: 1 });
    expect(p!.last_error).to.include('INVALID_REQUEST');
    expect(send.isDone()).to.equal(true);
    await new Promise((r) => setTimeout(r, 800));
    expect((await payments(b.id))[0]).to.include({ status: 'failed', attempts: 1 });
    await waitForStatus(c.staff.token, b.id, 'completed_with_failures');
  });

  it('sends a reference conflict (409) to review, never resending', async () => {
    const b = await released(1);
    nock(host).post('/v1/transfers').reply(409, { error: 'REFERENCE_CONFLICT' });
    const [p] = await waitForPayments(b.id, (ps) => ps[0]!.status === 'review', 'review');
    expect(p!.last_error).to.include('REFERENCE_CONFLICT');
    expect(p!.attempts).to.equal(1);
  });

  it('sends again after 429 (respecting Retry-After) and 503, with the same reference', async () => {
    const b = await released(1);
    const ref = b.refs[0]!;
    const bodies: { reference: string }[] = [];
    nock(host)
      .post('/v1/transfers', (body: { reference: string }) => bodies.push(body) > 0)
      .reply(429, { error: 'RATE_LIMITED' }, { 'Retry-After': '1' })
      .post('/v1/transfers', (body: { reference: string }) => bodies.push(body) > 0)
      .reply(503, { error: 'UNAVAILABLE' })
      .post('/v1/transfers', (body: { reference: string }) => bodies.push(body) > 0)
      .reply(201, transfer(ref, 750_000, 'SUCCEEDED'));
    const started = Date.now();
    const [p] = await waitForPayments(b.id, (ps) => ps[0]!.status === 'succeeded', 'succeeded');
    expect(Date.now() - started).to.be.at.least(1000); // Retry-After: 1
    expect(p!.attempts).to.equal(3);
    expect(bodies.map((x) => x.reference)).to.deep.equal([ref, ref, ref]);
    await waitForStatus(c.staff.token, b.id, 'completed');
  });

  it('after a 500 asks before sending again: 404 means never accepted, so it is sent again with the same reference', async () => {
    const b = await released(1);
    const ref = b.refs[0]!;
    // matched on this payment's reference: a request of another test's payment must not use up these answers
    const ours = (body: { reference?: string }) => body.reference === ref;
    nock(host)
      .post('/v1/transfers', ours)
      .reply(500, 'oops')
      .get(`/v1/transfers/${ref}`)
      .reply(404, { error: 'NOT_FOUND' })
      .post('/v1/transfers', ours)
      .reply(201, transfer(ref, 750_000, 'SUCCEEDED'));
    const [p] = await waitForPayments(b.id, (ps) => ps[0]!.status === 'succeeded', 'succeeded');
    expect(p!.attempts).to.equal(2);
    const { infra } = await testApp();
    const events = (await infra.ds.query('SELECT to_status FROM payment_events WHERE batch_id = ? ORDER BY id', [b.id])) as {
      to_status: string;
    }[];
    expect(events.map((e) => e.to_status)).to.deep.equal(['sending', 'unknown', 'pending', 'sending', 'succeeded']);
  });

  it('asks again soon after a busy answer to an inquiry, waiting longer with each in a row, and starts the count again after an answer', async () => {
    const { infra } = await testApp();
    const b = await released(1);
    const ref = b.refs[0]!;
    const ours = (body: { reference?: string }) => body.reference === ref;
    // what the payment's row said as each inquiry came in: how many busy answers in a row it had had, and inquiries spent
    const seen: string[] = [];
    const row = async () => {
      const [r] = (await infra.ds.query('SELECT busy_inquiries, inquiries FROM payments WHERE reference = ?', [ref])) as {
        busy_inquiries: number;
        inquiries: number;
      }[];
      return `${r!.busy_inquiries}/${r!.inquiries}`;
    };
    const busy = (_uri: string, _body: unknown, cb: (err: Error | null, res: [number, string, Record<string, string>]) => void) => {
      void row().then((r) => {
        seen.push(r);
        cb(null, [503, JSON.stringify({ error: 'UNAVAILABLE' }), { 'content-type': 'application/json' }]);
      });
    };
    nock(host)
      .post('/v1/transfers', ours)
      .reply(500, 'oops')
      .get(`/v1/transfers/${ref}`)
      .times(4)
      .reply(busy)
      .get(`/v1/transfers/${ref}`)
      .reply(200, transfer(ref, 750_000, 'SUCCEEDED'));
    await waitForPayments(b.id, (ps) => ps[0]!.status === 'succeeded', 'succeeded');
    // busy answers are not inquiries spent towards review; each one in a row is counted for the wait
    expect(seen).to.deep.equal(['0/0', '1/0', '2/0', '3/0']);
    expect(await row()).to.equal('0/1');
  });

  it('after a timeout finds the transfer by inquiry and never sends it twice', async () => {
    const b = await released(1);
    const ref = b.refs[0]!;
    const posts = nock(host).post('/v1/transfers').delay(1500).reply(201, transfer(ref, 750_000));
    nock(host)
      .get(`/v1/transfers/${ref}`)
      .reply(200, transfer(ref, 750_000, 'SUCCEEDED'));
    const [p] = await waitForPayments(b.id, (ps) => ps[0]!.status === 'succeeded', 'succeeded');
    expect(p!.attempts).to.equal(1);
    expect(p!.transfer_id).to.equal(`T-${ref}`);
    expect(posts.isDone()).to.equal(true);
  });

  it('goes to manual review when inquiries never get an answer', async () => {
    const b = await released(1);
    const ref = b.refs[0]!;
    nock(host).post('/v1/transfers').reply(502, 'bad gateway');
    nock(host).get(`/v1/transfers/${ref}`).times(10).reply(500, 'still down');
    const [p] = await waitForPayments(b.id, (ps) => ps[0]!.status === 'review', 'review');
    expect(p!.attempts).to.equal(1);
    expect(p!.last_error).to.include('inquiries');
  });

  it('settles a payment killed mid-send by inquiry after its lease, without resending', async () => {
    const { infra } = await testApp();
    const b = await released(1);
    const ref = b.refs[0]!;
    // the provider accepts, but the worker "dies" before recording the answer: simulate by holding the row in sending
    nock(host).post('/v1/transfers').delay(5000).reply(201, transfer(ref, 750_000));
    await waitForPayments(b.id, (ps) => ps[0]!.status === 'sending', 'sending');
    nock.cleanAll();
    nock(host)
      .get('/v1/balance')
      .reply(200, { currency: 'VND', available: 10 ** 12 })
      .persist();
    const inquiry = nock(host)
      .get(`/v1/transfers/${ref}`)
      .reply(200, transfer(ref, 750_000, 'SUCCEEDED'));
    await infra.ds.query("UPDATE payments SET claimed_at = claimed_at - INTERVAL 1 HOUR WHERE batch_id = ? AND status = 'sending'", [b.id]);
    const [p] = await waitForPayments(b.id, (ps) => ps[0]!.status === 'succeeded', 'succeeded');
    expect(p!.attempts).to.equal(1);
    expect(inquiry.isDone()).to.equal(true);
  });

  it('spaces the requests to a provider with a rate limit (4 a second: one every 250 ms)', async () => {
    const { infra } = await testApp();
    await infra.ds.query('UPDATE providers SET rate_limit_per_second = 4 WHERE id = ?', [providerId]);
    try {
      const b = await released(6);
      const { taken, at } = keepingProvider(b.refs, 12, 'SUCCEEDED');
      await waitForPayments(b.id, (ps) => ps.every((p) => p.status === 'succeeded'), 'all succeeded');
      expect([...taken].sort()).to.deep.equal([...b.refs].sort());
      expect(at.length).to.be.at.least(6);
      // a bucket of one token at 4/s: the k-th request leaves no sooner than k × 250 ms after the first
      for (let k = 1; k < at.length; k++) expect(at[k]! - at[0]!, `request ${k}`).to.be.at.least(k * 250 - 25);
      // and not much later: the limit spaces requests, it does not stall them (a limiter three times too slow would take
      // 3,750 ms; the margin is a loaded machine's, where the worker shares its event loop with the suite)
      expect(at[5]! - at[0]!).to.be.below(5 * 750);
    } finally {
      await infra.ds.query('UPDATE providers SET rate_limit_per_second = NULL WHERE id = ?', [providerId]);
    }
  });

  it("marks a batch's never-tried sends queued in Redis, not row by row, and queues them again once the mark is gone", async () => {
    const { infra, services } = await testApp();
    const prog = await makeProgramme();
    for (let i = 0; i < 5; i++) await enrol(prog.id, { bankBin: BIN });
    const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    await approveBatch(c, b.id);
    // routed by hand and left approved: the test worker's sweeper, which serves processing batches, keeps off it
    await infra.ds.query('UPDATE payments SET provider_id = ? WHERE batch_id = ?', [providerId, b.id]);
    const jobs: ChunkJob[] = [];
    const engineWith = (marks: RedisDispatchMarks | null) => {
      const e = new PaymentEngine(
        infra.ds,
        services.cipher,
        services.providers,
        services.audit,
        { send: async (_p, j) => void jobs.push(j) },
        infra.log,
        {
          chunkSize: 2,
          sendingLeaseMs: 60_000,
          maxInquiries: 3,
          retryBaseMs: 50,
          retryCapMs: 500,
          pollMs: 60_000,
          queueLeaseMs: 60_000,
        },
        marks ? { marks } : {},
      );
      return e;
    };
    const markKey = redisKey(infra.cfg, 'test', uniq('dispatch'), b.id);
    const marked = engineWith(new RedisDispatchMarks(infra.redis, () => markKey));
    const leased = async () =>
      (
        (await infra.ds.query('SELECT seq FROM payments WHERE batch_id = ? AND queued_until IS NOT NULL ORDER BY seq', [b.id])) as {
          seq: string;
        }[]
      ).map((r) => String(r.seq));
    const seqs = (await payments(b.id)).map((p) => String(p.seq));

    // five never-tried payments in chunks of two: three jobs, no row lease, the batch marked for the queue lease
    expect(await marked.dispatch(b.id)).to.deep.equal({ send: 3, inquire: 0 });
    expect(jobs.map((j) => [j.fromSeq, j.toSeq])).to.deep.equal([
      [seqs[0], seqs[1]],
      [seqs[2], seqs[3]],
      [seqs[4], seqs[4]],
    ]);
    expect(await leased()).to.deep.equal([]);
    const ttl = await infra.redis.pttl(markKey);
    expect(ttl).to.be.within(50_000, 60_000);
    // while the mark lives a fresh dispatch leaves them alone
    expect(await marked.dispatch(b.id)).to.deep.equal({ send: 0, inquire: 0 });
    // a payment due for a retry is leased row by row, as before
    await infra.ds.query('UPDATE payments SET next_attempt_at = CURRENT_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE batch_id = ? AND seq = ?', [
      b.id,
      seqs[2],
    ]);
    expect(await marked.dispatch(b.id, new Date(), { fresh: false })).to.deep.equal({ send: 1, inquire: 0 });
    expect(await leased()).to.deep.equal([seqs[2]]);
    // the mark gone with the jobs (Redis flushed): the next fresh dispatch queues the never-tried payments again
    await infra.redis.del(markKey);
    jobs.length = 0;
    expect(await marked.dispatch(b.id)).to.deep.equal({ send: 2, inquire: 0 });
    expect(jobs.map((j) => [j.fromSeq, j.toSeq])).to.deep.equal([
      [seqs[0], seqs[1]],
      [seqs[3], seqs[4]],
    ]);
    // an engine without marks leases each row it queues
    await infra.redis.del(markKey);
    expect(await engineWith(null).dispatch(b.id)).to.deep.equal({ send: 2, inquire: 0 });
    expect(await leased()).to.deep.equal(seqs);
    expect(await engineWith(null).dispatch(b.id)).to.deep.equal({ send: 0, inquire: 0 });
  });

  describe('rate limiters', () => {
    /** Takes `n` tokens from each limiter at once (as from several workers) at `rate`/s; the grant times, sorted. */
    async function grants(limiters: RateLimiter[], provider: number, rate: number, n: number): Promise<number[]> {
      const t0 = performance.now();
      const at: number[] = [];
      await Promise.all(
        limiters.flatMap((l) => Array.from({ length: n }, () => l.take(provider, rate).then(() => at.push(performance.now() - t0)))),
      );
      return at.sort((a, b) => a - b);
    }

    it('a token bucket in this process: 10 a second, the k-th grant no sooner than k × 100 ms', async () => {
      const at = await grants([new LocalRateLimiter()], 1, 10, 12);
      for (let k = 0; k < at.length; k++) expect(at[k], `grant ${k}`).to.be.at.least(k * 100 - 15);
      expect(at[11]).to.be.below(11 * 100 + 400);
    });

    it('shared through Redis: two workers together stay within the limit', async () => {
      const { infra } = await testApp();
      const key = (id: number) => redisKey(infra.cfg, 'ratelimit', 'test', uniq('bucket'), id);
      const k1 = key(7);
      const a = new RedisRateLimiter(infra.redis, () => k1);
      const other = infra.redis.duplicate();
      const b = new RedisRateLimiter(other, () => k1);
      // 20 a second (bursts of 2), 8 requests from each worker: 16 in about 700 ms, never more than the bucket allows
      const at = await grants([a, b], 7, 20, 8).finally(() => other.quit());
      expect(at).to.have.length(16);
      for (let k = 2; k < at.length; k++) expect(at[k], `grant ${k}`).to.be.at.least((k - 1) * 50 - 15);
      expect(at[15]).to.be.below(15 * 50 + 600);
    });
  });

  describe("concurrency limiters (a provider's in-flight limit)", () => {
    /** Runs `n` requests of `ms` through each limiter at once (as from several workers); the most in flight at once, and per limiter how many ran. */
    async function run(limiters: ConcurrencyLimiter[], provider: number, limit: number, n: number, ms: number) {
      let now = 0;
      let most = 0;
      const ran = limiters.map(() => 0);
      await Promise.all(
        limiters.flatMap((l, i) =>
          Array.from({ length: n }, async () => {
            await l.take(provider, limit);
            now++;
            most = Math.max(most, now);
            await new Promise((r) => setTimeout(r, ms));
            now--;
            ran[i]!++;
            l.give(provider);
          }),
        ),
      );
      return { most, ran };
    }

    it('in this process: never more than the limit in flight', async () => {
      const { most, ran } = await run([new LocalConcurrencyLimiter()], 1, 5, 40, 5);
      expect(most).to.equal(5);
      expect(ran).to.deep.equal([40]);
    });

    it('shared through Redis: three workers together never exceed the limit, and each gets its part', async () => {
      const { infra } = await testApp();
      const key = redisKey(infra.cfg, 'concurrency', 'test', uniq('slots'));
      const conns = [infra.redis.duplicate(), infra.redis.duplicate(), infra.redis.duplicate()];
      const limiters = conns.map((c) => new RedisConcurrencyLimiter(c, () => key, { leaseMs: 3000, retryMs: 10 }));
      try {
        const t0 = Date.now();
        const { most, ran } = await run(limiters, 3, 12, 60, 20);
        expect(most, 'in flight at once').to.be.at.most(12);
        expect(ran).to.deep.equal([60, 60, 60]);
        // 180 requests of 20 ms through 12 slots: about 300 ms if the slots are kept busy
        expect(Date.now() - t0).to.be.below(3000);
        // all given back: nothing left held
        await Promise.all(limiters.map((l) => l.close()));
        expect(await infra.redis.hlen(key)).to.equal(0);
      } finally {
        await Promise.all(limiters.map((l) => l.close()));
        await Promise.all(conns.map((c) => c.quit()));
      }
    });

    it('shared through Redis: a worker that dies holding every slot loses them when its lease lapses', async () => {
      const { infra } = await testApp();
      const key = redisKey(infra.cfg, 'concurrency', 'test', uniq('slots'));
      const dying = infra.redis.duplicate();
      const alive = infra.redis.duplicate();
      const a = new RedisConcurrencyLimiter(dying, () => key, { leaseMs: 600, retryMs: 10 });
      const b = new RedisConcurrencyLimiter(alive, () => key, { leaseMs: 600, retryMs: 10 });
      try {
        // the first worker takes all 4 slots and never gives them back
        await Promise.all(Array.from({ length: 4 }, () => a.take(5, 4)));
        let got = false;
        const t0 = Date.now();
        const waiting = b.take(5, 4).then(() => (got = true));
        await new Promise((r) => setTimeout(r, 200));
        expect(got, 'a slot while another worker holds them all').to.equal(false);
        // it dies: its connection is gone, its lease is not renewed
        dying.disconnect();
        await waiting;
        expect(Date.now() - t0).to.be.within(300, 2500);
        b.give(5);
      } finally {
        await a.close();
        await b.close();
        await alive.quit();
      }
    });
  });

  it('lets two workers race for the same chunk: each payment is sent once', async () => {
    const { services } = await testApp();
    const b = await released(4);
    const seen: string[] = [];
    nock(host)
      .post('/v1/transfers', (body: { reference: string }) => seen.push(body.reference) > 0)
      .times(8)
      .delay(100)
      .reply(201, (_uri, body) => transfer((body as { reference: string }).reference, 750_000, 'SUCCEEDED'));
    const ps = await payments(b.id);
    const job = { kind: 'send' as const, batchId: b.id, fromSeq: ps[0]!.seq, toSeq: ps.at(-1)!.seq };
    const [x, y, z] = await Promise.all([
      services.engine.runChunk(providerId, job),
      services.engine.runChunk(providerId, job),
      services.engine.runChunk(providerId, job),
    ]);
    await waitForPayments(b.id, (all) => all.every((p) => p.status === 'succeeded'), 'all succeeded');
    expect(x.claimed + y.claimed + z.claimed).to.be.at.most(4);
    expect([...seen].sort()).to.deep.equal([...b.refs].sort());
  });

  it('pays failed payments again in a retry batch, to the corrected destination, once', async () => {
    const { infra, services } = await testApp();
    const b = await released(2);
    const [first, second] = b.refs as [string, string];
    nock(host)
      .post('/v1/transfers', (body: { reference: string }) => body.reference === first)
      .reply(201, transfer(first, 750_000, 'SUCCEEDED'))
      .post('/v1/transfers', (body: { reference: string }) => body.reference === second)
      .reply(201, transfer(second, 750_000, 'FAILED', 'ACCOUNT_CLOSED'));
    await waitForStatus(c.staff.token, b.id, 'completed_with_failures');
    const failed = (await payments(b.id)).find((p) => p.reference === second)!;
    const [orig] = (await infra.ds.query('SELECT enrolment_id, live FROM payments WHERE batch_id = ? AND seq = ?', [b.id, failed.seq])) as {
      enrolment_id: string;
      live: number | null;
    }[];
    expect(orig!.live).to.equal(null); // the month is free again
    // staff correct the account on the roll
    await infra.ds.query('UPDATE enrolments SET account_enc = ?, account_masked = ? WHERE id = ?', [
      services.cipher.encrypt('5550001234', 'account'),
      '55******34',
      orig!.enrolment_id,
    ]);
    const retry = await post(`/batches/${b.id}/retry`, {}, c.staff.token);
    expect(retry.status, JSON.stringify(retry.body)).to.equal(201);
    expect(retry.body).to.include({ status: 'draft', retryOf: b.id, itemCount: 1, totalAmount: 750_000, leftOutCount: 0 });
    const items = await get(`/batches/${retry.body.id}/items`, c.staff.token);
    expect(items.body.items[0]).to.include({ seq: Number(failed.seq), destination: '55******34', amount: 750_000, period: '2024-12' });
    // a second retry finds the month live in the first retry
    const again = await post(`/batches/${b.id}/retry`, {}, c.staff.token);
    expect(again.body).to.include({ itemCount: 0, leftOutCount: 1 });
    const left = await get(`/batches/${again.body.id}/left-out`, c.staff.token);
    const [retried] = (await get(`/batches/${retry.body.id}/items`, c.staff.token)).body.items as { reference: string }[];
    expect(left.body.items[0]).to.include({
      reason: 'already_in_batch',
      otherBatchId: retry.body.id,
      otherReference: retried!.reference,
      retriedReference: second,
      retriedStatus: 'failed',
      owed: null,
    });
    // a draft batch has nothing to retry
    const notYet = await post(`/batches/${retry.body.id}/retry`, {}, c.staff.token);
    expect(notYet.status).to.equal(409);
    expect(notYet.body.error.code).to.equal('BATCH_NOT_PAID_YET');
  });

  it('pays cash through pay points: hand-over, then a results file checked whole before anything is recorded', async () => {
    const prog = await makeProgramme();
    for (let i = 0; i < 3; i++) await enrol(prog.id, { channel: 'CASH', area: '00004' });
    const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    await approveBatch(c, b.id);
    expect((await post(`/batches/${b.id}/release`, {}, c.staff.token)).body.status).to.equal('processing');
    const refs = (await payments(b.id)).map((p) => p.reference);
    const upload = async (csv: string) => {
      const form = new FormData();
      form.append('file', new Blob([csv]), 'results.csv');
      return call('POST', `/api/v1/batches/${b.id}/paypoints/results`, { token: c.staff.token, form });
    };
    // not handed over yet: refused, nothing written
    const early = await upload(`reference,paid\n${refs[0]},yes\n`);
    expect(early.status).to.equal(400);
    expect(early.body.error.details.problems).to.deep.equal([
      {
        row: 2,
        column: 'paid',
        code: 'NOT_HANDED_OVER',
        reference: refs[0],
        value: null,
        status: 'pending',
        message: `${refs[0]} is pending, not handed to a pay point awaiting its result`,
      },
    ]);
    const before = await get(`/batches/${b.id}/paypoints`, c.staff.token);
    expect(before.status, before.text).to.equal(200);
    expect(before.body.paypoints).to.have.length(1);
    expect(before.body.paypoints[0]).to.include({ areaCode: '00004', count: 3, pending: 3, handedOver: 0, paid: 0, notCollected: 0 });
    const h = await post(`/batches/${b.id}/paypoints/handover`, { areaId: await areaId('00004') }, c.staff.token);
    expect(h.body).to.deep.equal({ handedOver: 3 });
    expect((await get(`/batches/${b.id}/paypoints`, c.staff.token)).body.paypoints[0]).to.include({ pending: 0, handedOver: 3 });
    expect((await payments(b.id)).map((p) => p.status)).to.deep.equal(['sent', 'sent', 'sent']);
    const bad = await upload(`reference,paid,note\n${refs[0]},yes,\nB202412ZZZZZZZZ-1,yes,\n${refs[1]},maybe,\n`);
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal('RESULTS_FILE_INVALID');
    expect(bad.body.error.details.problems.map((x: any) => [x.row, x.code, x.value])).to.deep.equal([[4, 'PAID_VALUE', 'maybe']]);
    expect((await payments(b.id)).map((p) => p.status)).to.deep.equal(['sent', 'sent', 'sent']);
    const unknown = await upload(`reference,paid\n${refs[0]},yes\nB202412ZZZZZZZZ-1,yes\n`);
    expect(unknown.body.error.details.problems).to.deep.equal([
      {
        row: 3,
        column: 'reference',
        code: 'UNKNOWN_REFERENCE',
        reference: 'B202412ZZZZZZZZ-1',
        value: null,
        status: null,
        message: `B202412ZZZZZZZZ-1 is not a payment of batch ${b.id}`,
      },
    ]);
    // each refusal is a code with the values its words need, whatever the shape of the file's problem
    const codes = async (csv: string) =>
      ((await upload(csv)).body.error.details.problems as any[]).map((x) => [x.row, x.column, x.code, x.reference]);
    expect(await codes(`reference,note\n${refs[0]},x\n`)).to.deep.equal([[1, 'paid', 'MISSING_COLUMN', null]]);
    expect(await codes(`reference,paid\n${refs[0]},yes\n,no\n${refs[0]},no\n`)).to.deep.equal([[3, 'reference', 'EMPTY_REFERENCE', null]]);
    expect(await codes(`reference,paid\n${refs[0]},yes\n${refs[0]},no\n`)).to.deep.equal([
      [3, 'reference', 'DUPLICATE_REFERENCE', refs[0]],
    ]);
    expect(await codes(`reference,paid\n${refs[0]},yes\n"${refs[1]},yes\n`)).to.deep.equal([[3, null, 'UNREADABLE', null]]);
    expect((await payments(b.id)).map((p) => p.status)).to.deep.equal(['sent', 'sent', 'sent']);
    const ok = await upload(`reference,paid,note\n${refs[0]},yes,\n${refs[1]},có,\n${refs[2]},no,không đến nhận\n`);
    expect(ok.status, ok.text).to.equal(200);
    expect(ok.body).to.deep.equal({ paid: 2, notCollected: 1, unchanged: 0 });
    const again = await upload(`reference,paid,note\n${refs[0]},yes,\n${refs[1]},có,\n${refs[2]},no,không đến nhận\n`);
    expect(again.body).to.deep.equal({ paid: 0, notCollected: 0, unchanged: 3 });
    const final = await payments(b.id);
    expect(final.map((p) => [p.status, p.failure_code])).to.deep.equal([
      ['succeeded', null],
      ['succeeded', null],
      ['failed', 'NOT_COLLECTED'],
    ]);
    const after = (await get(`/batches/${b.id}/paypoints`, c.staff.token)).body.paypoints[0];
    expect(after).to.include({ count: 3, pending: 0, handedOver: 0, paid: 2, notCollected: 1 });
    expect(after.paidAmount * 3).to.equal(after.amount * 2);
    await waitForStatus(c.staff.token, b.id, 'completed_with_failures');
  });

  describe('callbacks', () => {
    const path = () => `/api/v1/providers/${host.slice(7).split('.')[0]}/callbacks`;
    const post = (body: string, headers: Record<string, string>) =>
      call('POST', path(), { rawBody: body, headers: { 'content-type': 'application/json', ...headers } });
    const event = (ref: string, status: string, id: string, failureCode: string | null = null) =>
      JSON.stringify({
        eventId: id,
        reference: ref,
        transferId: `T-${ref}`,
        status,
        amount: 750_000,
        currency: 'VND',
        failureCode,
        occurredAt: '2026-11-25T09:00:05+07:00',
      });
    const signed = (body: string, secret = SECRET, now?: number) =>
      signedHeaders(secret, {
        method: 'POST',
        pathWithQuery: path(),
        rawBody: body,
        ...(now !== undefined ? { timestamp: Math.floor(now / 1000) } : {}),
      });

    it('refuses a bad signature or a stale timestamp with 401, changing nothing', async () => {
      const body = event('B202412AAAAAAAA-1', 'SUCCEEDED', uniq('E'));
      expect((await post(body, signed(body, 'wrong-secret-wrong-secret-000'))).status).to.equal(401);
      const stale = await post(body, signed(body, SECRET, Date.now() - 3600_000));
      expect(stale.status).to.equal(401);
      expect(stale.body.error).to.equal('STALE_TIMESTAMP');
      const { infra } = await testApp();
      const kept = (await infra.ds.query('SELECT COUNT(*) AS n FROM provider_events WHERE reference = ?', ['B202412AAAAAAAA-1'])) as {
        n: string;
      }[];
      expect(Number(kept[0]!.n)).to.equal(0);
    });

    it('refuses a body over 64 KiB with 413, keeping nothing', async () => {
      const body = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
      const r = await post(body, signed(body));
      expect(r.status).to.equal(413);
      expect(r.body.error.code).to.equal('PAYLOAD_TOO_LARGE');
    });

    it('keeps an event delivered to two API processes at once exactly once: one applies it, the other finds a duplicate', async () => {
      const b = await released(1);
      const ref = b.refs[0]!;
      nock(host).post('/v1/transfers').reply(201, transfer(ref, 750_000));
      await waitForPayments(b.id, (ps) => ps[0]!.status === 'sent', 'sent');
      const { infra } = await testApp();
      const noRecord = () => Promise.resolve();
      const api1 = new CallbackBatcher(infra.ds, noRecord, 60_000);
      const api2 = new CallbackBatcher(infra.ds, noRecord, 60_000);
      const e = JSON.parse(event(ref, 'SUCCEEDED', uniq('E'))) as TransferEvent;
      const outcomes = await Promise.all([api1.submit(providerId, e), api2.submit(providerId, e)]);
      expect(outcomes.sort()).to.deep.equal(['applied', 'duplicate']);
      const kept = (await infra.ds.query('SELECT outcome FROM provider_events WHERE provider_id = ? AND event_id = ?', [
        providerId,
        e.eventId,
      ])) as { outcome: string }[];
      expect(kept.map((k) => k.outcome)).to.deep.equal(['applied']);
      expect((await payments(b.id))[0]!.status).to.equal('succeeded');
    });

    it('answers every duplicate delivery 2xx under a concurrent burst to several API processes, applying each event once', async () => {
      const n = 100;
      const b = await released(n);
      keepingProvider(b.refs, 2 * n);
      await waitForPayments(b.id, (ps) => ps.every((p) => p.status === 'sent'), 'all sent');
      const { infra } = await testApp();
      // the same events delivered to two more API processes of the deployment (a load balancer in front of them)
      const record = async (
        em: EntityManager,
        rows: { batchId: string; seq: string; from: string; to: string; detail: string | null }[],
      ) => {
        if (!rows.length) return;
        await em.query(
          `INSERT INTO payment_events (batch_id, seq, from_status, to_status, source, detail) VALUES ${rows.map(() => "(?, ?, ?, ?, 'callback', ?)").join(', ')}`,
          rows.flatMap((r) => [r.batchId, r.seq, r.from, r.to, r.detail]),
        );
      };
      const others = [1, 2, 3].map(() => new CallbackBatcher(infra.ds, record, 60_000));
      const bodies: string[] = [];
      for (const [i, ref] of b.refs.entries()) {
        bodies.push(event(ref, 'PENDING', `E-${b.id}-${i}-P`));
        bodies.push(event(ref, 'SUCCEEDED', `E-${b.id}-${i}-S`));
        bodies.push(event(ref, 'RETURNED', `E-${b.id}-${i}-R`, 'ACCOUNT_CLOSED'));
      }
      const deliveries = [...bodies, ...bodies, ...bodies, ...bodies].sort(() => Math.random() - 0.5);
      const [replies, elsewhere] = await Promise.all([
        // 100 in flight at a time, as a provider's sender or a load balancer keeps them: 1,200 sockets opened at once
        // overflow the listen backlog of a loaded machine and are reset before the API sees them
        inFlight(deliveries, 100, (body) => post(body, signed(body))),
        Promise.all(
          others.map(async (api) => {
            // as they come off the wire: a few at a time, each few milliseconds
            const mine = [...bodies, ...bodies, ...bodies].sort(() => Math.random() - 0.5);
            const out: Promise<unknown>[] = [];
            for (let i = 0; i < mine.length; i += 8) {
              out.push(...mine.slice(i, i + 8).map((body) => api.submit(providerId, JSON.parse(body) as TransferEvent)));
              await new Promise((r) => setTimeout(r, 2));
            }
            return Promise.allSettled(out);
          }),
        ).then((all) => all.flat()),
      ]);
      const statuses: Record<string, number> = {};
      for (const r of replies) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      expect(statuses).to.deep.equal({ 200: deliveries.length });
      expect(elsewhere.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).to.deep.equal([]);
      // each event kept once; each payment returned, every change recorded once, in order
      const kept = (await infra.ds.query(
        'SELECT event_id, COUNT(*) AS n FROM provider_events WHERE provider_id = ? AND event_id LIKE ? GROUP BY event_id',
        [providerId, `E-${b.id}-%`],
      )) as { n: string }[];
      expect(kept.length).to.equal(3 * n);
      expect(kept.every((k) => Number(k.n) === 1)).to.equal(true);
      expect((await payments(b.id)).every((p) => p.status === 'returned' && p.failure_code === 'ACCOUNT_CLOSED')).to.equal(true);
      const changes = (await infra.ds.query(
        "SELECT seq, GROUP_CONCAT(CONCAT(from_status, '>', to_status) ORDER BY id) AS path FROM payment_events WHERE batch_id = ? AND source = 'callback' GROUP BY seq",
        [b.id],
      )) as { path: string }[];
      expect(changes.length).to.equal(n);
      for (const c of changes) expect(['sent>succeeded,succeeded>returned', 'sent>returned']).to.include(c.path);
    });

    it('applies the neighbours of an event that keeps meeting a lock conflict, and answers only that one 503 CALLBACK_BUSY', async () => {
      const b = await released(3);
      nock(host)
        .post('/v1/transfers')
        .times(3)
        .reply(201, (_uri, body) => transfer((body as { reference: string }).reference, 750_000));
      await waitForPayments(b.id, (ps) => ps.every((p) => p.status === 'sent'), 'sent');
      const { infra } = await testApp();
      const stuck = (await payments(b.id))[1]!.seq;
      // recording the change of one payment always meets a deadlock (the database rolls the transaction back)
      const record = async (em: EntityManager, rows: { batchId: string; seq: string; from: string; to: string }[]) => {
        if (rows.some((r) => String(r.seq) === String(stuck)))
          throw Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK' });
        await em.query(
          `INSERT INTO payment_events (batch_id, seq, from_status, to_status, source) VALUES ${rows.map(() => "(?, ?, ?, ?, 'callback')").join(', ')}`,
          rows.flatMap((r) => [r.batchId, r.seq, r.from, r.to]),
        );
      };
      const api = new CallbackBatcher(infra.ds, record, 60_000);
      const outcomes = await Promise.allSettled(
        b.refs.map((ref) => api.submit(providerId, JSON.parse(event(ref, 'SUCCEEDED', uniq('E'))) as TransferEvent)),
      );
      expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[0] as PromiseFulfilledResult<string>).value).to.equal('applied');
      expect((outcomes[1] as PromiseRejectedResult).reason).to.include({ kind: 'unavailable', code: 'CALLBACK_BUSY', status: 503 });
      expect((await payments(b.id)).map((p) => p.status)).to.deep.equal(['succeeded', 'sent', 'succeeded']);
      const [k] = (await infra.ds.query('SELECT COUNT(*) AS n FROM provider_events WHERE reference = ?', [b.refs[1]])) as { n: string }[];
      expect(Number(k!.n)).to.equal(0); // kept only when applied: its redelivery is applied then
    });

    it('refuses an event id or transfer id longer than the contract keeps with 400 INVALID_EVENT, keeping nothing', async () => {
      const ref = 'B202412AAAAAAAA-9';
      for (const body of [
        event(ref, 'SUCCEEDED', 'E'.repeat(129)),
        JSON.stringify({ ...JSON.parse(event(ref, 'SUCCEEDED', uniq('E'))), transferId: 'T'.repeat(65) }),
      ]) {
        const r = await post(body, signed(body));
        expect(r.status, r.text).to.equal(400);
        expect(r.body.error.code).to.equal('INVALID_EVENT');
      }
      const { infra } = await testApp();
      const [k] = (await infra.ds.query('SELECT COUNT(*) AS n FROM provider_events WHERE reference = ?', [ref])) as { n: string }[];
      expect(Number(k!.n)).to.equal(0);
    });

    it('acknowledges duplicates once, never moves backwards, and keeps events for unknown references', async () => {
      const b = await released(1);
      const ref = b.refs[0]!;
      // the callback arrives before the send's own answer
      nock(host)
        .post('/v1/transfers')
        .delay(700)
        .reply(201, transfer(ref, 750_000, 'PENDING'));
      await waitForPayments(b.id, (ps) => ps[0]!.status === 'sending', 'sending');
      const succeeded = event(ref, 'SUCCEEDED', uniq('E'));
      const first = await post(succeeded, signed(succeeded));
      expect(first.body.outcome).to.equal('applied');
      const again = await post(succeeded, signed(succeeded));
      expect(again.status).to.equal(200);
      expect(again.body.outcome).to.equal('duplicate');
      await new Promise((r) => setTimeout(r, 1000)); // the 201 PENDING lands now: it must not undo SUCCEEDED
      expect((await payments(b.id))[0]!.status).to.equal('succeeded');
      // RETURNED, then a late PENDING and a late SUCCEEDED
      const returned = event(ref, 'RETURNED', uniq('E'), 'ACCOUNT_CLOSED');
      expect((await post(returned, signed(returned))).body.outcome).to.equal('applied');
      const late = event(ref, 'SUCCEEDED', uniq('E'));
      expect((await post(late, signed(late))).body.outcome).to.equal('ignored_late');
      const p = (await payments(b.id))[0]!;
      expect(p).to.include({ status: 'returned', failure_code: 'ACCOUNT_CLOSED', attempts: 1 });
      const stranger = event('B202412ZZZZZZZZ-77', 'SUCCEEDED', uniq('E'));
      const s = await post(stranger, signed(stranger));
      expect(s.status).to.equal(200);
      expect(s.body.outcome).to.equal('unknown_reference');
      const { infra } = await testApp();
      const [kept] = (await infra.ds.query('SELECT outcome FROM provider_events WHERE reference = ?', ['B202412ZZZZZZZZ-77'])) as {
        outcome: string;
      }[];
      expect(kept!.outcome).to.equal('unknown_reference');
    });
  });
});

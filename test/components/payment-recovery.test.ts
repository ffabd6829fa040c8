import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import nock from 'nock';
import { testApp } from '../helpers/app';
import { approveBatch, createBatch, crew, enrol, makeProgramme, type Crew } from '../helpers/batches';
import { areaId, makeUser, uniq } from '../helpers/factories';
import { post } from '../helpers/http';
import { testWorker } from '../helpers/worker';
import { redisKey } from '../../src/platform/redis';
import { RECOVERY_MARGIN_MS } from '../../src/components/payments/payment-engine';
import { WorkerHeartbeat } from '../../src/components/payments/worker-heartbeat';
import type { DataSource } from 'typeorm';

const BIN = '970416'; // ACB: routed to this file's mocked provider
const TIMEOUT_MS = 400;

function transfer(reference: string, status: string) {
  const at = '2026-11-25T09:00:00+07:00';
  return {
    reference,
    transferId: `T-${reference}`,
    status,
    amount: 750_000,
    currency: 'VND',
    failureCode: null,
    createdAt: at,
    updatedAt: at,
  };
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Recovery from a worker that is gone and from queues that vanished with Redis, with the real worker of this process
 * sweeping (every PAYMENT_SWEEP_MS) and a mocked provider: what was claimed goes to an inquiry once the provider's
 * timeout has passed after the worker was last heard from, and never before; what was queued is queued again within
 * seconds; each reference is sent at most once.
 */
describe('payment recovery (gone workers, lost queues)', function () {
  this.timeout(60_000);
  let c: Crew;
  let host: string;
  let providerId: number;
  /** POST /v1/transfers per reference */
  const sent = new Map<string, number>();

  before(async () => {
    const { services } = await testApp();
    await testWorker();
    c = await crew();
    const admin = await makeUser(['admin']);
    const actor = { userId: admin.id, username: admin.username, roles: admin.roles, requestId: null, source: 'test' };
    const name = uniq('recover')
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 30);
    host = `http://${name}.provider.test`;
    const p = await services.providers.create(actor, {
      name,
      kind: 'http',
      baseUrl: host,
      clientId: 'client-1',
      secret: 'nock-provider-secret-0123456789',
      timeoutMs: TIMEOUT_MS,
      concurrency: 10,
    });
    providerId = p.id;
    await services.providers.setRoute(actor, 'BANK', BIN, p.id);
  });

  after(async () => {
    const { infra } = await testApp();
    await infra.ds.query("DELETE FROM provider_routes WHERE channel = 'BANK' AND match_code = ?", [BIN]);
    await infra.ds.query('UPDATE providers SET paused = 0 WHERE id = ?', [providerId]);
    nock.cleanAll();
  });

  beforeEach(() => {
    sent.clear();
    nock(host)
      .get('/v1/balance')
      .reply(200, { currency: 'VND', available: 10 ** 12 })
      .persist();
    nock(host)
      .post('/v1/transfers')
      .reply((_uri, body) => {
        const { reference } = (typeof body === 'string' ? JSON.parse(body) : body) as { reference: string };
        sent.set(reference, (sent.get(reference) ?? 0) + 1);
        return [201, transfer(reference, 'SUCCEEDED')];
      })
      .persist();
    nock(host)
      .get(/^\/v1\/transfers\/[A-Za-z0-9_-]+$/)
      .reply((uri) => [200, transfer(uri.split('/').pop()!, 'SUCCEEDED')])
      .persist();
  });

  afterEach(() => nock.cleanAll());

  /** A batch of `n` released while the provider is paused: routed, processing, its sends queued but not claimed. */
  async function releasedPaused(n: number): Promise<{ id: string; seqs: string[]; refs: string[] }> {
    const { infra } = await testApp();
    await infra.ds.query('UPDATE providers SET paused = 1 WHERE id = ?', [providerId]);
    const prog = await makeProgramme();
    for (let i = 0; i < n; i++) await enrol(prog.id, { bankBin: BIN });
    const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    await approveBatch(c, b.id);
    const r = await post(`/batches/${b.id}/release`, {}, c.staff.token);
    expect(r.body.status, JSON.stringify(r.body)).to.equal('processing');
    const rows = (await infra.ds.query('SELECT seq, reference FROM payments WHERE batch_id = ? ORDER BY seq', [b.id])) as {
      seq: string;
      reference: string;
    }[];
    return { id: String(b.id), seqs: rows.map((p) => String(p.seq)), refs: rows.map((p) => p.reference) };
  }

  async function statusOf(batchId: string, seq: string): Promise<{ status: string; attempts: number }> {
    const { infra } = await testApp();
    const [p] = (await infra.ds.query('SELECT status, attempts FROM payments WHERE batch_id = ? AND seq = ?', [batchId, seq])) as {
      status: string;
      attempts: number;
    }[];
    return p!;
  }

  it("sends a gone worker's claim to an inquiry once the provider's timeout has passed, not before, and leaves a live worker's claim alone", async () => {
    const { infra } = await testApp();
    const expiry = infra.cfg.workerHeartbeatExpiryMs;
    const b = await releasedPaused(2);
    const [goneSeq, liveSeq] = b.seqs as [string, string];
    // two other workers: one last heard from just past the expiry (gone), one announcing itself all along
    const gone = (await infra.ds.query(
      'INSERT INTO worker_heartbeats (host, pid, beat_at) VALUES (?, 1, CURRENT_TIMESTAMP(3) - INTERVAL ? MICROSECOND)',
      ['gone.test', (expiry + 100) * 1000],
    )) as { insertId: number };
    const live = (await infra.ds.query("INSERT INTO worker_heartbeats (host, pid) VALUES ('live.test', 2)")) as { insertId: number };
    const beating = setInterval(
      () => void infra.ds.query('UPDATE worker_heartbeats SET beat_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [live.insertId]),
      200,
    );
    try {
      // each claimed one payment for sending (its request may have left) and then the gone one died
      for (const [seq, worker] of [
        [goneSeq, gone.insertId],
        [liveSeq, live.insertId],
      ] as const) {
        await infra.ds.query(
          `UPDATE payments SET status = 'sending', claim_token = ?, claimed_at = CURRENT_TIMESTAMP(3), claimed_by = ?, attempts = 1,
             sent_at = CURRENT_TIMESTAMP(3), next_attempt_at = NULL
           WHERE batch_id = ? AND seq = ? AND status = 'pending'`,
          [randomBytes(12).toString('hex'), worker, b.id, seq],
        );
      }
      const [row] = (await infra.ds.query('SELECT beat_at AS beat FROM worker_heartbeats WHERE id = ?', [gone.insertId])) as {
        beat: Date;
      }[];
      const dueAt = new Date(row!.beat).getTime() + expiry + TIMEOUT_MS + RECOVERY_MARGIN_MS;

      // before the provider's timeout has passed since the gone worker could last have sent: still sending
      while (Date.now() < dueAt - 300) {
        expect((await statusOf(b.id, goneSeq)).status).to.equal('sending');
        await new Promise((r) => setTimeout(r, 50));
      }
      // then an inquiry (not a resend) settles it, seconds before the sending lease would have
      await waitFor('the inquiry', async () => (await statusOf(b.id, goneSeq)).status === 'succeeded');
      const events = (await infra.ds.query(
        'SELECT seq, from_status, to_status, source, detail, occurred_at FROM payment_events WHERE batch_id = ? ORDER BY id',
        [b.id],
      )) as { seq: string; from_status: string; to_status: string; source: string; detail: string | null; occurred_at: Date }[];
      const moved = events.filter((e) => String(e.seq) === goneSeq && e.to_status === 'unknown');
      expect(moved.map((e) => [e.from_status, e.source, e.detail])).to.deep.equal([['sending', 'sweeper', 'worker gone']]);
      expect(new Date(moved[0]!.occurred_at).getTime()).to.be.at.least(dueAt);
      expect(events.filter((e) => String(e.seq) === goneSeq).map((e) => e.to_status)).to.deep.equal(['unknown', 'succeeded']);
      expect((await statusOf(b.id, goneSeq)).attempts).to.equal(1);

      // the live worker's claim is older than the provider's timeout too, and is left to it (the lease is the backstop)
      await new Promise((r) => setTimeout(r, 300));
      const late = (await infra.ds.query(
        "SELECT COUNT(*) AS n FROM payment_events WHERE batch_id = ? AND seq = ? AND detail = 'worker gone'",
        [b.id, liveSeq],
      )) as { n: string }[];
      expect(Number(late[0]!.n)).to.equal(0);
      expect([...sent.values()]).to.deep.equal([]);
    } finally {
      clearInterval(beating);
      // the live one stops too: its claim goes the same way, and the batch completes
      await infra.ds.query('UPDATE worker_heartbeats SET beat_at = CURRENT_TIMESTAMP(3) - INTERVAL 1 MINUTE WHERE id = ?', [live.insertId]);
    }
    await waitFor('the live worker gone too', async () => (await statusOf(b.id, liveSeq)).status === 'succeeded');
    expect([...sent.values()]).to.deep.equal([]);
  });

  it('starts no request once its own heartbeat has lapsed, nor for a claim made before the lapse once it beats again', async () => {
    const { infra } = await testApp();
    let reachable = true;
    const ds = {
      isInitialized: true,
      query: async () => {
        if (!reachable) throw new Error('database out of reach');
        return { insertId: 1, affectedRows: 1 };
      },
    } as unknown as DataSource;
    const hb = new WorkerHeartbeat(ds, infra.log, 200);
    await hb.start();
    hb.stop();
    const claimed = Date.now();
    expect(hb.holds(claimed)).to.equal(true);
    // its renewals fail: past the expiry it sends nothing, as the others take it for gone
    reachable = false;
    await new Promise((r) => setTimeout(r, 250));
    await hb.beat();
    expect(hb.fresh()).to.equal(false);
    expect(hb.holds(claimed)).to.equal(false);
    // back: a new claim may be sent, the one from before the lapse may have been taken back meanwhile
    reachable = true;
    await hb.beat();
    expect(hb.fresh()).to.equal(true);
    expect(hb.holds(claimed)).to.equal(false);
    expect(hb.holds(Date.now())).to.equal(true);
  });

  it('queues again within seconds the payments whose jobs vanished with the Redis keys, sending each once', async () => {
    const { infra } = await testApp();
    const b = await releasedPaused(3);
    // dispatched while paused: the jobs ran and claimed nothing; the batch is marked queued
    await waitFor('the dispatch', async () => (await infra.redis.exists(redisKey(infra.cfg, 'dispatch', 'batch', b.id))) === 1);
    // queued for an hour, as far as the database knows (production leases are minutes, this run's seconds)
    await infra.ds.query('UPDATE payments SET queued_until = CURRENT_TIMESTAMP(3) + INTERVAL 1 HOUR WHERE batch_id = ?', [b.id]);
    await infra.ds.query('UPDATE providers SET paused = 0 WHERE id = ?', [providerId]);
    // nothing moves while the lease holds: the jobs are taken for queued (until the sweep finds the provider's queue
    // empty with due work for a second: see the next test)
    await new Promise((r) => setTimeout(r, 500));
    expect(sent.size).to.equal(0);
    // the queues and the marks vanish with their Redis keys
    const keys = [
      ...(await infra.redis.keys(`${infra.cfg.redisPrefix}:bull:*`)),
      ...(await infra.redis.keys(`${infra.cfg.redisPrefix}:dispatch:*`)),
      ...(await infra.redis.keys(`${infra.cfg.redisPrefix}:queues:*`)),
    ];
    await infra.redis.del(...keys);
    const t0 = Date.now();
    await waitFor('every payment paid', async () => {
      const rows = (await infra.ds.query('SELECT status FROM payments WHERE batch_id = ?', [b.id])) as { status: string }[];
      return rows.every((r) => r.status === 'succeeded');
    });
    expect(Date.now() - t0).to.be.below(5000);
    expect(b.refs.map((ref) => sent.get(ref))).to.deep.equal([1, 1, 1]);
  });

  it('queues again within seconds due payments left without a job while the queue epoch and the batch mark survived', async () => {
    const { infra } = await testApp();
    const b = await releasedPaused(3);
    const mark = redisKey(infra.cfg, 'dispatch', 'batch', b.id);
    const epochKey = redisKey(infra.cfg, 'queues', 'epoch');
    await waitFor('the dispatch', async () => (await infra.redis.exists(mark)) === 1);
    // queued for an hour as far as the database and the mark know, but the jobs are gone (run while the provider was
    // paused, as after a resume; or lost with a failover to a replica that lacked the last writes)
    await infra.ds.query('UPDATE payments SET queued_until = CURRENT_TIMESTAMP(3) + INTERVAL 1 HOUR WHERE batch_id = ?', [b.id]);
    const epoch = await infra.redis.get(epochKey);
    expect(epoch, 'the queue epoch is set').to.be.a('string');
    const t0 = Date.now();
    await infra.ds.query('UPDATE providers SET paused = 0 WHERE id = ?', [providerId]);
    await waitFor('every payment paid', async () => {
      const rows = (await infra.ds.query('SELECT status FROM payments WHERE batch_id = ?', [b.id])) as { status: string }[];
      return rows.every((r) => r.status === 'succeeded');
    });
    expect(Date.now() - t0).to.be.below(5000);
    expect(b.refs.map((ref) => sent.get(ref))).to.deep.equal([1, 1, 1]);
    // found by the empty queue, not by a lost epoch: the key never changed
    expect(await infra.redis.get(epochKey)).to.equal(epoch);
  });

  it("settles a live worker's chunk whose answers the database refused: not taken back to pending, the rest to inquiries, in seconds", async () => {
    const { infra } = await testApp();
    const b = await releasedPaused(3);
    const [refused] = b.refs as [string, string, string];
    const asked = new Map<string, number>();
    // the provider is busy for the first request of one reference; it accepts the rest; an inquiry finds them paid
    nock.cleanAll();
    nock(host)
      .post('/v1/transfers')
      .reply((_uri, body) => {
        const { reference } = (typeof body === 'string' ? JSON.parse(body) : body) as { reference: string };
        const n = (sent.get(reference) ?? 0) + 1;
        sent.set(reference, n);
        if (reference === refused && n === 1) return [503, { code: 'BUSY', message: 'try later' }];
        return [201, transfer(reference, 'SUCCEEDED')];
      })
      .persist();
    nock(host)
      .get(/^\/v1\/transfers\/[A-Za-z0-9_-]+$/)
      .reply((uri) => {
        const reference = uri.split('/').pop()!;
        asked.set(reference, (asked.get(reference) ?? 0) + 1);
        return [200, transfer(reference, 'SUCCEEDED')];
      })
      .persist();
    // the database refuses to record the chunk's answers (a real error of the write, raised by MariaDB itself)
    const trigger = `t_refuse_answers_${b.id}`;
    await infra.ds.query(`CREATE TRIGGER ${trigger} BEFORE UPDATE ON payments FOR EACH ROW
      BEGIN
        IF OLD.batch_id = ${Number(b.id)} AND OLD.status = 'sending' AND NEW.status IN ('sent', 'succeeded', 'failed', 'review') THEN
          SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'answers refused by the test';
        END IF;
      END`);
    const lost = 'the answers could not be recorded%';
    try {
      const t0 = Date.now();
      await infra.ds.query('UPDATE providers SET paused = 0 WHERE id = ?', [providerId]);
      await waitFor('the failed chunk settled', async () => {
        const [n] = (await infra.ds.query('SELECT COUNT(*) AS n FROM payment_events WHERE batch_id = ? AND detail LIKE ?', [
          b.id,
          lost,
        ])) as { n: string }[];
        return Number(n!.n) >= 3;
      });
      await infra.ds.query(`DROP TRIGGER ${trigger}`);
      await waitFor('every payment paid', async () => {
        const rows = (await infra.ds.query('SELECT status FROM payments WHERE batch_id = ?', [b.id])) as { status: string }[];
        return rows.every((r) => r.status === 'succeeded');
      });
      // in seconds; that nothing waited for the sending lease (seconds here too, two minutes in production) is told by
      // the events below (no 'sending lease expired'), not by the clock, which a loaded machine stretches
      expect(Date.now() - t0).to.be.below(15_000);
      const events = (await infra.ds.query(
        `SELECT p.reference, e.from_status, e.to_status, e.detail FROM payment_events e
         JOIN payments p ON p.batch_id = e.batch_id AND p.seq = e.seq WHERE e.batch_id = ? ORDER BY e.id`,
        [b.id],
      )) as { reference: string; from_status: string; to_status: string; detail: string | null }[];
      const firstLost = (ref: string) => {
        const e = events.find((x) => x.reference === ref && x.from_status === 'sending' && x.detail?.startsWith('the answers could not'));
        return e ? [e.from_status, e.to_status] : null;
      };
      // the busy one had not been taken: sent again with the same reference; the accepted ones were asked about
      expect(firstLost(refused)).to.deep.equal(['sending', 'pending']);
      for (const ref of b.refs.slice(1)) {
        expect(firstLost(ref), ref).to.deep.equal(['sending', 'unknown']);
        expect(asked.get(ref) ?? 0, `inquiries of ${ref}`).to.be.at.least(1);
        expect(sent.get(ref), `sends of ${ref}`).to.equal(1);
      }
      expect(sent.get(refused)).to.equal(2);
      expect(events.filter((e) => e.detail === 'sending lease expired')).to.deep.equal([]);
    } finally {
      await infra.ds.query(`DROP TRIGGER IF EXISTS ${trigger}`);
    }
  });

  it("waits for the timeout a request was sent with before a gone worker's claim goes to an inquiry, even if the timeout was shortened since", async () => {
    const { infra, services } = await testApp();
    const expiry = infra.cfg.workerHeartbeatExpiryMs;
    const admin = await makeUser(['admin']);
    const actor = { userId: admin.id, username: admin.username, roles: admin.roles, requestId: null, source: 'test' };
    // the real claim records the timeout its requests go out with
    const b = await releasedPaused(1);
    nock.cleanAll();
    nock(host)
      .get('/v1/balance')
      .reply(200, { currency: 'VND', available: 10 ** 12 })
      .persist();
    nock(host)
      .post('/v1/transfers')
      .delay(300)
      .reply((_uri, body) => {
        const { reference } = (typeof body === 'string' ? JSON.parse(body) : body) as { reference: string };
        return [201, transfer(reference, 'SUCCEEDED')];
      })
      .persist();
    nock(host)
      .get(/^\/v1\/transfers\/[A-Za-z0-9_-]+$/)
      .reply((uri) => [200, transfer(uri.split('/').pop()!, 'SUCCEEDED')])
      .persist();
    await infra.ds.query('UPDATE providers SET paused = 0 WHERE id = ?', [providerId]);
    const recorded = await waitFor('the claim in flight', async () => {
      const [p] = (await infra.ds.query('SELECT status, claim_timeout_ms FROM payments WHERE batch_id = ?', [b.id])) as {
        status: string;
        claim_timeout_ms: number | null;
      }[];
      return p!.status === 'sending' ? { timeout: p!.claim_timeout_ms } : null;
    });
    expect(recorded.timeout).to.equal(TIMEOUT_MS);
    await waitFor('the payment paid', async () => (await statusOf(b.id, b.seqs[0]!)).status === 'succeeded');

    // a gone worker's claim sent with a timeout of 1.5 s; the provider's timeout has since been cut to TIMEOUT_MS
    const c2 = await releasedPaused(1);
    // (within the sending lease of this run, after which the backstop would take the claim whoever held it)
    const sentWith = 1500;
    const gone = (await infra.ds.query(
      'INSERT INTO worker_heartbeats (host, pid, beat_at) VALUES (?, 1, CURRENT_TIMESTAMP(3) - INTERVAL ? MICROSECOND)',
      ['gone-timeout.test', (expiry + 100) * 1000],
    )) as { insertId: number };
    await services.providers.update(actor, providerId, { timeoutMs: sentWith });
    await infra.ds.query(
      `UPDATE payments SET status = 'sending', claim_token = ?, claimed_at = CURRENT_TIMESTAMP(3), claimed_by = ?, claim_timeout_ms = ?,
         attempts = 1, sent_at = CURRENT_TIMESTAMP(3), next_attempt_at = NULL
       WHERE batch_id = ? AND status = 'pending'`,
      [randomBytes(12).toString('hex'), gone.insertId, sentWith, c2.id],
    );
    await services.providers.update(actor, providerId, { timeoutMs: TIMEOUT_MS });
    const [row] = (await infra.ds.query('SELECT beat_at AS beat FROM worker_heartbeats WHERE id = ?', [gone.insertId])) as { beat: Date }[];
    const beat = new Date(row!.beat).getTime();
    // past the provider's timeout now, but not the one the request went out with: still sending
    await services.engine.recoverGoneWorkers(new Date(beat + expiry + TIMEOUT_MS + RECOVERY_MARGIN_MS + 100));
    expect((await statusOf(c2.id, c2.seqs[0]!)).status).to.equal('sending');
    // past the timeout it was sent with: to an inquiry
    const late = await services.engine.recoverGoneWorkers(new Date(beat + expiry + sentWith + RECOVERY_MARGIN_MS + 100));
    expect(late.expired).to.be.at.least(1);
    expect((await statusOf(c2.id, c2.seqs[0]!)).status).to.be.oneOf(['unknown', 'succeeded']);
  });
});

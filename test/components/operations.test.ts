import { expect } from 'chai';
import { testApp } from '../helpers/app';
import { makeUser, type TestUser } from '../helpers/factories';
import { call, get, post, type Reply } from '../helpers/http';
import { countTransitions, observeProviderRequest, serveMetrics } from '../../src/platform/metrics';

function expectError(r: Reply, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  expect(r.body.error.code, JSON.stringify(r.body)).to.equal(code);
}

/** The value of the sample `name` whose labels include `labels` (in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** A daily job nothing else in the tests waits for: pausing it disturbs no other test. */
const QUEUE = 'idempotency.purge';

describe('operations: metrics, the queue view, queue pause and resume', () => {
  let admin: TestUser;
  let auditor: TestUser;
  let staff: TestUser;
  let token: string;

  before(async () => {
    const { infra } = await testApp();
    token = infra.cfg.metricsToken;
    [admin, auditor, staff] = await Promise.all([
      makeUser(['admin'], { area: null }),
      makeUser(['auditor'], { area: null }),
      makeUser(['staff']),
    ]);
  });

  after(async () => {
    const { infra } = await testApp();
    await infra.queues.get(QUEUE).resume();
  });

  describe('GET /metrics', () => {
    it('answers 401 without the token, with a wrong one, or with a user token', async () => {
      const cases: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token' },
        { authorization: `Basic ${token}` },
        { authorization: `Bearer ${admin.token}` },
      ];
      for (const headers of cases) {
        const r = await call('GET', '/metrics', { headers });
        expectError(r, 401, 'METRICS_TOKEN_REQUIRED');
        expect(r.headers.get('www-authenticate')).to.match(/^Bearer/);
        expect(r.text).not.to.contain('welfare_');
      }
    });

    it('answers the Prometheus text format with the token: engine metrics, scrape-time gauges and process metrics', async () => {
      observeProviderRequest('metrics-test', 'send', 'accepted', 0.042);
      countTransitions('metrics-test', 'sent', 3);
      countTransitions('metrics-test', 'failed', 0);
      const r = await call('GET', '/metrics', { token });
      expect(r.status, r.text).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      for (const name of [
        'welfare_provider_request_seconds',
        'welfare_payment_transitions_total',
        'welfare_payments',
        'welfare_payments_amount_dong',
        'welfare_batches',
        'welfare_queue_jobs',
        'welfare_process_cpu_user_seconds_total',
      ]) {
        expect(r.text).to.contain(`# TYPE ${name} `);
      }
      const send = { provider: 'metrics-test', op: 'send', outcome: 'accepted', process: 'api' };
      expect(sample(r.text, 'welfare_provider_request_seconds_bucket', { ...send, le: '0.05' })).to.be.at.least(1);
      expect(sample(r.text, 'welfare_provider_request_seconds_bucket', { ...send, le: '0.005' })).to.equal(0);
      expect(sample(r.text, 'welfare_payment_transitions_total', { provider: 'metrics-test', to: 'sent', process: 'api' })).to.be.at.least(
        3,
      );
      expect(sample(r.text, 'welfare_payment_transitions_total', { provider: 'metrics-test', to: 'failed' })).to.equal(undefined);
      expect(sample(r.text, 'welfare_queue_jobs', { queue: 'payments.dispatch', state: 'waiting', process: 'api' })).to.be.a('number');
      expect(sample(r.text, 'welfare_process_cpu_user_seconds_total', { process: 'api' })).to.be.a('number');
      for (const c of ['payments', 'batches', 'queues'])
        expect(sample(r.text, 'welfare_scrape_collector_up', { collector: c })).to.equal(1);
    });

    it('counts payments of processing batches by provider and status in one grouped query', async () => {
      const { infra } = await testApp();
      const [row] = (await infra.ds.query(
        `SELECT COALESCE(pv.name, 'none') AS provider, p.status, COUNT(*) AS n FROM batches b JOIN payments p ON p.batch_id = b.id
          LEFT JOIN providers pv ON pv.id = p.provider_id WHERE b.status = 'processing' GROUP BY pv.name, p.status LIMIT 1`,
      )) as { provider: string; status: string; n: string }[];
      const r = await call('GET', '/metrics', { token });
      if (row) expect(sample(r.text, 'welfare_payments', { provider: row.provider, status: row.status })).to.equal(Number(row.n));
      const batches = (await infra.ds.query('SELECT status, COUNT(*) AS n FROM batches GROUP BY status')) as {
        status: string;
        n: string;
      }[];
      for (const b of batches) expect(sample(r.text, 'welfare_batches', { status: b.status })).to.equal(Number(b.n));
    });
  });

  describe('the worker metrics server', () => {
    it('serves /metrics with the bearer token only, and closes', async () => {
      const server = await serveMetrics({ host: '127.0.0.1', port: 0, token });
      try {
        const url = `http://127.0.0.1:${server.port}`;
        expect((await fetch(`${url}/metrics`)).status).to.equal(401);
        expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).to.equal(401);
        expect((await fetch(`${url}/other`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(404);
        observeProviderRequest('sandbox', 'inquire', 'found', 0.2);
        const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        expect(r.status).to.equal(200);
        const text = await r.text();
        expect(
          sample(text, 'welfare_provider_request_seconds_count', { provider: 'sandbox', op: 'inquire', outcome: 'found' }),
        ).to.be.at.least(1);
        expect(text).to.contain('welfare_payment_transitions_total');
      } finally {
        await server.close();
      }
    });
  });

  describe('/admin/queues', () => {
    it('lists every job queue and each active provider queue with counts and paused', async () => {
      const { services } = await testApp();
      const r = await get('/admin/queues', admin.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      const names = r.body.items.map((q: { name: string }) => q.name);
      expect(names).to.include.members(['payments.dispatch', 'rolls.import', QUEUE]);
      for (const p of await services.providers.list({ active: true })) {
        if (p.kind === 'file') expect(names).not.to.include(`payments.p${p.id}`);
        else expect(names).to.include(`payments.p${p.id}`);
      }
      const dispatch = r.body.items.find((q: { name: string }) => q.name === 'payments.dispatch');
      expect(dispatch).to.include({ kind: 'job', providerId: null, providerPaused: null });
      expect(dispatch.counts).to.have.all.keys('waiting', 'active', 'delayed', 'failed', 'completed', 'paused');
      const provider = r.body.items.find((q: { kind: string }) => q.kind === 'provider');
      if (provider) expect(provider.providerName).to.be.a('string');
      expect((await get('/admin/queues', auditor.token)).status).to.equal(200);
      expectError(await get('/admin/queues', staff.token), 403, 'ROLE_REQUIRED');
      expect((await get('/admin/queues')).status).to.equal(401);
    });

    it('pauses and resumes a queue for every worker, audited once per change', async () => {
      const { infra } = await testApp();
      const audits = async () =>
        (await infra.ds.query(`SELECT action FROM audit_events WHERE entity_type = 'queue' AND entity_id = ? ORDER BY id`, [QUEUE])) as {
          action: string;
        }[];
      const before = (await audits()).length;
      expectError(await post(`/admin/queues/${QUEUE}/pause`, {}, staff.token), 403, 'ROLE_REQUIRED');
      expectError(await post(`/admin/queues/${QUEUE}/pause`, {}, auditor.token), 403, 'ROLE_REQUIRED');

      const paused = await post(`/admin/queues/${QUEUE}/pause`, {}, admin.token);
      expect(paused.status, JSON.stringify(paused.body)).to.equal(200);
      expect(paused.body).to.include({ name: QUEUE, paused: true });
      expect(await infra.queues.get(QUEUE).isPaused()).to.equal(true);
      const again = await post(`/admin/queues/${QUEUE}/pause`, {}, admin.token);
      expect(again.body.paused).to.equal(true);
      expect((await audits()).slice(before).map((a) => a.action)).to.deep.equal(['queue.pause']);

      const listed = await get('/admin/queues', admin.token);
      expect(listed.body.items.find((q: { name: string }) => q.name === QUEUE).paused).to.equal(true);
      const scraped = await call('GET', '/metrics', { token });
      expect(sample(scraped.text, 'welfare_queue_paused', { queue: QUEUE })).to.equal(1);

      const resumed = await post(`/admin/queues/${QUEUE}/resume`, {}, admin.token);
      expect(resumed.status).to.equal(200);
      expect(resumed.body.paused).to.equal(false);
      expect(await infra.queues.get(QUEUE).isPaused()).to.equal(false);
      await post(`/admin/queues/${QUEUE}/resume`, {}, admin.token);
      expect((await audits()).slice(before).map((a) => a.action)).to.deep.equal(['queue.pause', 'queue.resume']);
    });

    it('replays a pause sent again with the same Idempotency-Key', async () => {
      const headers = { 'idempotency-key': `pause-${process.pid}-${Date.now()}` };
      const first = await call('POST', `/api/v1/admin/queues/${QUEUE}/pause`, { token: admin.token, headers });
      const second = await call('POST', `/api/v1/admin/queues/${QUEUE}/pause`, { token: admin.token, headers });
      expect(first.status).to.equal(200);
      expect(second.status).to.equal(200);
      expect(second.headers.get('idempotent-replayed')).to.equal('true');
      expect((await post(`/admin/queues/${QUEUE}/resume`, {}, admin.token)).body.paused).to.equal(false);
    });

    it('pages a state’s jobs with offset in the order they will run', async () => {
      const { infra } = await testApp();
      const queue = infra.queues.get(QUEUE);
      const stamp = `${process.pid}-${Date.now()}`;
      // due one to four hours from now: in that order among the queue's delayed jobs
      const jobs = await Promise.all(
        [1, 2, 3, 4].map((h) => queue.add({ importId: String(h) } as never, { jobId: `ops-page-${stamp}-${h}`, delay: h * 3_600_000 })),
      );
      try {
        const ids = async (query: string) =>
          ((await get(`/admin/queues/${QUEUE}/jobs?state=delayed&${query}`, admin.token)).body.items as { id: string }[]).map((j) => j.id);
        const all = await ids('limit=200');
        const ours = all.filter((id) => id.startsWith(`ops-page-${stamp}-`));
        expect(ours).to.deep.equal([1, 2, 3, 4].map((h) => `ops-page-${stamp}-${h}`));
        const at = all.indexOf(ours[0]!);
        expect(await ids(`limit=2&offset=${at}`)).to.deep.equal(all.slice(at, at + 2));
        expect(await ids(`limit=2&offset=${at + 2}`)).to.deep.equal(all.slice(at + 2, at + 4));
        expect(await ids(`limit=50&offset=${all.length}`)).to.deep.equal([]);
        expectError(await get(`/admin/queues/${QUEUE}/jobs?offset=-1`, admin.token), 400, 'VALIDATION_FAILED');
        expectError(await get(`/admin/queues/${QUEUE}/jobs?offset=x`, admin.token), 400, 'VALIDATION_FAILED');
      } finally {
        await Promise.all(jobs.map((j) => j.remove()));
      }
    });

    it('answers 404 for an unknown queue and 400 for a malformed name', async () => {
      expectError(await get('/admin/queues/no.such.queue/jobs', admin.token), 404, 'QUEUE_NOT_FOUND');
      expectError(await post('/admin/queues/no.such.queue/pause', {}, admin.token), 404, 'QUEUE_NOT_FOUND');
      expectError(await post('/admin/queues/payments.p999999/resume', {}, admin.token), 404, 'QUEUE_NOT_FOUND');
      expectError(await get('/admin/queues/Bad Name!/jobs', admin.token), 400, 'VALIDATION_FAILED');
      expectError(await get(`/admin/queues/${QUEUE}/jobs?state=stuck`, admin.token), 400, 'VALIDATION_FAILED');
      expectError(await get(`/admin/queues/${QUEUE}/jobs?limit=0`, admin.token), 400, 'VALIDATION_FAILED');
    });

    it('lists failed jobs with their ids, reason and attempts, and nothing that is not an id', async () => {
      const { infra } = await testApp();
      const queue = infra.queues.get(QUEUE);
      // delayed an hour, so that no worker of this run takes it, then failed by hand the way Bull records a failure
      const jobId = `ops-test-${process.pid}-${Date.now()}`;
      const job = await queue.add({ batchId: '42', fromSeq: '1', note: 'Nguyễn Văn An' } as never, {
        jobId,
        attempts: 3,
        delay: 3_600_000,
      });
      try {
        const now = Date.now();
        await queue.client
          .multi()
          .zrem(queue.toKey('delayed'), jobId)
          .hset(queue.toKey(jobId), {
            failedReason: 'provider said no for account 0123456789',
            finishedOn: now,
            processedOn: now,
            attemptsMade: 3,
          })
          .zadd(queue.toKey('failed'), now, jobId)
          .exec();

        const r = await get(`/admin/queues/${QUEUE}/jobs?state=failed&limit=5`, auditor.token);
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        const found = r.body.items.find((j: { id: string }) => j.id === jobId);
        expect(found, JSON.stringify(r.body)).to.deep.include({
          state: 'failed',
          attemptsMade: 3,
          attempts: 3,
          data: { batchId: '42', fromSeq: '1', note: '[hidden]' },
        });
        expect(found.failedReason).to.match(/^provider said no for account/);
        expect(found.failedReason).not.to.contain('0123456789');
        expect(found.createdAt).to.match(/^\d{4}-\d\d-\d\dT/);
        expect(found.finishedAt).to.equal(new Date(now).toISOString());
        expect(JSON.stringify(r.body)).not.to.contain('Nguyễn');
        const delayed = await get(`/admin/queues/${QUEUE}/jobs?state=delayed`, admin.token);
        expect(delayed.body.items.map((j: { id: string }) => j.id)).not.to.include(jobId);
        expectError(await get(`/admin/queues/${QUEUE}/jobs`, staff.token), 403, 'ROLE_REQUIRED');
      } finally {
        await job.remove().catch(() => undefined);
      }
    });

    it('shows a delayed job with when it is due', async () => {
      const { infra } = await testApp();
      const queue = infra.queues.get(QUEUE);
      const jobId = `ops-delayed-${process.pid}-${Date.now()}`;
      const job = await queue.add({ importId: '7' } as never, { jobId, delay: 3_600_000 });
      try {
        const r = await get(`/admin/queues/${QUEUE}/jobs?state=delayed&limit=200`, admin.token);
        const found = r.body.items.find((j: { id: string }) => j.id === jobId);
        expect(found, JSON.stringify(r.body)).to.deep.include({
          state: 'delayed',
          data: { importId: '7' },
          failedReason: null,
          processedAt: null,
        });
        expect(Date.parse(found.dueAt) - Date.parse(found.createdAt)).to.equal(3_600_000);
        const counts = (await get('/admin/queues', admin.token)).body.items.find((q: { name: string }) => q.name === QUEUE).counts;
        expect(counts.delayed).to.be.at.least(1);
      } finally {
        await job.remove();
      }
    });
  });
});

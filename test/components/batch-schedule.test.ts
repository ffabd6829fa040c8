import { expect } from 'chai';
import { startWorker, type RunningWorker } from '../../jobs/worker';
import { batchReleaseJobId } from '../../src/job-catalog';
import { buildServices, type Infra, type Services } from '../../src/container';
import { QueueFactory } from '../../src/platform/queue';
import type { Principal } from '../../src/platform/security';
import { testApp } from '../helpers/app';
import { approveBatch, createBatch, crew, enrol, makeProgramme, waitForStatus, type Crew } from '../helpers/batches';
import { areaId } from '../helpers/factories';
import { startTestSandbox, useSandboxFor, type TestSandbox } from '../helpers/sandbox';
import { testWorker } from '../helpers/worker';

/**
 * A worker of its own, on a queue prefix no other test's worker reads, so
 * that stopping and starting it is a real restart and deleting its keys is a
 * real loss of Redis data.
 */
class OwnWorker {
  private infra?: Infra;
  private services?: Services;
  private worker?: RunningWorker;

  constructor(private readonly prefix: string) {}

  async start(): Promise<Services> {
    const { infra } = await testApp();
    const cfg = { ...infra.cfg, redisPrefix: this.prefix };
    this.infra = { ...infra, cfg, queues: new QueueFactory(cfg) };
    this.services = buildServices(this.infra, 'worker');
    this.worker = await startWorker(this.infra, this.services);
    return this.services;
  }

  /** Stops taking jobs and closes its Redis connections, as a killed or restarted worker does. */
  async stop(): Promise<void> {
    this.worker?.stop();
    this.worker?.stopHeartbeat();
    await this.infra?.queues.close();
    await this.services?.providers.close();
    this.worker = undefined;
  }
}

describe('batch scheduling survives the worker and Redis', function () {
  this.timeout(60_000);
  let c: Crew;
  let sandbox: TestSandbox;
  let reset: () => Promise<void>;
  let prefix: string;

  before(async () => {
    const { infra } = await testApp();
    await testWorker();
    c = await crew();
    sandbox = await startTestSandbox();
    reset = (await useSandboxFor(infra.ds, sandbox.url)).reset;
    prefix = `${infra.cfg.redisPrefix}:own-worker`;
  });

  after(async () => {
    const { infra } = await testApp();
    const keys = await infra.redis.keys(`${prefix}:*`);
    if (keys.length) await infra.redis.del(...keys);
    await reset();
    await sandbox.close();
  });

  function principalOf(u: Crew['staff']): Principal {
    return { userId: u.id, username: u.username, roles: u.roles, areaId: u.areaId, areaPath: null, sessionId: 'test', stage: 'full' };
  }

  async function approvedBatch(): Promise<string> {
    const prog = await makeProgramme();
    await enrol(prog.id);
    const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-12', areaId: await areaId('01') });
    await approveBatch(c, b.id);
    return b.id as string;
  }

  it('releases on time through a delayed job that outlives a worker restart', async () => {
    const own = new OwnWorker(prefix);
    const services = await own.start();
    const id = await approvedBatch();
    const at = new Date(Date.now() + 2500);
    const actor = { userId: c.staff.id, username: c.staff.username, roles: c.staff.roles, requestId: null, source: 'test' };
    await services.batches.schedule(actor, principalOf(c.staff), id, at);
    const { infra } = await testApp();
    const queue = new QueueFactory({ ...infra.cfg, redisPrefix: prefix });
    try {
      expect(await queue.get('batches.release').getJob(batchReleaseJobId(id, at))).to.not.equal(null);
      await own.stop(); // the worker goes away before the start
      await new Promise((r) => setTimeout(r, 500));
      expect((await services.batches.rowForRelease(id)).status).to.equal('scheduled');
      const restarted = new OwnWorker(prefix);
      await restarted.start();
      try {
        const done = await waitForStatus(c.staff.token, id, 'processing');
        expect(new Date(done.releasedAt).getTime()).to.be.at.least(at.getTime());
        const tr = (await infra.ds.query(
          'SELECT actor_username, reason FROM batch_transitions WHERE batch_id = ? ORDER BY id DESC LIMIT 1',
          [id],
        )) as { actor_username: string; reason: string }[];
        // attributed to the person who scheduled it
        expect(tr[0]!.actor_username).to.equal(c.staff.username);
        expect(tr[0]!.reason).to.include('scheduled start');
      } finally {
        await restarted.stop();
      }
    } finally {
      await queue.close();
    }
  });

  it('releases at once even when a worker sweep releases the same batch first, once', async () => {
    const { infra, services } = await testApp();
    const id = await approvedBatch();
    const actor = { userId: c.staff.id, username: c.staff.username, roles: c.staff.roles, requestId: null, source: 'test' };
    // a worker's batch sweep finds the batch scheduled for now between releaseNow's two steps and releases it
    const scheduleNow = services.batches.scheduleNow.bind(services.batches);
    services.batches.scheduleNow = async (...args: Parameters<typeof scheduleNow>) => {
      const row = await scheduleNow(...args);
      expect(await services.releaser.releaseDue(id, row.scheduled_for!)).to.equal('released');
      return row;
    };
    try {
      const view = await services.releaser.releaseNow(actor, principalOf(c.staff), id);
      expect(view.status).to.equal('processing');
    } finally {
      services.batches.scheduleNow = scheduleNow;
    }
    const tr = (await infra.ds.query("SELECT COUNT(*) AS n FROM batch_transitions WHERE batch_id = ? AND to_status = 'processing'", [
      id,
    ])) as { n: string }[];
    expect(Number(tr[0]!.n)).to.equal(1);
  });

  it('rebuilds the release job from the database after Redis lost its data', async () => {
    const own = new OwnWorker(prefix);
    const services = await own.start();
    const id = await approvedBatch();
    const at = new Date(Date.now() + 3000);
    const actor = { userId: c.staff.id, username: c.staff.username, roles: c.staff.roles, requestId: null, source: 'test' };
    await services.batches.schedule(actor, principalOf(c.staff), id, at);
    await own.stop();
    const { infra } = await testApp();
    // Redis loses everything of this worker's queues
    const keys = await infra.redis.keys(`${prefix}:*`);
    expect(keys.length).to.be.above(0);
    await infra.redis.del(...keys);
    const queue = new QueueFactory({ ...infra.cfg, redisPrefix: prefix });
    try {
      expect(await queue.get('batches.release').getJob(batchReleaseJobId(id, at))).to.equal(null);
      const restarted = new OwnWorker(prefix);
      await restarted.start(); // its sweep reads the schedule from the database
      try {
        expect(await queue.get('batches.release').getJob(batchReleaseJobId(id, at))).to.not.equal(null);
        const done = await waitForStatus(c.staff.token, id, 'processing');
        expect(new Date(done.releasedAt).getTime()).to.be.at.least(at.getTime());
      } finally {
        await restarted.stop();
      }
    } finally {
      await queue.close();
    }
  });

  it('does nothing when a rescheduled or cancelled batch’s old job fires', async () => {
    const { services } = await testApp();
    const id = await approvedBatch();
    const actor = { userId: c.staff.id, username: c.staff.username, roles: c.staff.roles, requestId: null, source: 'test' };
    const first = new Date(Date.now() + 3_600_000);
    await services.batches.schedule(actor, principalOf(c.staff), id, first);
    const second = new Date(Date.now() + 7_200_000);
    await services.batches.schedule(actor, principalOf(c.staff), id, second);
    // the first job fires (as if its time had come): the batch is scheduled for another moment
    expect(await services.releaser.releaseDue(id, first, new Date(first.getTime() + 1))).to.equal('skipped');
    // the second fires early: not yet
    expect(await services.releaser.releaseDue(id, second, new Date())).to.equal('skipped');
    expect((await services.batches.rowForRelease(id)).status).to.equal('scheduled');
    await services.batches.cancel(actor, principalOf(c.staff), id, 'hoãn');
    expect(await services.releaser.releaseDue(id, second, new Date(second.getTime() + 1))).to.equal('skipped');
    expect((await services.batches.rowForRelease(id)).status).to.equal('cancelled');
  });
});

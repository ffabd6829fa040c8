import { expect } from 'chai';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Redis from 'ioredis';
import { loadConfig, type Config } from '../../config';
import { buildApp } from '../../src/app';
import { buildServices, type Infra } from '../../src/container';
import { QueueFactory } from '../../src/platform/queue';
import { createRedis, reconnectOnReadonly } from '../../src/platform/redis';
import { testApp } from '../helpers/app';
import { makeUser, TEST_PASSWORD } from '../helpers/factories';
import { startSentinelCluster, type SentinelCluster } from '../helpers/redis-sentinel';

/** Set SENTINEL_FIGURES=1 to print how long the service took to write again after each failover. */
const figure = (line: string) => {
  if (process.env.SENTINEL_FIGURES) process.stdout.write(`      ${line}\n`);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The port of the server a connection's commands run on. */
async function serverPort(redis: Redis): Promise<number> {
  return Number(/tcp_port:(\d+)/.exec(await redis.info('server'))![1]);
}

/**
 * Writes through `redis` every few milliseconds from now on; resolves with how long after the start the first write
 * landed on the node listening on `port` (the server port is read in the same transaction as the write).
 */
function firstWriteOn(redis: Redis, key: string, port: number, timeoutMs = 15_000): Promise<number> {
  const t0 = performance.now();
  return until(`a write through the service's connection on port ${port}`, timeoutMs, async () => {
    const res = await redis
      .multi()
      .set(key, String(Date.now()))
      .info('server')
      .exec()
      .catch(() => null);
    const info = res?.[1]?.[1];
    if (res?.[0]?.[0] || typeof info !== 'string') return undefined;
    return Number(/tcp_port:(\d+)/.exec(info)?.[1]) === port ? Math.round(performance.now() - t0) : undefined;
  });
}

describe('createRedis: where Redis is', () => {
  it('sends again a command a demoted primary refused with READONLY, after reconnecting; a transaction only reconnects', () => {
    expect(reconnectOnReadonly(new Error("READONLY You can't write against a read only replica."))).to.equal(2);
    expect(reconnectOnReadonly(new Error("EXECABORT Transaction discarded because of previous errors: READONLY You can't write"))).to.equal(
      1,
    );
    expect(reconnectOnReadonly(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).to.equal(false);
  });

  it('refuses a configuration with neither REDIS_URL nor REDIS_SENTINELS instead of connecting to localhost', () => {
    const cfg = { ...loadConfig({ NODE_ENV: 'test' }), redisUrl: undefined };
    expect(() => createRedis(cfg)).to.throw(/REDIS_URL or REDIS_SENTINELS/);
  });
});

/**
 * A cluster of our own for each block of tests: after a failover the old primary is only made a replica again when a
 * Sentinel next reads its INFO (every 10 s), too long to wait for before failing over a second time.
 */
function withCluster(): {
  cluster: () => SentinelCluster;
  closers: (() => Promise<unknown>)[];
  sentinelConfig: (env?: NodeJS.ProcessEnv) => Config;
} {
  let cluster: SentinelCluster | undefined;
  const closers: (() => Promise<unknown>)[] = [];

  before(async function () {
    this.timeout(20_000);
    cluster = await startSentinelCluster();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && cluster) process.stderr.write(`${await cluster.logs()}\n`);
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await cluster?.stop();
  });

  return {
    cluster: () => cluster!,
    closers,
    /** This run's configuration with the cluster's Sentinels instead of REDIS_URL. */
    sentinelConfig(extra: NodeJS.ProcessEnv = {}) {
      const env: NodeJS.ProcessEnv = { ...process.env, ...cluster!.env(), ...extra };
      delete env.REDIS_URL;
      return loadConfig(env);
    },
  };
}

describe('Redis Sentinel: a connection and a Bull queue follow SENTINEL FAILOVER', function () {
  this.timeout(30_000);
  const { cluster, closers, sentinelConfig } = withCluster();

  it('closing a connection built from REDIS_SENTINELS closes its subscriptions to the Sentinels too', async () => {
    const c = cluster();
    const admins = c.sentinels.map((s) => c.admin(s));
    // the failover detector's connections are the only ones subscribed on a Sentinel
    const subscribed = async () => {
      const lists = await Promise.all(admins.map((a) => a.call('CLIENT', 'LIST') as Promise<string>));
      return lists.flatMap((l) => l.split('\n')).filter((line) => / sub=[1-9]/.test(line)).length;
    };
    const before = await subscribed();
    const redis = createRedis(sentinelConfig(), { name: 'closing-test' });
    expect(await redis.ping()).to.equal('PONG');
    await until('the failover detector to subscribe on every Sentinel', 5000, async () =>
      (await subscribed()) === before + 3 ? true : undefined,
    );
    await redis.quit();
    await until('its Sentinel connections to close', 3000, async () => ((await subscribed()) === before ? true : undefined));
    await sleep(300);
    expect(await subscribed(), 'subscriptions left open (reconnecting) after quit').to.equal(before);
  });

  it('connects again a client whose reconnection a failover notice cut short (ioredis leaves it ended for good)', async () => {
    const redis = createRedis(sentinelConfig(), { name: 'cut-short' });
    closers.push(() => redis.quit());
    redis.on('error', () => undefined);
    expect(await redis.ping()).to.equal('PONG');
    // what ioredis's failover detector does on +switch-master (it stops the connector), here while a reconnection is
    // asking the Sentinels where the primary is: the attempt fails with "Connection is closed." and the client ends
    const connector = (redis as unknown as { connector: { disconnect(): void } }).connector;
    redis.once('connecting', () => connector.disconnect());
    let ended = false;
    redis.once('end', () => (ended = true));
    redis.disconnect(true);
    await until('the cut-short reconnection to end the client', 5000, () => (ended ? true : undefined));
    await until('the client to answer again', 5000, async () => ((await redis.ping().catch(() => null)) === 'PONG' ? true : undefined));
    expect(redis.status).to.equal('ready');
  });

  it('a connection and a Bull queue built from REDIS_SENTINELS carry on against the promoted replica after SENTINEL FAILOVER, each job processed once', async () => {
    const c = cluster();
    const [a, b] = c.nodes;
    const cfg = sentinelConfig();
    expect(cfg.redisUrl).to.equal(undefined);
    expect(cfg.redisSentinels).to.have.length(3);
    expect(await c.agreedPrimary()).to.equal(a!.port);

    const redis = createRedis(cfg, { name: 'sentinel-test' });
    closers.push(() => redis.quit());
    expect(await serverPort(redis)).to.equal(a!.port);
    await redis.set(`${cfg.redisPrefix}:before`, 'written before the failover');

    const queues = new QueueFactory(cfg);
    closers.push(() => queues.close());
    const queue = queues.get<{ name: string }>('sentinel-test');
    const runs = new Map<string, number>();
    let heldStarted!: () => void;
    const started = new Promise<void>((r) => (heldStarted = r));
    let releaseHeld!: () => void;
    const released = new Promise<void>((r) => (releaseHeld = r));
    // closing the queue waits for its running job: let it end should the test fail before it does
    closers.push(async () => releaseHeld());
    void queue.process(1, async (job) => {
      runs.set(job.data.name, (runs.get(job.data.name) ?? 0) + 1);
      if (job.data.name === 'held') {
        heldStarted();
        await released;
      }
    });
    // one job running across the failover, one waiting behind it
    await queue.add({ name: 'held' });
    await queue.add({ name: 'waiting' });
    await started;
    // replication is asynchronous: the test is about following the primary, so what it wrote is on the replica first
    expect(await redis.call('WAIT', '1', '5000')).to.equal(1);

    const admin = c.admin(c.sentinels[0]!);
    const writing = firstWriteOn(redis, `${cfg.redisPrefix}:probe`, b!.port);
    await admin.call('SENTINEL', 'FAILOVER', c.masterName);
    const ms = await writing;
    figure(`SENTINEL FAILOVER → first write on the promoted replica through the same connection: ${ms} ms`);
    expect(ms, 'ms from SENTINEL FAILOVER to the first write on the promoted replica').to.be.below(5000);
    await c.waitForPrimary(b!.port);

    expect(await redis.get(`${cfg.redisPrefix}:before`)).to.equal('written before the failover');
    expect(await serverPort(redis)).to.equal(b!.port);

    releaseHeld();
    const tAfter = performance.now();
    await queue.add({ name: 'after' });
    await until('the three jobs to complete', 10_000, async () => ((await queue.getJobCounts()).completed === 3 ? true : undefined));
    figure(`job added after the failover completed in ${Math.round(performance.now() - tAfter)} ms`);
    // long enough for a job left active on the old primary to be taken again, were it so
    await sleep(500);
    expect(Object.fromEntries(runs)).to.deep.equal({ held: 1, waiting: 1, after: 1 });
    expect(await queue.getJobCounts()).to.include({ completed: 3, active: 0, waiting: 0, failed: 0, delayed: 0 });
    // Bull's own connections are on the new primary too
    expect(await serverPort(queue.client as unknown as Redis)).to.equal(b!.port);
  });
});

describe('Redis Sentinel: the API follows the primary being killed', function () {
  this.timeout(30_000);
  const { cluster, closers, sentinelConfig } = withCluster();

  before(async function () {
    // the shared test app (database migrated and seeded) is not what is timed here
    this.timeout(120_000);
    await testApp();
  });

  it('sessions and the login rate limit of the API carry on after the primary is killed', async () => {
    const c = cluster();
    const base = await testApp();
    // a low limit, so that few (slow, hashed) logins reach it
    const cfg = sentinelConfig({ AUTH_LOGIN_RATE_PER_MINUTE: '5' });
    const current = await c.agreedPrimary();
    const dying = c.nodes.find((n) => n.port === current)!;
    const survivor = c.nodes.find((n) => n.port !== current)!;

    const redis = createRedis(cfg, { name: 'api' });
    // it cannot reach the killed primary until the Sentinels name another: expected here, and not worth printing
    redis.on('error', () => undefined);
    const queues = new QueueFactory(cfg);
    // Bull listens to its connections' errors once a queue is made, and logging in makes none
    for (const k of ['client', 'subscriber'] as const) (queues as unknown as Record<typeof k, Redis>)[k].on('error', () => undefined);
    const infra: Infra = { ...base.infra, cfg, redis, queues };
    const server: Server = buildApp(infra, buildServices(infra)).listen(0, '127.0.0.1');
    closers.push(
      () => new Promise((r) => server.close(r)),
      () => queues.close(),
      () => redis.quit(),
    );
    await new Promise<void>((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
    const ip = `10.77.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const request = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          'x-forwarded-for': ip,
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as any };
    };

    const u = await makeUser(['staff']);
    const login = () => request('POST', '/auth/login', { username: u.username, password: TEST_PASSWORD });
    const first = await login();
    expect(first.status).to.equal(200);
    expect((await request('GET', '/auth/me', undefined, first.body.token)).status).to.equal(200);
    for (let i = 1; i < 3; i++) expect((await login()).status).to.equal(200);
    expect(await redis.call('WAIT', '1', '5000')).to.equal(1);

    const t0 = performance.now();
    dying.child.kill('SIGKILL');
    await c.waitForPrimary(survivor.port, 20_000);
    const promoted = Math.round(performance.now() - t0);
    // the first request after the promotion: the API's connection may still be waiting to retry
    const me = await until('the session to be found again', 10_000, async () => {
      const r = await request('GET', '/auth/me', undefined, first.body.token);
      return r.status === 200 ? r : undefined;
    });
    figure(
      `primary killed → replica promoted: ${promoted} ms; → first authenticated request answered: ${Math.round(performance.now() - t0)} ms`,
    );
    expect(me.body).to.include({ id: u.id, username: u.username });
    expect(await serverPort(redis)).to.equal(survivor.port);

    // a new session on the new primary (its Lua scripts loaded again there), and the count of attempts went on
    const limit = cfg.authLoginRatePerMinute;
    const statuses: number[] = [];
    for (let i = 4; i <= limit; i++) statuses.push((await login()).status);
    expect(
      statuses.every((s) => s === 200),
      statuses.join(','),
    ).to.equal(true);
    const over = await login();
    expect(over.status).to.equal(429);
    expect(over.body.error.code).to.equal('TOO_MANY_LOGIN_ATTEMPTS');
  });
});

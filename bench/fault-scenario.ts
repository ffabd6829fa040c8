/**
 * The fault scenario of the payment engine, shared by bench/fault-test.ts
 * (20,000 payments) and test/fault.test.ts (a small one, in CI): a batch paid
 * through the sandbox provider (its own process) while it injects timeouts
 * after accepting, 5xx before accepting, duplicated and out-of-order callbacks;
 * worker processes are killed with SIGKILL every few seconds and restarted;
 * and the Redis keys of the deployment are deleted once mid-run. On request
 * (`schedule`) more faults at given points of the run: a worker killed, the
 * Redis keys deleted, the database server killed or stopped and started again
 * (then the run has a MariaDB of its own: the shared one is never restarted),
 * the provider off the network (connections refused) for a while, the Redis
 * primary killed so that the Sentinels promote its replica (then the run has a
 * Redis primary, replica and three Sentinels of its own on loopback ports, and
 * every process finds Redis through REDIS_SENTINELS; the shared Redis is not
 * used). The kills
 * go on while payments are still waiting to be sent (each while a worker holds
 * claimed payments); the time from the last fault to the batch's completion is
 * the recovery time. The engine runs with the production recovery settings
 * (sending lease, queue lease, sweep interval). Afterwards
 * the sandbox's own ledger must show every reference accepted exactly once,
 * its totals equal to what was approved, and the service's every payment
 * final and agreeing with the ledger (checkInvariants).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { Config } from '../config';
import { closeInfra, openInfra } from '../src/boot';
import { buildServices } from '../src/container';
import { signedHeaders } from '../src/components/providers/signing';
import { seedDemo } from '../scripts/seed';
import { writeRoll } from './bench-roll';
import { startPrivateMariaDb, type PrivateMariaDb } from '../test/helpers/mariadb-server';
import { startSentinelCluster, type SentinelCluster } from '../test/helpers/redis-sentinel';
import { ServiceProcesses, serviceEnv, waitForServices } from './service-processes';

/**
 * A fault at a point of the run: when the share of the batch's payments the provider has settled (succeeded, failed
 * or returned in the service's books) first reaches `at`; the rest are then waiting, in flight or being asked about.
 */
export type FaultEvent =
  /** one worker process killed with SIGKILL and started again */
  | { at: number; kind: 'kill' }
  /** every Redis key of the deployment deleted (queues, jobs, locks, marks) */
  | { at: number; kind: 'flush' }
  /** the database server killed with SIGKILL (`hard`) or shut down cleanly, and started again after `downMs` */
  | { at: number; kind: 'db-restart'; downMs: number; hard: boolean }
  /** the provider off the network for `ms`: its port refuses connections, open ones are cut */
  | { at: number; kind: 'provider-outage'; ms: number }
  /**
   * the Redis primary killed with SIGKILL: the Sentinels promote the replica (which may lack the last writes: jobs,
   * leases, marks), and the old primary is started again after `downMs` (empty; the Sentinels make it a replica)
   */
  | { at: number; kind: 'redis-failover'; downMs: number };

export interface FaultOptions {
  rows: number;
  workers: number;
  /** a worker killed every this many ms (0: only the kills of `schedule`) */
  killEveryMs: number;
  /** no more periodic kills than this (none given: a kill every killEveryMs while payments wait to be sent) */
  maxKills?: number;
  /** share of the payments accepted when Redis is flushed (above 1: never) */
  flushAt: number;
  /** further faults at given points of the run */
  schedule?: FaultEvent[];
  /** SANDBOX_SEED of the provider's random choices (settlement fates, faults), so that a run can be repeated */
  sandboxSeed?: string;
  /** settlement time of the sandbox (SANDBOX_SETTLE_MS; default 50-400) */
  settleMs?: string;
  /** a run not finished after this long stops and is judged as it stands (default 20 minutes) */
  maxSeconds?: number;
  timeoutShare: number;
  fiveXxShare: number;
  duplicateCallbackShare: number;
  returnShare: number;
  outOfOrderShare: number;
  apiPort: number;
  sandboxPort: number;
  timeoutMs: number;
  log: (line: string) => void;
  /** print the service processes' stderr through log as it comes (default: counted, the last lines kept) */
  echo?: boolean;
}

export interface FaultReport {
  payments: number;
  approvedAmount: number;
  seconds: number;
  /** the run hit maxSeconds before the batch finished */
  timedOut: boolean;
  kills: number;
  flushed: boolean;
  /** seconds from the last fault (a kill, the Redis deletion, the database or the provider back) to the batch's end */
  afterLastFault: number;
  /** the sandbox provider's request timeout the run used, ms */
  providerTimeoutMs: number;
  /** the scheduled faults, each with the time it happened (seconds after release) or null when the run ended first */
  fired: { event: FaultEvent; atSecond: number | null }[];
  /** service processes that exited by themselves and were started again (as the supervisor of npm start does) */
  restarted: Record<string, number>;
  /** lines the service processes wrote to stderr (their errors), and the last few of them */
  stderrLines: number;
  stderrTail: string[];
  byStatus: Record<string, number>;
  /** amounts by the service's status: succeeded (paid), failed, returned, unresolved (any other) */
  amounts: { paid: number; failed: number; returned: number; unresolved: number };
  /** payments left in review, with the reason the engine recorded */
  review: { reference: string; reason: string | null }[];
  /** the audit chain verified after the run */
  audit: { ok: boolean; checked: number; firstBroken: string | null };
  sandbox: { accepted: number; acceptedMoreThanOnce: number; acceptedAmount: number; succeededAmount: number };
  serviceSucceededAmount: number;
  /** references whose state differs between the service and the sandbox's ledger */
  disagreements: string[];
  /** references the sandbox accepted that are not payments of the batch */
  strangers: string[];
  /** payments the sandbox never accepted */
  neverAccepted: string[];
  batchStatus: string;
  /** when the run hit maxSeconds: what was left open and what the payment queues held, to tell where it stuck */
  stuck?: { open: unknown[]; queues: Record<string, unknown> };
}

/** The invariants of a run; each broken one is named (an empty list: the run held). */
export function checkInvariants(r: FaultReport): string[] {
  const broken: string[] = [];
  const unresolved = Object.entries(r.byStatus).filter(([s]) => !['succeeded', 'failed', 'returned', 'review'].includes(s));
  if (r.sandbox.acceptedMoreThanOnce !== 0) broken.push(`${r.sandbox.acceptedMoreThanOnce} reference(s) accepted more than once`);
  if (r.strangers.length) broken.push(`${r.strangers.length} reference(s) accepted that are no payment of the batch`);
  if (unresolved.length) broken.push(`payments neither final nor in review: ${JSON.stringify(Object.fromEntries(unresolved))}`);
  const noReason = r.review.filter((p) => !p.reason);
  if (noReason.length) broken.push(`${noReason.length} payment(s) in review without a reason`);
  if (r.disagreements.length)
    broken.push(`${r.disagreements.length} disagreement(s) with the provider: ${r.disagreements.slice(0, 5).join('; ')}`);
  // a payment the provider never accepted is only right when it is in review (sent nowhere, staff decide)
  const reviewRefs = new Set(r.review.map((p) => p.reference));
  const lost = r.neverAccepted.filter((ref) => !reviewRefs.has(ref));
  if (lost.length) broken.push(`${lost.length} payment(s) never accepted by the provider and not in review`);
  const a = r.amounts;
  if (a.paid + a.failed + a.returned + a.unresolved !== r.approvedAmount)
    broken.push(
      `approved ${r.approvedAmount} đ ≠ paid ${a.paid} + failed ${a.failed} + returned ${a.returned} + unresolved ${a.unresolved}`,
    );
  if (r.sandbox.succeededAmount !== a.paid) broken.push(`provider succeeded ${r.sandbox.succeededAmount} đ, service paid ${a.paid} đ`);
  if (!r.audit.ok) broken.push(`audit chain broken: ${r.audit.firstBroken}`);
  if (r.review.length === 0 && !r.batchStatus.startsWith('completed')) broken.push(`batch ${r.batchStatus}, not completed`);
  if (r.timedOut) broken.push(`not finished within the run's time (${Math.round(r.seconds)} s): ${JSON.stringify(r.stuck ?? null)}`);
  return broken;
}

interface Listed {
  reference: string;
  status: string;
  amount: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runFaultScenario(base: Config, o: FaultOptions): Promise<FaultReport> {
  const schedule = [...(o.schedule ?? [])].sort((a, b) => a.at - b.at);
  // the database server is restarted only when it is one of our own
  // and Redis fails over only when it is one of our own; the two start side by side
  const [dbStart, sentinelStart] = await Promise.allSettled([
    schedule.some((e) => e.kind === 'db-restart') ? startPrivateMariaDb() : null,
    schedule.some((e) => e.kind === 'redis-failover') ? startSentinelCluster('welfare-fault') : null,
  ]);
  const db: PrivateMariaDb | null = dbStart.status === 'fulfilled' ? dbStart.value : null;
  const sentinel: SentinelCluster | null = sentinelStart.status === 'fulfilled' ? sentinelStart.value : null;
  for (const started of [dbStart, sentinelStart]) {
    if (started.status === 'rejected') {
      await db?.stop();
      await sentinel?.stop();
      throw started.reason;
    }
  }
  const checkpoints = await mkdtemp(path.join(os.tmpdir(), 'welfare-fault-checkpoints-'));
  const cfg: Config = {
    ...base,
    ...(db ? { dbHost: '127.0.0.1', dbPort: db.port, dbUser: 'root', dbPassword: '' } : {}),
    ...(sentinel
      ? {
          redisUrl: undefined,
          redisSentinels: sentinel.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
          redisSentinelMaster: sentinel.masterName,
          redisSentinelPassword: sentinel.sentinelPassword,
          redisPassword: sentinel.password,
        }
      : {}),
    auditCheckpointDir: checkpoints,
    publicBaseUrl: `http://127.0.0.1:${o.apiPort}`,
    sandboxUrl: `http://127.0.0.1:${o.sandboxPort}`,
  };
  const env: NodeJS.ProcessEnv = {
    ...serviceEnv(cfg, { apiPort: o.apiPort, sandboxPort: o.sandboxPort, checkpoints }),
    SANDBOX_SETTLE_MS: o.settleMs ?? '50-400',
    SANDBOX_TIMEOUT_SHARE: String(o.timeoutShare),
    SANDBOX_TIMEOUT_HOLD_MS: String(o.timeoutMs * 2),
    SANDBOX_5XX_SHARE: String(o.fiveXxShare),
    SANDBOX_DUPLICATE_CALLBACK_SHARE: String(o.duplicateCallbackShare),
    SANDBOX_RETURN_SHARE: String(o.returnShare),
    SANDBOX_RETURN_MS: '100-800',
    SANDBOX_OUT_OF_ORDER_SHARE: String(o.outOfOrderShare),
    SANDBOX_CALLBACK_DELAY_MS: '0-300',
    SANDBOX_FLOAT: String(10 ** 15),
    SANDBOX_MAX_IN_FLIGHT: '0',
    ...(o.sandboxSeed ? { SANDBOX_SEED: o.sandboxSeed } : {}),
    // recovery as in production, whatever the mode: a killed worker's claims and the lost queues are found by the
    // heartbeats and the queue epoch, not by short leases
    PAYMENT_SENDING_LEASE_SECONDS: '120',
    PAYMENT_QUEUE_LEASE_SECONDS: '300',
    PAYMENT_SWEEP_MS: '1000',
    WORKER_HEARTBEAT_EXPIRY_MS: '5000',
    // the provider's pace at the scale of the test: a callback missed is asked about after 5 s, retries within 5 s
    PAYMENT_POLL_SECONDS: '5',
    PAYMENT_RETRY_BASE_MS: '200',
    PAYMENT_RETRY_CAP_MS: '5000',
    ...(sentinel ? sentinel.env() : {}),
  };
  if (sentinel) delete env.REDIS_URL;
  const procs = new ServiceProcesses(env, o.log, o.echo);
  let infra: Awaited<ReturnType<typeof openInfra>> | null = null;
  const run = (file: string, onRestart?: (c: ChildProcess) => void): ChildProcess => procs.run(file, onRestart);
  const setupStart = Date.now();
  try {
    const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
    await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
    await conn.end();
    infra = await openInfra('fault', cfg);
    const stale = await infra.redis.keys(`${cfg.redisPrefix}:*`);
    if (stale.length) await infra.redis.del(...stale);
    await infra.ds.query("UPDATE providers SET timeout_ms = ?, concurrency = 100 WHERE name = 'sandbox'", [o.timeoutMs]);
    // the service processes take longest to start (seconds each on a loaded machine): they start on the migrated
    // database while the demo data and the roll are written beside them (nothing is released before both are done)
    run('src/sandbox-server.ts');
    run('src/server.ts');
    const workers: ChildProcess[] = [];
    const startWorker = (i: number): ChildProcess => {
      const w = run('jobs/worker.ts', (again) => (workers[i] = again));
      workers[i] = w;
      return w;
    };
    for (let i = 0; i < o.workers; i++) startWorker(i);
    await seedDemo(infra.ds, cfg);
    const services = buildServices(infra);
    const prog = await writeRoll(infra.ds, services.cipher, o.rows, { cash: false });
    o.log(`database, demo data and roll ready after ${((Date.now() - setupStart) / 1000).toFixed(1)} s`);
    await waitForServices(cfg.publicBaseUrl, cfg.sandboxUrl, o.log, setupStart);
    const [staff] = (await infra.ds.query("SELECT id, username FROM users WHERE username = 'staff'")) as { id: number; username: string }[];
    const [province] = (await infra.ds.query("SELECT id FROM areas WHERE code = '01'")) as { id: number }[];
    const actor = { userId: staff!.id, username: staff!.username, roles: ['staff'], requestId: null, source: 'fault-test' };
    const principal = {
      userId: staff!.id,
      username: staff!.username,
      roles: ['staff' as const],
      areaId: null,
      areaPath: null,
      sessionId: 'fault',
      stage: 'full' as const,
    };
    const batch = await services.batches.create(actor, principal, {
      programmeId: prog.id,
      kind: 'regular',
      period: 202412,
      areaId: province!.id,
    });
    await infra.ds.query("UPDATE batches SET status = 'approved', check_status = 'done', approved_by = ? WHERE id = ?", [
      staff!.id,
      batch.id,
    ]);
    o.log(`batch ${batch.id}: ${batch.itemCount} payments, ${batch.totalAmount} đ; ${o.workers} worker(s)`);
    const t0 = Date.now();
    const released = await services.releaser.releaseNow(actor, principal, batch.id);
    if (released.status !== 'processing') throw new Error(`not released: ${JSON.stringify(released.fundsHold)}`);

    const signedGet = async (p: string): Promise<unknown> => {
      // the sandbox may be off the network (a fault of the run) for a few seconds more: ask again meanwhile
      let res: Response | null = null;
      for (let i = 0; res === null; i++) {
        res = await fetch(`${cfg.sandboxUrl}${p}`, {
          headers: signedHeaders(cfg.sandboxSecret, { method: 'GET', pathWithQuery: p, rawBody: '' }, cfg.sandboxClientId),
        }).catch((e: unknown) => {
          if (i >= 60) throw e;
          return null;
        });
        if (res === null) await sleep(500);
      }
      if (!res.ok) throw new Error(`sandbox ${p}: ${res.status}`);
      return res.json();
    };
    const signedPost = async (p: string, body: unknown): Promise<void> => {
      const raw = JSON.stringify(body);
      const res = await fetch(`${cfg.sandboxUrl}${p}`, {
        method: 'POST',
        headers: {
          ...signedHeaders(cfg.sandboxSecret, { method: 'POST', pathWithQuery: p, rawBody: raw }, cfg.sandboxClientId),
          'content-type': 'application/json',
        },
        body: raw,
      });
      if (!res.ok) throw new Error(`sandbox ${p}: ${res.status} ${await res.text()}`);
    };
    /**
     * The worker to kill from `from` on in turn: one at work (holding claimed payments, as its heartbeat row says), since
     * on a loaded machine a worker takes seconds to start and killing each again before it starts would leave none
     * working; -1 when none is at work.
     */
    const busyWorker = async (from: number): Promise<number> => {
      const pids = workers.filter((w) => w?.pid !== undefined).map((w) => w.pid!);
      if (!pids.length) return -1;
      const busy = new Set(
        (
          (await infra!.ds.query(
            `SELECT DISTINCT w.pid FROM worker_heartbeats w JOIN payments p ON p.claimed_by = w.id WHERE w.pid IN (${pids.map(() => '?').join(', ')})`,
            pids,
          )) as { pid: number }[]
        ).map((r) => Number(r.pid)),
      );
      for (let k = 0; k < workers.length; k++) {
        const j = (from + k) % workers.length;
        if (workers[j]?.pid !== undefined && busy.has(workers[j]!.pid!)) return j;
      }
      return -1;
    };
    const killWorker = async (i: number): Promise<void> => {
      const w = workers[i];
      if (!w || w.exitCode !== null || w.signalCode !== null) return;
      lastFault = Date.now();
      await procs.kill(w);
      startWorker(i);
    };
    const fired: { event: FaultEvent; atSecond: number | null }[] = schedule.map((event) => ({ event, atSecond: null }));
    // faults that take a while (a database down for seconds, a provider off the network) run beside the watch loop
    const running: Promise<void>[] = [];
    const fire = async (event: FaultEvent): Promise<void> => {
      switch (event.kind) {
        case 'kill':
          await killWorker(kills++ % Math.max(1, workers.length));
          break;
        case 'flush': {
          const keys = await infra!.redis.keys(`${cfg.redisPrefix}:*`);
          if (keys.length) await infra!.redis.del(...keys);
          lastFault = Date.now();
          o.log(`Redis flushed (${keys.length} keys)`);
          break;
        }
        case 'db-restart':
          o.log(`database server ${event.hard ? 'killed' : 'shut down'}, back in ${event.downMs} ms`);
          running.push(
            db!.restart({ hard: event.hard, downMs: event.downMs }).then(() => {
              lastFault = Date.now();
              o.log('database server back');
            }),
          );
          break;
        case 'redis-failover': {
          const cluster = sentinel!;
          const old = cluster.nodes.find((n) => n.port === primaryPort)!;
          const next = cluster.nodes.find((n) => n !== old)!;
          const t = Date.now();
          await cluster.kill(old);
          lastFault = Date.now();
          o.log(`Redis primary ${old.port} killed; the Sentinels are to promote ${next.port}`);
          running.push(
            (async () => {
              await cluster.waitForPrimary(next.port, 30_000);
              primaryPort = next.port;
              lastFault = Math.max(lastFault, Date.now());
              o.log(`Redis replica ${next.port} promoted after ${Date.now() - t} ms`);
              await sleep(Math.max(0, event.downMs - (Date.now() - t)));
              await cluster.revive(old);
              lastFault = Math.max(lastFault, Date.now());
              o.log(`old Redis primary ${old.port} started again (empty; the Sentinels make it a replica)`);
            })(),
          );
          break;
        }
        case 'provider-outage':
          o.log(`provider off the network for ${event.ms} ms`);
          await signedPost('/_sandbox/outage', { ms: event.ms });
          offlineUntil = Date.now() + event.ms + 500;
          lastFault = Math.max(lastFault, Date.now() + event.ms);
          break;
      }
    };

    let kills = 0;
    let offlineUntil = 0;
    let primaryPort = sentinel ? await sentinel.agreedPrimary() : 0;
    let flushed = false;
    let lastKill = Date.now();
    let lastFault = t0;
    // the periodic kills go on while payments wait to be sent (pending); from the first moment none does, they stop
    let faulting = true;
    let status = 'processing';
    let timedOut = false;
    let settledPolls = 0;
    const maxMs = (o.maxSeconds ?? 20 * 60) * 1000;
    for (;;) {
      await sleep(250);
      if (Date.now() - t0 > maxMs) {
        timedOut = true;
        break;
      }
      let done: number;
      let settled: number;
      let waiting: number;
      try {
        const [b] = (await infra.ds.query('SELECT status FROM batches WHERE id = ?', [batch.id])) as { status: string }[];
        status = b!.status;
        if (status !== 'processing') break;
        const [p] = (await infra.ds.query(
          `SELECT SUM(status <> 'pending') / COUNT(*) AS done, SUM(status IN ('succeeded', 'failed', 'returned')) / COUNT(*) AS settled,
             SUM(status IN ('pending', 'sending', 'unknown', 'sent')) AS waiting, SUM(status = 'review') AS review
           FROM payments WHERE batch_id = ?`,
          [batch.id],
        )) as { done: string; settled: string; waiting: string; review: string }[];
        done = Number(p!.done);
        settled = Number(p!.settled);
        waiting = Number(p!.waiting) + (Number(p!.review) === 0 ? 1 : 0);
      } catch {
        // the database is down (a fault of the run): look again in a moment
        continue;
      }
      // only payments in review left open (the batch cannot complete): the engine has done all it can, staff would take
      // over (judged below); with none in review the batch must complete by itself
      settledPolls = waiting === 0 ? settledPolls + 1 : 0;
      if (settledPolls >= 8) break;
      // the first kill once a tenth of the payments have left `pending` (some are then in flight), so that a run shorter
      // than killEveryMs still loses a worker mid-send; then every killEveryMs
      if (done >= 1 && flushed) faulting = false;
      if (o.killEveryMs > 0 && faulting && (o.maxKills === undefined || kills < o.maxKills)) {
        const due = kills === 0 ? done >= 0.1 || Date.now() - lastKill >= o.killEveryMs : Date.now() - lastKill >= o.killEveryMs;
        const i = due && workers.length ? await busyWorker(kills % workers.length).catch(() => -1) : -1;
        if (i >= 0) {
          await killWorker(i);
          kills += 1;
          lastKill = Date.now();
        }
      }
      if (!flushed && done >= o.flushAt) {
        const keys = await infra.redis.keys(`${cfg.redisPrefix}:*`);
        if (keys.length) await infra.redis.del(...keys);
        flushed = true;
        lastFault = Date.now();
        o.log(`Redis flushed (${keys.length} keys) at ${Math.round(done * 100)}% sent`);
      }
      for (const f of fired) {
        if (f.atSecond !== null || settled < f.event.at) continue;
        // one database restart at a time: a second one waits for the first to be back; one failover at a time too
        if (f.event.kind === 'db-restart' && !db!.running()) continue;
        if (f.event.kind === 'redis-failover' && sentinel!.nodes.some((n) => n.child.exitCode !== null || n.child.signalCode !== null))
          continue;
        f.atSecond = (Date.now() - t0) / 1000;
        if (f.event.kind === 'flush') flushed = true;
        await fire(f.event);
      }
    }
    const ended = Date.now();
    let stuck: FaultReport['stuck'];
    if (timedOut) {
      const open = (await infra.ds.query(
        `SELECT status, provider_id, COUNT(*) AS n, SUM(claim_token IS NOT NULL) AS claimed, SUM(claimed_by IS NOT NULL) AS named,
           MIN(next_attempt_at) AS next_at, MAX(queued_until) AS queued_until, MIN(claimed_at) AS claimed_at
         FROM payments WHERE batch_id = ? AND status NOT IN ('succeeded', 'failed', 'returned') GROUP BY status, provider_id`,
        [batch.id],
      )) as { provider_id: number | null }[];
      const queues: Record<string, unknown> = {};
      for (const name of ['payments.dispatch', ...new Set(open.map((r) => `payments.p${r.provider_id}`))]) {
        queues[name] = await infra.queues
          .get(name)
          .getJobCounts()
          .catch((e: unknown) => String(e));
      }
      stuck = { open, queues };
    }
    await Promise.all(running);
    const seconds = (ended - t0) / 1000;
    const afterLastFault = Math.max(0, ended - lastFault) / 1000;
    o.log(`done in ${seconds.toFixed(1)} s, ${afterLastFault.toFixed(1)} s after the last fault (${kills} kills)`);
    // the batch may complete while the provider is off the network (callbacks go on): its book is read once it is back
    await sleep(Math.max(0, offlineUntil - Date.now()));
    // returns come after success: the last returns and their callbacks land before the books are compared. The
    // sandbox counts what waits on its timers (settlements, returns) and the callbacks waiting or in flight (a
    // callback is answered once the service has applied it); the books are read once neither is left, or after 3 s
    const settledBy = Date.now() + 3000;
    while (Date.now() < settledBy) {
      const book = (await signedGet('/_sandbox/ledger')) as { scheduled: number; callbacks: { pending: number } };
      if (book.scheduled === 0 && book.callbacks.pending === 0) break;
      await sleep(100);
    }
    await sleep(200);

    // the sandbox's book
    const summary = (await signedGet('/_sandbox/ledger')) as { accepted: number; acceptedMoreThanOnce: number; succeededAmount: number };
    const ledger = new Map<string, Listed>();
    for (let after: number | null = 0; after !== null;) {
      const page = (await signedGet(`/_sandbox/transfers?after=${after}&limit=1000`)) as { transfers: Listed[]; next: number | null };
      for (const t of page.transfers) ledger.set(t.reference, t);
      after = page.next;
    }
    const rows = (await infra.ds.query('SELECT reference, status, amount, last_error FROM payments WHERE batch_id = ?', [batch.id])) as {
      reference: string;
      status: string;
      amount: string;
      last_error: string | null;
    }[];
    const byStatus: Record<string, number> = {};
    const disagreements: string[] = [];
    const neverAccepted: string[] = [];
    const review: { reference: string; reason: string | null }[] = [];
    const amounts = { paid: 0, failed: 0, returned: 0, unresolved: 0 };
    const expected: Record<string, string> = { SUCCEEDED: 'succeeded', FAILED: 'failed', RETURNED: 'returned', PENDING: 'sent' };
    for (const r of rows) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      const amount = Number(r.amount);
      if (r.status === 'succeeded') amounts.paid += amount;
      else if (r.status === 'failed') amounts.failed += amount;
      else if (r.status === 'returned') amounts.returned += amount;
      else amounts.unresolved += amount;
      if (r.status === 'review') review.push({ reference: r.reference, reason: r.last_error });
      const t = ledger.get(r.reference);
      if (!t) neverAccepted.push(r.reference);
      // a payment in review is for staff to decide against the provider's word: not a disagreement yet
      else if (r.status !== 'review' && (expected[t.status] !== r.status || t.amount !== amount))
        disagreements.push(`${r.reference}: ${r.status} / ${t.status}`);
    }
    const mine = new Set(rows.map((r) => r.reference));
    const strangers = [...ledger.keys()].filter((ref) => !mine.has(ref));
    const acceptedAmount = [...ledger.values()].reduce((n, t) => n + t.amount, 0);
    const verified = await services.audit.verify();
    return {
      payments: rows.length,
      approvedAmount: batch.totalAmount,
      seconds,
      timedOut,
      kills,
      flushed,
      afterLastFault,
      providerTimeoutMs: o.timeoutMs,
      fired,
      restarted: procs.restarted,
      stderrLines: procs.stderrLines,
      stderrTail: procs.stderrTail,
      byStatus,
      amounts,
      review,
      audit: {
        ok: verified.ok,
        checked: verified.checked,
        firstBroken: verified.firstBroken
          ? `${verified.firstBroken.code} at ${verified.firstBroken.id}: ${verified.firstBroken.reason}`
          : null,
      },
      sandbox: {
        accepted: summary.accepted,
        acceptedMoreThanOnce: summary.acceptedMoreThanOnce,
        acceptedAmount,
        succeededAmount: summary.succeededAmount,
      },
      serviceSucceededAmount: amounts.paid,
      disagreements,
      strangers,
      neverAccepted,
      batchStatus: status,
      ...(stuck ? { stuck } : {}),
    };
  } finally {
    procs.end();
    if (infra) await closeInfra(infra);
    await db?.stop();
    await sentinel?.stop();
    await rm(checkpoints, { recursive: true, force: true });
  }
}

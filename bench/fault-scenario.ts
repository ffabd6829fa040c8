/**
 * The fault scenario of the payment engine, shared by bench/fault-test.ts
 * (20,000 payments) and test/fault.test.ts (a small one, in CI): a batch paid
 * through the sandbox provider (its own process) while it injects timeouts
 * after accepting, 5xx before accepting, duplicated and out-of-order callbacks;
 * worker processes are killed with SIGKILL every few seconds (each while it
 * holds claimed payments) and restarted;
 * and the Redis keys of the deployment are deleted once mid-run. The kills
 * go on while payments are still waiting to be sent; then the faults stop and
 * the time from the last one (a kill or the Redis deletion) to the batch's
 * completion is the recovery time. The engine runs with the production
 * recovery settings (sending lease, queue lease, sweep interval). Afterwards
 * the sandbox's own ledger must show every reference accepted exactly once,
 * its totals equal to what was approved, and the service's every payment
 * final and agreeing with the ledger.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { Config } from '../config';
import { closeInfra, openInfra } from '../src/boot';
import { buildServices } from '../src/container';
import { signedHeaders } from '../src/components/providers/signing';
import { seedDemo } from '../scripts/seed';
import { writeRoll } from './bench-roll';

const ROOT = path.join(__dirname, '..');

export interface FaultOptions {
  rows: number;
  workers: number;
  killEveryMs: number;
  /** no more kills than this (none given: a kill every killEveryMs while payments wait to be sent) */
  maxKills?: number;
  /** share of the payments accepted when Redis is flushed */
  flushAt: number;
  timeoutShare: number;
  fiveXxShare: number;
  duplicateCallbackShare: number;
  returnShare: number;
  outOfOrderShare: number;
  apiPort: number;
  sandboxPort: number;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface FaultReport {
  payments: number;
  approvedAmount: number;
  seconds: number;
  kills: number;
  flushed: boolean;
  /** seconds from the last fault (the last kill or the Redis deletion) to the batch's completion */
  afterLastFault: number;
  /** the sandbox provider's request timeout the run used, ms */
  providerTimeoutMs: number;
  byStatus: Record<string, number>;
  sandbox: { accepted: number; acceptedMoreThanOnce: number; acceptedAmount: number; succeededAmount: number };
  serviceSucceededAmount: number;
  /** references whose state differs between the service and the sandbox's ledger */
  disagreements: string[];
  /** references the sandbox accepted that are not payments of the batch */
  strangers: string[];
  /** payments the sandbox never accepted */
  neverAccepted: string[];
  batchStatus: string;
}

interface Listed {
  reference: string;
  status: string;
  amount: number;
}

export async function runFaultScenario(base: Config, o: FaultOptions): Promise<FaultReport> {
  const cfg: Config = { ...base, publicBaseUrl: `http://127.0.0.1:${o.apiPort}`, sandboxUrl: `http://127.0.0.1:${o.sandboxPort}` };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: cfg.mode,
    DB_NAME: cfg.dbName,
    REDIS_PREFIX: cfg.redisPrefix,
    HTTP_PORT: String(o.apiPort),
    PUBLIC_BASE_URL: cfg.publicBaseUrl,
    SANDBOX_PORT: String(o.sandboxPort),
    SANDBOX_URL: cfg.sandboxUrl,
    SANDBOX_SETTLE_MS: '50-400',
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
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'error',
  };
  const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  await conn.end();
  const infra = await openInfra('fault', cfg);
  const children = new Set<ChildProcess>();
  const run = (file: string): ChildProcess => {
    const c = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, file)], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
      cwd: ROOT,
    });
    children.add(c);
    c.once('exit', () => children.delete(c));
    return c;
  };
  try {
    const stale = await infra.redis.keys(`${cfg.redisPrefix}:*`);
    if (stale.length) await infra.redis.del(...stale);
    await seedDemo(infra.ds, cfg);
    const services = buildServices(infra);
    const prog = await writeRoll(infra.ds, services.cipher, o.rows, { cash: false });
    await infra.ds.query("UPDATE providers SET timeout_ms = ?, concurrency = 100 WHERE name = 'sandbox'", [o.timeoutMs]);
    run('src/sandbox-server.ts');
    run('src/server.ts');
    const workers: ChildProcess[] = [];
    for (let i = 0; i < o.workers; i++) workers.push(run('jobs/worker.ts'));
    // the API and the sandbox answering (any HTTP answer from the sandbox will do: unsigned, it says 401)
    for (let i = 0; i < 450; i++) {
      const api = await fetch(`${cfg.publicBaseUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      const sandbox = await fetch(`${cfg.sandboxUrl}/v1/balance`).then(
        () => true,
        () => false,
      );
      if (api && sandbox) break;
      if (i === 449)
        throw new Error(`after 90 s: API ${api ? 'answering' : 'not answering'}, sandbox ${sandbox ? 'answering' : 'not answering'}`);
      await new Promise((r) => setTimeout(r, 200));
    }
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

    let kills = 0;
    let flushed = false;
    let lastKill = Date.now();
    let lastFault = t0;
    // the faults go on while payments wait to be sent (pending); from the first moment none does, they stop
    let faulting = true;
    let status = 'processing';
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      const [b] = (await infra.ds.query('SELECT status FROM batches WHERE id = ?', [batch.id])) as { status: string }[];
      status = b!.status;
      if (status !== 'processing') break;
      if (Date.now() - t0 > 20 * 60_000) throw new Error('the batch is not done after 20 minutes');
      const [p] = (await infra.ds.query("SELECT SUM(status <> 'pending') / COUNT(*) AS done FROM payments WHERE batch_id = ?", [
        batch.id,
      ])) as { done: string }[];
      const done = Number(p!.done);
      if (done >= 1 && flushed) faulting = false;
      // the first kill once a tenth of the payments have left `pending` (some are then in flight), so that a run shorter
      // than killEveryMs still loses a worker mid-send; then every killEveryMs
      const due = kills === 0 ? done >= 0.1 || Date.now() - lastKill >= o.killEveryMs : Date.now() - lastKill >= o.killEveryMs;
      // only a worker at work is killed: one holding claimed payments (on a loaded machine a worker takes seconds to
      // start, and killing each again before it starts would leave none working); the next in turn that does
      let i = -1;
      if (faulting && due && workers.length && (o.maxKills === undefined || kills < o.maxKills)) {
        const busy = new Set(
          (
            (await infra.ds.query(
              `SELECT DISTINCT w.pid FROM worker_heartbeats w JOIN payments p ON p.claimed_by = w.id WHERE w.pid IN (${workers.map(() => '?').join(', ')})`,
              workers.map((w) => w.pid),
            )) as { pid: number }[]
          ).map((r) => Number(r.pid)),
        );
        for (let k = 0; k < workers.length && i < 0; k++) {
          const j = (kills + k) % workers.length;
          if (busy.has(workers[j]!.pid!)) i = j;
        }
      }
      const working = i >= 0;
      if (working) {
        workers[i]!.kill('SIGKILL');
        await new Promise((r) => workers[i]!.once('exit', r));
        workers[i] = run('jobs/worker.ts');
        kills += 1;
        lastKill = Date.now();
        lastFault = lastKill;
      }
      if (!flushed) {
        if (done >= o.flushAt) {
          const keys = await infra.redis.keys(`${cfg.redisPrefix}:*`);
          if (keys.length) await infra.redis.del(...keys);
          flushed = true;
          lastFault = Date.now();
          o.log(`Redis flushed (${keys.length} keys) at ${Math.round(done * 100)}% sent`);
        }
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const afterLastFault = (Date.now() - lastFault) / 1000;
    o.log(`done in ${seconds.toFixed(1)} s, ${afterLastFault.toFixed(1)} s after the last fault (${kills} kills)`);
    // returns come after success: give the last returns and their callbacks time to land before comparing books
    await new Promise((r) => setTimeout(r, o.returnShare > 0 ? 3000 : 500));

    // the sandbox's book
    const get = async (p: string) => {
      const res = await fetch(`${cfg.sandboxUrl}${p}`, {
        headers: signedHeaders(cfg.sandboxSecret, { method: 'GET', pathWithQuery: p, rawBody: '' }, cfg.sandboxClientId),
      });
      if (!res.ok) throw new Error(`sandbox ${p}: ${res.status}`);
      return res.json() as Promise<unknown>;
    };
    const summary = (await get('/_sandbox/ledger')) as { accepted: number; acceptedMoreThanOnce: number; succeededAmount: number };
    const ledger = new Map<string, Listed>();
    for (let after: number | null = 0; after !== null;) {
      const page = (await get(`/_sandbox/transfers?after=${after}&limit=1000`)) as { transfers: Listed[]; next: number | null };
      for (const t of page.transfers) ledger.set(t.reference, t);
      after = page.next;
    }
    const rows = (await infra.ds.query('SELECT reference, status, amount FROM payments WHERE batch_id = ?', [batch.id])) as {
      reference: string;
      status: string;
      amount: string;
    }[];
    const byStatus: Record<string, number> = {};
    const disagreements: string[] = [];
    const neverAccepted: string[] = [];
    let serviceSucceededAmount = 0;
    const expected: Record<string, string> = { SUCCEEDED: 'succeeded', FAILED: 'failed', RETURNED: 'returned', PENDING: 'sent' };
    for (const r of rows) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      if (r.status === 'succeeded') serviceSucceededAmount += Number(r.amount);
      const t = ledger.get(r.reference);
      if (!t) neverAccepted.push(r.reference);
      else if (expected[t.status] !== r.status || t.amount !== Number(r.amount))
        disagreements.push(`${r.reference}: ${r.status} / ${t.status}`);
    }
    const mine = new Set(rows.map((r) => r.reference));
    const strangers = [...ledger.keys()].filter((ref) => !mine.has(ref));
    const acceptedAmount = [...ledger.values()].reduce((n, t) => n + t.amount, 0);
    return {
      payments: rows.length,
      approvedAmount: batch.totalAmount,
      seconds,
      kills,
      flushed,
      afterLastFault,
      providerTimeoutMs: o.timeoutMs,
      byStatus,
      sandbox: {
        accepted: summary.accepted,
        acceptedMoreThanOnce: summary.acceptedMoreThanOnce,
        acceptedAmount,
        succeededAmount: summary.succeededAmount,
      },
      serviceSucceededAmount,
      disagreements,
      strangers,
      neverAccepted,
      batchStatus: status,
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await closeInfra(infra);
  }
}

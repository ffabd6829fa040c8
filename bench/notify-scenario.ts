/**
 * An SMS run as production runs it, shared by bench/notify-send.ts (the sending rate), bench/notify-fault-test.ts
 * (the notification fault run at 20,000) and test/fault-notify.test.ts (a small one in npm test): the sandbox gateway
 * (the sandbox process, under /sms), the API (which takes the delivery reports) and the workers (whose dispatcher
 * sends) each in a process of its own (bench/service-processes.ts); N recipients' paid payments written, their
 * messages collected at the start of the clock. Optionally first a floor: the sandbox gateway alone taking sends from
 * one plain keep-alive client at full speed, so that a rate can be judged on another machine. Optionally faults: the
 * sandbox's (answers lost after accepting, 5xx before, duplicated and reordered reports), workers killed with
 * SIGKILL and started again while messages wait (so that the dispatcher among them dies holding claims), the Redis
 * keys of the run deleted once. Afterwards the gateway's own ledger is read: every reference accepted once, every
 * recipient told once, every message final and agreeing with the ledger (the `broken` list names what did not hold).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { ChildProcess } from 'node:child_process';
import type { Config } from '../config';
import { closeInfra, openInfra } from '../src/boot';
import { buildServices } from '../src/container';
import { signedHeaders } from '../src/components/providers/signing';
import { SmsGatewayClient } from '../src/components/notifications';
import type { SmsBehaviourPatch } from '../src/components/notifications/sandbox/sms-sandbox';
import { seedDemo } from '../scripts/seed';
import { phoneOf, writePaidBatch } from './notify-data';
import { ServiceProcesses, serviceEnv, waitForServices } from './service-processes';

export interface SmsRunOptions {
  rows: number;
  workers: number;
  /** the gateway's configured rate, messages a second */
  rate: number;
  apiPort: number;
  sandboxPort: number;
  /** the gateway's request timeout (sms_gateways.timeout_ms) */
  gatewayTimeoutMs: number;
  /** NOTIFY_SENDING_LEASE_SECONDS of the workers */
  leaseSeconds: number;
  /** NOTIFY_DISPATCH_MS of the workers */
  dispatchMs: number;
  /** the sandbox gateway's behaviour during the run (its faults) */
  behaviour: SmsBehaviourPatch;
  /** sends of the floor (0: none) */
  floor: number;
  /** workers killed with SIGKILL this often while messages wait (0: never), every one and one alone in turn, at most maxKills times */
  killEveryMs: number;
  maxKills?: number;
  /** share of the messages out of `pending` when the run's Redis keys are deleted (above 1: never) */
  flushAt: number;
  /** a run not finished by then is judged as it stands */
  maxSeconds: number;
  log: (line: string) => void;
  echo?: boolean;
  /** the processes shut down with SIGTERM at the end (their --cpu-prof profiles written), not killed */
  graceful?: boolean;
}

export interface SmsRunReport {
  messages: number;
  /** the sandbox gateway alone: sends a second from one keep-alive client (null: not measured) */
  floorPerSecond: number | null;
  /** seconds from the messages' creation until none waits to be accepted, and until every one is final */
  toAccepted: number;
  toFinal: number;
  /** messages a second between 10% and 90% accepted: the rate once the run is under way, without its ends */
  steadyPerSecond: number;
  timedOut: boolean;
  kills: number;
  flushed: boolean;
  /** seconds from the last fault to every message final */
  afterLastFault: number;
  restarted: Record<string, number>;
  stderrLines: number;
  stderrTail: string[];
  byStatus: Record<string, number>;
  ledger: { messages: number; acceptedTwice: number; stats: Record<string, number>; lastReportError: string | null };
  /** CPU seconds of each process during the run (workers killed on the way are not counted) */
  cpu: Record<string, number>;
  load: { before: number; after: number };
  /** what did not hold; empty when the run held */
  broken: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const TICKS = 100; // clock ticks a second of /proc/<pid>/stat on Linux

function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

function pidOf(command: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === command) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

interface LedgerItem {
  reference: string;
  to: string;
  status: string;
  errorCode: string | null;
  accepts: number;
}

const FINAL: Record<string, string> = { DELIVERED: 'delivered', UNDELIVERABLE: 'failed', REJECTED: 'failed', EXPIRED: 'failed' };

export async function runSmsScenario(base: Config, o: SmsRunOptions): Promise<SmsRunReport> {
  const checkpoints = await mkdtemp(path.join(os.tmpdir(), 'welfare-sms-checkpoints-'));
  const cfg: Config = {
    ...base,
    auditCheckpointDir: checkpoints,
    publicBaseUrl: `http://127.0.0.1:${o.apiPort}`,
    sandboxUrl: `http://127.0.0.1:${o.sandboxPort}`,
  };
  const env: NodeJS.ProcessEnv = {
    ...serviceEnv(cfg, { apiPort: o.apiPort, sandboxPort: o.sandboxPort, checkpoints }),
    NOTIFY_DISPATCH_MS: String(o.dispatchMs),
    NOTIFY_QUIET_HOURS: 'false',
    NOTIFY_SENDING_LEASE_SECONDS: String(o.leaseSeconds),
  };
  const procs = new ServiceProcesses(env, o.log, o.echo);
  let infra: Awaited<ReturnType<typeof openInfra>> | null = null;
  const gwUrl = `${cfg.sandboxUrl}/sms`;
  const signed = async (method: 'GET' | 'POST', p: string, body?: unknown): Promise<unknown> => {
    const raw = body === undefined ? '' : JSON.stringify(body);
    const res = await fetch(`${gwUrl}${p}`, {
      method,
      headers: {
        ...signedHeaders(cfg.sandboxSecret, { method, pathWithQuery: `/sms${p}`, rawBody: raw }, cfg.sandboxClientId),
        'content-type': 'application/json',
      },
      ...(method === 'POST' ? { body: raw } : {}),
    });
    if (!res.ok) throw new Error(`sandbox ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const setupStart = Date.now();
  try {
    const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
    await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
    await conn.end();
    infra = await openInfra('sms-run', cfg);
    const ds = infra.ds;
    const stale = await infra.redis.keys(`${cfg.redisPrefix}:*`);
    if (stale.length) await infra.redis.del(...stale);
    const sandbox = procs.run('src/sandbox-server.ts');
    const api = procs.run('src/server.ts');
    const workers: ChildProcess[] = [];
    const startWorker = (i: number): void => {
      workers[i] = procs.run('jobs/worker.ts', (again) => (workers[i] = again));
    };
    for (let i = 0; i < o.workers; i++) startWorker(i);
    await seedDemo(ds, cfg);
    const services = buildServices(infra);
    await ds.query(`UPDATE sms_gateways SET rate_limit_per_second = ?, timeout_ms = ? WHERE name = 'sandbox'`, [
      o.rate,
      o.gatewayTimeoutMs,
    ]);
    // not collected until the clock starts
    const { batchId } = await writePaidBatch(ds, services.cipher, o.rows, 'approved');
    o.log(`database, demo data and ${o.rows} paid payments ready after ${((Date.now() - setupStart) / 1000).toFixed(1)} s`);
    await waitForServices(cfg.publicBaseUrl, cfg.sandboxUrl, o.log, setupStart);
    for (let i = 0; ; i++) {
      const [h] = (await ds.query('SELECT COUNT(DISTINCT pid) AS n FROM worker_heartbeats')) as { n: string }[];
      if (Number(h!.n) >= o.workers) break;
      if (i > 600) throw new Error('the workers did not start within 120 s');
      await sleep(200);
    }
    o.log(`${o.workers} worker(s) started after ${((Date.now() - setupStart) / 1000).toFixed(1)} s`);

    let floorPerSecond: number | null = null;
    if (o.floor > 0) {
      const client = new SmsGatewayClient({
        baseUrl: gwUrl,
        clientId: cfg.sandboxClientId,
        secret: cfg.sandboxSecret,
        timeoutMs: 10_000,
      });
      let next = 0;
      let accepted = 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < o.floor) {
            const i = next++;
            const r = await client.send({ reference: `FLOOR-${i}`, to: '+84981234567', sender: 'SOLDTBXH', text: 'Kiem tra toc do' });
            if (r.kind === 'accepted') accepted++;
          }
        }),
      );
      floorPerSecond = Math.round(o.floor / ((performance.now() - t) / 1000));
      client.close();
      o.log(`floor: the sandbox gateway alone took ${accepted} of ${o.floor} sends from one keep-alive client at ${floorPerSecond}/s`);
    }
    await signed('POST', '/_sandbox/faults', o.behaviour);

    const processes = (): Record<string, number | undefined> => ({
      sandbox: sandbox.pid,
      api: api.pid,
      ...Object.fromEntries(workers.map((w, i) => [`worker ${i + 1}`, w.pid])),
      mariadbd: pidOf('mariadbd') ?? pidOf('mysqld'),
      'this process': process.pid,
    });
    const pids0 = processes();
    const cpu0 = Object.fromEntries(Object.entries(pids0).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const loadBefore = os.loadavg()[0]!;
    await ds.query("UPDATE batches SET status = 'completed' WHERE id = ?", [batchId]);
    await services.notifier.collect();
    // a worker's sweep may have collected them first: the batch's messages, whoever made them
    const [c] = (await ds.query('SELECT COUNT(*) AS n FROM notification_messages WHERE batch_id = ?', [batchId])) as { n: string }[];
    const created = Number(c!.n);
    const t0 = Date.now();
    o.log(`${created} messages created; sending`);

    const counts = async (): Promise<Record<string, number>> => {
      const rows = (await ds.query('SELECT status, COUNT(*) AS n FROM notification_messages WHERE batch_id = ? GROUP BY status', [
        batchId,
      ])) as { status: string; n: string }[];
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    };
    let acceptedAt = 0;
    let finalAt = 0;
    let at10 = 0;
    let at90 = 0;
    let kills = 0;
    let lastKill = t0;
    let onTheWayAtKill = 0;
    let lastFault = t0;
    let flushed = false;
    let timedOut = false;
    let byStatus: Record<string, number> = {};
    for (;;) {
      await sleep(100);
      if (Date.now() - t0 > o.maxSeconds * 1000) {
        timedOut = true;
        break;
      }
      byStatus = await counts();
      const n = (...s: string[]) => s.reduce((sum, k) => sum + (byStatus[k] ?? 0), 0);
      const waiting = n('pending', 'sending', 'unknown');
      const onTheWay = created - waiting;
      if (!at10 && onTheWay >= created * 0.1) at10 = Date.now();
      if (!at90 && onTheWay >= created * 0.9) at90 = Date.now();
      if (!acceptedAt && waiting === 0) acceptedAt = Date.now();
      if (waiting + n('accepted', 'sent') === 0) {
        finalAt = Date.now();
        break;
      }
      // every worker killed at once, so that the dispatcher among them dies holding claims, and every other time one
      // worker alone, in turn, so that the one left goes on beside a dead one's claims (or the dispatcher's worker
      // lives on and its next claims meet the new worker's); only while messages wait, and again only once the
      // workers started after the last kill have sent a twentieth of the messages (a worker takes seconds to start
      // on a loaded machine: killed sooner, no worker would ever work)
      const due =
        kills === 0 ? onTheWay >= created * 0.1 : Date.now() - lastKill >= o.killEveryMs && onTheWay - onTheWayAtKill >= created * 0.05;
      if (o.killEveryMs > 0 && n('pending', 'sending') > 0 && (o.maxKills === undefined || kills < o.maxKills) && due) {
        const sending = n('sending');
        const alone = kills % 2 === 1 && workers.length > 1 ? Math.floor(kills / 2) % workers.length : null;
        const killed = alone === null ? workers.map((_, i) => i) : [alone];
        await Promise.all(killed.map((i) => procs.kill(workers[i]!)));
        killed.forEach((i) => startWorker(i));
        kills++;
        onTheWayAtKill = onTheWay;
        lastKill = lastFault = Date.now();
        o.log(
          `${alone === null ? 'every worker' : `worker ${alone + 1} alone`} killed (SIGKILL) with ${sending} message(s) claimed, ` +
            `${Math.round((onTheWay / created) * 100)}% on the way; started again`,
        );
      }
      if (!flushed && created > 0 && onTheWay >= created * o.flushAt) {
        const keys = await infra.redis.keys(`${cfg.redisPrefix}:*`);
        if (keys.length) await infra.redis.del(...keys);
        flushed = true;
        lastFault = Date.now();
        o.log(`Redis keys of the run deleted (${keys.length}) at ${Math.round((onTheWay / created) * 100)}% on the way`);
      }
    }
    const ended = Date.now();
    const cpu = Object.fromEntries(
      // a worker started again since the clock started is counted from its own start (what the killed one used is lost)
      Object.entries(processes()).map(([k, pid]) => [k, Math.round((cpuSeconds(pid) - (pid === pids0[k] ? (cpu0[k] ?? 0) : 0)) * 10) / 10]),
    );
    const loadAfter = os.loadavg()[0]!;

    // the gateway's own book, against the messages' rows
    const summary = (await signed('GET', '/_sandbox/ledger')) as SmsRunReport['ledger'];
    const ledger = new Map<string, LedgerItem>();
    for (let after: number | null = 0; after !== null;) {
      const page = (await signed('GET', `/_sandbox/messages?after=${after}&limit=10000`)) as { items: LedgerItem[]; next: number | null };
      for (const m of page.items) if (!m.reference.startsWith('FLOOR-')) ledger.set(m.reference, m);
      after = page.next;
    }
    const rows = (await ds.query('SELECT reference, status, reason, beneficiary_id FROM notification_messages WHERE batch_id = ?', [
      batchId,
    ])) as {
      reference: string;
      status: string;
      reason: string | null;
      beneficiary_id: string;
    }[];
    const broken: string[] = [];
    const twice = [...ledger.values()].filter((m) => m.accepts > 1);
    if (summary.acceptedTwice !== 0 || twice.length) broken.push(`${summary.acceptedTwice} reference(s) accepted more than once`);
    const byTo = new Map<string, number>();
    for (const m of ledger.values()) byTo.set(m.to, (byTo.get(m.to) ?? 0) + 1);
    const toldTwice = [...byTo.values()].filter((c) => c > 1).length;
    if (toldTwice) broken.push(`${toldTwice} recipient(s) told more than once`);
    const mine = new Map(rows.map((r) => [r.reference, r]));
    const strangers = [...ledger.keys()].filter((ref) => !mine.has(ref));
    if (strangers.length) broken.push(`${strangers.length} reference(s) at the gateway that are no message of the run`);
    const notFinal = rows.filter((r) => r.status !== 'delivered' && r.status !== 'failed');
    if (notFinal.length)
      broken.push(
        `${notFinal.length} message(s) not final: ${notFinal
          .slice(0, 5)
          .map((r) => `${r.reference} ${r.status} ${r.reason}`)
          .join('; ')}`,
      );
    const disagree = rows.filter((r) => {
      const m = ledger.get(r.reference);
      return (r.status === 'delivered' || r.status === 'failed') && (!m || FINAL[m.status] !== r.status);
    });
    if (disagree.length)
      broken.push(
        `${disagree.length} message(s) disagreeing with the gateway: ${disagree
          .slice(0, 5)
          .map((r) => `${r.reference} ${r.status} / ${ledger.get(r.reference)?.status ?? 'never accepted'}`)
          .join('; ')}`,
      );
    const untold = rows.filter((r) => !byTo.has(phoneOf(Number(r.beneficiary_id)).replace(/^0/, '+84')));
    if (untold.length) broken.push(`${untold.length} recipient(s) never told`);
    if (rows.length !== o.rows) broken.push(`${rows.length} messages for ${o.rows} paid payments`);
    if (timedOut) broken.push(`not finished within ${o.maxSeconds} s: ${JSON.stringify(byStatus)}`);
    const finalCounts: Record<string, number> = {};
    for (const r of rows) finalCounts[r.status] = (finalCounts[r.status] ?? 0) + 1;
    return {
      messages: created,
      floorPerSecond,
      toAccepted: ((acceptedAt || ended) - t0) / 1000,
      toFinal: ((finalAt || ended) - t0) / 1000,
      steadyPerSecond: at10 && at90 && at90 > at10 ? Math.round((created * 0.8) / ((at90 - at10) / 1000)) : 0,
      timedOut,
      kills,
      flushed,
      afterLastFault: Math.max(0, (finalAt || ended) - lastFault) / 1000,
      restarted: procs.restarted,
      stderrLines: procs.stderrLines,
      stderrTail: procs.stderrTail,
      byStatus: finalCounts,
      ledger: summary,
      cpu,
      load: { before: loadBefore, after: loadAfter },
      broken,
    };
  } finally {
    // a clean shutdown when asked (profiles written); killed otherwise
    if (o.graceful) await procs.stop(10_000);
    else procs.end();
    if (infra) await closeInfra(infra);
    await rm(checkpoints, { recursive: true, force: true });
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { freePort } from './ports';

/** One redis-server process this helper started, on 127.0.0.1. */
export interface RedisProcess {
  port: number;
  dir: string;
  child: ChildProcess;
}

/**
 * A primary, one replica and three Sentinels of our own, on free loopback ports, each in a temporary directory with
 * its own configuration file, no persistence; passwords on the data nodes and on the Sentinels, different ones, so
 * that a client configured without either fails.
 */
export interface SentinelCluster {
  readonly masterName: string;
  readonly password: string;
  readonly sentinelPassword: string;
  readonly nodes: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  /** The configuration variables that point the service at these Sentinels. */
  env(): Record<string, string>;
  /** The port of the primary, as every Sentinel names it once they agree. */
  agreedPrimary(timeoutMs?: number): Promise<number>;
  /** A connection of the test's own to one node or Sentinel, not through the service's code. */
  admin(p: RedisProcess): Redis;
  /** Waits until every Sentinel names `port` as the primary and the node says it is one. */
  waitForPrimary(port: number, timeoutMs?: number): Promise<void>;
  /** Kills one node or Sentinel with SIGKILL (what it held in memory is gone) and waits until it has exited. */
  kill(p: RedisProcess): Promise<void>;
  /** Starts a killed node or Sentinel again on its port, with its configuration file, and waits until it answers. */
  revive(p: RedisProcess): Promise<void>;
  /** Stops every process and removes the directories; safe to call twice and after a failed start. */
  stop(): Promise<void>;
  /** The end of each process's log, for a failure message. */
  logs(): Promise<string>;
}

const running = new Set<ChildProcess>();
// a test run that dies (uncaught error, mocha --exit) must not leave redis-server processes behind
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function spawnServer(file: string, sentinel: boolean): ChildProcess {
  const child = spawn('redis-server', [file, ...(sentinel ? ['--sentinel'] : []), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Resolves true once the server on `port` answers (NOAUTH is an answer), false if `child` exits first. */
async function answers(port: number, child: ChildProcess, name: string): Promise<boolean> {
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  probe.on('error', () => undefined);
  try {
    return await until(`${name} to listen on ${port}`, 10_000, async () => {
      if (child.exitCode !== null) return false;
      const answer = await probe.ping().catch((e: Error) => (e.message.startsWith('NOAUTH') ? 'NOAUTH' : undefined));
      return answer ? true : undefined;
    });
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts one redis-server on a free port and waits until it answers. The port is free when chosen but not reserved:
 * if another process takes it first, the server exits, and it is started again on another port.
 */
async function startProcess(root: string, name: string, conf: (port: number) => string[], sentinel: boolean): Promise<RedisProcess> {
  const dir = path.join(root, name);
  await mkdir(dir);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const file = path.join(dir, sentinel ? 'sentinel.conf' : 'redis.conf');
    // a Sentinel rewrites its configuration file with what it learns, so each has one of its own
    await writeFile(
      file,
      [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `logfile ${path.join(dir, 'log')}`, ...conf(port)].join('\n') + '\n',
    );
    const child = spawnServer(file, sentinel);
    try {
      if (!(await answers(port, child, name))) throw new Error(`${name} exited at start (port ${port} taken?)`);
      return { port, dir, child };
    } catch (e) {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (attempt >= 3) throw e;
    }
  }
}

function parseInfo(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

/** Starts the cluster and waits until the replica is in sync and the Sentinels know each other and the replica. */
export async function startSentinelCluster(masterName = 'welfare-test'): Promise<SentinelCluster> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'welfare-sentinel-'));
  const password = `node-${process.pid}-${Date.now()}`;
  const sentinelPassword = `sentinel-${process.pid}-${Date.now()}`;
  const nodes: RedisProcess[] = [];
  const sentinels: RedisProcess[] = [];
  const admins: Redis[] = [];
  let stopped = false;

  const admin = (p: RedisProcess): Redis => {
    const c = new Redis({
      host: '127.0.0.1',
      port: p.port,
      password: sentinels.includes(p) ? sentinelPassword : password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 100,
      enableOfflineQueue: true,
    });
    c.on('error', () => undefined);
    admins.push(c);
    return c;
  };

  const cluster: SentinelCluster = {
    masterName,
    password,
    sentinelPassword,
    nodes,
    sentinels,
    env: () => ({
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_MASTER: masterName,
      REDIS_SENTINEL_PASSWORD: sentinelPassword,
      REDIS_PASSWORD: password,
    }),
    admin,
    async agreedPrimary(timeoutMs = 10_000) {
      const conns = sentinels.filter((s) => s.child.exitCode === null && s.child.signalCode === null).map(admin);
      try {
        return await until('the Sentinels to agree on the primary', timeoutMs, async () => {
          const ports = await Promise.all(
            conns.map(async (c) => Number(((await c.call('SENTINEL', 'get-master-addr-by-name', masterName)) as string[])[1])),
          );
          return ports.every((p) => p === ports[0]) ? ports[0] : undefined;
        });
      } finally {
        conns.forEach((c) => c.disconnect());
      }
    },
    async waitForPrimary(port, timeoutMs = 15_000) {
      const primary = nodes.find((n) => n.port === port);
      if (!primary) throw new Error(`no node on port ${port}`);
      const pc = admin(primary);
      try {
        await until(`the Sentinels to name ${port} the primary`, timeoutMs, async () => {
          if ((await cluster.agreedPrimary(500)) !== port) return undefined;
          return parseInfo(await pc.info('replication')).role === 'master' ? true : undefined;
        });
      } finally {
        pc.disconnect();
      }
    },
    async kill(p) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const gone = new Promise((resolve) => p.child.once('exit', resolve));
      p.child.kill('SIGKILL');
      await gone;
    },
    async revive(p) {
      if (p.child.exitCode === null && p.child.signalCode === null) return;
      const sentinel = sentinels.includes(p);
      // a Sentinel's file holds what it learnt since; a node's names no primary: the Sentinels make it a replica
      p.child = spawnServer(path.join(p.dir, sentinel ? 'sentinel.conf' : 'redis.conf'), sentinel);
      if (!(await answers(p.port, p.child, path.basename(p.dir)))) throw new Error(`${path.basename(p.dir)} did not start again`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      admins.forEach((c) => c.disconnect());
      await Promise.all(
        [...sentinels, ...nodes].map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
              const t = setTimeout(() => p.child.kill('SIGKILL'), 2000);
              p.child.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              p.child.kill('SIGTERM');
            }),
        ),
      );
      await rm(root, { recursive: true, force: true });
    },
    async logs() {
      const parts = await Promise.all(
        [...nodes, ...sentinels].map(async (p) => {
          const text = await readFile(path.join(p.dir, 'log'), 'utf8').catch(() => '');
          return `--- ${path.basename(p.dir)} (port ${p.port})\n${text.split('\n').slice(-25).join('\n')}`;
        }),
      );
      return parts.join('\n');
    },
  };

  try {
    const nodeConf = (extra: string[]) => () => [
      `requirepass ${password}`,
      `masterauth ${password}`,
      'repl-diskless-sync-delay 0',
      ...extra,
    ];
    nodes.push(await startProcess(root, 'node-a', nodeConf([]), false));
    const primary = nodes[0]!;
    nodes.push(await startProcess(root, 'node-b', nodeConf([`replicaof 127.0.0.1 ${primary.port}`]), false));
    // the Sentinels learn the replica from the primary's INFO, read at once when they connect: start them once it is there
    const rc = admin(nodes[1]!);
    await until('the replica to be in sync', 10_000, async () =>
      parseInfo(await rc.info('replication')).master_link_status === 'up' ? true : undefined,
    );
    rc.disconnect();
    for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
      sentinels.push(
        await startProcess(
          root,
          name,
          () => [
            `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 2`,
            `sentinel auth-pass ${masterName} ${password}`,
            `sentinel down-after-milliseconds ${masterName} 1000`,
            `sentinel failover-timeout ${masterName} 10000`,
            `requirepass ${sentinelPassword}`,
          ],
          true,
        ),
      );
    }
    const sc = sentinels.map(admin);
    await until('the Sentinels to see each other and the replica', 15_000, async () => {
      for (const c of sc) {
        const m = (await c.call('SENTINEL', 'master', masterName)) as string[];
        const f = Object.fromEntries(m.flatMap((v, i) => (i % 2 === 0 ? [[v, m[i + 1]]] : [])));
        if (f['num-other-sentinels'] !== '2' || f['num-slaves'] !== '1' || !String(f.flags).startsWith('master')) return undefined;
        await c.call('SENTINEL', 'ckquorum', masterName);
      }
      return true;
    });
    sc.forEach((c) => c.disconnect());
    return cluster;
  } catch (e) {
    const logs = await cluster.logs().catch(() => '');
    await cluster.stop();
    throw new Error(`${(e as Error).message}\n${logs}`, { cause: e });
  }
}

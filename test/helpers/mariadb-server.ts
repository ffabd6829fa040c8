import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './ports';

/**
 * A mariadbd of our own, for tests and benchmarks that stop or kill the database server: the one on 127.0.0.1:3306 is
 * shared and is never restarted. A fresh data directory in a temporary directory (mariadb-install-db), root with no
 * password over TCP on a free loopback port, no binary log. Killed with SIGKILL and started again on the same port
 * and data directory, it runs InnoDB's crash recovery as a real server would after a crash.
 */
export interface PrivateMariaDb {
  readonly port: number;
  readonly dir: string;
  /** Whether the server process is running now. */
  running(): boolean;
  /** Stops the server: SIGKILL (`hard`, a crash: connections cut, open transactions rolled back at the next start) or a clean shutdown. */
  down(opts?: { hard?: boolean }): Promise<void>;
  /** Starts the server again on the same port and data directory and waits until it answers. */
  up(): Promise<void>;
  /** down, wait `downMs`, up. */
  restart(opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  /** Stops the server and removes the directory; safe to call twice and after a failed start. */
  stop(): Promise<void>;
  /** The end of the server's error log, for a failure message. */
  log(): Promise<string>;
}

const running = new Set<ChildProcess>();
// a test run that dies must not leave a mariadbd behind
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

const MARIADBD = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((p) => existsSync(p)) ?? 'mariadbd';
const INSTALL_DB = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((p) => existsSync(p)) ?? 'mariadb-install-db';
// mariadbd refuses to run as root; as root it runs as mysql, which must own the directory
const AS_ROOT = process.getuid?.() === 0;

function mysqlIds(): { uid: number; gid: number } | null {
  if (!AS_ROOT) return null;
  const out = spawnSync('id', ['-u', 'mysql'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'mysql'], { encoding: 'utf8' });
  if (out.status !== 0 || gid.status !== 0) throw new Error('running as root, and there is no mysql user for mariadbd to run as');
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function answers(port: number): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
    await c.query('SELECT 1');
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Initialises a data directory and starts a server on a free port; waits until root can run a query over TCP. */
export async function startPrivateMariaDb(): Promise<PrivateMariaDb> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'welfare-mariadb-'));
  const ids = mysqlIds();
  if (ids) await chown(dir, ids.uid, ids.gid);
  const data = path.join(dir, 'data');
  const user = ids ? ['--user=mysql'] : [];
  const common = ['--no-defaults', `--datadir=${data}`, '--innodb-log-file-size=16M', ...user];
  const install = spawnSync(INSTALL_DB, [...common, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    encoding: 'utf8',
  });
  if (install.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${install.status}): ${install.stderr || install.stdout}`);
  }
  let port = 0;
  let child: ChildProcess | null = null;
  let stopped = false;

  const launch = (): ChildProcess => {
    const c = spawn(
      MARIADBD,
      [
        ...common,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${path.join(dir, 'sock')}`,
        `--pid-file=${path.join(dir, 'pid')}`,
        `--log-error=${path.join(dir, 'error.log')}`,
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=64M',
        // the server process is killed, not the machine: what reached the OS survives, as with a real crash of mariadbd
        '--innodb-flush-log-at-trx-commit=2',
        '--max-connections=500',
      ],
      { stdio: 'ignore' },
    );
    running.add(c);
    c.once('exit', () => running.delete(c));
    return c;
  };

  const waitUp = async (c: ChildProcess, timeoutMs: number): Promise<void> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`mariadbd exited at start (${c.exitCode ?? c.signalCode})`);
      if (await answers(port)) return;
      if (Date.now() > end) throw new Error(`mariadbd did not answer on ${port} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const exited = (c: ChildProcess): Promise<void> =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));

  const server: PrivateMariaDb = {
    get port() {
      return port;
    },
    dir,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    async down(opts = {}) {
      const c = child;
      if (!c) return;
      child = null;
      if (c.exitCode !== null || c.signalCode !== null) return;
      const gone = exited(c);
      if (opts.hard) c.kill('SIGKILL');
      else {
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
        await gone;
        clearTimeout(t);
      }
      await gone;
    },
    async up() {
      if (server.running()) return;
      // the port stays ours while the server is down only if nobody takes it: a free port is rarely taken that soon
      child = launch();
      await waitUp(child, 60_000);
    },
    async restart(opts = {}) {
      await server.down(opts);
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await server.up();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.down({ hard: true });
      await rm(dir, { recursive: true, force: true });
    },
    async log() {
      const text = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
      return text.split('\n').slice(-30).join('\n');
    },
  };

  try {
    // the port is free when chosen but not reserved: if another process takes it first, the server exits; try another
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      child = launch();
      try {
        await waitUp(child, 60_000);
        return server;
      } catch (e) {
        await server.down({ hard: true });
        if (attempt >= 3) throw e;
      }
    }
  } catch (e) {
    const log = await server.log();
    await server.stop();
    throw new Error(`${(e as Error).message}\n${log}`, { cause: e });
  }
}

import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { schema, type KeySpec } from '../config/schema';
import { testApp } from './helpers/app';
import { freePort } from './helpers/ports';

const ROOT = path.join(__dirname, '..');

interface Proc {
  child: ChildProcess;
  /** stdout and stderr interleaved, as received so far */
  output: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Proc[] = [];

/** Runs src/server.ts or jobs/worker.ts as the real process would run, with this run's env plus `env`. */
function run(file: string, env: Record<string, string | undefined> = {}): Proc {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let all = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (all += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    all += d;
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': by then all of stdout and stderr has been read
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const proc = { child, output: () => all, stderr: () => err, exited };
  started.push(proc);
  return proc;
}

const alive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

async function until(what: string, p: Proc, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (!alive(p)) throw new Error(`process exited before ${what}:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function exitWithin(p: Proc, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`process still running after ${ms} ms:\n${p.output()}`)), ms);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/**
 * A keep-alive HTTP/1.1 client connection on a raw socket, like a load balancer's.
 * Raw because nock (test/setup.ts) intercepts node:http and fetch, and its stand-in
 * sockets never stay open between requests.
 */
class Connection {
  private buf = Buffer.alloc(0);
  private waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;
  /** resolves when the server closes the connection */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (e) => this.waiting?.reject(e));
    socket.on('close', () => this.waiting?.reject(new Error('connection closed before the answer')));
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one request; `onSent` runs once all of it is handed to the kernel. */
  send(method: string, urlPath: string, body?: unknown, onSent?: () => void): Promise<Answer> {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const head = [`${method} ${urlPath} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${Buffer.byteLength(payload)}`];
    if (payload) head.push('Content-Type: application/json');
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(`${head.join('\r\n')}\r\n\r\n${payload}`, () => onSent?.());
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const [statusLine, ...lines] = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length)) {
      this.waiting.reject(new Error(`answer without Content-Length: ${statusLine}`));
      return;
    }
    if (this.buf.length < end + 4 + length) return;
    const text = this.buf.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buf = this.buf.subarray(end + 4 + length);
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve({
      status: Number(statusLine!.split(' ')[1]),
      headers,
      body: text && headers['content-type']?.includes('json') ? JSON.parse(text) : text,
    });
  }
}

/** One request on a connection of its own, closed afterwards. */
async function once(port: number, method: string, urlPath: string): Promise<Answer> {
  const c = await Connection.open(port);
  try {
    return await c.send(method, urlPath);
  } finally {
    c.destroy();
  }
}

describe('API and worker processes', function () {
  this.timeout(20_000);

  before(async () => {
    // creates, migrates and seeds this run's database before any child process opens it
    await testApp();
  });

  afterEach(async () => {
    for (const p of started.splice(0)) {
      if (alive(p)) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
  });

  it('boots the API, answers /readyz, and on SIGTERM finishes the in-flight request, closes keep-alive connections and exits 0', async () => {
    const port = await freePort();
    const api = run('src/server.ts', { HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port) });
    await until(
      '/readyz 200',
      api,
      () =>
        once(port, 'GET', '/readyz').then(
          (r) => r.status === 200,
          () => false,
        ),
      15_000,
    );

    const busy = await Connection.open(port);
    const idle = await Connection.open(port);
    try {
      const ready = await busy.send('GET', '/readyz');
      expect(ready.status).to.equal(200);
      expect(ready.body).to.deep.equal({ status: 'ready', checks: { mariadb: 'ok', redis: 'ok' } });
      expect((await idle.send('GET', '/healthz')).status).to.equal(200);

      // an unknown user still costs a full scrypt verification (~100 ms): the request is in flight when SIGTERM lands
      let signalledAt = 0;
      const answer = await busy.send(
        'POST',
        '/api/v1/auth/login',
        { username: `nobody-${process.pid}`, password: 'not-the-password-1' },
        () => {
          setTimeout(() => {
            signalledAt = Date.now();
            api.child.kill('SIGTERM');
          }, 20);
        },
      );
      expect(signalledAt, 'SIGTERM was sent before the answer came').to.be.greaterThan(0);
      expect(answer.status).to.equal(401);
      expect(answer.body.error.code).to.equal('INVALID_CREDENTIALS');
      expect(answer.headers.connection, 'the answer tells the client not to reuse the connection').to.equal('close');

      // no new connections once shutting down
      const refused = await once(port, 'GET', '/healthz').then(
        () => null,
        (e: NodeJS.ErrnoException) => e.code,
      );
      expect(refused).to.equal('ECONNREFUSED');

      // the server closes both client connections itself, and exits well inside SHUTDOWN_GRACE_MS (5 s in test), after which it would exit 1
      const { code, signal } = await exitWithin(api, 4_000);
      expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
      await Promise.all([busy.closed, idle.closed]);
      expect(api.output()).to.not.match(/shutdown (took too long|failed)/);
    } finally {
      busy.destroy();
      idle.destroy();
    }
  });

  it('boots the worker and exits 0 on SIGTERM', async () => {
    const worker = run('jobs/worker.ts', { LOG_LEVEL: 'info' });
    await until('"worker started" log line', worker, () => /worker started: .*users\.disable-inactive/.test(worker.output()), 15_000);
    worker.child.kill('SIGTERM');
    const { code, signal } = await exitWithin(worker, 4_000);
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    expect(worker.output()).to.match(/SIGTERM received, shutting down/);
  });

  it('holds a SIGTERM that arrives while the worker is still starting, then finishes starting and exits 0', async () => {
    const { infra } = await testApp();
    // the test holds the migration lock, so the worker's boot waits for it: a signal sent now arrives mid-boot
    const lockName = `${infra.cfg.dbName}.migrate`;
    const runner = infra.ds.createQueryRunner();
    await runner.connect();
    try {
      const [got] = (await runner.query('SELECT GET_LOCK(?, 5) AS got', [lockName])) as { got: number }[];
      expect(got!.got).to.equal(1);
      const worker = run('jobs/worker.ts', { LOG_LEVEL: 'info' });
      await until(
        'the worker waiting for the migration lock',
        worker,
        async () => {
          const [row] = (await runner.query(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT GET_LOCK%' AND ID <> CONNECTION_ID()",
          )) as { n: string }[];
          return Number(row!.n) > 0;
        },
        15_000,
      );
      worker.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      expect(alive(worker), 'the signal did not kill it half-way').to.equal(true);
      await runner.query('SELECT RELEASE_LOCK(?)', [lockName]);
      const { code, signal } = await exitWithin(worker, 10_000);
      expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
      expect(worker.output()).to.match(/SIGTERM \(received while starting\) received, shutting down/);
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
      await runner.release();
    }
  });

  it('refuses to boot the API with invalid configuration, naming every invalid key', async () => {
    const api = run('src/server.ts', { HTTP_PORT: 'abc', DB_PORT: '-1' });
    const { code } = await exitWithin(api, 10_000);
    expect(code).to.be.a('number').and.not.equal(0);
    expect(api.stderr()).to.match(/invalid configuration/);
    expect(api.stderr()).to.match(/HTTP_PORT: .*"abc"/);
    expect(api.stderr()).to.match(/DB_PORT: .*"-1"/);
    expect(api.output()).to.not.match(/listening/);
  });

  it('refuses to boot in production without secrets, naming each one', async () => {
    // the secrets without which production does not start: optional ones (Redis passwords) are named only when misused
    const secrets = (Object.values(schema) as KeySpec[]).filter((k) => k.secret && !k.optional).map((k) => k.env);
    expect(secrets).to.include.members(['JWT_SECRET', 'DATA_KEYS', 'DATA_HMAC_KEY', 'SANDBOX_SECRET']);
    const api = run('src/server.ts', {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      // everything else a production deployment needs, so that only the secrets are missing
      PUBLIC_BASE_URL: 'https://welfare.example.gov.vn',
      DB_HOST: '127.0.0.1',
      DB_USER: 'root',
      DB_PASSWORD: 'x',
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATA_ACTIVE_KEY_ID: 'k1',
      ...Object.fromEntries(secrets.map((env) => [env, undefined])),
    });
    const { code } = await exitWithin(api, 10_000);
    expect(code).to.be.a('number').and.not.equal(0);
    const named = api
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('  - '))
      .map((l) => l.slice(4).split(':')[0]);
    expect(named).to.have.members(secrets);
    expect(api.stderr()).to.match(/JWT_SECRET: required \(a secret/);
    expect(api.output()).to.not.match(/listening/);
  });
});

/**
 * The service's own processes (sandbox, API, workers) started as production runs them, for the fault runs and the
 * benchmarks that need them apart: each a child `node --import tsx <file>` with the run's environment, its stderr
 * counted (the last lines kept), one that exits by itself started again after a second as npm start's supervisor
 * does, one killed on purpose (SIGKILL) left to the caller, and none left behind when the run ends or dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../config';

const ROOT = path.join(__dirname, '..');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The environment every service process of a run shares: its database, Redis prefix, ports and checkpoint directory. */
export function serviceEnv(cfg: Config, o: { apiPort: number; sandboxPort: number; checkpoints: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: cfg.mode,
    DB_HOST: cfg.dbHost,
    DB_PORT: String(cfg.dbPort),
    DB_USER: cfg.dbUser,
    DB_PASSWORD: cfg.dbPassword,
    DB_NAME: cfg.dbName,
    REDIS_PREFIX: cfg.redisPrefix,
    AUDIT_CHECKPOINT_DIR: o.checkpoints,
    HTTP_PORT: String(o.apiPort),
    PUBLIC_BASE_URL: `http://127.0.0.1:${o.apiPort}`,
    SANDBOX_PORT: String(o.sandboxPort),
    SANDBOX_URL: `http://127.0.0.1:${o.sandboxPort}`,
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'error',
  };
}

export class ServiceProcesses {
  /** service processes that exited by themselves and were started again, by file name */
  readonly restarted: Record<string, number> = {};
  /** lines the processes wrote to stderr, and the last few of them */
  stderrLines = 0;
  readonly stderrTail: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly killed = new WeakSet<ChildProcess>();
  private ending = false;
  // a run that dies (an uncaught error, process.exit) must not leave service processes behind
  private readonly orphans = (): void => {
    for (const c of this.children) c.kill('SIGKILL');
  };

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
    /** print the processes' stderr through log as it comes */
    private readonly echo = false,
  ) {
    process.on('exit', this.orphans);
  }

  /**
   * Starts one service process (`file` relative to the repository). One that exits by itself (not killed through
   * kill()) is started again after a second and counted; `onRestart` gets the new process.
   */
  run(file: string, onRestart?: (c: ChildProcess) => void, extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
    // BENCH_NODE_ARGS: flags for the service processes only, such as `--cpu-prof --cpu-prof-dir=DIR` (which node
    // refuses in NODE_OPTIONS)
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const c = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, file)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...this.env, ...extraEnv },
      cwd: ROOT,
    });
    this.children.add(c);
    // the processes log every request a fault broke: counted and the last kept, not printed (echo prints them)
    let partial = '';
    c.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.stderrLines += 1;
        this.stderrTail.push(`[${path.basename(file, '.ts')}] ${line.slice(0, 400)}`);
        if (this.stderrTail.length > 10) this.stderrTail.shift();
        if (this.echo) this.log(line);
      }
    });
    c.once('exit', () => {
      this.children.delete(c);
      if (this.ending || this.killed.has(c)) return;
      const name = path.basename(file, '.ts');
      this.restarted[name] = (this.restarted[name] ?? 0) + 1;
      this.log(`${name} exited by itself (${c.exitCode ?? c.signalCode}); started again`);
      setTimeout(() => {
        if (!this.ending) onRestart?.(this.run(file, onRestart, extraEnv));
      }, 1000);
    });
    return c;
  }

  /** Kills a process with SIGKILL (not started again by run()); resolves once it is gone. */
  async kill(c: ChildProcess): Promise<void> {
    if (c.exitCode !== null || c.signalCode !== null) return;
    this.killed.add(c);
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }

  /** Every process killed; nothing started again from now on. */
  end(): void {
    this.ending = true;
    process.off('exit', this.orphans);
    for (const c of this.children) c.kill('SIGKILL');
  }

  /** Every process asked to shut down (SIGTERM: a --cpu-prof profile is written), killed after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.ending = true;
    const gone = [...this.children].map((c) => new Promise((r) => c.once('exit', r)));
    for (const c of this.children) c.kill('SIGTERM');
    await Promise.race([Promise.all(gone), sleep(graceMs)]);
    this.end();
  }
}

/**
 * Waits until the API answers /healthz and the sandbox answers at all (unsigned, it says 401): a loaded machine takes
 * a while to start several node processes.
 */
export async function waitForServices(apiUrl: string, sandboxUrl: string, log: (line: string) => void, startedAt: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const api = await fetch(`${apiUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    const sandbox = await fetch(`${sandboxUrl}/v1/balance`).then(
      () => true,
      () => false,
    );
    if (api && sandbox) {
      log(`API and sandbox answering after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
      return;
    }
    if (i === 599)
      throw new Error(`after 120 s: API ${api ? 'answering' : 'not answering'}, sandbox ${sandbox ? 'answering' : 'not answering'}`);
    await sleep(200);
  }
}

import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Supervisor, type SupervisorOptions } from '../../scripts/supervisor';

/** Tiny child processes, as npm start's API, worker and sandbox would behave. */
const ALIVE = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);";
/** Crashes on its first `n` starts (counted in the file given as argv[1]), then stays up. */
const crashFirst = (n: number) =>
  `const fs = require('fs'); const f = process.argv[1]; const k = Number(fs.readFileSync(f, 'utf8') || 0) + 1;
   fs.writeFileSync(f, String(k)); if (k <= ${n}) process.exit(3); ${ALIVE}`;

describe('npm start supervisor (scripts/supervisor.ts)', function () {
  this.timeout(20_000);
  let dir: string;
  let supervisors: Supervisor[] = [];
  const lines: string[] = [];
  const spawnedAt: Record<string, number[]> = {};
  const exitedAt: Record<string, number[]> = {};

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'supervisor-'));
    lines.length = 0;
    for (const k of Object.keys(spawnedAt)) delete spawnedAt[k];
    for (const k of Object.keys(exitedAt)) delete exitedAt[k];
  });
  afterEach(async () => {
    await Promise.all(supervisors.map((s) => s.stop('SIGKILL')));
    supervisors = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const node =
    (name: string, script: string, arg = '') =>
    (): ChildProcess => {
      (spawnedAt[name] ??= []).push(Date.now());
      const child = spawn(process.execPath, ['-e', script, arg], { stdio: 'ignore' });
      child.once('exit', () => (exitedAt[name] ??= []).push(Date.now()));
      return child;
    };
  const supervise = (children: Record<string, () => ChildProcess>, opts: Partial<SupervisorOptions> = {}) => {
    const s = new Supervisor(children, {
      initialDelayMs: 50,
      maxDelayMs: 400,
      resetAfterMs: 60_000,
      log: (l) => lines.push(l),
      ...opts,
    });
    supervisors.push(s);
    s.start();
    return s;
  };
  const until = async (what: string, check: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms; log: ${lines.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('restarts a child that crashes, with a growing delay, while the others keep running untouched', async () => {
    const counter = path.join(dir, 'worker-starts');
    writeFileSync(counter, '0');
    const s = supervise({ api: node('api', ALIVE), worker: node('worker', crashFirst(3), counter) });
    await until('a running api', () => s.pids().api !== undefined);
    const api = s.pids().api;
    await until('the fourth worker start', () => readFileSync(counter, 'utf8') === '4' && s.pids().worker !== undefined);
    await new Promise((r) => setTimeout(r, 200));

    expect(spawnedAt.worker).to.have.length(4);
    expect(spawnedAt.api, 'the API was started once and never stopped').to.have.length(1);
    expect(s.pids().api).to.equal(api);
    const delays = lines.map((l) => Number(/^worker exited \(3\); restarting it in (\d+) ms$/.exec(l)?.[1]));
    expect(delays).to.deep.equal([50, 100, 200]);
    // each restart waited its delay after the crash (timers may fire a millisecond early)
    delays.forEach((d, i) => expect(spawnedAt.worker![i + 1]! - exitedAt.worker![i]!).to.be.at.least(d - 2));

    expect(await s.stop('SIGTERM'), 'both stopped cleanly').to.equal(true);
  });

  it('caps the delay, and starts counting again after a child ran for a while before crashing', async () => {
    const s = supervise({ worker: node('worker', 'process.exit(1)') }, { initialDelayMs: 20, maxDelayMs: 80 });
    await until('six starts', () => spawnedAt.worker!.length >= 6);
    await s.stop('SIGTERM');
    expect(lines.slice(0, 5).map((l) => /in (\d+) ms/.exec(l)![1])).to.deep.equal(['20', '40', '80', '80', '80']);

    lines.length = 0;
    const slow = supervise(
      { worker: node('worker', 'setTimeout(() => process.exit(1), 150)') },
      { initialDelayMs: 20, maxDelayMs: 80, resetAfterMs: 100 },
    );
    await until('three crashes', () => lines.length >= 3);
    await slow.stop('SIGTERM');
    expect(lines.slice(0, 3).map((l) => /in (\d+) ms/.exec(l)![1])).to.deep.equal(['20', '20', '20']);
  });

  it('leaves a child that exits 0 on its own (it was told to stop) stopped', async () => {
    const s = supervise({ api: node('api', ALIVE), once: node('once', 'process.exit(0)') });
    await until('the first child to end', () => s.pids().once === undefined && spawnedAt.once!.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(spawnedAt.once).to.have.length(1);
    expect(lines).to.deep.equal([]);
    expect(await s.stop('SIGTERM')).to.equal(true);
  });

  it('passes SIGTERM to every child, restarts none, and reports a child that does not stop cleanly', async () => {
    const counter = path.join(dir, 'starts');
    writeFileSync(counter, '0');
    const ready = path.join(dir, 'worker-ready');
    const s = supervise(
      {
        api: node('api', ALIVE),
        // says when its handler is in place: a SIGTERM before that would kill it by the signal, not exit 1
        worker: node(
          'worker',
          "process.on('SIGTERM', () => process.exit(1)); require('fs').writeFileSync(process.argv[1], 'ready'); setInterval(() => {}, 1000);",
          ready,
        ),
        flaky: node('flaky', crashFirst(100), counter),
      },
      { initialDelayMs: 5_000 },
    );
    await until('the api and worker running, the flaky one waiting to restart', () =>
      Boolean(s.pids().api && existsSync(ready) && lines.some((l) => l.startsWith('flaky exited'))),
    );
    const clean = await s.stop('SIGTERM');
    expect(clean, 'the worker exited 1').to.equal(false);
    expect(lines).to.include('worker did not stop cleanly (1)');
    expect(spawnedAt.flaky, 'not restarted once stopping').to.have.length(1);
    expect(s.pids()).to.deep.equal({ api: undefined, worker: undefined, flaky: undefined });
  });
});

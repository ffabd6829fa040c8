import type { ChildProcess } from 'node:child_process';

export interface SupervisorOptions {
  /** Wait before restarting a crashed child; doubled for each crash in a row, up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A child that ran at least this long before it crashed is restarted after initialDelayMs again. */
  resetAfterMs: number;
  log: (line: string) => void;
}

export const SUPERVISOR_DEFAULTS: Omit<SupervisorOptions, 'log'> = { initialDelayMs: 1000, maxDelayMs: 30_000, resetAfterMs: 60_000 };

interface Slot {
  name: string;
  spawn: () => ChildProcess;
  child: ChildProcess | null;
  startedAt: number;
  crashesInARow: number;
  restart: NodeJS.Timeout | null;
}

/**
 * Runs child processes and keeps them running: a child that crashes (non-zero exit, or killed by a signal) is
 * started again after a backoff, while the others go on; a child that exits 0 (it was told to stop) stays stopped.
 * stop() passes a signal to every child and resolves whether every one then exited 0.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private stopping = false;
  private failed = false;
  private settle: (() => void) | null = null;
  /** Resolves true when every child has ended and each ended cleanly (exit 0), after stop() or on its own. */
  readonly done: Promise<boolean>;

  constructor(
    children: Record<string, () => ChildProcess>,
    private readonly opts: SupervisorOptions,
  ) {
    this.slots = Object.entries(children).map(([name, spawn]) => ({
      name,
      spawn,
      child: null,
      startedAt: 0,
      crashesInARow: 0,
      restart: null,
    }));
    this.done = new Promise<void>((resolve) => (this.settle = resolve)).then(() => !this.failed);
  }

  start(): void {
    for (const s of this.slots) this.run(s);
  }

  /** The process of each child now running, by name (a child waiting to be restarted has none). */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.slots.map((s) => [s.name, s.child?.pid]));
  }

  stop(signal: NodeJS.Signals): Promise<boolean> {
    this.stopping = true;
    for (const s of this.slots) {
      if (s.restart) clearTimeout(s.restart);
      s.restart = null;
      if (s.child) s.child.kill(signal);
    }
    this.check();
    return this.done;
  }

  private run(s: Slot): void {
    const child = s.spawn();
    s.child = child;
    s.startedAt = Date.now();
    child.once('exit', (code, signal) => {
      s.child = null;
      if (this.stopping || code === 0) {
        // a shutdown that failed or overran its grace period must not look clean to whoever runs this
        if (code !== 0) {
          this.opts.log(`${s.name} did not stop cleanly (${code ?? signal})`);
          this.failed = true;
        }
        this.check();
        return;
      }
      s.crashesInARow = Date.now() - s.startedAt >= this.opts.resetAfterMs ? 1 : s.crashesInARow + 1;
      const delay = Math.min(this.opts.maxDelayMs, this.opts.initialDelayMs * 2 ** (s.crashesInARow - 1));
      this.opts.log(`${s.name} exited (${code ?? signal}); restarting it in ${delay} ms`);
      s.restart = setTimeout(() => {
        s.restart = null;
        if (!this.stopping) this.run(s);
      }, delay);
    });
  }

  private check(): void {
    if (this.slots.every((s) => s.child === null && s.restart === null)) this.settle?.();
  }
}

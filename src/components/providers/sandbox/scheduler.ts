interface Job {
  at: number;
  seq: number;
  run: () => void;
}

/**
 * Delayed work on one timer: a binary heap by due time (then by order of
 * scheduling). Hundreds of thousands of settlements and callback retries cost
 * one heap entry each, not one Node timer each. The timer is unref'd: pending
 * work never keeps a process alive on its own.
 */
export class Scheduler {
  private heap: Job[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  get size(): number {
    return this.heap.length;
  }

  /** Runs `run` in `delayMs` (0: on the next turn of the event loop, never synchronously). */
  after(delayMs: number, run: () => void): void {
    if (this.closed) return;
    const job = { at: Date.now() + Math.max(0, delayMs), seq: this.seq++, run };
    this.push(job);
    if (job.at < this.timerAt) this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.heap = [];
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    const next = this.heap[0];
    if (!next || this.closed) return;
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.at - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    // a bounded slice per turn keeps request handling responsive when much work falls due at once
    for (let n = 0; n < 2000 && !this.closed; n++) {
      const top = this.heap[0];
      if (!top || top.at > now) break;
      this.pop();
      try {
        top.run();
      } catch (err) {
        this.onError(err);
      }
    }
    this.arm();
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }

  private push(job: Job): void {
    const h = this.heap;
    h.push(job);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(l, m)) m = l;
      if (r < h.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}

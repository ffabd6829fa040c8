/** How items submitted one at a time are grouped. */
export interface GroupingOptions {
  /** Items applied together at most. */
  maxBatch: number;
  /** How long the first item of a group waits for others. */
  maxWaitMs: number;
  /** Groups applied at once. */
  maxGroups: number;
}

interface Waiting<T, R> {
  /** Date.now() when it arrived */
  at: number;
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Items submitted one at a time (callbacks, delivery reports), applied in groups, each submitter answered with its own
 * result once its group is applied. A group starts when maxBatch items wait, or maxWaitMs after the first of them
 * arrived; up to maxGroups groups are applied at once (one commit's log flush overlaps the next group's statements).
 * Items that arrive while every group slot is busy start theirs as soon as one ends, if their first has waited
 * maxWaitMs by then: a further wait after every group would cap the items a second under a steady stream. A group
 * that fails is applied again one item at a time, in arrival order, so that one item's trouble never fails its
 * neighbours; an item that still fails alone is rejected with `failureOf` of its error.
 */
export class GroupedApplier<T, R> {
  private queue: Waiting<T, R>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = 0;

  constructor(
    /** applies a group, answering one result per item in order; throws to have the group applied item by item */
    private readonly apply: (items: T[]) => Promise<R[]>,
    private readonly opts: GroupingOptions,
    private readonly failureOf: (e: unknown) => unknown = (e) => e,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ at: Date.now(), item, resolve, reject });
      this.kick(this.queue.length >= this.opts.maxBatch ? 0 : this.opts.maxWaitMs);
    });
  }

  private kick(delay: number): void {
    if (this.running >= this.opts.maxGroups) return; // a running group takes the next one when it ends
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delay);
  }

  /** The next group: at once when full, else when its first item has waited maxWaitMs. */
  private kickNext(): void {
    const first = this.queue[0];
    if (!first) return;
    this.kick(this.queue.length >= this.opts.maxBatch ? 0 : Math.max(0, first.at + this.opts.maxWaitMs - Date.now()));
  }

  private async flush(): Promise<void> {
    this.timer = null;
    if (this.running >= this.opts.maxGroups || !this.queue.length) return;
    this.running++;
    const group = this.queue.splice(0, this.opts.maxBatch);
    // another group may start meanwhile with what is left (or comes) while this one runs
    if (this.queue.length) this.kickNext();
    try {
      let failure: unknown;
      const results = await this.apply(group.map((w) => w.item)).catch((e: unknown) => {
        failure = e;
        return null;
      });
      if (results) group.forEach((w, i) => w.resolve(results[i]!));
      else if (group.length === 1) group[0]!.reject(this.failureOf(failure));
      else {
        for (const w of group) {
          await this.apply([w.item]).then(
            ([r]) => w.resolve(r!),
            (e: unknown) => w.reject(this.failureOf(e)),
          );
        }
      }
    } finally {
      this.running--;
      if (this.queue.length) this.kickNext();
    }
  }
}

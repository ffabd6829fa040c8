import os from 'node:os';
import type { DataSource } from 'typeorm';
import type winston from 'winston';

/**
 * A worker process's announcement that it is alive: one worker_heartbeats row per process start, its `beat_at` renewed
 * every fifth of the expiry. It lives in MariaDB, beside the claims it vouches for, so that deleting the deployment's
 * Redis keys (which takes the queues with it) does not make every worker look gone at once.
 *
 * A worker whose row has not been renewed for the expiry is gone. The worker itself starts a provider request only while
 * its last renewal that succeeded was issued less than the expiry ago (`fresh`), and never for a claim made before a
 * lapse (`holds`), so that a request of a worker taken for gone left no later than its last beat plus the expiry: once
 * the provider's request timeout has passed after that, whatever it sent has been answered or given up, and its claims
 * may go to a status inquiry.
 */
export class WorkerHeartbeat {
  private workerId: number | null = null;
  /** Local time at which the last renewal that succeeded was issued (the row's beat_at is no earlier). */
  private lastBeat = 0;
  /** Local time of the first renewal after a lapse (a claim made before it may have been taken back meanwhile). */
  private resumed = 0;
  private timer: NodeJS.Timeout | null = null;
  private beating = false;

  constructor(
    private readonly ds: DataSource,
    private readonly log: winston.Logger,
    readonly expiryMs: number,
  ) {}

  /** This process's worker id, null before start. */
  get id(): number | null {
    return this.workerId;
  }

  /** Registers this process and starts beating; rows of workers gone for a day are removed. */
  async start(): Promise<number> {
    if (this.workerId !== null) return this.workerId;
    const issued = Date.now();
    const res = (await this.ds.query('INSERT INTO worker_heartbeats (host, pid) VALUES (?, ?)', [
      os.hostname().slice(0, 255),
      process.pid,
    ])) as {
      insertId: number;
    };
    this.workerId = Number(res.insertId);
    this.lastBeat = issued;
    await this.ds
      .query('DELETE FROM worker_heartbeats WHERE beat_at < CURRENT_TIMESTAMP(3) - INTERVAL 1 DAY')
      .catch((err: unknown) => this.log.warn('old worker heartbeats not removed', { err }));
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.expiryMs / 5)));
    this.timer.unref();
    return this.workerId;
  }

  /** Renews the beat (a renewal still running is not doubled). */
  async beat(): Promise<void> {
    if (this.workerId === null || this.beating) return;
    // the process is closing: nothing to announce any more
    if (!this.ds.isInitialized) return this.stop();
    this.beating = true;
    const issued = Date.now();
    try {
      const res = (await this.ds.query('UPDATE worker_heartbeats SET beat_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [this.workerId])) as {
        affectedRows: number;
      };
      if (res.affectedRows === 1) {
        if (issued - this.lastBeat >= this.expiryMs) this.resumed = issued;
        this.lastBeat = issued;
      }
    } catch (err) {
      // not renewed: past the expiry this worker stops sending, and its claims go to inquiries
      this.log.warn('worker heartbeat not renewed', { workerId: this.workerId, err });
    } finally {
      this.beating = false;
    }
  }

  /** True while the others take this worker for alive by its own conservative reckoning: it may start a request. */
  fresh(now = Date.now()): boolean {
    return this.workerId !== null && now - this.lastBeat < this.expiryMs;
  }

  /**
   * True when a claim this worker made at `claimedAt` (local ms) is still its own to send: the heartbeat is fresh and
   * has not lapsed since the claim (while it had lapsed, a sweep elsewhere may have sent the claim to an inquiry).
   */
  holds(claimedAt: number, now = Date.now()): boolean {
    return this.fresh(now) && claimedAt >= this.resumed;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

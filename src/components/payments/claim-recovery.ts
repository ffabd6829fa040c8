import type { DataSource } from 'typeorm';
import { marks } from '../../platform/db';
import { recordSameChange } from './payment-events';
import { INQUIRABLE_STATUSES, retryOnDeadlock, SENDABLE_STATUSES } from './payment-states';
import type { Claimed, Result } from './provider-answers';

/**
 * What becomes of a live worker's claim when its chunk fails part-way, so that the payments are back at work in seconds
 * rather than waiting out the sending lease: a send whose request never left goes back to `pending` (the same reference,
 * due at once); one whose request may have reached the provider goes to `unknown`, and only an inquiry decides it.
 */

/** The answers of these outcomes say the provider did not take the transfer: sending again is safe. */
const NOT_TAKEN = new Set(['not_sent', 'error', 'retry_later', 'unauthorized']);

/** A send whose request left, but whose answer was lost to a failure of this worker: an inquiry decides, due at once. */
export function unanswered(r: Claimed, why: string): Result {
  return {
    outcome: 'unknown',
    seq: r.seq,
    from: r.status,
    status: 'unknown',
    transferId: null,
    failureCode: null,
    error: why.slice(0, 500),
    nextAt: new Date(),
  };
}

/** An inquiry that was not made, or whose answer was lost: asked again at once (asking is harmless). */
export function notAsked(r: Claimed, why: string): Result {
  return {
    outcome: 'not_sent',
    seq: r.seq,
    from: r.status,
    status: r.status,
    transferId: null,
    failureCode: null,
    error: why.slice(0, 500),
    nextAt: new Date(),
    inquiries: r.inquiries,
  };
}

/**
 * The answers of a chunk of sends that could not be recorded (the database refused the chunk's write), turned into what
 * can be known without them: sends the provider did not take go back to pending, the rest to an inquiry. Every request
 * of the chunk has ended by then (the engine waits for all of them), so the inquiries are due at once.
 */
export function afterLostAnswers(results: readonly Result[], why: string): Result[] {
  return results.map((r) => {
    if (r.from !== 'sending') return r;
    if (NOT_TAKEN.has(r.outcome)) {
      return { ...r, status: 'pending', transferId: null, failureCode: null, error: why.slice(0, 500), nextAt: r.nextAt ?? new Date() };
    }
    return { ...unanswered({ seq: r.seq, status: r.from } as Claimed, why), outcome: r.outcome };
  });
}

/**
 * Gives back what a claim holds when none of its requests left (its claim may have committed without the worker
 * hearing of it, or the worker gave up before sending): sends back to `pending`, due at once, with their events;
 * inquiries due at once. Conditional on the claim token: rows another source moved meanwhile are left alone.
 */
export async function releaseClaim(
  ds: DataSource,
  job: { kind: 'send' | 'inquire'; batchId: string; fromSeq: string; toSeq: string },
  claim: string,
  why: string,
): Promise<number> {
  const now = new Date();
  if (job.kind === 'inquire') {
    const res = (await ds.query(
      `UPDATE payments SET claim_token = NULL, claimed_by = NULL, next_attempt_at = ?
       WHERE batch_id = ? AND seq BETWEEN ? AND ? AND claim_token = ? AND status IN (${marks(INQUIRABLE_STATUSES.length)})`,
      [now, job.batchId, job.fromSeq, job.toSeq, claim, ...INQUIRABLE_STATUSES],
    )) as { affectedRows: number };
    return res.affectedRows;
  }
  return retryOnDeadlock(() =>
    ds.transaction(async (em) => {
      const held = (await em.query(
        "SELECT seq FROM payments WHERE batch_id = ? AND seq BETWEEN ? AND ? AND claim_token = ? AND status = 'sending' FOR UPDATE",
        [job.batchId, job.fromSeq, job.toSeq, claim],
      )) as { seq: string }[];
      if (!held.length) return 0;
      const seqs = held.map((r) => String(r.seq));
      await em.query(
        `UPDATE payments SET status = 'pending', claim_token = NULL, claimed_by = NULL, claim_timeout_ms = NULL,
           next_attempt_at = ?, last_error = ?
         WHERE batch_id = ? AND claim_token = ? AND status = 'sending' AND seq IN (${marks(seqs.length)})`,
        [now, why.slice(0, 500), job.batchId, claim, ...seqs],
      );
      await recordSameChange(em, job.batchId, seqs, { from: 'sending', to: 'pending', detail: why.slice(0, 500) }, 'send');
      return seqs.length;
    }),
  );
}

/** How long a provider's queue must be seen empty, with due work of a batch waiting for it, before that work is queued again. */
export const STRANDED_CONFIRM_MS = 1000;

/**
 * Finds due payments that no job will reach: their queue lease or the batch's dispatch mark says they are queued, but
 * their provider's queue holds no job at all. That happens when the queued jobs were lost while the keys that say "the
 * queues were lost" survived (a failover to a replica that lacked the last writes: the epoch key is there, some jobs are
 * not), and when a paused provider is resumed (its jobs ran and claimed nothing while it was paused). Seen empty on two
 * sweeps at least STRANDED_CONFIRM_MS apart (a chunk's answers written between a sweep's dispatch and its check are
 * queued by the next sweep), the batch is queued again whatever the leases say; a claim is conditional, so work queued
 * twice is still done once.
 */
export class StrandedWork {
  /**
   * Per batch and provider: since when it has been seen stranded, and how often it was queued again in a row without the
   * work getting done (a provider whose jobs fail at once would otherwise be queued again every other sweep): each
   * time, the next one waits twice as long, up to a minute.
   */
  private readonly state = new Map<string, { since: number | null; strikes: number; until: number }>();

  constructor(
    private readonly ds: DataSource,
    private readonly queueIdle: (providerId: number) => Promise<boolean>,
  ) {}

  /** True when the batch has due work left without a job long enough to be queued again. */
  async check(batchId: string, now: Date): Promise<boolean> {
    const providers = (await this.ds.query("SELECT id, paused FROM providers WHERE kind <> 'file' AND active = 1 ORDER BY id")) as {
      id: number;
      paused: number | string;
    }[];
    const t = now.getTime();
    let stranded = false;
    for (const { id, paused } of providers) {
      const key = `${batchId}:${id}`;
      const st = this.state.get(key) ?? { since: null, strikes: 0, until: 0 };
      // the queue first (one Redis call): a queue with jobs in it is working, however the database looks
      if (!(await this.queueIdle(Number(id)).catch(() => false))) {
        if (this.state.has(key)) st.since = null;
        continue;
      }
      // a paused provider takes no new sends, but what it holds is still asked about
      const statuses = Number(paused) === 1 ? INQUIRABLE_STATUSES : [...SENDABLE_STATUSES, ...INQUIRABLE_STATUSES];
      const due = (await this.ds.query(
        `SELECT 1 AS x FROM payments WHERE batch_id = ? AND provider_id = ? AND review = 'included'
         AND status IN (${marks(statuses.length)}) AND (next_attempt_at IS NULL OR next_attempt_at <= ?) LIMIT 1`,
        [batchId, id, ...statuses, now],
      )) as unknown[];
      if (!due.length) {
        // nothing left to do there: all is well, and strikes are forgotten
        this.state.delete(key);
        continue;
      }
      st.since ??= t;
      if (t - st.since >= STRANDED_CONFIRM_MS && t >= st.until) {
        stranded = true;
        st.strikes += 1;
        st.until = t + Math.min(60_000, STRANDED_CONFIRM_MS * 2 ** st.strikes);
        st.since = null;
      }
      this.state.set(key, st);
    }
    return stranded;
  }

  /** Forgets the batches that are no longer processing. */
  forget(batchIds: ReadonlySet<string>): void {
    for (const key of this.state.keys()) if (!batchIds.has(key.slice(0, key.indexOf(':')))) this.state.delete(key);
  }
}

import type { DataSource } from 'typeorm';
import type winston from 'winston';
import { literals, marks } from '../../platform/db';
import type { ProvidersService } from '../providers/providers.service';
import { recordSameChange } from './payment-events';
import { INQUIRABLE_STATUSES, retryOnDeadlock, type PaymentStatus } from './payment-states';

/**
 * Added to a provider's request timeout before a gone worker's claims go to inquiries: clock differences between
 * hosts and the sweeper's own pace.
 */
export const RECOVERY_MARGIN_MS = 1000;

/**
 * Claims nobody will answer for: those of worker processes that stopped announcing themselves (worker_heartbeats), and
 * any `sending` claim older than the sending lease (the backstop, whoever holds it). A `sending` payment's request may
 * have left, so it only ever becomes `unknown`: an inquiry decides, never a resend. Run by the engine's sweep.
 */
export class LostClaims {
  constructor(
    private readonly ds: DataSource,
    private readonly providers: Pick<ProvidersService, 'get'>,
    private readonly log: winston.Logger,
    private readonly opts: { expiryMs: number; sendingLeaseMs: number },
  ) {}

  /** The batch's `sending` payments claimed before `cutoff` (the sending lease), sent to inquiries. */
  async expireLeases(batchId: string, cutoff: Date, now: Date): Promise<number> {
    const stale = (await this.ds.query("SELECT seq FROM payments WHERE batch_id = ? AND status = 'sending' AND claimed_at < ?", [
      batchId,
      cutoff,
    ])) as { seq: string }[];
    if (!stale.length) return 0;
    return this.sendingToUnknown(
      batchId,
      stale.map((r) => String(r.seq)),
      (r) => r.claimed_at < cutoff,
      { error: 'no answer was recorded within the sending lease', detail: 'sending lease expired' },
      now,
    );
  }

  /**
   * Takes back the claims of workers that stopped announcing themselves (no heartbeat for the expiry). A `sending`
   * payment's request may have left: it becomes `unknown` (an inquiry decides, never a resend) once its provider's
   * request timeout, and a margin, have passed after the last moment the worker could have started it (its last beat
   * plus the expiry; see WorkerHeartbeat). An inquiry claim is given up at once (asking again is harmless). Workers gone
   * longer than the sending lease are left to the lease.
   */
  async recoverGoneWorkers(now = new Date()): Promise<{ expired: number; released: number }> {
    const expiry = this.opts.expiryMs;
    const gone = (await this.ds.query('SELECT id, beat_at FROM worker_heartbeats WHERE beat_at < ? AND beat_at >= ?', [
      new Date(now.getTime() - expiry),
      new Date(now.getTime() - expiry - this.opts.sendingLeaseMs),
    ])) as { id: number; beat_at: Date }[];
    if (!gone.length) return { expired: 0, released: 0 };
    const beatOf = new Map(gone.map((w) => [Number(w.id), new Date(w.beat_at).getTime()]));
    const ids = [...beatOf.keys()];
    const held = (await this.ds.query(
      `SELECT batch_id, seq, status, provider_id, claimed_by, claim_timeout_ms, claim_token IS NOT NULL AS claimed FROM payments
       WHERE claimed_by IN (${marks(ids.length)}) LIMIT 10000`,
      ids,
    )) as {
      batch_id: string;
      seq: string;
      status: PaymentStatus;
      provider_id: number | null;
      claimed_by: number;
      claim_timeout_ms: number | null;
      claimed: number | string;
    }[];
    if (!held.length) return { expired: 0, released: 0 };

    const timeouts = new Map<number, number | null>();
    for (const pid of new Set(held.filter((r) => r.status === 'sending').map((r) => Number(r.provider_id)))) {
      timeouts.set(
        pid,
        await this.providers.get(pid).then(
          (p) => p.timeoutMs,
          () => null,
        ),
      );
    }
    // per batch, the sending payments whose request, if any, has been answered or given up by now
    const ripe = new Map<string, string[]>();
    for (const r of held) {
      if (r.status !== 'sending') continue;
      // the longer of the timeout the requests went out with and the provider's now: a timeout shortened while they
      // were in flight does not cut their wait short (claims from before the timeout was recorded have only the latter)
      const current = timeouts.get(Number(r.provider_id)) ?? null;
      const sentWith = r.claim_timeout_ms === null ? null : Number(r.claim_timeout_ms);
      if (current === null && sentWith === null) continue;
      const timeout = Math.max(current ?? 0, sentWith ?? 0);
      if (now.getTime() < beatOf.get(Number(r.claimed_by))! + expiry + timeout + RECOVERY_MARGIN_MS) continue;
      const batchId = String(r.batch_id);
      ripe.set(batchId, [...(ripe.get(batchId) ?? []), String(r.seq)]);
    }
    let expired = 0;
    for (const [batchId, seqs] of ripe) {
      const n = await this.sendingToUnknown(
        batchId,
        seqs,
        (r) => r.claimed_by !== null && beatOf.has(Number(r.claimed_by)),
        { error: 'the worker sending it stopped announcing itself before recording an answer', detail: 'worker gone' },
        now,
      );
      expired += n;
      if (n) this.log.warn('claims of a worker gone sent to status inquiries', { batchId, payments: n });
    }

    let released = 0;
    if (held.some((r) => r.status !== 'sending' && Number(r.claimed) === 1)) {
      // inquiry claims: asked again at once (the answer of the gone worker, if it ever comes, finds its claim gone)
      const res = (await this.ds.query(
        `UPDATE payments SET next_attempt_at = ?, claim_token = NULL, claimed_by = NULL
         WHERE claimed_by IN (${marks(ids.length)}) AND status IN (${literals(INQUIRABLE_STATUSES)}) AND claim_token IS NOT NULL`,
        [now, ...ids],
      )) as { affectedRows: number };
      released = res.affectedRows;
    }
    if (held.some((r) => r.status !== 'sending' && Number(r.claimed) !== 1)) {
      // claims ended by another source (a callback came first): nothing is held, only the name is left
      await this.ds.query(
        `UPDATE payments SET claimed_by = NULL WHERE claimed_by IN (${marks(ids.length)}) AND status <> 'sending' AND claim_token IS NULL`,
        ids,
      );
    }
    return { expired, released };
  }

  /**
   * `sending` → `unknown` for the given payments of a batch that are still `sending` and pass `still`, read under their
   * row locks: one conditional UPDATE, the events of exactly the rows moved, in one transaction. Due for an inquiry at
   * once (never a resend: only an inquiry that finds nothing sends again, with the same reference).
   */
  private async sendingToUnknown(
    batchId: string,
    seqs: readonly string[],
    still: (r: { claimed_at: Date; claimed_by: number | null }) => boolean,
    why: { error: string; detail: string },
    now: Date,
  ): Promise<number> {
    return retryOnDeadlock(() =>
      this.ds.transaction(async (em) => {
        let moved = 0;
        for (let i = 0; i < seqs.length; i += 1000) {
          const part = seqs.slice(i, i + 1000);
          const rows = (await em.query(
            `SELECT seq, status, claimed_at, claimed_by FROM payments WHERE batch_id = ? AND seq IN (${marks(part.length)}) FOR UPDATE`,
            [batchId, ...part],
          )) as { seq: string; status: PaymentStatus; claimed_at: Date; claimed_by: number | null }[];
          const take = rows
            .filter((r) => r.status === 'sending' && still({ claimed_at: new Date(r.claimed_at), claimed_by: r.claimed_by }))
            .map((r) => String(r.seq));
          if (!take.length) continue;
          await em.query(
            `UPDATE payments SET status = 'unknown', claim_token = NULL, claimed_by = NULL, next_attempt_at = ?, last_error = ?
             WHERE batch_id = ? AND status = 'sending' AND seq IN (${marks(take.length)})`,
            [now, why.error, batchId, ...take],
          );
          await recordSameChange(em, batchId, take, { from: 'sending', to: 'unknown', detail: why.detail }, 'sweeper');
          moved += take.length;
        }
        return moved;
      }),
    );
  }
}

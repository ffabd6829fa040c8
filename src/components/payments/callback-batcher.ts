import type { DataSource, EntityManager } from 'typeorm';
import { unavailable } from '../../platform/errors';
import type { TransferEvent } from '../providers/provider.port';
import { fromProvider, isLockConflict, MAY_BECOME, parseReference, retryOnDeadlock, type PaymentStatus } from './payment-states';
import { marks } from '../../platform/db';
import { GroupedApplier } from '../../platform/grouped-applier';
import { batchIdsOfPrefixes } from '../batches/batch-lifecycle';
import type { PaymentChange } from './payment-events';
import { applyReportedOutcomes, type ChangeRecorder } from './payment-outcomes';

export type CallbackOutcome = 'applied' | 'duplicate' | 'ignored_late' | 'unknown_reference' | 'amount_mismatch';

interface Pending {
  providerId: number;
  event: TransferEvent;
}

interface PaymentRow {
  batch_id: string;
  seq: string;
  amount: string;
  status: PaymentStatus;
  provider_id: number | null;
  transfer_id: string | null;
  failure_code: string | null;
}

/**
 * Another process kept one of the group's events after the group checked for duplicates: apply the group again. Only
 * an event no payment lock covers (an unknown reference) can meet this: the check runs under the payments' locks.
 */
class KeptMeanwhile extends Error {}

/** Applications of one group, or of one event alone, before its callbacks are answered 503 (try again later). */
const KEPT_MEANWHILE_ATTEMPTS = 3;

/** A conflict that running again may clear: the provider is asked to deliver the event again (503), anything else stands. */
function busyOr(e: unknown): unknown {
  return e instanceof KeptMeanwhile || isLockConflict(e)
    ? unavailable('CALLBACK_BUSY', 'this event met concurrent changes of its payment; deliver it again', e)
    : e;
}

/**
 * Provider callbacks applied in groups: the events that arrive within a few
 * milliseconds (or up to `maxBatch`) are kept, matched and applied in one
 * transaction, so a burst of thousands of callbacks costs a handful of
 * statements per hundred instead of several per event. Each request is
 * answered only after the commit, with its own outcome. The rules are those
 * of one event at a time: kept once per event id (a duplicate, in the batch
 * or before it, is acknowledged and ignored), applied only forward (events of
 * one payment in arrival order), unknown references kept for reconciliation.
 * Each event is kept (provider_events) with its outcome, in the transaction
 * that applies it. A group that cannot be applied (a lock conflict retried
 * out, a fault) is applied again one event at a time, so that one event's
 * trouble never fails its neighbours; only an event that still cannot be
 * decided alone is answered 503.
 */
export class CallbackBatcher {
  /** reference prefix → batch id (a prefix is a batch's for ever). */
  private readonly prefixes = new Map<string, string>();
  private readonly groups: GroupedApplier<Pending, CallbackOutcome>;

  constructor(
    private readonly ds: DataSource,
    /** how the changes are recorded as payment events (the engine's: recordReported('callback')) */
    private readonly record: ChangeRecorder,
    private readonly pollMs: number,
    opts: { maxBatch: number; maxWaitMs: number; maxGroups?: number } = { maxBatch: 500, maxWaitMs: 10, maxGroups: 2 },
  ) {
    this.groups = new GroupedApplier((group) => this.applyGroup(group), { ...opts, maxGroups: opts.maxGroups ?? 1 }, busyOr);
  }

  submit(providerId: number, event: TransferEvent): Promise<CallbackOutcome> {
    return this.groups.submit({ providerId, event });
  }

  /**
   * One transaction, READ COMMITTED: the duplicate check reads provider_events after the payments are locked, as they
   * stand then. Under REPEATABLE READ it would read the snapshot of the transaction's first read, taken before a
   * group holding the same payments committed their events, and every duplicate met that way cost a retry. Run again
   * after a deadlock, or after an event kept meanwhile by another process.
   */
  private async applyGroup(group: Pending[]): Promise<CallbackOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await retryOnDeadlock(() => this.ds.transaction('READ COMMITTED', (em) => this.apply(em, group)));
      } catch (e) {
        if (!(e instanceof KeptMeanwhile) || attempt >= KEPT_MEANWHILE_ATTEMPTS) throw e;
      }
    }
  }

  /** The batch ids of reference prefixes (a prefix names one batch for ever: found ones are remembered). */
  private async batchesOf(em: EntityManager, prefixes: Set<string>): Promise<Map<string, string>> {
    const missing = [...prefixes].filter((p) => !this.prefixes.has(p));
    if (missing.length) {
      const rows = await batchIdsOfPrefixes(em, missing);
      if (this.prefixes.size > 10_000) this.prefixes.clear();
      for (const r of rows) this.prefixes.set(r.prefix, r.id);
    }
    return this.prefixes;
  }

  private async apply(em: EntityManager, group: Pending[]): Promise<CallbackOutcome[]> {
    const outcomes: CallbackOutcome[] = new Array<CallbackOutcome>(group.length);
    // 1. the payments the events name, locked (batches in id order, seqs in key order: groups never lock crosswise); a
    //    group that applied one of these events before has committed by now, and the check below sees what it kept
    const refs = group.map((p) => parseReference(p.event.reference));
    const prefixSet = new Set<string>();
    for (const ref of refs) if (ref) prefixSet.add(ref.prefix);
    const prefixes = prefixSet.size ? await this.batchesOf(em, prefixSet) : new Map<string, string>();
    const wanted = new Map<string, Set<string>>();
    for (const ref of refs) {
      const batchId = ref ? prefixes.get(ref.prefix) : undefined;
      if (!ref || !batchId) continue;
      const seqs = wanted.get(batchId);
      if (seqs) seqs.add(ref.seq);
      else wanted.set(batchId, new Set([ref.seq]));
    }
    const payments = new Map<string, PaymentRow & { original: PaymentStatus }>();
    for (const batchId of [...wanted.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))) {
      const seqs = [...wanted.get(batchId)!];
      const rows = (await em.query(
        `SELECT batch_id, seq, amount, status, provider_id, transfer_id, failure_code FROM payments
         WHERE batch_id = ? AND seq IN (${marks(seqs.length)}) FOR UPDATE`,
        [batchId, ...seqs],
      )) as PaymentRow[];
      for (const r of rows) payments.set(`${r.batch_id}-${r.seq}`, { ...r, original: r.status });
    }

    // 2. each event once: a repeat within the group, or of an event kept before, is a duplicate
    const firstOf = new Map<string, number>();
    group.forEach((p, i) => {
      const key = `${p.providerId}\n${p.event.eventId}`;
      if (firstOf.has(key)) outcomes[i] = 'duplicate';
      else firstOf.set(key, i);
    });
    const byProvider = new Map<number, number[]>();
    for (const i of firstOf.values()) {
      const id = group[i]!.providerId;
      const list = byProvider.get(id);
      if (list) list.push(i);
      else byProvider.set(id, [i]);
    }
    const kept = new Set<string>();
    for (const [providerId, idx] of byProvider) {
      const rows = (await em.query(`SELECT event_id FROM provider_events WHERE provider_id = ? AND event_id IN (${marks(idx.length)})`, [
        providerId,
        ...idx.map((i) => group[i]!.event.eventId),
      ])) as { event_id: string }[];
      for (const r of rows) kept.add(`${providerId}\n${r.event_id}`);
    }
    const toApply = [...firstOf.values()].filter((i) => {
      if (!kept.has(`${group[i]!.providerId}\n${group[i]!.event.eventId}`)) return true;
      outcomes[i] = 'duplicate';
      return false;
    });

    // 3. each event in arrival order, forward only
    const changes: PaymentChange[] = [];
    for (const i of toApply) {
      const { providerId, event } = group[i]!;
      const ref = refs[i];
      const batchId = ref ? prefixes.get(ref.prefix) : null;
      const p = ref && batchId ? payments.get(`${batchId}-${ref.seq}`) : undefined;
      if (!p || p.provider_id !== providerId) {
        outcomes[i] = 'unknown_reference';
        continue;
      }
      if (Number(p.amount) !== event.amount) {
        outcomes[i] = 'amount_mismatch';
        continue;
      }
      const target = fromProvider(event.status) as keyof typeof MAY_BECOME;
      if (!MAY_BECOME[target].includes(p.status)) {
        outcomes[i] = 'ignored_late';
        continue;
      }
      changes.push({ batchId: String(p.batch_id), seq: String(p.seq), from: p.status, to: target, detail: event.failureCode });
      p.status = target;
      p.transfer_id ??= event.transferId;
      p.failure_code = event.failureCode;
      outcomes[i] = 'applied';
    }

    // 4. write: payments that moved and their changes
    const moved = [...payments.values()].filter((p) => p.status !== p.original);
    if (moved.length) {
      const now = Date.now();
      await applyReportedOutcomes(
        em,
        moved.map((p) => ({
          batchId: String(p.batch_id),
          seq: String(p.seq),
          from: p.original,
          to: p.status,
          transferId: p.transfer_id,
          failureCode: p.failure_code,
          error: null,
          nextAt: p.status === 'sent' ? new Date(now + this.pollMs) : null,
        })),
        changes,
        this.record,
        'lastError',
      );
    }
    // 5. keep the events with their outcomes; fewer rows than events means another process kept one meanwhile
    if (toApply.length) {
      const res = (await em.query(
        `INSERT IGNORE INTO provider_events (provider_id, event_id, reference, transfer_id, status, amount, failure_code, occurred_at, outcome)
         VALUES ${toApply.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        toApply.flatMap((i) => {
          const { providerId, event: e } = group[i]!;
          return [providerId, e.eventId, e.reference, e.transferId, e.status, e.amount, e.failureCode, e.occurredAt, outcomes[i]];
        }),
      )) as { affectedRows: number };
      if (res.affectedRows !== toApply.length) throw new KeptMeanwhile();
    }
    return outcomes;
  }
}

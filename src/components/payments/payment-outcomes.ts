import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { literals, marks } from '../../platform/db';
import { recordPaymentEvents, recordTableChanges, type EventSource, type PaymentChange } from './payment-events';
import { FAILURE_STATUSES, MAY_BECOME, SETTLED_STATUSES, type PaymentStatus } from './payment-states';

/**
 * The one place where what a provider says about a payment (accepted, paid, failed, returned, or nothing known) is
 * applied to payments, with its events: the engine's answers to its own requests, provider callbacks, statements and
 * pay point results all come through here. Every update is conditional and set-based (one statement for a set of
 * payments); the rules below are the same for every source:
 *
 * - a payment that failed or came back no longer holds its month (`live` cleared: a later batch may pay it);
 * - a payment succeeded, failed or returned is settled now (`settled_at`);
 * - the first transfer id a provider reported stands, except that the engine's own request or inquiry records the
 *   transfer id the provider answers it with (the answer to our request is the provider's word on our reference);
 * - a provider's report (callback, statement, pay point) moves a payment only out of the status it was read in.
 */

/** One payment's outcome: from the status it was claimed or read in, to `to`. */
export interface Outcome {
  seq: string;
  from: PaymentStatus;
  to: PaymentStatus;
  transferId: string | null;
  failureCode: string | null;
  /** last_error after the move */
  error: string | null;
  /** when the engine acts on it again (retry, inquiry, poll); null: nothing to do */
  nextAt: Date | null;
  /** the inquiry count after this step (inquiries only) */
  inquiries?: number | undefined;
  /** the busy inquiries in a row after this step (inquiries only) */
  busyInquiries?: number | undefined;
}

/** The outcome of a payment of some batch, as reported from outside (a callback, a pay point's results file). */
export interface ReportedOutcome extends Outcome {
  batchId: string;
}

/** Columns of a payment's outcome in a statement: the names of the SQL expressions that hold them. */
interface OutcomeColumns {
  status: string;
  transferId: string;
  failureCode: string;
  error?: string;
  nextAt?: string;
  inquiries?: string;
  busyInquiries?: string;
}

/** Rows one UPDATE carries (a UNION ALL of one-row SELECTs). */
const PER_UPDATE = 500;

/**
 * SET assignments shared by every source. `latestTransferId`: the engine's own answer replaces a transfer id already
 * recorded; reports keep the first. `failureOnly`: the failure code is written only by a failed or returned outcome
 * (a statement's PENDING or SUCCEEDED line carries none).
 */
function assignments(c: OutcomeColumns, claimToken: string, opts: { latestTransferId?: boolean; failureOnly?: boolean } = {}): string {
  const set = [
    `p.status = ${c.status}`,
    opts.latestTransferId
      ? `p.transfer_id = COALESCE(${c.transferId}, p.transfer_id)`
      : `p.transfer_id = COALESCE(p.transfer_id, ${c.transferId})`,
    opts.failureOnly
      ? `p.failure_code = CASE WHEN ${c.status} IN (${literals(FAILURE_STATUSES)}) THEN ${c.failureCode} ELSE p.failure_code END`
      : `p.failure_code = ${c.failureCode}`,
  ];
  if (c.error !== undefined) set.push(`p.last_error = ${c.error}`);
  if (c.nextAt !== undefined) set.push(`p.next_attempt_at = ${c.nextAt}`);
  if (c.inquiries !== undefined) set.push(`p.inquiries = COALESCE(${c.inquiries}, p.inquiries)`);
  if (c.busyInquiries !== undefined) set.push(`p.busy_inquiries = COALESCE(${c.busyInquiries}, p.busy_inquiries)`);
  set.push(
    `p.claim_token = ${claimToken}`,
    `p.live = CASE WHEN ${c.status} IN (${literals(FAILURE_STATUSES)}) THEN NULL ELSE p.live END`,
    `p.settled_at = CASE WHEN ${c.status} IN (${literals(SETTLED_STATUSES)}) THEN CURRENT_TIMESTAMP(3) ELSE p.settled_at END`,
  );
  return set.join(', ');
}

/** A forward-only guard: the payment is in a status the outcome in `status` may move it out of (MAY_BECOME). */
function forwardOnly(status: string): string {
  return `(${(Object.keys(MAY_BECOME) as (keyof typeof MAY_BECOME)[])
    .map((to) => `(${status} = '${to}' AND p.status IN (${literals(MAY_BECOME[to])}))`)
    .join(' OR ')})`;
}

// the engine's answers end its claim: the worker named by claimed_by no longer holds the payment
const ENGINE_SET = `${assignments(
  {
    status: 'v.st',
    transferId: 'v.tid',
    failureCode: 'v.fc',
    error: 'v.err',
    nextAt: 'v.nat',
    inquiries: 'v.inq',
    busyInquiries: 'v.busy',
  },
  '?',
  { latestTransferId: true },
)}, p.claimed_by = NULL`;

/**
 * The answers to one claim of the engine (a chunk's sends or inquiries), in the caller's transaction: only rows the
 * claim still holds in a status it left them in are moved (a callback that came first wins), and the events of exactly
 * the rows moved are recorded. Returns how many moved to each status.
 */
export async function applyClaimedOutcomes(
  em: EntityManager,
  batchId: string,
  claim: { token: string; from: readonly PaymentStatus[] },
  outcomes: readonly Outcome[],
  source: Extract<EventSource, 'send' | 'inquiry'>,
): Promise<Map<PaymentStatus, number>> {
  const done = `${claim.token.slice(0, 22)}ok`;
  let updated = 0;
  for (let i = 0; i < outcomes.length; i += PER_UPDATE) {
    const page = outcomes.slice(i, i + PER_UPDATE);
    // a UNION ALL of one-row SELECTs: a table value constructor is spelt VALUES (…) by MariaDB and VALUES ROW(…) by
    // MySQL 8, and this SQL runs on both
    const values = page
      .map((_, k) =>
        k === 0 ? 'SELECT ? AS seq, ? AS st, ? AS tid, ? AS fc, ? AS err, ? AS nat, ? AS inq, ? AS busy' : 'SELECT ?, ?, ?, ?, ?, ?, ?, ?',
      )
      .join(' UNION ALL ');
    const res = (await em.query(
      `UPDATE payments p JOIN (${values}) v ON p.seq = v.seq
       SET ${ENGINE_SET}
       WHERE p.batch_id = ? AND p.claim_token = ? AND p.status IN (${marks(claim.from.length)})`,
      [
        ...page.flatMap((r) => [r.seq, r.to, r.transferId, r.failureCode, r.error, r.nextAt, r.inquiries ?? null, r.busyInquiries ?? null]),
        done,
        batchId,
        claim.token,
        ...claim.from,
      ],
    )) as { affectedRows: number };
    updated += res.affectedRows;
  }
  // the rows moved are exactly those now carrying `done` (an inquiry that changed nothing records nothing): when the
  // claim still held every row (the usual case), all of them; otherwise (a callback came first) read which
  const changes: PaymentChange[] = [];
  const detail = (r: Outcome) => r.error ?? r.failureCode;
  if (updated === outcomes.length) {
    for (const r of outcomes) if (r.to !== r.from) changes.push({ batchId, seq: r.seq, from: r.from, to: r.to, detail: detail(r) });
  } else {
    const bySeq = new Map(outcomes.map((r) => [String(r.seq), r]));
    const seqs = outcomes.map((r) => r.seq);
    for (let i = 0; i < seqs.length; i += 1000) {
      const part = seqs.slice(i, i + 1000);
      const moved = (await em.query(
        `SELECT seq, status FROM payments WHERE batch_id = ? AND claim_token = ? AND seq IN (${marks(part.length)})`,
        [batchId, done, ...part],
      )) as { seq: string; status: PaymentStatus }[];
      for (const m of moved) {
        const r = bySeq.get(String(m.seq))!;
        if (m.status !== r.from) changes.push({ batchId, seq: String(m.seq), from: r.from, to: m.status, detail: detail(r) });
      }
    }
  }
  const movedTo = new Map<PaymentStatus, number>();
  for (const { to } of changes) movedTo.set(to, (movedTo.get(to) ?? 0) + 1);
  await recordPaymentEvents(em, changes, source);
  return movedTo;
}

/** Writes the events of reported changes; a parameter so that a caller may record them its own way. */
export type ChangeRecorder = (em: EntityManager, changes: PaymentChange[]) => Promise<void>;

/**
 * Reported outcomes (provider callbacks, a pay point's results), in the caller's transaction, one statement per 500
 * payments: each payment moves only out of the status it was read in (`from`). `changes` are the events to record:
 * one per change the report made, so a payment reported sent and then succeeded in one group has two. Returns the
 * number of payments moved.
 *
 * `keep` names what the report does not speak of: a pay point's results leave the engine's next attempt alone, a
 * callback leaves last_error.
 */
export async function applyReportedOutcomes(
  em: EntityManager,
  outcomes: readonly ReportedOutcome[],
  changes: PaymentChange[],
  record: ChangeRecorder,
  keep: 'lastError' | 'nextAttempt',
): Promise<number> {
  const cols: OutcomeColumns = { status: 'v.st', transferId: 'v.tid', failureCode: 'v.fc' };
  if (keep !== 'lastError') cols.error = 'v.err';
  if (keep !== 'nextAttempt') cols.nextAt = 'v.nat';
  let moved = 0;
  for (let i = 0; i < outcomes.length; i += PER_UPDATE) {
    const page = outcomes.slice(i, i + PER_UPDATE);
    const values = page
      .map((_, k) =>
        k === 0 ? 'SELECT ? AS b, ? AS s, ? AS was, ? AS st, ? AS tid, ? AS fc, ? AS err, ? AS nat' : 'SELECT ?, ?, ?, ?, ?, ?, ?, ?',
      )
      .join(' UNION ALL ');
    const res = (await em.query(
      `UPDATE payments p JOIN (${values}) v ON p.batch_id = v.b AND p.seq = v.s AND p.status = v.was
       SET ${assignments(cols, 'NULL')}`,
      page.flatMap((o) => [o.batchId, o.seq, o.from, o.to, o.transferId, o.failureCode, o.error, o.nextAt]),
    )) as { affectedRows: number };
    moved += res.affectedRows;
  }
  if (outcomes.length) await record(em, changes);
  return moved;
}

/** Records reported changes through the events module. */
export function recordReported(source: EventSource): ChangeRecorder {
  return (em, changes) => recordPaymentEvents(em, changes, source);
}

/**
 * Outcomes held in a table of the caller's (a temporary table on `em`'s connection) with the columns batch_id, seq,
 * target (sent, succeeded, failed or returned; any other value moves nothing), from_status (NULL, filled here),
 * transfer_id, failure_code and detail (the event's). Set-based, forward only: each payment's status is read under
 * lock into from_status, the payments still in it move by one UPDATE and are marked with the returned token, and one
 * event per moved payment records from → to. The caller clears the mark with releaseOutcomeMark once it has used it.
 */
export async function applyOutcomeTable(
  em: EntityManager,
  table: string,
  opts: { error: string; source: EventSource },
): Promise<{ moved: number; token: string }> {
  const targets = literals(Object.keys(MAY_BECOME));
  // the status each payment has now, its row locked until commit
  await em.query(
    `UPDATE ${table} s JOIN payments p ON p.batch_id = s.batch_id AND p.seq = s.seq SET s.from_status = p.status WHERE s.target IN (${targets})`,
  );
  const token = `rc${randomBytes(11).toString('hex')}`;
  const set = assignments(
    {
      status: 's.target',
      transferId: 's.transfer_id',
      failureCode: 's.failure_code',
      error: '?',
      nextAt: `CASE WHEN s.target IN (${literals(SETTLED_STATUSES)}) THEN NULL ELSE CURRENT_TIMESTAMP(3) END`,
    },
    '?',
    { failureOnly: true },
  );
  const res = (await em.query(
    `UPDATE payments p JOIN ${table} s ON s.batch_id = p.batch_id AND s.seq = p.seq
     SET ${set}
     WHERE p.status = s.from_status AND ${forwardOnly('s.target')}`,
    [opts.error, token],
  )) as { affectedRows: number };
  if (res.affectedRows > 0) await recordTableChanges(em, table, token, opts.source);
  return { moved: res.affectedRows, token };
}

/** Clears the mark applyOutcomeTable left on the payments of `table`. */
export async function releaseOutcomeMark(em: EntityManager, table: string, token: string): Promise<void> {
  await em.query(
    `UPDATE payments p JOIN ${table} s ON s.batch_id = p.batch_id AND s.seq = p.seq SET p.claim_token = NULL WHERE p.claim_token = ?`,
    [token],
  );
}

import type { DataSource, EntityManager } from 'typeorm';
import { EVENT_SUFFIX, NOTIFICATION_EVENTS, type NotificationEvent } from './notification-events';
import { smsRank, type SmsStatus } from './sms-wire';

/**
 * Named SQL of notification_messages (owned here). A message's life (status):
 *
 * - `pending`: created when its event happened (or to be sent again: 429/503, a question that found nothing);
 *   held during quiet hours;
 * - `sending`: claimed by a dispatcher (conditional UPDATE), its text fixed, before its request leaves;
 * - `unknown`: the send may or may not have been accepted: only asking the gateway decides, never a resend;
 * - `accepted` (QUEUED at the gateway), `sent` (SENT), `delivered`, `failed` (UNDELIVERABLE, REJECTED, EXPIRED:
 *   reason the gateway's status, error_code its code);
 * - `refused`: the gateway refused it (400) or the text cannot be sent; `review`: an answer that needs a person
 *   (401, 409 REFERENCE_CONFLICT, questions exhausted);
 * - `skipped`: never sent: no mobile number, opted out (reason); `dropped`: not sent within 48 hours.
 */
export const MESSAGE_STATUSES = [
  'pending',
  'sending',
  'unknown',
  'accepted',
  'sent',
  'delivered',
  'failed',
  'refused',
  'review',
  'skipped',
  'dropped',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** What the gateway's word about a message makes of it here. */
export function fromGateway(status: SmsStatus): MessageStatus {
  return status === 'QUEUED' ? 'accepted' : status === 'SENT' ? 'sent' : status === 'DELIVERED' ? 'delivered' : 'failed';
}

/** The statuses the gateway's word may move a message out of: never backwards, never out of a final status. */
export function mayBecomeFrom(status: SmsStatus): MessageStatus[] {
  const r = smsRank(status);
  return ['pending', 'sending', 'unknown', ...(r >= 1 ? (['accepted'] as const) : []), ...(r >= 2 ? (['sent'] as const) : [])];
}

const PAYMENT_EVENT_OF_STATUS = {
  sent: 'payment_sent',
  succeeded: 'payment_paid',
  failed: 'payment_failed',
  returned: 'payment_returned',
} as const satisfies Record<string, NotificationEvent>;

/** A batch is collected again until it has been complete this long: returns come after completion. */
export const RETURN_WINDOW_DAYS = 30;

/**
 * Creates the messages of one batch's payment events, set-based: one INSERT … SELECT over the batch's payments in
 * the statuses whose event is `enabled`; bank and wallet payments only (cash is handed over in person). The primary
 * key (recipient, event, subject) makes it idempotent: collected again, nothing is created twice. Returns the rows
 * created.
 */
export async function collectBatchEvents(
  db: DataSource | EntityManager,
  batchId: string,
  enabled: ReadonlySet<NotificationEvent>,
): Promise<number> {
  const statuses = Object.entries(PAYMENT_EVENT_OF_STATUS).filter(([, e]) => enabled.has(e));
  if (statuses.length === 0) return 0;
  const eventCase = `CASE p.status ${statuses.map(([s, e]) => `WHEN '${s}' THEN '${e}'`).join(' ')} END`;
  const suffixCase = `CASE p.status ${statuses.map(([s, e]) => `WHEN '${s}' THEN '${EVENT_SUFFIX[e]}'`).join(' ')} END`;
  const res = (await db.query(
    `INSERT IGNORE INTO notification_messages (beneficiary_id, event, subject, reference, programme_id, area_id, batch_id, payment_seq)
     SELECT p.beneficiary_id, ${eventCase}, p.reference, CONCAT('NTF-', p.reference, '-', ${suffixCase}), p.programme_id, p.area_id, p.batch_id, p.seq
     FROM payments p
     WHERE p.batch_id = ? AND p.status IN (${statuses.map(() => '?').join(', ')}) AND p.channel IN ('BANK', 'WALLET')`,
    [batchId, ...statuses.map(([s]) => s)],
  )) as { affectedRows: number };
  return Number(res.affectedRows);
}

/**
 * Creates the messages of a batch's pay-point hand-overs, set-based: one INSERT … SELECT over the batch's cash
 * payments still to be paid at a pay point (the `file` provider) whose commune has a hand-over scheduled, for the
 * revision in force only. The subject is the payment's reference for the first revision and `<reference>-R<n>` for a
 * later one: a changed hand-over is a new event, told with a message of its own, and the primary key makes a
 * collection idempotent. A hand-over whose day (`today`, YYYY-MM-DD in Asia/Ho_Chi_Minh) has passed is told to nobody.
 * Returns the rows created.
 */
export async function collectPaypointEvents(db: DataSource | EntityManager, batchId: string, today: string): Promise<number> {
  const res = (await db.query(handoverMessagesSql('paypoint_scheduled', 's.batch_id = ? AND s.handover_date >= ?'), [batchId, today])) as {
    affectedRows: number;
  };
  return Number(res.affectedRows);
}

/**
 * The INSERT … SELECT of a hand-over event's messages: one per cash payment still to be paid at a pay point (the
 * `file` provider) in a commune whose hand-over in force (its newest revision) meets `where`; the subject is the
 * payment's reference for revision 1 and `<reference>-R<n>` after, so that each revision is an event of its own.
 */
function handoverMessagesSql(event: 'paypoint_scheduled' | 'paypoint_reminder', where: string): string {
  const subject = `CASE s.revision WHEN 1 THEN p.reference ELSE CONCAT(p.reference, '-R', s.revision) END`;
  return `INSERT IGNORE INTO notification_messages (beneficiary_id, event, subject, reference, programme_id, area_id, batch_id, payment_seq, schedule_id)
     SELECT p.beneficiary_id, '${event}', ${subject}, CONCAT('NTF-', ${subject}, '-${EVENT_SUFFIX[event]}'),
       p.programme_id, p.area_id, p.batch_id, p.seq, s.id
     FROM paypoint_schedules s
     JOIN payments p ON p.batch_id = s.batch_id AND p.area_id = s.area_id
     JOIN providers pv ON pv.id = p.provider_id AND pv.kind = 'file'
     WHERE ${where} AND p.review = 'included' AND p.status IN ('pending', 'sent')
       AND s.revision = (SELECT MAX(s2.revision) FROM paypoint_schedules s2 WHERE s2.batch_id = s.batch_id AND s2.area_id = s.area_id)`;
}

/** The hour (Asia/Ho_Chi_Minh) of the day before a hand-over from which its reminders are created. */
export const REMINDER_FROM_HOUR = 7;

const DAY_MS = 86_400_000;
const VN_OFFSET_MS = 7 * 3_600_000;

/**
 * Creates the reminders of tomorrow's pay-point hand-overs (`paypoint_reminder`), set-based: one INSERT … SELECT over
 * the cash payments still to be paid (`pending` or handed over) in each commune whose hand-over in force is tomorrow
 * (Asia/Ho_Chi_Minh), for every batch at once. Nothing before 07:00: a reminder is sent on the day before, in the day.
 * A hand-over whose revision in force was saved on the day before or later gets none: its own message has just told
 * it. The subject follows the hand-over message's (`<reference>` for revision 1, `<reference>-R<n>` after), so a
 * changed hand-over reminds about the revision in force only; the primary key makes a collection idempotent.
 *
 * Skipped with two point reads once today's reminders were collected and no hand-over was saved since (the cursor
 * `paypoint_reminders` holds the day and the newest revision's id): the set can only grow by a revision saved before
 * today, and one saved today is excluded by the rule above. Returns the rows created.
 */
export async function collectPaypointReminders(db: DataSource | EntityManager, now: Date): Promise<number> {
  const vn = new Date(now.getTime() + VN_OFFSET_MS);
  if (vn.getUTCHours() < REMINDER_FROM_HOUR) return 0;
  const today = vn.toISOString().slice(0, 10);
  const todayStart = Date.parse(`${today}T00:00:00Z`) - VN_OFFSET_MS;
  const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
  const [top] = (await db.query('SELECT COALESCE(MAX(id), 0) AS id FROM paypoint_schedules')) as { id: string }[];
  const signature = `${today}|${String(top!.id)}`;
  const [cur] = (await db.query(`SELECT signature FROM notification_cursors WHERE name = 'paypoint_reminders'`)) as {
    signature: string | null;
  }[];
  if (cur?.signature === signature) return 0;
  const res = (await db.query(
    handoverMessagesSql(
      'paypoint_reminder',
      `s.handover_date = ? AND s.created_at < ?
       AND NOT EXISTS (SELECT 1 FROM notification_templates t
         WHERE t.programme_id = p.programme_id AND t.event = 'paypoint_reminder' AND t.active = 0
           AND t.version = (SELECT MAX(t2.version) FROM notification_templates t2 WHERE t2.programme_id = t.programme_id AND t2.event = t.event))`,
    ),
    [tomorrow, new Date(todayStart)],
  )) as { affectedRows: number };
  await db.query(
    `INSERT INTO notification_cursors (name, signature) VALUES ('paypoint_reminders', ?) ON DUPLICATE KEY UPDATE signature = VALUES(signature)`,
    [signature],
  );
  return Number(res.affectedRows);
}

/**
 * Creates the messages of suspended and ended enrolments recorded in the roll's history after the cursor, set-based,
 * and moves the cursor; the subject is the history row (H<id>), so each change is told once. A programme whose
 * template for the event is switched off gets none.
 */
export async function collectEnrolmentEvents(db: DataSource, enabled: ReadonlySet<NotificationEvent>): Promise<number> {
  const kinds = (
    [
      ['enrolment.suspended', 'enrolment_suspended'],
      ['enrolment.ended', 'enrolment_ended'],
    ] as const
  ).filter(([, e]) => enabled.has(e));
  const [cur] = (await db.query(`SELECT position FROM notification_cursors WHERE name = 'roll_history'`)) as { position: string }[];
  const from = cur ? cur.position : '0';
  const [top] = (await db.query('SELECT COALESCE(MAX(id), 0) AS id FROM roll_history')) as { id: string }[];
  const to = String(top!.id);
  let created = 0;
  if (kinds.length && BigInt(to) > BigInt(from)) {
    const res = (await db.query(
      `INSERT IGNORE INTO notification_messages (beneficiary_id, event, subject, reference, programme_id, area_id)
       SELECT h.beneficiary_id, CASE h.change_type ${kinds.map(([c, e]) => `WHEN '${c}' THEN '${e}'`).join(' ')} END, CONCAT('H', h.id),
         CONCAT('NTF-H', h.id, '-', CASE h.change_type ${kinds.map(([c, e]) => `WHEN '${c}' THEN '${EVENT_SUFFIX[e]}'`).join(' ')} END),
         e.programme_id, b.area_id
       FROM roll_history h JOIN enrolments e ON e.id = h.enrolment_id JOIN beneficiaries b ON b.id = h.beneficiary_id
       WHERE h.id > ? AND h.id <= ? AND h.change_type IN (${kinds.map(() => '?').join(', ')})
         AND NOT EXISTS (SELECT 1 FROM notification_templates t
           WHERE t.programme_id = e.programme_id AND t.active = 0
             AND t.event = CASE h.change_type ${kinds.map(([c, e]) => `WHEN '${c}' THEN '${e}'`).join(' ')} END
             AND t.version = (SELECT MAX(t2.version) FROM notification_templates t2 WHERE t2.programme_id = t.programme_id AND t2.event = t.event))`,
      [from, to, ...kinds.map(([c]) => c)],
    )) as { affectedRows: number };
    created = Number(res.affectedRows);
  }
  await db.query(
    `INSERT INTO notification_cursors (name, position) VALUES ('roll_history', ?) ON DUPLICATE KEY UPDATE position = GREATEST(position, VALUES(position))`,
    [to],
  );
  return created;
}

/**
 * Counts of a batch's payments in each collected status, from the index on (batch_id, status), and the newest
 * pay-point hand-over revision: payments only move forward into and among these statuses and revisions are only
 * added, so any change since the last collection changes this signature, and an unchanged one means nothing new to
 * collect (a batch of a million is not scanned again for nothing).
 */
export async function batchSignature(db: DataSource | EntityManager, batchId: string): Promise<string> {
  const rows = (await db.query(
    `SELECT status, COUNT(*) AS n FROM payments WHERE batch_id = ? AND status IN ('sent', 'succeeded', 'failed', 'returned')
     GROUP BY status ORDER BY status`,
    [batchId],
  )) as { status: string; n: string }[];
  const [s] = (await db.query('SELECT MAX(id) AS id FROM paypoint_schedules WHERE batch_id = ?', [batchId])) as { id: string | null }[];
  const payments = rows.map((r) => `${r.status}:${r.n}`).join(',');
  // a batch without a hand-over keeps the signature it always had
  return s?.id ? `${payments}|schedule:${s.id}` : payments;
}

/** The signature of a batch when it was last collected, or null. */
export async function lastSignature(db: DataSource | EntityManager, batchId: string): Promise<string | null> {
  const [r] = (await db.query(`SELECT signature FROM notification_cursors WHERE name = ?`, [`batch:${batchId}`])) as {
    signature: string | null;
  }[];
  return r?.signature ?? null;
}

export async function saveSignature(db: DataSource | EntityManager, batchId: string, signature: string): Promise<void> {
  await db.query(`INSERT INTO notification_cursors (name, signature) VALUES (?, ?) ON DUPLICATE KEY UPDATE signature = VALUES(signature)`, [
    `batch:${batchId}`,
    signature,
  ]);
}

/** The batches whose payment events are still collected: released, and not complete for longer than the return window. */
export async function batchesToCollect(db: DataSource): Promise<{ id: string; programmeId: number; status: string }[]> {
  const rows = (await db.query(
    `SELECT b.id, b.programme_id, b.status FROM batches b
     LEFT JOIN notification_cursors c ON c.name = CONCAT('batch:', b.id)
     WHERE b.status IN ('processing', 'completed', 'completed_with_failures') AND (c.done IS NULL OR c.done = 0)
     ORDER BY b.id`,
  )) as { id: string; programme_id: number; status: string }[];
  return rows.map((r) => ({ id: String(r.id), programmeId: Number(r.programme_id), status: r.status }));
}

/** Marks a batch collected for good once it has been complete longer than the return window. */
export async function closeCollectedBatch(db: DataSource, batchId: string): Promise<void> {
  await db.query(
    `INSERT INTO notification_cursors (name, position, done)
     SELECT CONCAT('batch:', b.id), 0, 1 FROM batches b
     WHERE b.id = ? AND b.status IN ('completed', 'completed_with_failures') AND b.updated_at < NOW(3) - INTERVAL ${RETURN_WINDOW_DAYS} DAY
     ON DUPLICATE KEY UPDATE done = 1`,
    [batchId],
  );
}

/**
 * The sweep: claims left `sending` past the lease become `unknown` (the request may have left: only a question
 * decides); messages still not sent 48 hours after their event are `dropped`. Returns what each moved.
 */
export async function sweepMessages(
  db: DataSource,
  now: Date,
  leaseMs: number,
  maxAgeMs: number,
): Promise<{ unknown: number; dropped: number }> {
  const u = (await db.query(
    `UPDATE notification_messages SET status = 'unknown', claim_token = NULL, next_attempt_at = ?, reason = 'CLAIM_LAPSED'
     WHERE status = 'sending' AND claimed_at < ?`,
    [now, new Date(now.getTime() - leaseMs)],
  )) as { affectedRows: number };
  const d = (await db.query(
    `UPDATE notification_messages SET status = 'dropped', reason = 'NOT_SENT_48H', claim_token = NULL, final_at = ?
     WHERE status = 'pending' AND created_at < ?`,
    [now, new Date(now.getTime() - maxAgeMs)],
  )) as { affectedRows: number };
  // a question unanswered for as long goes to a person: it may have been sent, so it is never dropped
  await db.query(
    `UPDATE notification_messages SET status = 'review', reason = 'UNRESOLVED_48H', claim_token = NULL WHERE status = 'unknown' AND created_at < ?`,
    [new Date(now.getTime() - maxAgeMs)],
  );
  return { unknown: Number(u.affectedRows), dropped: Number(d.affectedRows) };
}

/** Applies the gateway's word about a message, forward only; returns whether it moved. */
export async function applyGatewayStatus(
  db: DataSource | EntityManager,
  reference: string,
  gatewayId: number,
  status: SmsStatus,
  errorCode: string | null,
  now: Date,
): Promise<boolean> {
  const to = fromGateway(status);
  const from = mayBecomeFrom(status);
  const final = to === 'delivered' || to === 'failed';
  const res = (await db.query(
    `UPDATE notification_messages SET status = ?, gateway_status = ?, error_code = ?, reason = ?, claim_token = NULL, next_attempt_at = NULL,
       sent_at = COALESCE(sent_at, ?), final_at = ${final ? '?' : 'final_at'}
     WHERE reference = ? AND gateway_id = ? AND status IN (${from.map(() => '?').join(', ')})`,
    [to, status, errorCode, to === 'failed' ? (errorCode ?? status) : null, now, ...(final ? [now] : []), reference, gatewayId, ...from],
  )) as { affectedRows: number };
  return Number(res.affectedRows) === 1;
}

export const isEvent = (e: string): e is NotificationEvent => (NOTIFICATION_EVENTS as readonly string[]).includes(e);

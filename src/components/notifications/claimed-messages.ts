import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import type { NearestPoint } from '../network';
import { applyGatewayStatus } from './messages.sql';
import { paymentFacts, renderFacts, scheduleFacts, scheduleValues, valuesOf, type RenderFacts } from './message-content';
import { HANDOVER_EVENTS, renderTemplate, type NotificationEvent } from './notification-events';
import { MAX_TEXT_CHARS, countSms, withoutDiacritics } from './sms-encoding';
import type { SmsSendOutcome } from './sms-gateway.client';
import type { SmsGateway } from './sms-gateways.service';
import type { Template, Templates } from './templates';

/**
 * The set-based steps around the sends of one claim: the facts of every claimed message read at once, the messages
 * that will not be sent closed per reason, the texts of first claims written in one statement; then the answers
 * recorded per kind. Each write is conditional on the message still being `sending`: a delivery report that came
 * first has moved it on, and wins.
 */

/** A message as a dispatcher claimed it. */
export interface Claimed {
  beneficiary_id: string;
  event: NotificationEvent;
  reference: string;
  programme_id: number;
  batch_id: string | null;
  payment_seq: string | null;
  /** The pay-point hand-over revision a paypoint_scheduled or paypoint_reminder message tells. */
  schedule_id: string | null;
  text: string | null;
}

export interface Ready {
  reference: string;
  to: string;
  text: string;
}

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** `UPDATE … SET <column> = CASE reference WHEN ? THEN ? … END`: one value per message in one statement. */
function caseOf(column: string, pairs: [string, unknown][]): { sql: string; params: unknown[] } {
  return { sql: `${column} = CASE reference ${pairs.map(() => 'WHEN ? THEN ?').join(' ')} END`, params: pairs.flat() };
}

async function closeMessages(ds: DataSource, groups: Map<string, string[]>, at: Date): Promise<void> {
  for (const [key, refs] of groups) {
    const [status, reason] = key.split('|') as [string, string];
    await ds.query(
      `UPDATE notification_messages SET status = ?, reason = ?, claim_token = NULL, final_at = ? WHERE status = 'sending' AND reference IN (${marks(refs.length)})`,
      [status, reason, at, ...refs],
    );
  }
}

/**
 * The number and text of each claimed message (its text fixed at its first claim and reused after), or the reason it
 * is not sent: no recipient, opted out, no mobile number, a number that is not a Vietnamese mobile, a text too long;
 * for a pay-point hand-over, one changed since (SUPERSEDED: its new revision is told instead) or whose day has passed
 * (HANDOVER_PASSED); for a hand-over's reminder also one whose day before has passed (REMINDER_LATE) or whose payment
 * has its result (ALREADY_PAID when paid, PAYMENT_CLOSED otherwise). A claimed message was never accepted by the gateway, so not sending it is always safe.
 */
export async function prepareClaimed(
  ds: DataSource,
  cipher: DataCipher,
  templates: Templates,
  gw: SmsGateway,
  claimed: Claimed[],
  hotline: string,
  at: Date,
): Promise<{ ready: Ready[]; closed: number }> {
  const schedules = await scheduleFacts(
    ds,
    claimed.filter((m) => m.schedule_id !== null).map((m) => String(m.schedule_id)),
  );
  const today = new Date(at.getTime() + 7 * 3600_000).toISOString().slice(0, 10);
  const facts = new Map<string, RenderFacts | null>();
  const byBatch = new Map<string, Claimed[]>();
  for (const m of claimed) {
    if (m.batch_id !== null && m.payment_seq !== null) byBatch.set(String(m.batch_id), [...(byBatch.get(String(m.batch_id)) ?? []), m]);
    else
      facts.set(
        m.reference,
        await renderFacts(ds, cipher, { beneficiaryId: m.beneficiary_id, programmeId: m.programme_id, batchId: null, paymentSeq: null }),
      );
  }
  for (const [batchId, ms] of byBatch) {
    const bySeq = await paymentFacts(
      ds,
      cipher,
      batchId,
      ms.map((m) => String(m.payment_seq)),
    );
    for (const m of ms) facts.set(m.reference, bySeq.get(String(m.payment_seq)) ?? null);
  }
  const closing = new Map<string, string[]>();
  const close = (m: Claimed, status: 'skipped' | 'refused' | 'dropped', reason: string) =>
    closing.set(`${status}|${reason}`, [...(closing.get(`${status}|${reason}`) ?? []), m.reference]);
  const templatesOf = new Map<string, Promise<Template>>();
  const points = new Map<string, Promise<NearestPoint | null>>();
  const ready: Ready[] = [];
  const texts: { reference: string; text: string; encoding: string; segments: number }[] = [];
  for (const m of claimed) {
    const f = facts.get(m.reference) ?? null;
    const schedule = m.schedule_id !== null ? (schedules.get(String(m.schedule_id)) ?? null) : null;
    const reminder = m.event === 'paypoint_reminder';
    if (HANDOVER_EVENTS.has(m.event) && !schedule) close(m, 'refused', 'NO_SCHEDULE');
    else if (schedule?.superseded) close(m, 'dropped', 'SUPERSEDED');
    else if (schedule && schedule.date < today) close(m, 'dropped', 'HANDOVER_PASSED');
    // "tomorrow" is true on the day before only: held past midnight (a paused gateway, quiet hours) it would mislead
    else if (reminder && schedule!.date <= today) close(m, 'dropped', 'REMINDER_LATE');
    else if (!f) close(m, 'refused', 'NO_RECIPIENT');
    // paid (or recorded not collected) before the reminder went out: there is nothing left to come for
    else if (reminder && f.paymentStatus !== 'pending' && f.paymentStatus !== 'sent')
      close(m, 'dropped', f.paymentStatus === 'succeeded' ? 'ALREADY_PAID' : 'PAYMENT_CLOSED');
    else if (f.optedOut) close(m, 'skipped', 'OPTED_OUT');
    else if (!f.hasPhone) close(m, 'skipped', 'NO_MOBILE');
    else if (!f.to) close(m, 'skipped', 'INVALID_NUMBER');
    else if (m.text !== null) ready.push({ reference: m.reference, to: f.to, text: m.text });
    else {
      const key = `${m.programme_id}:${m.event}`;
      let tp = templatesOf.get(key);
      if (!tp) {
        tp = templates.current(m.programme_id, m.event);
        templatesOf.set(key, tp);
      }
      const template = await tp;
      const values = await valuesOf(ds, f, hotline, template.body.includes('{diem_rut}'), points);
      const rendered = renderTemplate(template.body, schedule ? { ...values, ...scheduleValues(schedule) } : values);
      const text = template.plain ? withoutDiacritics(rendered) : rendered;
      if ([...text].length > MAX_TEXT_CHARS) close(m, 'refused', 'TEXT_TOO_LONG');
      else {
        const { encoding, segments } = countSms(text);
        texts.push({ reference: m.reference, text, encoding, segments });
        ready.push({ reference: m.reference, to: f.to, text });
      }
    }
  }
  await closeMessages(ds, closing, at);
  if (texts.length) {
    const parts = [
      caseOf(
        'text',
        texts.map((x) => [x.reference, x.text]),
      ),
      caseOf(
        'encoding',
        texts.map((x) => [x.reference, x.encoding]),
      ),
      caseOf(
        'segments',
        texts.map((x) => [x.reference, x.segments]),
      ),
      caseOf(
        'cost',
        texts.map((x) => [x.reference, x.segments * gw.pricePerSegment]),
      ),
    ];
    const refs = texts.map((x) => x.reference);
    await ds.query(
      `UPDATE notification_messages SET ${parts.map((p) => p.sql).join(', ')}
       WHERE status = 'sending' AND text IS NULL AND reference IN (${marks(refs.length)})`,
      [...parts.flatMap((p) => p.params), ...refs],
    );
  }
  let closed = 0;
  for (const refs of closing.values()) closed += refs.length;
  return { ready, closed };
}

/** Records the answers to the sends of a claim, one statement per kind of answer (and per Retry-After or reason). */
export async function recordOutcomes(
  ds: DataSource,
  gw: SmsGateway,
  results: { reference: string; outcome: SmsSendOutcome }[],
  at: Date,
): Promise<void> {
  const accepted = results.filter(
    (r): r is { reference: string; outcome: Extract<SmsSendOutcome, { kind: 'accepted' | 'duplicate' }> } =>
      r.outcome.kind === 'accepted' || r.outcome.kind === 'duplicate',
  );
  if (accepted.length) {
    const ids = caseOf(
      'gateway_message_id',
      accepted.map((r) => [r.reference, r.outcome.message.messageId]),
    );
    await ds.query(
      `UPDATE notification_messages SET status = 'accepted', gateway_status = 'QUEUED', ${ids.sql}, sent_at = COALESCE(sent_at, ?), reason = NULL,
         next_attempt_at = NULL, claim_token = NULL
       WHERE status = 'sending' AND reference IN (${marks(accepted.length)})`,
      [...ids.params, at, ...accepted.map((r) => r.reference)],
    );
    // a repeat of a send the gateway took before may already be further on
    for (const r of accepted) {
      if (r.outcome.message.status !== 'QUEUED')
        await applyGatewayStatus(ds, r.reference, gw.id, r.outcome.message.status, r.outcome.message.errorCode, at);
    }
  }
  const groups = new Map<string, { fields: string; params: unknown[]; refs: string[] }>();
  const add = (key: string, fields: string, params: unknown[], reference: string) => {
    const g = groups.get(key) ?? { fields, params, refs: [] };
    g.refs.push(reference);
    groups.set(key, g);
  };
  for (const { reference, outcome: o } of results) {
    if (o.kind === 'refused') add(`refused:${o.code}`, `status = 'refused', reason = ?, final_at = ?`, [o.code, at], reference);
    else if (o.kind === 'conflict') add('conflict', `status = 'review', reason = 'REFERENCE_CONFLICT'`, [], reference);
    else if (o.kind === 'unauthorized') {
      // nothing was sent; it waits for an administrator to fix the gateway's secret or clock (dropped after 48 hours)
      add(
        `unauthorized:${o.code}`,
        `status = 'pending', reason = ?, next_attempt_at = ?`,
        [`UNAUTHORIZED_${o.code}`.slice(0, 40), new Date(at.getTime() + 60_000)],
        reference,
      );
    } else if (o.kind === 'retry_later') {
      const after = o.retryAfterSeconds ?? 1;
      add(
        `later:${after}`,
        `status = 'pending', reason = 'RETRY_LATER', next_attempt_at = ?`,
        [new Date(at.getTime() + 1000 * after)],
        reference,
      );
    } else if (o.kind === 'unknown')
      // asked after the gateway's timeout, not at once: a request that timed out may still wait unread at the gateway,
      // and a question that overtakes it finds NOT_FOUND and sends it again (a repeat the gateway must then recognise)
      add(
        `unknown:${o.reason}`,
        `status = 'unknown', reason = ?, next_attempt_at = ?`,
        [o.reason.slice(0, 40), new Date(at.getTime() + gw.timeoutMs)],
        reference,
      );
  }
  for (const g of groups.values()) {
    await ds.query(
      `UPDATE notification_messages SET ${g.fields}, claim_token = NULL WHERE status = 'sending' AND reference IN (${marks(g.refs.length)})`,
      [...g.params, ...g.refs],
    );
  }
}

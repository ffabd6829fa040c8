import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { DataCipher } from '../../platform/crypto';
import { notFound } from '../../platform/errors';
import type { HeaderBag } from '../providers';
import { retryOnDeadlock } from '../payments';
import {
  applyGatewayStatus,
  batchesToCollect,
  batchSignature,
  closeCollectedBatch,
  collectBatchEvents,
  collectEnrolmentEvents,
  collectPaypointEvents,
  collectPaypointReminders,
  lastSignature,
  saveSignature,
  sweepMessages,
} from './messages.sql';
import type { NotificationEvent } from './notification-events';
import { prepareClaimed, recordOutcomes, type Claimed } from './claimed-messages';
import type { SmsGatewayClient, SmsSendOutcome } from './sms-gateway.client';
import type { SmsGateway, SmsGatewaysService } from './sms-gateways.service';
import type { Templates } from './templates';
import { ReportBatcher, REPORT_BATCHER_DEFAULTS, type ReportBatcherOptions } from './report-batcher';

/** Resolves when one request to a gateway may leave (the payments' token bucket, shared through Redis by every worker). */
export interface GatewayRateLimiter {
  take(gatewayId: number, perSecond: number): Promise<void>;
}

export interface DispatcherOptions {
  /** Messages claimed at a time. */
  claimSize: number;
  /** Requests in flight at once from one claim. */
  parallel: number;
  /** Claims worked at once by one dispatcher: a claim's database work overlaps the requests of the others. */
  lanes: number;
  /** A claim left `sending` this long is from a dispatcher that died: the message becomes `unknown`. */
  leaseMs: number;
  /** A message not sent this long after its event is dropped. */
  maxAgeMs: number;
  /** How long one dispatch round may go on before it yields (the next round continues). */
  roundMs: number;
  hotline: string;
  /** Nothing is sent between 21:00 and 07:00 Asia/Ho_Chi_Minh (NOTIFY_QUIET_HOURS: never off in production). */
  quietHours: boolean;
  /** How delivery reports are grouped into transactions. */
  reports: ReportBatcherOptions;
}

export const DISPATCHER_DEFAULTS: DispatcherOptions = {
  claimSize: 250,
  parallel: 32,
  lanes: 3,
  leaseMs: 60_000,
  maxAgeMs: 48 * 3600_000,
  roundMs: 20_000,
  hotline: '1900 0000',
  quietHours: true,
  reports: REPORT_BATCHER_DEFAULTS,
};

/** 21:00 to 07:00 in Asia/Ho_Chi_Minh (UTC+7, no daylight saving): nothing is sent, messages wait. */
export function inQuietHours(now: Date): boolean {
  const hour = (now.getUTCHours() + 7) % 24;
  return hour >= 21 || hour < 7;
}

/** The day holding `now` in Asia/Ho_Chi_Minh, YYYY-MM-DD. */
export const vnDate = (now: Date): string => new Date(now.getTime() + 7 * 3600_000).toISOString().slice(0, 10);

/** The next 07:00 in Asia/Ho_Chi_Minh after `now`. */
export function quietHoursEnd(now: Date): Date {
  const vn = new Date(now.getTime() + 7 * 3600_000);
  const end = Date.UTC(vn.getUTCFullYear(), vn.getUTCMonth(), vn.getUTCDate(), 7) - 7 * 3600_000;
  return new Date(end > now.getTime() ? end : end + 24 * 3600_000);
}

export type { Claimed } from './claimed-messages';

export interface RoundResult {
  held: boolean;
  claimed: number;
  asked: number;
  skipped: number;
}

const token = (): string => randomBytes(12).toString('hex');

/**
 * Sends the messages: claims due ones with a conditional UPDATE (a burst of dispatchers never claims one twice),
 * fixes each one's text at its first claim, sends it through the default gateway at the gateway's rate, and reads
 * the answer as the contract's table says. A message whose outcome is unknown is asked about before anything is sent
 * again with its reference, and then only with the same text.
 */
export class NotificationDispatcher {
  private readonly reports: ReportBatcher;

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly gateways: SmsGatewaysService,
    private readonly templates: Templates,
    private readonly rate: GatewayRateLimiter,
    private readonly log: winston.Logger,
    private readonly opts: DispatcherOptions = DISPATCHER_DEFAULTS,
  ) {
    this.reports = new ReportBatcher(ds, opts.reports);
  }

  private quiet(at: Date): boolean {
    return this.opts.quietHours && inQuietHours(at);
  }

  /**
   * One round: questions about unknown outcomes, then due messages, until none is due or the round's time is up. The
   * claims are worked in `lanes` at once, each claiming its next as soon as its sends are answered and recorded.
   */
  async runOnce(now: () => Date = () => new Date()): Promise<RoundResult> {
    const result: RoundResult = { held: false, claimed: 0, asked: 0, skipped: 0 };
    if (this.quiet(now())) return { ...result, held: true };
    const started = Date.now();
    let over = false;
    const lane = async (): Promise<void> => {
      while (!over) {
        result.asked += await this.askRound(now());
        const gw = await this.gateways.defaultGateway();
        if (!gw || gw.paused) break;
        const claimed = await this.claim(gw, now());
        if (claimed.length === 0) break;
        result.claimed += claimed.length;
        result.skipped += await this.sendClaimed(gw, claimed, now);
        if (Date.now() - started > this.opts.roundMs || this.quiet(now())) over = true;
      }
    };
    // a lane that fails (a deadlock past its retries, the database gone) stops the others' next claims, and the round
    // ends only when every lane has: the job must not end while its lanes still send beside the next round's
    const ended = await Promise.allSettled(
      Array.from({ length: Math.max(1, this.opts.lanes) }, () =>
        lane().catch((err: unknown) => {
          over = true;
          throw err;
        }),
      ),
    );
    const failed = ended.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (failed) throw failed.reason;
    return result;
  }

  /**
   * Claims up to claimSize due messages for this gateway, at most a quarter of a second of its rate: a claimed message
   * waits for its token, and the lanes' claims together must be sent well within the lease. Returns them.
   */
  async claim(gw: SmsGateway, now: Date, size = Math.min(this.opts.claimSize, Math.ceil(gw.rateLimitPerSecond / 4))): Promise<Claimed[]> {
    const t = token();
    // concurrent claims (lanes, other dispatchers) may deadlock on the due index: the loser's statement is undone whole
    await retryOnDeadlock(() =>
      this.ds.query(
        `UPDATE notification_messages SET status = 'sending', claim_token = ?, claimed_at = ?, attempts = attempts + 1, gateway_id = COALESCE(gateway_id, ?)
       WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (gateway_id IS NULL OR gateway_id = ?)
       ORDER BY next_attempt_at LIMIT ?`,
        [t, now, gw.id, now, gw.id, size],
      ),
    );
    return (await this.ds.query(
      `SELECT beneficiary_id, event, reference, programme_id, batch_id, payment_seq, schedule_id, text FROM notification_messages
       WHERE status = 'sending' AND claim_token = ?`,
      [t],
    )) as Claimed[];
  }

  private async sendClaimed(gw: SmsGateway, claimed: Claimed[], now: () => Date): Promise<number> {
    const client = await this.gateways.clientFor(gw.id);
    const callbackUrl = this.gateways.callbackUrl(gw.name);
    // its writes are conditional on `sending` and the text not yet fixed: done again whole after a deadlock
    const { ready, closed } = await retryOnDeadlock(() =>
      prepareClaimed(this.ds, this.cipher, this.templates, gw, claimed, this.opts.hotline, now()),
    );
    const results: { reference: string; outcome: SmsSendOutcome }[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ready.length) {
        const m = ready[next++]!;
        try {
          await this.rate.take(gw.id, gw.rateLimitPerSecond);
          results.push({
            reference: m.reference,
            outcome: await client.send({ reference: m.reference, to: m.to, sender: gw.sender, text: m.text, callbackUrl }),
          });
        } catch (err) {
          // left `sending`: the sweep makes it `unknown` after the lease and a question decides
          this.log.error('sending a notification failed', { reference: m.reference, err });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.parallel, ready.length) }, worker));
    // each write is conditional on `sending`: written again whole after a deadlock with a group of delivery reports
    await retryOnDeadlock(() => recordOutcomes(this.ds, gw, results, now()));
    return closed;
  }

  /** Asks the gateway about due unknown outcomes: found → its status; NOT_FOUND → pending, to be sent again with the same text. */
  async askRound(now: Date, size = this.opts.claimSize): Promise<number> {
    const t = token();
    // asked again in 5 s when this question gets no answer
    await retryOnDeadlock(() =>
      this.ds.query(
        `UPDATE notification_messages SET claim_token = ?, next_attempt_at = ? WHERE status = 'unknown' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
        [t, new Date(now.getTime() + 5000), now, size],
      ),
    );
    const rows = (await this.ds.query(
      `SELECT reference, gateway_id FROM notification_messages WHERE status = 'unknown' AND claim_token = ?`,
      [t],
    )) as {
      reference: string;
      gateway_id: number;
    }[];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < rows.length) {
        const r = rows[next++]!;
        try {
          const gw = await this.gateways.get(r.gateway_id);
          const client = await this.gateways.clientFor(gw.id);
          await this.rate.take(gw.id, gw.rateLimitPerSecond);
          const answer = await client.ask(r.reference);
          if (answer.kind === 'found') {
            await this.ds.query(
              `UPDATE notification_messages SET gateway_message_id = COALESCE(gateway_message_id, ?) WHERE reference = ?`,
              [answer.message.messageId, r.reference],
            );
            await applyGatewayStatus(this.ds, r.reference, gw.id, answer.message.status, answer.message.errorCode, now);
          } else if (answer.kind === 'not_found') {
            await this.ds.query(
              `UPDATE notification_messages SET status = 'pending', reason = 'NOT_FOUND', next_attempt_at = NULL, claim_token = NULL
               WHERE reference = ? AND status = 'unknown' AND claim_token = ?`,
              [r.reference, t],
            );
          }
        } catch (err) {
          this.log.warn('asking about a notification failed; asked again later', { reference: r.reference, err });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.parallel, rows.length) }, worker));
    return rows.length;
  }

  /** Claims of dead dispatchers to unknown, messages too old to drop; then new events collected. */
  async sweep(now: Date = new Date()): Promise<{ unknown: number; dropped: number; created: number }> {
    // its statements are conditional and meet the claims on the same index: run again after a deadlock
    const moved = await retryOnDeadlock(() => sweepMessages(this.ds, now, this.opts.leaseMs, this.opts.maxAgeMs));
    const created = await this.collect(now);
    return { ...moved, created };
  }

  /**
   * Creates the messages of every event that happened since the last collection, set-based; `now` decides which
   * hand-overs are past (told to nobody) and which are tomorrow (reminded).
   */
  async collect(now: Date = new Date()): Promise<number> {
    let created = 0;
    const enabled = new Map<number, Set<NotificationEvent>>();
    const eventsOf = async (programmeId: number) => {
      let e = enabled.get(programmeId);
      if (!e) {
        e = await this.templates.enabledEvents(programmeId);
        enabled.set(programmeId, e);
      }
      return e;
    };
    for (const b of await batchesToCollect(this.ds)) {
      // read before the collection: what changes during it is seen by the next one
      const signature = await batchSignature(this.ds, b.id);
      if (signature !== (await lastSignature(this.ds, b.id))) {
        const events = await eventsOf(b.programmeId);
        // each collection is one INSERT … SELECT, undone whole when it loses a deadlock with the claims: run again
        created += await retryOnDeadlock(() => collectBatchEvents(this.ds, b.id, events));
        if (events.has('paypoint_scheduled')) created += await retryOnDeadlock(() => collectPaypointEvents(this.ds, b.id, vnDate(now)));
        await saveSignature(this.ds, b.id, signature);
      }
      await closeCollectedBatch(this.ds, b.id);
    }
    created += await this.remind(now);
    // a programme whose template switches an enrolment event off is left out in the statement itself
    created += await retryOnDeadlock(() =>
      collectEnrolmentEvents(this.ds, new Set<NotificationEvent>(['enrolment_suspended', 'enrolment_ended'])),
    );
    return created;
  }

  /**
   * The reminders of tomorrow's pay-point hand-overs, every batch at once (time, not a payment, makes them due: the
   * batches' signatures do not see them). A programme whose reminder template is off is left out in the statement.
   */
  async remind(now: Date = new Date()): Promise<number> {
    // collectors running at once insert the same keys: the loser of a deadlock runs its statement again
    return retryOnDeadlock(() => collectPaypointReminders(this.ds, now));
  }

  // a report per status change of every message: the gateway and its client are read once a second, not per report
  private readonly reporting = new Map<string, { at: number; found: Promise<{ gw: SmsGateway; client: SmsGatewayClient }> }>();

  private reportingGateway(name: string): Promise<{ gw: SmsGateway; client: SmsGatewayClient }> {
    const cached = this.reporting.get(name);
    if (cached && Date.now() - cached.at < 1000) return cached.found;
    const found = (async () => {
      const gw = await this.gateways.getByName(name);
      if (!gw) throw notFound('GATEWAY_NOT_FOUND', `no SMS gateway named ${name}`);
      return { gw, client: await this.gateways.clientFor(gw.id) };
    })();
    // a failed lookup is not kept: the next report asks again
    found.catch(() => this.reporting.delete(name));
    this.reporting.set(name, { at: Date.now(), found });
    return found;
  }

  /**
   * A gateway's delivery report (contract section 4): the signature checked with the gateway's secret over the exact
   * bytes, then applied forward only. `applied` when it moved the message, `already` for a report applied before or
   * one that would move it backwards, `unmatched` for a reference this gateway never got from us: all answered 200.
   */
  async applyReport(
    gatewayName: string,
    headers: HeaderBag,
    rawBody: Buffer,
    path: string,
    now = new Date(),
  ): Promise<'applied' | 'already' | 'unmatched'> {
    const { gw, client } = await this.reportingGateway(gatewayName);
    const report = client.verifyReport(headers, rawBody, path, now);
    return this.reports.submit(gw.id, { reference: report.reference, status: report.status, errorCode: report.errorCode }, now);
  }
}

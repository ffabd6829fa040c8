import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { invalid, notFound } from '../../platform/errors';
import { areaPathScopeSql, assertVisible, type Actor, type Principal } from '../../platform/security';
import type { AreaRef, ExportSource } from '../exports';
import type { AuditService } from '../audit';
import { currentSchedule, renderFacts, scheduleValues, valuesOf } from './message-content';
import { MAX_TEXT_CHARS, countSms, withoutDiacritics, type SmsEncoding } from './sms-encoding';
import { checkTemplate, HANDOVER_EVENTS, renderTemplate, type NotificationEvent } from './notification-events';
import type { SmsGatewaysService } from './sms-gateways.service';
import type { Templates } from './templates';
import { REASON_OF, UNTOLD_FROM, untoldScope, untoldSource, type UntoldFilter } from './untold';

export interface Preview {
  text: string;
  encoding: SmsEncoding;
  units: number;
  segments: number;
  /** At the default gateway's price per segment; null when no gateway is the default. */
  cost: number | null;
  pricePerSegment: number | null;
  /** The text is longer than a message may be: it would not be sent. */
  tooLong: boolean;
}

export interface Consent {
  beneficiaryId: string;
  optedOut: boolean;
  reason: string | null;
  recordedBy: number | null;
  recordedAt: string | null;
}

export interface MessageView {
  reference: string;
  event: string;
  status: string;
  reason: string | null;
  programmeId: number;
  batchId: string | null;
  text: string | null;
  encoding: string | null;
  segments: number | null;
  cost: number | null;
  gatewayStatus: string | null;
  errorCode: string | null;
  createdAt: string;
  sentAt: string | null;
  finalAt: string | null;
}

interface MessageRow {
  reference: string;
  event: string;
  status: string;
  reason: string | null;
  programme_id: number;
  batch_id: string | null;
  text: string | null;
  encoding: string | null;
  segments: number | null;
  cost: string | null;
  gateway_status: string | null;
  error_code: string | null;
  created_at: Date;
  sent_at: Date | null;
  final_at: Date | null;
}

const toView = (r: MessageRow): MessageView => ({
  reference: r.reference,
  event: r.event,
  status: r.status,
  reason: r.reason,
  programmeId: Number(r.programme_id),
  batchId: r.batch_id === null ? null : String(r.batch_id),
  text: r.text,
  encoding: r.encoding,
  segments: r.segments === null ? null : Number(r.segments),
  cost: r.cost === null ? null : Number(r.cost),
  gatewayStatus: r.gateway_status,
  errorCode: r.error_code,
  createdAt: r.created_at.toISOString(),
  sentAt: r.sent_at?.toISOString() ?? null,
  finalAt: r.final_at?.toISOString() ?? null,
});

const MESSAGE_COLUMNS =
  'm.reference, m.event, m.status, m.reason, m.programme_id, m.batch_id, m.text, m.encoding, m.segments, m.cost, m.gateway_status, m.error_code, m.created_at, m.sent_at, m.final_at';

/** Consent, previews, a recipient's messages, who in a batch could not be told, and what messages cost. */
export class NotificationsService {
  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    readonly gateways: SmsGatewaysService,
    readonly templates: Templates,
    private readonly hotline: string,
  ) {}

  /** The rendered text of a template (the saved one, or `body` as typed) for a real recipient in scope, with its cost. */
  async preview(
    p: Principal,
    q: { programmeId: number; event: NotificationEvent; beneficiaryId: string; body?: string | undefined; plain?: boolean | undefined },
  ): Promise<Preview> {
    await this.visibleBeneficiary(p, q.beneficiaryId);
    const saved = await this.templates.current(q.programmeId, q.event);
    const body = q.body ?? saved.body;
    if (q.body !== undefined) checkTemplate(body);
    const plain = q.plain ?? saved.plain;
    // the recipient's latest payment of the programme gives the amount and month; else their enrolment alone
    const [pay] = (await this.ds.query(
      'SELECT batch_id, seq, area_id FROM payments WHERE beneficiary_id = ? AND programme_id = ? ORDER BY period DESC, batch_id DESC LIMIT 1',
      [q.beneficiaryId, q.programmeId],
    )) as { batch_id: string; seq: string; area_id: number }[];
    const facts = await renderFacts(this.ds, this.cipher, {
      beneficiaryId: q.beneficiaryId,
      programmeId: q.programmeId,
      batchId: pay ? String(pay.batch_id) : null,
      paymentSeq: pay ? String(pay.seq) : null,
    });
    if (!facts) throw notFound('BENEFICIARY_NOT_FOUND', `no beneficiary with id ${q.beneficiaryId}`);
    const values = await valuesOf(this.ds, facts, this.hotline, body.includes('{diem_rut}'));
    // the hand-over of the recipient's pay point for that payment, when one is set
    const schedule = pay && HANDOVER_EVENTS.has(q.event) ? await currentSchedule(this.ds, String(pay.batch_id), Number(pay.area_id)) : null;
    const rendered = renderTemplate(body, schedule ? { ...values, ...scheduleValues(schedule) } : values);
    const text = plain ? withoutDiacritics(rendered) : rendered;
    const count = countSms(text);
    const gw = await this.gateways.defaultGateway();
    return {
      text,
      ...count,
      cost: gw ? gw.pricePerSegment * count.segments : null,
      pricePerSegment: gw?.pricePerSegment ?? null,
      tooLong: [...text].length > MAX_TEXT_CHARS,
    };
  }

  async consent(p: Principal, beneficiaryId: string): Promise<Consent> {
    await this.visibleBeneficiary(p, beneficiaryId);
    const [r] = (await this.ds.query('SELECT reason, created_by, created_at FROM notification_opt_outs WHERE beneficiary_id = ?', [
      beneficiaryId,
    ])) as {
      reason: string;
      created_by: number;
      created_at: Date;
    }[];
    return r
      ? { beneficiaryId, optedOut: true, reason: r.reason, recordedBy: r.created_by, recordedAt: r.created_at.toISOString() }
      : { beneficiaryId, optedOut: false, reason: null, recordedBy: null, recordedAt: null };
  }

  /** Records that a recipient wants no SMS (or wants them again), who said so and why; audited in the same transaction. */
  async setConsent(actor: Actor, p: Principal, beneficiaryId: string, input: { optedOut: boolean; reason: string }): Promise<Consent> {
    await this.visibleBeneficiary(p, beneficiaryId);
    await this.ds.transaction(async (em) => {
      const [before] = (await em.query('SELECT reason FROM notification_opt_outs WHERE beneficiary_id = ? FOR UPDATE', [
        beneficiaryId,
      ])) as { reason: string }[];
      if (input.optedOut) {
        await em.query(
          'INSERT INTO notification_opt_outs (beneficiary_id, reason, created_by) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE reason = VALUES(reason), created_by = VALUES(created_by), created_at = NOW(3)',
          [beneficiaryId, input.reason, actor.userId],
        );
      } else await em.query('DELETE FROM notification_opt_outs WHERE beneficiary_id = ?', [beneficiaryId]);
      await this.audit.record(em, actor, {
        action: input.optedOut ? 'notification.opt_out' : 'notification.opt_in',
        entityType: 'beneficiary',
        entityId: beneficiaryId,
        before: { optedOut: before !== undefined },
        after: { optedOut: input.optedOut },
        note: input.reason,
      });
    });
    return this.consent(p, beneficiaryId);
  }

  /** A recipient's messages, newest first. */
  async history(p: Principal, beneficiaryId: string, limit = 100): Promise<MessageView[]> {
    await this.visibleBeneficiary(p, beneficiaryId);
    const rows = (await this.ds.query(
      `SELECT ${MESSAGE_COLUMNS} FROM notification_messages m WHERE m.beneficiary_id = ? ORDER BY m.created_at DESC LIMIT ?`,
      [beneficiaryId, limit],
    )) as MessageRow[];
    return rows.map(toView);
  }

  /**
   * In a batch, who could not be told and why, in the caller's scope, narrowed to a reason and an area; keyset-paged by
   * reference. The counts by reason follow the area only (every reason's count, for choosing one), and the communes
   * with untold messages are the whole batch's in scope (for choosing one).
   */
  async untold(
    p: Principal,
    batchId: string,
    q: UntoldFilter & { after?: string | undefined; limit: number },
  ): Promise<{
    items: (MessageView & { beneficiaryId: string; fullName: string; areaId: number; areaName: string })[];
    next: string | null;
    byReason: Record<string, number>;
    communes: { areaId: number; name: string; count: number }[];
  }> {
    const s = await untoldScope(this.ds, p, batchId, q);
    const rows = (await this.ds.query(
      `SELECT ${MESSAGE_COLUMNS}, m.beneficiary_id, b.full_name, m.area_id, a.name AS area_name FROM ${UNTOLD_FROM}
       WHERE ${s.items.sql} ${q.after ? 'AND m.reference > ?' : ''} ORDER BY m.reference LIMIT ?`,
      [...s.items.params, ...(q.after ? [q.after] : []), q.limit + 1],
    )) as (MessageRow & { beneficiary_id: string; full_name: string; area_id: number; area_name: string })[];
    const page = rows.slice(0, q.limit);
    const counts = (await this.ds.query(
      `SELECT ${REASON_OF} AS reason, COUNT(*) AS n FROM notification_messages m JOIN areas a ON a.id = m.area_id
       WHERE ${s.counts.sql} GROUP BY ${REASON_OF}`,
      s.counts.params,
    )) as { reason: string; n: string }[];
    const communes = (await this.ds.query(
      `SELECT m.area_id, a.name, COUNT(*) AS n FROM notification_messages m JOIN areas a ON a.id = m.area_id
       WHERE ${s.communes.sql} GROUP BY m.area_id, a.name ORDER BY a.name, m.area_id`,
      s.communes.params,
    )) as { area_id: number; name: string; n: string }[];
    return {
      items: page.map((r) => ({
        ...toView(r),
        beneficiaryId: String(r.beneficiary_id),
        fullName: r.full_name,
        areaId: Number(r.area_id),
        areaName: r.area_name,
      })),
      next: rows.length > q.limit ? page[page.length - 1]!.reference : null,
      byReason: Object.fromEntries(counts.map((c) => [c.reason, Number(c.n)])),
      communes: communes.map((c) => ({ areaId: Number(c.area_id), name: c.name, count: Number(c.n) })),
    };
  }

  /** The same list as an export (the exports component writes the file): checked as the list is, for the caller. */
  async untoldExport(p: Principal, batchId: string, f: UntoldFilter): Promise<{ area: AreaRef; source: ExportSource }> {
    const s = await untoldScope(this.ds, p, batchId, f);
    return { area: s.area, source: untoldSource(this.ds, s) };
  }

  /**
   * Per month (of the message's creation, Asia/Ho_Chi_Minh), area, programme and gateway: messages, segments, cost,
   * delivered, failed by reason. In the caller's scope.
   */
  async costReport(p: Principal, q: { month: string }): Promise<{ month: string; rows: CostRow[] }> {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(q.month)) throw invalid('INVALID_MONTH', 'month must be YYYY-MM');
    const [y, mo] = q.month.split('-').map(Number) as [number, number];
    const from = new Date(Date.UTC(y, mo - 1, 1) - 7 * 3600_000);
    const to = new Date(Date.UTC(mo === 12 ? y + 1 : y, mo === 12 ? 0 : mo, 1) - 7 * 3600_000);
    const scope = areaPathScopeSql(p, 'a.path');
    const rows = (await this.ds.query(
      `SELECT m.area_id, a.name AS area_name, m.programme_id, m.gateway_id, g.name AS gateway_name,
         COUNT(*) AS messages, COALESCE(SUM(CASE WHEN m.sent_at IS NOT NULL THEN m.segments END), 0) AS segments,
         COALESCE(SUM(CASE WHEN m.sent_at IS NOT NULL THEN m.cost END), 0) AS cost,
         SUM(m.status = 'delivered') AS delivered, SUM(m.status = 'failed') AS failed
       FROM notification_messages m JOIN areas a ON a.id = m.area_id LEFT JOIN sms_gateways g ON g.id = m.gateway_id
       WHERE m.created_at >= ? AND m.created_at < ? AND ${scope.sql}
       GROUP BY m.area_id, a.name, m.programme_id, m.gateway_id, g.name ORDER BY a.name, m.programme_id, g.name`,
      [from, to, ...scope.params],
    )) as {
      area_id: number;
      area_name: string;
      programme_id: number;
      gateway_id: number | null;
      gateway_name: string | null;
      messages: string;
      segments: string;
      cost: string;
      delivered: string;
      failed: string;
    }[];
    const reasons = (await this.ds.query(
      `SELECT m.area_id, m.programme_id, m.gateway_id, m.reason, COUNT(*) AS n
       FROM notification_messages m JOIN areas a ON a.id = m.area_id
       WHERE m.created_at >= ? AND m.created_at < ? AND m.status = 'failed' AND ${scope.sql}
       GROUP BY m.area_id, m.programme_id, m.gateway_id, m.reason`,
      [from, to, ...scope.params],
    )) as { area_id: number; programme_id: number; gateway_id: number | null; reason: string | null; n: string }[];
    const key = (a: number, pr: number, g: number | null) => `${a}:${pr}:${g ?? ''}`;
    const byKey = new Map<string, Record<string, number>>();
    for (const r of reasons) {
      const k = key(r.area_id, r.programme_id, r.gateway_id);
      byKey.set(k, { ...(byKey.get(k) ?? {}), [r.reason ?? 'UNKNOWN']: Number(r.n) });
    }
    return {
      month: q.month,
      rows: rows.map((r) => ({
        areaId: Number(r.area_id),
        areaName: r.area_name,
        programmeId: Number(r.programme_id),
        gatewayId: r.gateway_id === null ? null : Number(r.gateway_id),
        gatewayName: r.gateway_name,
        messages: Number(r.messages),
        segments: Number(r.segments),
        cost: Number(r.cost),
        delivered: Number(r.delivered),
        failed: Number(r.failed),
        failedByReason: byKey.get(key(r.area_id, r.programme_id, r.gateway_id)) ?? {},
      })),
    };
  }

  private async visibleBeneficiary(p: Principal, beneficiaryId: string): Promise<void> {
    const [b] = (await this.ds.query('SELECT a.path FROM beneficiaries b JOIN areas a ON a.id = b.area_id WHERE b.id = ?', [
      beneficiaryId,
    ])) as { path: string }[];
    if (!b) throw notFound('BENEFICIARY_NOT_FOUND', `no beneficiary with id ${beneficiaryId}`);
    assertVisible(p, b.path, 'BENEFICIARY_NOT_FOUND', `no beneficiary with id ${beneficiaryId}`);
  }
}

export interface CostRow {
  areaId: number;
  areaName: string;
  programmeId: number;
  gatewayId: number | null;
  gatewayName: string | null;
  messages: number;
  segments: number;
  cost: number;
  delivered: number;
  failed: number;
  failedByReason: Record<string, number>;
}

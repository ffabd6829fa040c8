import type { DataSource, EntityManager } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { nearestPoint, type NearestPoint } from '../network';
import { e164, smsAmount, smsMonth, type TemplateValues } from './notification-events';

/** What a message is rendered from: the recipient's own facts, read when the message is claimed. */
export interface RenderFacts {
  beneficiaryId: string;
  fullName: string;
  /** E.164, or null when the roll holds no usable mobile number. */
  to: string | null;
  hasPhone: boolean;
  optedOut: boolean;
  areaId: number;
  amount: number | null;
  period: number | null;
  channel: string | null;
  operatorCode: string | null;
  /** The last four digits of the account or wallet id: all a message may show of it. */
  accountLast4: string | null;
  /** The payment's status as the message is claimed (null without a payment): a reminder is for one still to be paid. */
  paymentStatus: string | null;
}

interface FactsRow {
  seq?: string;
  beneficiary_id: string;
  full_name: string;
  phone_enc: Buffer | null;
  opted_out: number;
  area_id: number;
  amount: string | null;
  period: number | null;
  channel: string | null;
  bank_bin: string | null;
  wallet_provider: string | null;
  account_enc: Buffer | null;
  wallet_enc: Buffer | null;
  payment_status?: string | null;
}

const PAYMENT_FACTS = `SELECT p.seq, b.id AS beneficiary_id, b.full_name, b.phone_enc, (o.beneficiary_id IS NOT NULL) AS opted_out, p.area_id,
    p.amount, p.period, p.channel, p.bank_bin, p.wallet_provider, p.account_enc, p.wallet_enc, p.status AS payment_status
  FROM payments p JOIN beneficiaries b ON b.id = p.beneficiary_id LEFT JOIN notification_opt_outs o ON o.beneficiary_id = b.id`;

function toFacts(r: FactsRow, cipher: DataCipher): RenderFacts {
  const sealed = r.channel === 'WALLET' ? r.wallet_enc : r.account_enc;
  let last4: string | null = null;
  if (sealed) {
    try {
      last4 =
        cipher
          .decrypt(sealed, r.channel === 'WALLET' ? 'wallet' : 'account')
          .replace(/\D/g, '')
          .slice(-4) || null;
    } catch {
      last4 = null;
    }
  }
  let to: string | null = null;
  if (r.phone_enc) {
    try {
      to = e164(cipher.decrypt(r.phone_enc, 'phone'));
    } catch {
      to = null;
    }
  }
  return {
    beneficiaryId: String(r.beneficiary_id),
    fullName: r.full_name,
    to,
    hasPhone: r.phone_enc !== null,
    optedOut: Number(r.opted_out) === 1,
    areaId: Number(r.area_id),
    amount: r.amount === null ? null : Number(r.amount),
    period: r.period === null ? null : Number(r.period),
    channel: r.channel,
    operatorCode: r.channel === 'BANK' ? r.bank_bin : r.channel === 'WALLET' ? r.wallet_provider : null,
    accountLast4: last4,
    paymentStatus: r.payment_status ?? null,
  };
}

/**
 * Facts of a recipient for a payment (batch, seq) or, without one, for an enrolment of a programme: a payment's
 * frozen amount, month and destination, else the enrolment's destination.
 */
export async function renderFacts(
  db: DataSource | EntityManager,
  cipher: DataCipher,
  q: { beneficiaryId: string; programmeId: number; batchId: string | null; paymentSeq: string | null },
): Promise<RenderFacts | null> {
  if (q.batchId !== null && q.paymentSeq !== null) {
    return (await paymentFacts(db, cipher, q.batchId, [q.paymentSeq])).get(String(q.paymentSeq)) ?? null;
  }
  const [r] = (await db.query(
    `SELECT b.id AS beneficiary_id, b.full_name, b.phone_enc, (o.beneficiary_id IS NOT NULL) AS opted_out, b.area_id, NULL AS amount, NULL AS period,
       e.channel, e.bank_bin, e.wallet_provider, e.account_enc, e.wallet_enc
     FROM beneficiaries b LEFT JOIN enrolments e ON e.beneficiary_id = b.id AND e.programme_id = ?
       LEFT JOIN notification_opt_outs o ON o.beneficiary_id = b.id
     WHERE b.id = ?`,
    [q.programmeId, q.beneficiaryId],
  )) as FactsRow[];
  return r ? toFacts(r, cipher) : null;
}

/** The facts of many payments of one batch in one query (the primary key's range), by seq. */
export async function paymentFacts(
  db: DataSource | EntityManager,
  cipher: DataCipher,
  batchId: string,
  seqs: string[],
): Promise<Map<string, RenderFacts>> {
  const out = new Map<string, RenderFacts>();
  if (seqs.length === 0) return out;
  const rows = (await db.query(`${PAYMENT_FACTS} WHERE p.batch_id = ? AND p.seq IN (${seqs.map(() => '?').join(', ')})`, [
    batchId,
    ...seqs,
  ])) as FactsRow[];
  for (const r of rows) out.set(String(r.seq), toFacts(r, cipher));
  return out;
}

/**
 * The placeholders' values for these facts; {diem_rut} only when the template names it, its lookup shared through
 * `points` (operator and commune) by the messages rendered together.
 */
export async function valuesOf(
  db: DataSource | EntityManager,
  f: RenderFacts,
  hotline: string,
  wantsPoint: boolean,
  points: Map<string, Promise<NearestPoint | null>> = new Map(),
): Promise<TemplateValues> {
  const values: TemplateValues = {
    ten: f.fullName,
    hotline,
    ...(f.period !== null ? { thang: smsMonth(f.period) } : {}),
    ...(f.amount !== null ? { so_tien: smsAmount(f.amount) } : {}),
    ...(f.accountLast4 ? { tk_cuoi: f.accountLast4 } : {}),
  };
  if (wantsPoint && f.operatorCode && (f.channel === 'BANK' || f.channel === 'WALLET')) {
    const operatorType = f.channel === 'BANK' ? 'bank' : 'wallet';
    const key = `${operatorType}:${f.operatorCode}:${f.areaId}`;
    let point = points.get(key);
    if (!point) {
      point = nearestPoint(db, { operatorType, operatorCode: f.operatorCode, areaId: f.areaId });
      points.set(key, point);
    }
    const p = await point;
    values.diem_rut = p ? `${p.name}, ${p.address}` : f.channel === 'BANK' ? 'chi nhánh, ATM của ngân hàng' : 'đại lý của ví';
  }
  return values;
}

/** A pay-point hand-over as a message tells it (paypoint_schedules, written by the payments component). */
export interface ScheduleFacts {
  id: string;
  /** YYYY-MM-DD */
  date: string;
  place: string;
  hours: string;
  papers: string;
  /** A newer revision of the same pay point's hand-over exists: this one is no longer true. */
  superseded: boolean;
}

interface ScheduleRow {
  id: string;
  handover_date: Date | string;
  place: string;
  hours: string;
  papers: string;
  superseded: number | string;
}

const SCHEDULE_FACTS = `SELECT s.id, s.handover_date, s.place, s.hours, s.papers,
    EXISTS (SELECT 1 FROM paypoint_schedules n WHERE n.batch_id = s.batch_id AND n.area_id = s.area_id AND n.revision > s.revision) AS superseded
  FROM paypoint_schedules s`;

const toSchedule = (r: ScheduleRow): ScheduleFacts => ({
  id: String(r.id),
  date: typeof r.handover_date === 'string' ? r.handover_date.slice(0, 10) : r.handover_date.toISOString().slice(0, 10),
  place: r.place,
  hours: r.hours,
  papers: r.papers,
  superseded: Number(r.superseded) === 1,
});

/** The hand-overs these messages tell, in one query, by id. */
export async function scheduleFacts(db: DataSource | EntityManager, ids: string[]): Promise<Map<string, ScheduleFacts>> {
  if (ids.length === 0) return new Map();
  const rows = (await db.query(`${SCHEDULE_FACTS} WHERE s.id IN (${ids.map(() => '?').join(', ')})`, ids)) as ScheduleRow[];
  return new Map(rows.map((r) => [String(r.id), toSchedule(r)]));
}

/** The hand-over in force for a batch's pay point in one commune, or null. */
export async function currentSchedule(db: DataSource | EntityManager, batchId: string, areaId: number): Promise<ScheduleFacts | null> {
  const [r] = (await db.query(`${SCHEDULE_FACTS} WHERE s.batch_id = ? AND s.area_id = ? ORDER BY s.revision DESC LIMIT 1`, [
    batchId,
    areaId,
  ])) as ScheduleRow[];
  return r ? toSchedule(r) : null;
}

/** {ngay} {dia_diem} {gio} {giay_to} of a hand-over; the date as an SMS writes it, 05/01/2027. */
export function scheduleValues(s: ScheduleFacts): TemplateValues {
  const [y, m, d] = s.date.split('-');
  return { ngay: `${d}/${m}/${y}`, dia_diem: s.place, gio: s.hours, giay_to: s.papers };
}

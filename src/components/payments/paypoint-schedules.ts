import type { DataSource, EntityManager } from 'typeorm';
import { conflict, invalid, notFound } from '../../platform/errors';
import { isDuplicateKey, likePrefix, marks } from '../../platform/db';
import { decodeCursor, finishPage, keysetWhere, orderBy, type KeyColumn, type Page } from '../../platform/http/pagination';
import { formatPeriod } from '../../platform/period';
import { areaPathScopeSql, assertVisible, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import type { BatchesService } from '../batches';

/** A hand-over may be set at most this far ahead: a pay point's round is within the month paid. */
export const MAX_HANDOVER_DAYS_AHEAD = 90;

export interface PayPointScheduleInput {
  /** YYYY-MM-DD, Asia/Ho_Chi_Minh. */
  date: string;
  place: string;
  hours: string;
  papers: string;
  /** The revision in force when the form was opened (0: none yet); a stale one is refused. */
  expectedRevision?: number | undefined;
}

export interface PayPointSchedule {
  batchId: string;
  areaId: number;
  revision: number;
  date: string;
  place: string;
  hours: string;
  papers: string;
  scheduledBy: string | null;
  scheduledAt: string;
}

interface Row {
  batch_id: string;
  area_id: number;
  revision: number;
  handover_date: Date | string;
  place: string;
  hours: string;
  papers: string;
  username: string | null;
  created_at: Date;
}

/** A DATE column as YYYY-MM-DD (the connection's time zone is UTC: a Date is that day's UTC midnight). */
const dateText = (d: Date | string): string => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

const toSchedule = (r: Row): PayPointSchedule => ({
  batchId: String(r.batch_id),
  areaId: Number(r.area_id),
  revision: Number(r.revision),
  date: dateText(r.handover_date),
  place: r.place,
  hours: r.hours,
  papers: r.papers,
  scheduledBy: r.username,
  scheduledAt: r.created_at.toISOString(),
});

/** Today in Asia/Ho_Chi_Minh (UTC+7, no daylight saving), YYYY-MM-DD. */
export const vnToday = (now: Date): string => new Date(now.getTime() + 7 * 3_600_000).toISOString().slice(0, 10);

/** A refusal of the date, named so that a form shows it beside the field. */
const dateRefused = (code: string, message: string) => invalid(code, `date: ${message}`, [{ path: 'date', message }]);

function checkDate(date: string, now: Date): void {
  const parsed = new Date(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) {
    throw dateRefused('INVALID_HANDOVER_DATE', `must be a real date YYYY-MM-DD, not "${date}"`);
  }
  const today = vnToday(now);
  if (date < today) throw dateRefused('HANDOVER_DATE_PAST', `${date} is in the past (today is ${today})`);
  const last = vnToday(new Date(now.getTime() + MAX_HANDOVER_DAYS_AHEAD * 86_400_000));
  if (date > last) {
    throw dateRefused('HANDOVER_DATE_TOO_FAR', `at most ${MAX_HANDOVER_DAYS_AHEAD} days ahead (${last})`);
  }
}

/** A hand-over in force as the list of a commune's hand-overs across batches shows it. */
export interface HandoverListing {
  batch: { id: string; period: string; status: string; programme: { id: number; code: string; name: string } };
  area: { id: number; code: string; name: string };
  revision: number;
  date: string;
  hours: string;
  place: string;
  papers: string;
  scheduledAt: string;
  /** Cash payments of the batch in the commune (included in the batch). */
  cashRecipients: number;
  /** Of them, paid at the pay point and recorded as not collected: the results recorded. */
  paid: number;
  notCollected: number;
  /** Recipients whose message about this revision the SMS gateway took (accepted, sent or delivered). */
  told: number;
  /** Recipients whose reminder of this revision, the day before, the SMS gateway took. */
  reminded: number;
}

export interface HandoverFilter {
  /** A commune, or a district or province meaning every commune under it; the caller's scope when absent. */
  areaId?: number | undefined;
  /** YYYY-MM-DD, from today (Asia/Ho_Chi_Minh) when absent. */
  from?: string | undefined;
  /** YYYY-MM-DD, inclusive; no end when absent. */
  to?: string | undefined;
}

interface ListingRow extends Omit<Row, 'username'> {
  id: string;
  area_code: string;
  area_name: string;
  period_from: number;
  batch_status: string;
  programme_id: number;
  programme_code: string;
  programme_name: string;
}

/** The listing's order: by day, then commune, then batch (unique per revision in force). */
const LISTING_KEYS: KeyColumn[] = [
  { expr: 's.handover_date', dir: 'ASC' },
  { expr: 'a.code', dir: 'ASC' },
  { expr: 's.area_id', dir: 'ASC' },
  { expr: 's.batch_id', dir: 'ASC' },
];

/** A date parameter of a query, refused naming it. */
function queryDate(name: 'from' | 'to', value: string): string {
  const parsed = new Date(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
    const message = `must be a real date YYYY-MM-DD, not "${value.slice(0, 40)}"`;
    throw invalid('INVALID_DATE', `${name}: ${message}`, [{ location: 'query', path: name, message }]);
  }
  return value;
}

const SELECT = `SELECT s.batch_id, s.area_id, s.revision, s.handover_date, s.place, s.hours, s.papers, u.username, s.created_at
  FROM paypoint_schedules s LEFT JOIN users u ON u.id = s.created_by`;

/** The revision in force of each pay point (commune) of a batch that has one. */
export async function currentSchedules(db: DataSource | EntityManager, batchId: string): Promise<Map<number, PayPointSchedule>> {
  const rows = (await db.query(
    `${SELECT} WHERE s.batch_id = ? AND s.revision = (SELECT MAX(s2.revision) FROM paypoint_schedules s2
       WHERE s2.batch_id = s.batch_id AND s2.area_id = s.area_id)`,
    [batchId],
  )) as Row[];
  return new Map(rows.map((r) => [Number(r.area_id), toSchedule(r)]));
}

/**
 * The hand-over of a released batch's cash payments at a pay point (paypoint_schedules, owned here): staff in scope
 * set its date, place, hours and papers; the recipients are told by SMS (the notifications component collects one
 * message per cash recipient of each revision). Every change is a new revision: a message already sent told the old
 * one, so the change is a new event with its own message, and one not yet sent is superseded by it.
 */
export class PayPointSchedules {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly batches: BatchesService,
  ) {}

  async history(p: Principal, batchId: string, areaId: number): Promise<PayPointSchedule[]> {
    const b = await this.batches.visibleRow(p, batchId);
    await this.visibleArea(p, areaId);
    const rows = (await this.ds.query(`${SELECT} WHERE s.batch_id = ? AND s.area_id = ? ORDER BY s.revision DESC`, [
      b.id,
      areaId,
    ])) as Row[];
    return rows.map(toSchedule);
  }

  /**
   * Sets (or changes) the hand-over of the batch's cash payments in one commune. The batch must be processing and
   * have cash payments there still to be paid; the date not before today nor too far ahead. The same values again
   * change nothing (no new revision, nobody told twice). Audited in the same transaction.
   */
  async schedule(
    actor: Actor,
    p: Principal,
    batchId: string,
    areaId: number,
    input: PayPointScheduleInput,
    now: Date = new Date(),
  ): Promise<PayPointSchedule & { changed: boolean }> {
    checkDate(input.date, now);
    const b = await this.batches.visibleRow(p, batchId);
    await this.visibleArea(p, areaId);
    if (b.status !== 'processing') {
      throw conflict('BATCH_NOT_PROCESSING', `batch ${b.id} is ${b.status}: a hand-over is set for a released batch`);
    }
    const [cash] = (await this.ds.query(
      `SELECT COUNT(*) AS n, SUM(p.status IN ('pending', 'sent')) AS open FROM payments p
       JOIN providers pv ON pv.id = p.provider_id AND pv.kind = 'file'
       WHERE p.batch_id = ? AND p.area_id = ? AND p.review = 'included'`,
      [b.id, areaId],
    )) as { n: string; open: string | null }[];
    if (Number(cash!.n) === 0) throw notFound('PAYPOINT_NOT_FOUND', `batch ${b.id} pays nobody in cash in area ${areaId}`);
    if (Number(cash!.open ?? 0) === 0) {
      throw conflict(
        'PAYPOINT_DONE',
        `every cash payment of batch ${b.id} in area ${areaId} has its result: there is nothing to hand over`,
      );
    }
    const values = { date: input.date, place: input.place.trim(), hours: input.hours.trim(), papers: input.papers.trim() };
    try {
      return await this.ds.transaction(async (em) => {
        const [before] = (await em.query(`${SELECT} WHERE s.batch_id = ? AND s.area_id = ? ORDER BY s.revision DESC LIMIT 1 FOR UPDATE`, [
          b.id,
          areaId,
        ])) as Row[];
        const prev = before ? toSchedule(before) : null;
        const revision = prev?.revision ?? 0;
        if (input.expectedRevision !== undefined && input.expectedRevision !== revision) {
          throw conflict('PAYPOINT_SCHEDULE_CHANGED', `the hand-over is at revision ${revision}, not ${input.expectedRevision}: reload it`);
        }
        if (
          prev &&
          prev.date === values.date &&
          prev.place === values.place &&
          prev.hours === values.hours &&
          prev.papers === values.papers
        ) {
          return { ...prev, changed: false };
        }
        await em.query(
          `INSERT INTO paypoint_schedules (batch_id, area_id, revision, handover_date, place, hours, papers, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [b.id, areaId, revision + 1, values.date, values.place, values.hours, values.papers, actor.userId],
        );
        await this.audit.record(em, actor, {
          action: 'batch.paypoint_schedule',
          entityType: 'batch',
          entityId: b.id,
          areaId,
          before: prev ? { revision: prev.revision, date: prev.date, place: prev.place, hours: prev.hours, papers: prev.papers } : null,
          after: { revision: revision + 1, ...values },
        });
        const [row] = (await em.query(`${SELECT} WHERE s.batch_id = ? AND s.area_id = ? AND s.revision = ?`, [
          b.id,
          areaId,
          revision + 1,
        ])) as Row[];
        return { ...toSchedule(row!), changed: true };
      });
    } catch (e) {
      // two saves of the same revision at once: one wins, the other is told to reload
      if (isDuplicateKey(e)) throw conflict('PAYPOINT_SCHEDULE_CHANGED', 'someone changed this hand-over at the same time: reload it');
      throw e;
    }
  }

  /**
   * The hand-overs in force in the caller's scope (or under one of its areas) between two days, across batches: one row
   * per batch and commune, by day then commune, keyset-paged; a batch outside the caller's scope is not shown (its
   * page would answer 404). The page's payments and messages are counted in two grouped queries: the payments of the
   * page's batches and communes, the messages of the page's revisions (by schedule_id).
   */
  async listInForce(
    p: Principal,
    f: HandoverFilter,
    page: { limit: number; cursor?: string | undefined },
    now: Date = new Date(),
  ): Promise<Page<HandoverListing>> {
    const from = f.from !== undefined ? queryDate('from', f.from) : vnToday(now);
    const to = f.to !== undefined ? queryDate('to', f.to) : null;
    if (to !== null && to < from) {
      const message = `must not be before from (${from})`;
      throw invalid('INVALID_DATE_RANGE', `to: ${message}`, [{ location: 'query', path: 'to', message }]);
    }
    const area = f.areaId !== undefined ? await this.visibleArea(p, f.areaId, 'areaId: ') : null;
    const conds = ['s.handover_date >= ?'];
    const params: unknown[] = [from];
    if (to !== null) {
      conds.push('s.handover_date <= ?');
      params.push(to);
    }
    if (area) {
      conds.push('a.path LIKE ?');
      params.push(likePrefix(area.path));
    }
    const communeScope = areaPathScopeSql(p, 'a.path');
    const batchScope = areaPathScopeSql(p, 'b.area_path');
    conds.push(communeScope.sql, batchScope.sql);
    params.push(...communeScope.params, ...batchScope.params);
    const after = keysetWhere(LISTING_KEYS, decodeCursor(page.cursor, LISTING_KEYS.length));
    const rows = (await this.ds.query(
      `SELECT s.id, s.batch_id, s.area_id, s.revision, s.handover_date, s.place, s.hours, s.papers, s.created_at,
         a.code AS area_code, a.name AS area_name, b.period_from, b.status AS batch_status,
         b.programme_id, pr.code AS programme_code, pr.name AS programme_name
       FROM paypoint_schedules s
       JOIN areas a ON a.id = s.area_id
       JOIN batches b ON b.id = s.batch_id
       JOIN programmes pr ON pr.id = b.programme_id
       WHERE ${conds.join(' AND ')} AND ${after.sql}
         AND s.revision = (SELECT MAX(s2.revision) FROM paypoint_schedules s2 WHERE s2.batch_id = s.batch_id AND s2.area_id = s.area_id)
       ORDER BY ${orderBy(LISTING_KEYS)} LIMIT ?`,
      [...params, ...after.params, page.limit + 1],
    )) as ListingRow[];
    const shown = rows.slice(0, page.limit);
    const cash = new Map<string, { n: number; paid: number; notCollected: number }>();
    const told = new Map<string, { told: number; reminded: number }>();
    if (shown.length) {
      const pairs = shown.map(() => '(p.batch_id = ? AND p.area_id = ?)').join(' OR ');
      const counts = (await this.ds.query(
        `SELECT p.batch_id, p.area_id, COUNT(*) AS n, SUM(p.status = 'succeeded') AS paid, SUM(p.status = 'failed') AS not_collected
         FROM payments p JOIN providers pv ON pv.id = p.provider_id AND pv.kind = 'file'
         WHERE p.review = 'included' AND (${pairs})
         GROUP BY p.batch_id, p.area_id`,
        shown.flatMap((r) => [r.batch_id, r.area_id]),
      )) as { batch_id: string; area_id: number; n: string; paid: string | null; not_collected: string | null }[];
      for (const c of counts) {
        cash.set(`${c.batch_id}:${c.area_id}`, { n: Number(c.n), paid: Number(c.paid ?? 0), notCollected: Number(c.not_collected ?? 0) });
      }
      const ids = shown.map((r) => String(r.id));
      const messages = (await this.ds.query(
        `SELECT schedule_id, event, COUNT(*) AS n FROM notification_messages
         WHERE schedule_id IN (${marks(ids.length)}) AND event IN ('paypoint_scheduled', 'paypoint_reminder')
           AND status IN ('accepted', 'sent', 'delivered')
         GROUP BY schedule_id, event`,
        ids,
      )) as { schedule_id: string; event: string; n: string }[];
      for (const m of messages) {
        const t = told.get(String(m.schedule_id)) ?? { told: 0, reminded: 0 };
        if (m.event === 'paypoint_reminder') t.reminded = Number(m.n);
        else t.told = Number(m.n);
        told.set(String(m.schedule_id), t);
      }
    }
    return finishPage(
      rows,
      page.limit,
      (r) => [dateText(r.handover_date), r.area_code, Number(r.area_id), String(r.batch_id)],
      (r) => {
        const c = cash.get(`${r.batch_id}:${r.area_id}`) ?? { n: 0, paid: 0, notCollected: 0 };
        const m = told.get(String(r.id)) ?? { told: 0, reminded: 0 };
        return {
          batch: {
            id: String(r.batch_id),
            period: formatPeriod(Number(r.period_from)),
            status: r.batch_status,
            programme: { id: Number(r.programme_id), code: r.programme_code, name: r.programme_name },
          },
          area: { id: Number(r.area_id), code: r.area_code, name: r.area_name },
          revision: Number(r.revision),
          date: dateText(r.handover_date),
          hours: r.hours,
          place: r.place,
          papers: r.papers,
          scheduledAt: r.created_at.toISOString(),
          cashRecipients: c.n,
          paid: c.paid,
          notCollected: c.notCollected,
          told: m.told,
          reminded: m.reminded,
        };
      },
    );
  }

  /** The area if the caller may see it, else 404 AREA_NOT_FOUND (an area outside the scope reveals nothing). */
  private async visibleArea(p: Principal, areaId: number, prefix = ''): Promise<{ path: string }> {
    const [a] = (await this.ds.query('SELECT path FROM areas WHERE id = ?', [areaId])) as { path: string }[];
    if (!a) throw notFound('AREA_NOT_FOUND', `${prefix}no area with id ${areaId}`);
    assertVisible(p, a.path, 'AREA_NOT_FOUND', `${prefix}no area with id ${areaId}`);
    return a;
  }
}

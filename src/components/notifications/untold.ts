import type { DataSource } from 'typeorm';
import { invalid, notFound } from '../../platform/errors';
import { areaPathScopeSql, assertVisible, type Principal } from '../../platform/security';
import { streamQuery, type AreaRef, type Cell, type ExportSource } from '../exports';
// the officers read the file beside the console: it says what the console says, in the same words
import vi from '../../web/features/notifications/messages.vi.json';

/** Who could not be told: the statuses in which a message will not reach its recipient. */
export const UNTOLD_STATUSES = ['skipped', 'refused', 'failed', 'dropped', 'review'] as const;
/**
 * Not sent, yet nobody is left untold: a changed hand-over's message of its own replaces it (SUPERSEDED); a reminder
 * of a payment that got its result before it went out has nothing left to remind (ALREADY_PAID, PAYMENT_CLOSED).
 */
const TOLD_OTHERWISE = "COALESCE(m.reason, '') NOT IN ('SUPERSEDED', 'ALREADY_PAID', 'PAYMENT_CLOSED')";
/** The reason a message is counted under: its own reason, or its status when it has none. */
export const REASON_OF = 'COALESCE(m.reason, m.status)';

/**
 * Every reason an untold message may be counted under that the service knows of: the codes it writes itself, the
 * gateway's refusals and final statuses of the SMS contract, and the statuses of a message without a reason. A
 * gateway may report a code of its own; one that a batch's messages carry is a reason of that batch too.
 */
export const UNTOLD_REASONS: readonly string[] = [
  'NO_MOBILE',
  'INVALID_NUMBER',
  'OPTED_OUT',
  'NO_RECIPIENT',
  'NO_SCHEDULE',
  'TEXT_TOO_LONG',
  'HANDOVER_PASSED',
  'REMINDER_LATE',
  'NOT_SENT_48H',
  'UNRESOLVED_48H',
  'REFERENCE_CONFLICT',
  'INVALID_SENDER',
  'INSUFFICIENT_BALANCE',
  'INVALID_REQUEST',
  'UNDELIVERABLE',
  'EXPIRED',
  'REJECTED',
  'BLOCKED_NUMBER',
  'NUMBER_NOT_IN_SERVICE',
  'CONTENT_REFUSED',
  ...UNTOLD_STATUSES,
];

/** What a reason filter may look like before it is looked up. */
export const REASON_CODE = /^[A-Za-z0-9_]{1,64}$/;

export interface UntoldFilter {
  reason?: string | undefined;
  areaId?: number | undefined;
}

/** A batch's untold messages as one caller may read them, filtered: the WHERE clauses of its three views. */
export interface UntoldScope {
  batchId: string;
  /** The area the rows come from: the commune or district asked for, else the batch's own area. */
  area: AreaRef;
  /** The list itself: scope, area and reason. */
  items: { sql: string; params: unknown[] };
  /** The counts by reason: scope and area, every reason. */
  counts: { sql: string; params: unknown[] };
  /** The communes with untold messages: the whole batch in scope. */
  communes: { sql: string; params: unknown[] };
}

const AREA_COLUMNS = 'a.id, a.code, a.name, a.path, a.depth';
const areaRef = (r: AreaRef): AreaRef => ({ id: Number(r.id), code: r.code, name: r.name, path: r.path, depth: Number(r.depth) });

/**
 * Checks a request for a batch's untold messages and builds its filters: the batch (404 BATCH_NOT_FOUND outside the
 * caller's scope, as a missing one), the area (404 AREA_NOT_FOUND likewise), the reason (400 UNKNOWN_REASON naming
 * the parameter when neither a reason the service knows nor one the batch's messages carry).
 */
export async function untoldScope(ds: DataSource, p: Principal, batchId: string, f: UntoldFilter): Promise<UntoldScope> {
  const [batch] = (await ds.query(`SELECT ${AREA_COLUMNS} FROM batches b JOIN areas a ON a.id = b.area_id WHERE b.id = ?`, [
    batchId,
  ])) as AreaRef[];
  if (!batch) throw notFound('BATCH_NOT_FOUND', `no batch with id ${batchId}`);
  assertVisible(p, batch.path, 'BATCH_NOT_FOUND', `no batch with id ${batchId}`);
  let area = areaRef(batch);
  if (f.areaId !== undefined) {
    const [a] = (await ds.query(`SELECT ${AREA_COLUMNS} FROM areas a WHERE a.id = ?`, [f.areaId])) as AreaRef[];
    if (!a) throw notFound('AREA_NOT_FOUND', `areaId: no area with id ${f.areaId}`);
    assertVisible(p, a.path, 'AREA_NOT_FOUND', `areaId: no area with id ${f.areaId}`);
    area = areaRef(a);
  }
  const scope = areaPathScopeSql(p, 'a.path');
  const statuses = UNTOLD_STATUSES.map(() => '?').join(', ');
  const whole = {
    sql: `m.batch_id = ? AND m.status IN (${statuses}) AND ${TOLD_OTHERWISE} AND ${scope.sql}`,
    params: [batchId, ...UNTOLD_STATUSES, ...scope.params] as unknown[],
  };
  if (f.reason !== undefined && !UNTOLD_REASONS.includes(f.reason)) {
    const [carried] = (await ds.query(
      `SELECT 1 AS n FROM notification_messages m JOIN areas a ON a.id = m.area_id WHERE ${whole.sql} AND ${REASON_OF} = ? LIMIT 1`,
      [...whole.params, f.reason],
    )) as unknown[];
    if (!carried) {
      throw invalid('UNKNOWN_REASON', `reason: ${f.reason} is no reason a message of this batch could not be told for`, [
        { location: 'query', path: 'reason', message: 'not a reason of the counts' },
      ]);
    }
  }
  const inArea = f.areaId === undefined ? whole : { sql: `${whole.sql} AND a.path LIKE ?`, params: [...whole.params, `${area.path}%`] };
  const items = f.reason === undefined ? inArea : { sql: `${inArea.sql} AND ${REASON_OF} = ?`, params: [...inArea.params, f.reason] };
  return { batchId, area, items, counts: inArea, communes: whole };
}

export interface UntoldRow {
  reference: string;
  event: string;
  status: string;
  reason: string | null;
  beneficiary_id: string;
  full_name: string;
  area_id: number;
  area_name: string;
  created_at: Date;
}

/** The columns of the list, in the order of the API's pages and of the export. */
export const UNTOLD_ROW_COLUMNS =
  'm.reference, m.event, m.status, m.reason, m.beneficiary_id, b.full_name, m.area_id, a.name AS area_name, m.created_at';
export const UNTOLD_FROM = 'notification_messages m JOIN beneficiaries b ON b.id = m.beneficiary_id JOIN areas a ON a.id = m.area_id';

/** The export's header, in Vietnamese: the people who go and tell the recipients read it. */
export const UNTOLD_EXPORT_COLUMNS = ['Xã/phường', 'Họ và tên', 'Sự kiện', 'Trạng thái', 'Lý do', 'Mã tin nhắn', 'Ngày'] as const;

const labels = vi as Record<string, string>;
/** The console's Vietnamese label of a code, or the code itself where nobody worded it yet (as the console shows it). */
const label = (prefix: string, code: string): string => labels[`notifications.${prefix}.${code}`] ?? code;

/** dd/MM/yyyy in Vietnam's time (UTC+7, no daylight saving), as the console writes a date. */
export function vnDate(d: Date): string {
  const iso = new Date(d.getTime() + 7 * 3600_000).toISOString();
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
}

/** One line of the export: the commune, the name, and in words what the message was, what became of it and why. */
export function untoldLine(r: UntoldRow): Cell[] {
  return [
    r.area_name,
    r.full_name,
    label('event', r.event),
    label('status', r.status),
    r.reason === null ? label('status', r.status) : label('reason', r.reason),
    r.reference,
    vnDate(r.created_at),
  ];
}

/**
 * The list as an export, in the pages' order (by reference), streamed: names and words only, never a number (no phone,
 * national ID or account is read).
 */
export function untoldSource(ds: DataSource, s: UntoldScope): ExportSource {
  let rowCount = 0;
  const byReason: Record<string, number> = {};
  return {
    sheet: 'Chưa nhận được tin',
    columns: UNTOLD_EXPORT_COLUMNS,
    totals: () => ({ rowCount, totalAmount: null, detail: { batchId: s.batchId, byReason } }),
    rows: async function* () {
      const runner = ds.createQueryRunner();
      await runner.connect();
      try {
        const rows = streamQuery<UntoldRow>(
          runner,
          `SELECT ${UNTOLD_ROW_COLUMNS} FROM ${UNTOLD_FROM} WHERE ${s.items.sql} ORDER BY m.reference`,
          s.items.params,
        );
        for await (const batch of rows) {
          yield batch.map((r) => {
            rowCount += 1;
            const reason = r.reason ?? r.status;
            byReason[reason] = (byReason[reason] ?? 0) + 1;
            return untoldLine(r);
          });
        }
      } finally {
        await runner.release();
      }
    },
  };
}

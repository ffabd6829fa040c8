import type { DataSource, EntityManager } from 'typeorm';
import { abortableQuery, likePrefix } from '../../platform/db';
import { invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, keysetWhere, type Page } from '../../platform/http/pagination';
import { formatPeriod, type Period } from '../../platform/period';
import type { Principal } from '../../platform/security';
import type { BatchStatus } from './batch-states';
import type { LeftOutReason } from './batch-generation';
import {
  BATCH_SELECT,
  ITEM_COLUMNS,
  toBatchView,
  toItemView,
  type BatchKind,
  type BatchRow,
  type BatchView,
  type ItemReview,
  type ItemRow,
  type ItemView,
} from './batch-views';

/** WHERE conditions (over `payments p` joined to its area as `ia`) for an item filter. */
/** `areaIds`: the subtree of `f.areaId` (subtreeIds), null for no area filter. */
export function itemConditions(batchId: string, f: ItemFilter, areaIds: number[] | null): { conds: string[]; params: unknown[] } {
  const conds = ['p.batch_id = ?'];
  const params: unknown[] = [batchId];
  const add = (sql: string, ...values: unknown[]) => {
    conds.push(sql);
    params.push(...values);
  };
  if (f.review) add('p.review = ?', f.review);
  if (f.channel) add('p.channel = ?', f.channel);
  if (f.bankCode) add('p.bank_bin = ?', f.bankCode);
  if (f.walletProvider) add('p.wallet_provider = ?', f.walletProvider);
  if (f.flagged !== undefined) add('p.flagged = ?', f.flagged ? 1 : 0);
  if (f.status) add('p.status = ?', f.status);
  if (f.period !== undefined) add('p.period = ?', f.period);
  if (areaIds) {
    if (!areaIds.length) conds.push('1=0');
    else add(`p.area_id IN (${areaIds.map(() => '?').join(', ')})`, ...areaIds);
  }
  return { conds, params };
}

/** Ids of an area and every area under it (a province has a few hundred: they go in an IN list, read in index order). */
export async function subtreeIds(ds: DataSource, areaId: number | undefined): Promise<number[] | null> {
  if (areaId === undefined) return null;
  const rows = (await ds.query("SELECT s.id FROM areas r JOIN areas s ON s.path LIKE CONCAT(r.path, '%') WHERE r.id = ?", [areaId])) as {
    id: number;
  }[];
  return rows.map((r) => r.id);
}

export interface BatchFilter {
  status?: BatchStatus | undefined;
  programmeId?: number | undefined;
  period?: Period | undefined;
  kind?: BatchKind | undefined;
  areaId?: number | undefined;
}

export interface ItemFilter {
  review?: ItemReview | undefined;
  channel?: string | undefined;
  bankCode?: string | undefined;
  walletProvider?: string | undefined;
  areaId?: number | undefined;
  flagged?: boolean | undefined;
  status?: string | undefined;
  period?: Period | undefined;
}

export interface Totals {
  included: { count: number; amount: number };
  held: { count: number; amount: number };
  excluded: { count: number; amount: number };
  flagged: { count: number; amount: number };
  byArea: { areaId: number; areaCode: string; areaName: string; count: number; amount: number }[];
  byChannel: { channel: string; count: number; amount: number }[];
  byBank: { channel: string; code: string; name: string | null; count: number; amount: number }[];
}

export interface LeftOutView {
  enrolmentId: string;
  beneficiaryId: string;
  fullName: string | null;
  period: string;
  reason: LeftOutReason;
  otherBatchId: string | null;
  otherReference: string | null;
  owed: number | null;
  paidInLivePayments: number | null;
  retriedReference: string | null;
  retriedStatus: 'failed' | 'returned' | null;
  detail: string | null;
}

export interface TransitionView {
  id: string;
  from: BatchStatus | null;
  to: BatchStatus;
  reason: string | null;
  actor: string;
  version: number;
  itemCount: number;
  totalAmount: number;
  occurredAt: string;
}

function idParam(id: string): string {
  if (!/^\d{1,19}$/.test(id)) throw notFound('BATCH_NOT_FOUND', `no batch with id ${id}`);
  return id;
}

/** What a batch is and holds, as the caller may see it: the batch, its items, their totals, who was left out, its history. */
export class BatchReads {
  constructor(private readonly ds: DataSource) {}

  async row(em: EntityManager, id: string, lock = false): Promise<BatchRow> {
    if (lock) await em.query('SELECT id FROM batches WHERE id = ? FOR UPDATE', [idParam(id)]);
    const [r] = (await em.query(`${BATCH_SELECT} WHERE bt.id = ?`, [idParam(id)])) as BatchRow[];
    if (!r) throw notFound('BATCH_NOT_FOUND', `no batch with id ${id}`);
    return r;
  }

  /** A batch the caller may see: its area inside the caller's scope (404 otherwise, so ids outside reveal nothing). */
  async visible(p: Principal, id: string, em: EntityManager = this.ds.manager, lock = false): Promise<BatchRow> {
    const r = await this.row(em, id, lock);
    if (p.areaPath && !r.area_path.startsWith(p.areaPath)) throw notFound('BATCH_NOT_FOUND', `no batch with id ${id}`);
    return r;
  }

  /** The batch row if the caller may see it (for exports). */
  async visibleRow(p: Principal, id: string): Promise<BatchRow> {
    return this.visible(p, id);
  }

  async get(p: Principal, id: string): Promise<BatchView> {
    return toBatchView(await this.visible(p, id));
  }

  async list(
    p: Principal,
    f: BatchFilter,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<BatchView> & { totals: { count: number; itemCount: number; totalAmount: number } }> {
    const conds: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      conds.push(sql);
      params.push(...values);
    };
    if (p.areaPath) {
      conds.push('bt.area_path LIKE ?');
      params.push(likePrefix(p.areaPath));
    }
    if (f.status) add('bt.status = ?', f.status);
    if (f.programmeId !== undefined) add('bt.programme_id = ?', f.programmeId);
    if (f.kind) add('bt.kind = ?', f.kind);
    if (f.period !== undefined) add('bt.period_from <= ? AND bt.period_to >= ?', f.period, f.period);
    if (f.areaId !== undefined) {
      conds.push("bt.area_path LIKE (SELECT CONCAT(fa.path, '%') FROM areas fa WHERE fa.id = ?)");
      params.push(f.areaId);
    }
    const where = conds.length ? conds.join(' AND ') : '1=1';
    const after = decodeCursor(page.cursor, 1);
    const ks = keysetWhere([{ expr: 'bt.id', dir: 'DESC' }], after);
    const rows = (await this.ds.query(`${BATCH_SELECT} WHERE ${where} AND ${ks.sql} ORDER BY bt.id DESC LIMIT ${page.limit + 1}`, [
      ...params,
      ...ks.params,
    ])) as BatchRow[];
    const [t] = (await this.ds.query(
      `SELECT COUNT(*) AS n, COALESCE(SUM(bt.item_count), 0) AS items, COALESCE(SUM(bt.total_amount), 0) AS amount FROM batches bt WHERE ${where}`,
      params,
    )) as { n: string; items: string; amount: string }[];
    return {
      ...finishPage(rows, page.limit, (r) => [r.id], toBatchView),
      totals: { count: Number(t!.n), itemCount: Number(t!.items), totalAmount: Number(t!.amount) },
    };
  }

  async items(p: Principal, id: string, f: ItemFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<ItemView>> {
    const b = await this.visible(p, id);
    const { conds, params } = itemConditions(b.id, f, await subtreeIds(this.ds, f.areaId));
    const after = decodeCursor(page.cursor, 1);
    if (after && (!Number.isSafeInteger(after[0]) || (after[0] as number) < 0)) {
      throw invalid('INVALID_CURSOR', 'cursor is not one this list issued; start again without it', { location: 'query', path: 'cursor' });
    }
    const ks = keysetWhere([{ expr: 'p.seq', dir: 'ASC' }], after);
    const rows = (await this.ds.query(
      `SELECT ${ITEM_COLUMNS} FROM payments p FORCE INDEX (PRIMARY) STRAIGHT_JOIN areas ia FORCE INDEX (PRIMARY) ON ia.id = p.area_id
       WHERE ${conds.join(' AND ')} AND ${ks.sql} ORDER BY p.seq LIMIT ${page.limit + 1}`,
      [...params, ...ks.params],
    )) as ItemRow[];
    return finishPage(rows, page.limit, (r) => [Number(r.seq)], toItemView);
  }

  /** One scan of the batch's payments grouped finely (review × area × channel × bank/wallet), summed up here. */
  /** `signal` (the client leaving) stops the grouped read on the database: it reads every item of the batch. */
  async totals(p: Principal, id: string, signal: AbortSignal = new AbortController().signal): Promise<Totals> {
    const b = await this.visible(p, id);
    const groups = (await abortableQuery(
      this.ds,
      signal,
      `SELECT review, area_id, channel, COALESCE(bank_bin, wallet_provider, '') AS code, COUNT(*) AS n, SUM(amount) AS amount,
         SUM(flagged) AS flagged, SUM(CASE WHEN flagged = 1 THEN amount ELSE 0 END) AS flagged_amount
       FROM payments WHERE batch_id = ? GROUP BY review, area_id, channel, COALESCE(bank_bin, wallet_provider, '')`,
      [b.id],
    )) as {
      review: ItemReview;
      area_id: number;
      channel: string;
      code: string;
      n: string;
      amount: string;
      flagged: string;
      flagged_amount: string;
    }[];
    const out: Totals = {
      included: { count: 0, amount: 0 },
      held: { count: 0, amount: 0 },
      excluded: { count: 0, amount: 0 },
      flagged: { count: 0, amount: 0 },
      byArea: [],
      byChannel: [],
      byBank: [],
    };
    const sum = <K>(m: Map<K, { count: number; amount: number }>, k: K, n: number, amount: number) => {
      const c = m.get(k) ?? { count: 0, amount: 0 };
      c.count += n;
      c.amount += amount;
      m.set(k, c);
    };
    const perArea = new Map<number, { count: number; amount: number }>();
    const perChannel = new Map<string, { count: number; amount: number }>();
    const perBank = new Map<string, { count: number; amount: number }>();
    for (const g of groups) {
      const n = Number(g.n);
      const amount = Number(g.amount);
      out[g.review].count += n;
      out[g.review].amount += amount;
      if (g.review !== 'excluded') {
        out.flagged.count += Number(g.flagged);
        out.flagged.amount += Number(g.flagged_amount);
      }
      if (g.review !== 'included') continue;
      sum(perArea, g.area_id, n, amount);
      sum(perChannel, g.channel, n, amount);
      if (g.code) sum(perBank, `${g.channel}:${g.code}`, n, amount);
    }
    const names = new Map<string, string>();
    for (const r of (await this.ds.query('SELECT bin AS code, short_name AS name FROM banks')) as { code: string; name: string }[])
      names.set(`BANK:${r.code}`, r.name);
    for (const r of (await this.ds.query('SELECT code, name FROM wallet_providers')) as { code: string; name: string }[])
      names.set(`WALLET:${r.code}`, r.name);
    if (perArea.size) {
      const ids = [...perArea.keys()];
      const areas = (await this.ds.query(
        `SELECT id, code, name FROM areas WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY path`,
        ids,
      )) as {
        id: number;
        code: string;
        name: string;
      }[];
      out.byArea = areas.map((a) => ({ areaId: a.id, areaCode: a.code, areaName: a.name, ...perArea.get(a.id)! }));
    }
    out.byChannel = [...perChannel].map(([channel, c]) => ({ channel, ...c })).sort((x, y) => x.channel.localeCompare(y.channel));
    out.byBank = [...perBank]
      .map(([key, c]) => {
        const [channel, code] = key.split(':') as [string, string];
        return { channel, code, name: names.get(key) ?? null, ...c };
      })
      .sort((x, y) => x.channel.localeCompare(y.channel) || x.code.localeCompare(y.code));
    return out;
  }

  async leftOut(p: Principal, id: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<LeftOutView>> {
    const b = await this.visible(p, id);
    const after = decodeCursor(page.cursor, 2);
    const ks = keysetWhere(
      [
        { expr: 'l.enrolment_id', dir: 'ASC' },
        { expr: 'l.period', dir: 'ASC' },
      ],
      after,
    );
    const rows = (await this.ds.query(
      `SELECT l.*, bn.full_name FROM batch_left_out l LEFT JOIN beneficiaries bn ON bn.id = l.beneficiary_id
       WHERE l.batch_id = ? AND ${ks.sql} ORDER BY l.enrolment_id, l.period LIMIT ${page.limit + 1}`,
      [b.id, ...ks.params],
    )) as {
      enrolment_id: string;
      beneficiary_id: string;
      full_name: string | null;
      period: number;
      reason: LeftOutReason;
      other_batch_id: string | null;
      other_reference: string | null;
      detail: string | null;
      owed: string | number | null;
      paid_live: string | number | null;
      retried_reference: string | null;
      retried_status: 'failed' | 'returned' | null;
    }[];
    return finishPage(
      rows,
      page.limit,
      (r) => [r.enrolment_id, r.period],
      (r) => ({
        enrolmentId: String(r.enrolment_id),
        beneficiaryId: String(r.beneficiary_id),
        fullName: r.full_name,
        period: formatPeriod(r.period),
        reason: r.reason,
        otherBatchId: r.other_batch_id === null ? null : String(r.other_batch_id),
        otherReference: r.other_reference,
        owed: r.owed === null ? null : Number(r.owed),
        paidInLivePayments: r.paid_live === null ? null : Number(r.paid_live),
        retriedReference: r.retried_reference,
        retriedStatus: r.retried_status,
        detail: r.detail,
      }),
    );
  }

  async transitions(p: Principal, id: string): Promise<TransitionView[]> {
    const b = await this.visible(p, id);
    const rows = (await this.ds.query('SELECT * FROM batch_transitions WHERE batch_id = ? ORDER BY id', [b.id])) as {
      id: string;
      from_status: BatchStatus | null;
      to_status: BatchStatus;
      reason: string | null;
      actor_username: string;
      version: number;
      item_count: number;
      total_amount: string;
      occurred_at: Date;
    }[];
    return rows.map((r) => ({
      id: String(r.id),
      from: r.from_status,
      to: r.to_status,
      reason: r.reason,
      actor: r.actor_username,
      version: r.version,
      itemCount: r.item_count,
      totalAmount: Number(r.total_amount),
      occurredAt: r.occurred_at.toISOString(),
    }));
  }
}

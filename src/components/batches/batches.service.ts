import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { abortableQuery } from '../../platform/db/abortable-query';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, keysetWhere, type Page } from '../../platform/http/pagination';
import { formatPeriod, periodsBetween, type Period } from '../../platform/period';
import { assertAreaScope, hasRole, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { levelInForce } from '../programmes/programmes.service';
import {
  generateArrears,
  generateRegular,
  generateRetry,
  type GenerationScope,
  type LeftOutReason,
  type MonthLevel,
} from './batch-generation';
import { assertCan, assertEditable, type BatchAction, type BatchStatus } from './batch-states';
import {
  BATCH_SELECT,
  ITEM_COLUMNS,
  toBatchView,
  toItemView,
  vnTime,
  type BatchKind,
  type BatchRow,
  type BatchView,
  type ItemReview,
  type ItemRow,
  type ItemView,
} from './batch-views';
import { isDuplicateKey, likePrefix, marks, withNamedLock } from '../../platform/db';

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

/** Longest range of months one arrears batch may cover. */
export const MAX_ARREARS_MONTHS = 36;
/** How far ahead a batch may be scheduled. */
export const MAX_SCHEDULE_DAYS = 90;
/** Items one review request may change. */
export const MAX_REVIEW_ITEMS = 1000;

export interface NewBatch {
  programmeId: number;
  kind: BatchKind;
  period: Period;
  /** arrears only: the last month of the range (default: `period`) */
  periodTo?: Period | undefined;
  areaId: number;
  title?: string | null | undefined;
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

export interface ReviewInput {
  action: 'exclude' | 'hold' | 'include';
  seqs: number[];
  reason?: string | null | undefined;
}

export interface Approval {
  itemCount: number;
  totalAmount: number;
  version?: number | undefined;
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

/** What the service tells the worker: checks to run, releases to schedule. */
export interface BatchHooks {
  accountCheckNeeded(batchId: string): Promise<void>;
  releaseScheduled(batchId: string, at: Date): Promise<void>;
}

const LOCK_WAIT_S = 60;

function idParam(id: string): string {
  if (!/^\d{1,19}$/.test(id)) throw notFound('BATCH_NOT_FOUND', `no batch with id ${id}`);
  return id;
}

/** `B` + the first month + 8 random base-32 characters: the prefix of every payment reference of the batch. */
function newPrefix(period: Period): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(8);
  let s = '';
  for (const b of bytes) s += alphabet[b % 32];
  return `B${period}${s}`;
}

/**
 * Payment batches: generation from the roll, review, the maker-checker state
 * machine and scheduling. Every change runs in one transaction with its
 * transition record and audit event; the batch row is locked (FOR UPDATE) and
 * moved by a conditional update, so two people acting at once cannot both win.
 */
export class BatchesService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly hooks: BatchHooks,
  ) {}

  // ---------------------------------------------------------------- reading

  private async row(em: EntityManager, id: string, lock = false): Promise<BatchRow> {
    if (lock) await em.query('SELECT id FROM batches WHERE id = ? FOR UPDATE', [idParam(id)]);
    const [r] = (await em.query(`${BATCH_SELECT} WHERE bt.id = ?`, [idParam(id)])) as BatchRow[];
    if (!r) throw notFound('BATCH_NOT_FOUND', `no batch with id ${id}`);
    return r;
  }

  /** A batch the caller may see: its area inside the caller's scope (404 otherwise, so ids outside reveal nothing). */
  private async visible(p: Principal, id: string, em: EntityManager = this.ds.manager, lock = false): Promise<BatchRow> {
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

  // ---------------------------------------------------------------- creating

  /**
   * Snapshots every due enrolment of the programme in the area subtree into
   * payments, set-based, in one transaction. Generation is serialised per
   * programme (a named lock) so two overlapping batches cannot race; the
   * unique key on live payments holds even without the lock.
   */
  async create(actor: Actor, p: Principal, input: NewBatch): Promise<BatchView> {
    const [area] = (await this.ds.query('SELECT id, path, active FROM areas WHERE id = ?', [input.areaId])) as {
      id: number;
      path: string;
      active: number;
    }[];
    if (!area) throw invalid('AREA_NOT_FOUND', `areaId: no area with id ${input.areaId}`, { path: 'areaId' });
    assertAreaScope(p, area.path, 'areaId');
    const [prog] = (await this.ds.query('SELECT id, code, frequency, active FROM programmes WHERE id = ?', [input.programmeId])) as {
      id: number;
      code: string;
      frequency: 'monthly' | 'one_off';
      active: number;
    }[];
    if (!prog) throw invalid('PROGRAMME_NOT_FOUND', `programmeId: no programme with id ${input.programmeId}`, { path: 'programmeId' });
    if (!prog.active) throw conflict('PROGRAMME_INACTIVE', `programme ${prog.code} is not active`);
    const periodTo = input.kind === 'arrears' ? (input.periodTo ?? input.period) : input.period;
    if (input.kind === 'regular' && input.periodTo !== undefined && input.periodTo !== input.period) {
      throw invalid('PERIOD_RANGE_NOT_ALLOWED', 'periodTo: a regular batch pays one month; only arrears batches cover a range', {
        path: 'periodTo',
      });
    }
    if (periodTo < input.period) throw invalid('PERIOD_RANGE_INVALID', 'periodTo: must not be before period', { path: 'periodTo' });
    const months = periodsBetween(input.period, periodTo);
    if (months.length > MAX_ARREARS_MONTHS) {
      throw invalid('PERIOD_RANGE_TOO_LONG', `periodTo: an arrears batch covers at most ${MAX_ARREARS_MONTHS} months`, {
        path: 'periodTo',
      });
    }
    const levels = (
      (await this.ds.query('SELECT effective_from, amount FROM programme_base_levels WHERE programme_id = ?', [prog.id])) as {
        effective_from: number;
        amount: string;
      }[]
    ).map((l) => ({ effectiveFrom: l.effective_from, amount: Number(l.amount) }));
    const monthLevels: MonthLevel[] = [];
    for (const m of months) {
      const l = levelInForce(levels, m);
      if (!l)
        throw conflict('NO_BASE_LEVEL', `programme ${prog.code} has no base level in force in ${formatPeriod(m)}`, {
          period: formatPeriod(m),
        });
      monthLevels.push({ period: m, baseLevel: l.amount });
    }

    return this.generate(
      actor,
      {
        kind: input.kind,
        programme: prog,
        periodFrom: input.period,
        periodTo,
        area,
        title: input.title ?? null,
        retryOf: null,
      },
      (em, scope) =>
        input.kind === 'regular'
          ? generateRegular(em, scope, input.period, monthLevels[0]!.baseLevel)
          : generateArrears(em, scope, monthLevels),
    );
  }

  /**
   * A new draft batch paying again what another batch's payments failed to pay
   * (failed, or returned), to the destination the roll holds now (corrected
   * meanwhile), for the same amount and month; it goes through review and
   * approval like any batch. A payment whose month is already live elsewhere,
   * or whose enrolment is no longer active, is left out with that reason.
   */
  async createRetry(actor: Actor, p: Principal, originalId: string, title?: string | null): Promise<BatchView> {
    const o = await this.visible(p, originalId);
    assertAreaScope(p, o.area_path, 'this batch');
    if (o.status !== 'completed_with_failures' && o.status !== 'completed' && o.status !== 'processing') {
      throw conflict('BATCH_NOT_PAID_YET', `batch ${o.id} is ${o.status}: only a batch that was paid has failed payments to retry`);
    }
    const [prog] = (await this.ds.query('SELECT id, code, frequency, active FROM programmes WHERE id = ?', [o.programme_id])) as {
      id: number;
      code: string;
      frequency: 'monthly' | 'one_off';
      active: number;
    }[];
    return this.generate(
      actor,
      {
        kind: o.kind,
        programme: prog!,
        periodFrom: o.period_from,
        periodTo: o.period_to,
        area: { id: o.area_id, path: o.area_path },
        title: title ?? `Chi lại đợt ${o.id}`,
        retryOf: o.id,
      },
      (em, scope) => generateRetry(em, scope, o.id),
    );
  }

  /** One transaction under the programme's generation lock: the batch row, its payments, counters, makers, transition, audit. */
  private async generate(
    actor: Actor,
    meta: {
      kind: BatchKind;
      programme: { id: number; code: string; frequency: 'monthly' | 'one_off' };
      periodFrom: Period;
      periodTo: Period;
      area: { id: number; path: string };
      title: string | null;
      retryOf: string | null;
    },
    fill: (em: EntityManager, scope: GenerationScope) => Promise<{ inserted: number; leftOut: number }>,
  ): Promise<BatchView> {
    const { programme: prog, area } = meta;
    const busy = () => conflict('BATCH_GENERATION_BUSY', `another batch of programme ${prog.code} is being generated; try again`);
    return withNamedLock(this.ds, `batches.generate.${prog.id}`, { waitSeconds: LOCK_WAIT_S, busy }, async (runner) => {
      // READ COMMITTED: the roll is read as of each statement without locking a million enrolment rows
      await runner.startTransaction('READ COMMITTED');
      try {
        const em = runner.manager;
        let created: { insertId: string } | undefined;
        let prefix = '';
        for (let attempt = 0; !created; attempt++) {
          prefix = newPrefix(meta.periodFrom);
          try {
            created = (await em.query(
              `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, title, status, created_by, retry_of)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?)`,
              [prefix, meta.kind, prog.id, meta.periodFrom, meta.periodTo, area.id, area.path, meta.title, actor.userId, meta.retryOf],
            )) as { insertId: string };
          } catch (e) {
            if (!isDuplicateKey(e) || attempt >= 3) throw e;
          }
        }
        const batchId = String(created.insertId);
        const scope: GenerationScope = {
          batchId,
          referencePrefix: prefix,
          programmeId: prog.id,
          frequency: prog.frequency,
          areaPath: area.path,
        };
        const result = await fill(em, scope);
        await this.recount(em, batchId);
        await em.query('INSERT INTO batch_makers (batch_id, user_id, first_action) VALUES (?, ?, ?)', [batchId, actor.userId, 'create']);
        const b = await this.row(em, batchId);
        await this.recordTransition(em, actor, b, null, 'draft', meta.retryOf ? `retry of batch ${meta.retryOf}` : null);
        await this.audit.record(em, actor, {
          action: 'batch.create',
          entityType: 'batch',
          entityId: batchId,
          areaId: area.id,
          after: {
            kind: meta.kind,
            programme: prog.code,
            period: formatPeriod(meta.periodFrom),
            periodTo: formatPeriod(meta.periodTo),
            retryOf: meta.retryOf,
            itemCount: b.item_count,
            totalAmount: Number(b.total_amount),
            leftOut: result.leftOut,
          },
        });
        await runner.commitTransaction();
        await this.hooks.accountCheckNeeded(batchId);
        return toBatchView(b);
      } catch (e) {
        await runner.rollbackTransaction();
        if (isDuplicateKey(e)) {
          throw conflict('BATCH_OVERLAP', 'another batch took some of these payments at the same time; create the batch again');
        }
        throw e;
      }
    });
  }

  /** Counters of the batch from its payments (after generation or a review). */
  private async recount(em: EntityManager, batchId: string): Promise<void> {
    await em.query(
      `UPDATE batches bt JOIN (
         SELECT COALESCE(SUM(review = 'included'), 0) AS n,
           COALESCE(SUM(CASE WHEN review = 'included' THEN amount ELSE 0 END), 0) AS total,
           COALESCE(SUM(review = 'held'), 0) AS held, COALESCE(SUM(review = 'excluded'), 0) AS excluded,
           COALESCE(SUM(review <> 'excluded' AND flagged = 1), 0) AS flagged
         FROM payments WHERE batch_id = ?
       ) c
       JOIN (SELECT COUNT(*) AS n FROM batch_left_out WHERE batch_id = ?) l
       SET bt.item_count = c.n, bt.total_amount = c.total, bt.held_count = c.held, bt.excluded_count = c.excluded,
         bt.flagged_count = c.flagged, bt.left_out_count = l.n
       WHERE bt.id = ?`,
      [batchId, batchId, batchId],
    );
  }

  private async recordTransition(
    em: EntityManager,
    actor: Actor,
    b: Pick<BatchRow, 'id' | 'version' | 'item_count' | 'total_amount'>,
    from: BatchStatus | null,
    to: BatchStatus,
    reason: string | null,
  ): Promise<void> {
    await em.query(
      `INSERT INTO batch_transitions (batch_id, from_status, to_status, reason, actor_user_id, actor_username, version, item_count, total_amount, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [b.id, from, to, reason, actor.userId, actor.username, b.version, b.item_count, b.total_amount, actor.requestId],
    );
  }

  // ---------------------------------------------------------------- review

  /** Exclude, hold or include items again, with a reason; only while the batch is draft or rejected. */
  async review(actor: Actor, p: Principal, id: string, input: ReviewInput): Promise<{ batch: BatchView; changed: number }> {
    const ids = [...new Set(input.seqs)];
    if (input.action !== 'include' && !input.reason?.trim()) {
      throw invalid('REASON_REQUIRED', `reason: say why the items are ${input.action === 'exclude' ? 'excluded' : 'held'}`, {
        path: 'reason',
      });
    }
    return this.ds.transaction(async (em) => {
      const b = await this.visible(p, id, em, true);
      assertAreaScope(p, b.area_path, 'this batch');
      assertEditable(b.status);
      const found = (await em.query(`SELECT seq, review FROM payments WHERE batch_id = ? AND seq IN (${marks(ids.length)}) FOR UPDATE`, [
        b.id,
        ...ids,
      ])) as { seq: string; review: ItemReview }[];
      if (found.length !== ids.length) {
        const have = new Set(found.map((f) => Number(f.seq)));
        const missing = ids.filter((i) => !have.has(i));
        throw invalid('ITEM_NOT_IN_BATCH', `seqs: not in batch ${b.id}: ${missing.slice(0, 20).join(', ')}`, { path: 'seqs', missing });
      }
      const target: ItemReview = input.action === 'exclude' ? 'excluded' : input.action === 'hold' ? 'held' : 'included';
      const toChange = found.filter((f) => f.review !== target).map((f) => Number(f.seq));
      if (toChange.length) {
        const m2 = toChange.map(() => '?').join(', ');
        try {
          await em.query(
            `UPDATE payments SET review = ?, review_reason = ?, reviewed_by = ?, live = ? WHERE batch_id = ? AND seq IN (${m2})`,
            [
              target,
              target === 'included' ? null : input.reason!.trim(),
              actor.userId,
              target === 'excluded' ? null : 1,
              b.id,
              ...toChange,
            ],
          );
        } catch (e) {
          if (isDuplicateKey(e)) {
            throw conflict(
              'ITEM_SLOT_TAKEN',
              'some of these items were paid or planned in another batch since they were excluded; they cannot be included again',
            );
          }
          throw e;
        }
        await this.recount(em, b.id);
        await em.query('UPDATE batches SET version = version + 1 WHERE id = ?', [b.id]);
        await em.query('INSERT IGNORE INTO batch_makers (batch_id, user_id, first_action) VALUES (?, ?, ?)', [
          b.id,
          actor.userId,
          'review',
        ]);
        await this.audit.record(em, actor, {
          action: `batch.items_${input.action}`,
          entityType: 'batch',
          entityId: b.id,
          areaId: b.area_id,
          after: { items: toChange.length, seqs: toChange.slice(0, 100), reason: input.reason ?? null },
        });
      }
      return { batch: toBatchView(await this.row(em, b.id)), changed: toChange.length };
    });
  }

  // ---------------------------------------------------------------- the state machine

  /** Lock the batch, check the move, apply `change`, record the transition and audit it; one transaction. */
  private async move(
    actor: Actor,
    p: Principal,
    id: string,
    action: BatchAction,
    check: (b: BatchRow, em: EntityManager) => Promise<void> | void,
    change: (b: BatchRow, em: EntityManager) => Promise<{ to: BatchStatus; reason: string | null; set?: string; params?: unknown[] }>,
  ): Promise<BatchView> {
    return this.ds.transaction(async (em) => {
      const b = await this.visible(p, id, em, true);
      assertCan(action, b.status);
      await check(b, em);
      const c = await change(b, em);
      const res = (await em.query(
        `UPDATE batches SET status = ?, status_reason = ?${c.set ? `, ${c.set}` : ''} WHERE id = ? AND status = ?`,
        [c.to, c.reason, ...(c.params ?? []), b.id, b.status],
      )) as { affectedRows: number };
      if (res.affectedRows !== 1) throw conflict('BATCH_CHANGED', 'the batch changed while this request ran; reload it');
      const after = await this.row(em, b.id);
      await this.recordTransition(em, actor, after, b.status, c.to, c.reason);
      await this.audit.record(em, actor, {
        action: `batch.${action}`,
        entityType: 'batch',
        entityId: b.id,
        areaId: b.area_id,
        before: { status: b.status },
        after: {
          status: c.to,
          reason: c.reason,
          itemCount: after.item_count,
          totalAmount: Number(after.total_amount),
          version: after.version,
          ...(after.scheduled_for ? { scheduledFor: vnTime(after.scheduled_for) } : {}),
        },
      });
      return toBatchView(after);
    });
  }

  async submit(actor: Actor, p: Principal, id: string, note?: string | null): Promise<BatchView> {
    return this.move(
      actor,
      p,
      id,
      'submit',
      (b) => {
        assertAreaScope(p, b.area_path, 'this batch');
        if (b.item_count === 0) throw conflict('BATCH_EMPTY', 'the batch has no items to pay; cancel it instead');
        if (b.check_status === 'pending' || b.check_status === 'running') {
          throw conflict('BATCH_CHECK_RUNNING', 'the account check of this batch has not finished; submit when it has');
        }
      },
      async (b, em) => {
        await em.query('INSERT IGNORE INTO batch_makers (batch_id, user_id, first_action) VALUES (?, ?, ?)', [
          b.id,
          actor.userId,
          'submit',
        ]);
        return {
          to: 'submitted',
          reason: note?.trim() || null,
          set: 'submitted_by = ?, submitted_at = CURRENT_TIMESTAMP(3)',
          params: [actor.userId],
        };
      },
    );
  }

  /** Checker rules: an approver whose scope covers the whole batch area, who did none of its work. */
  private async assertChecker(p: Principal, b: BatchRow, em: EntityManager): Promise<void> {
    if (!hasRole(p, 'approver')) throw forbidden('APPROVER_ROLE_REQUIRED', 'only an approver may approve or reject a batch');
    if (!p.areaPath || !b.area_path.startsWith(p.areaPath)) {
      if (p.areaPath) throw forbidden('AREA_OUT_OF_SCOPE', 'this batch covers areas outside your scope');
    }
    const [maker] = (await em.query('SELECT first_action FROM batch_makers WHERE batch_id = ? AND user_id = ?', [b.id, p.userId])) as {
      first_action: string;
    }[];
    if (maker || b.created_by === p.userId || b.submitted_by === p.userId) {
      throw forbidden('SELF_APPROVAL', 'you created, changed or submitted this batch: another officer must check it');
    }
  }

  async approve(actor: Actor, p: Principal, id: string, seen: Approval, note?: string | null): Promise<BatchView> {
    return this.move(
      actor,
      p,
      id,
      'approve',
      async (b, em) => {
        await this.assertChecker(p, b, em);
        const total = Number(b.total_amount);
        if (seen.itemCount !== b.item_count || seen.totalAmount !== total || (seen.version !== undefined && seen.version !== b.version)) {
          throw conflict('BATCH_CHANGED', 'the batch is not what you reviewed: reload it and check it again', {
            seen: { itemCount: seen.itemCount, totalAmount: seen.totalAmount, version: seen.version ?? null },
            current: { itemCount: b.item_count, totalAmount: total, version: b.version },
          });
        }
      },
      () =>
        Promise.resolve({
          to: 'approved' as const,
          reason: note?.trim() || null,
          set: 'approved_by = ?, approved_at = CURRENT_TIMESTAMP(3)',
          params: [actor.userId],
        }),
    );
  }

  async reject(actor: Actor, p: Principal, id: string, reason: string): Promise<BatchView> {
    if (!reason.trim()) throw invalid('REASON_REQUIRED', 'reason: say what staff must fix', { path: 'reason' });
    return this.move(
      actor,
      p,
      id,
      'reject',
      (b, em) => this.assertChecker(p, b, em),
      () => Promise.resolve({ to: 'rejected' as const, reason: reason.trim() }),
    );
  }

  /** Before processing: every payment of the batch stops counting (its slot is free for another batch). */
  async cancel(actor: Actor, p: Principal, id: string, reason: string): Promise<BatchView> {
    if (!reason.trim()) throw invalid('REASON_REQUIRED', 'reason: say why the batch is cancelled', { path: 'reason' });
    return this.move(
      actor,
      p,
      id,
      'cancel',
      (b) => assertAreaScope(p, b.area_path, 'this batch'),
      async (b, em) => {
        await em.query("UPDATE payments SET live = NULL, status = 'cancelled' WHERE batch_id = ?", [b.id]);
        return { to: 'cancelled', reason: reason.trim(), set: 'scheduled_for = NULL, funds_hold_reason = NULL' };
      },
    );
  }

  /** Schedules an approved batch (or moves a scheduled one) to start at `at`. */
  async schedule(actor: Actor, p: Principal, id: string, at: Date, now: Date = new Date(), enqueue = true): Promise<BatchView> {
    if (at.getTime() < now.getTime() - 60_000)
      throw invalid('SCHEDULE_IN_PAST', 'at: must not be in the past; release the batch instead', { path: 'at' });
    if (at.getTime() > now.getTime() + MAX_SCHEDULE_DAYS * 86_400_000) {
      throw invalid('SCHEDULE_TOO_FAR', `at: at most ${MAX_SCHEDULE_DAYS} days ahead`, { path: 'at' });
    }
    const view = await this.move(
      actor,
      p,
      id,
      'schedule',
      (b) => assertAreaScope(p, b.area_path, 'this batch'),
      () =>
        Promise.resolve({
          to: 'scheduled' as const,
          reason: `start at ${vnTime(at)}`,
          set: 'scheduled_for = ?, scheduled_by = ?, funds_hold_reason = NULL',
          params: [at, actor.userId],
        }),
    );
    if (enqueue) await this.hooks.releaseScheduled(view.id, at);
    return view;
  }

  /** Staff may run the account check again while the batch can still change; the request is audited. */
  async assertRecheckable(actor: Actor, p: Principal, id: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const b = await this.visible(p, id, em, true);
      assertAreaScope(p, b.area_path, 'this batch');
      assertEditable(b.status);
      await this.audit.record(em, actor, { action: 'batch.account_check', entityType: 'batch', entityId: b.id, areaId: b.area_id });
    });
  }

  /** Raw row for the release path (scheduler and release service). */
  async rowForRelease(id: string): Promise<BatchRow> {
    return this.row(this.ds.manager, id);
  }

  /** Moves an approved batch to scheduled now, so that the release path starts from one state. */
  async scheduleNow(actor: Actor, p: Principal, id: string): Promise<BatchRow> {
    const b = await this.visible(p, id);
    assertAreaScope(p, b.area_path, 'this batch');
    if (b.status === 'approved') await this.schedule(actor, p, id, new Date(), new Date(), false);
    else assertCan('release', b.status);
    return this.row(this.ds.manager, id);
  }
}

import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { isDuplicateKey, withNamedLock } from '../../platform/db';
import { conflict, invalid } from '../../platform/errors';
import { formatPeriod, periodsBetween, type Period } from '../../platform/period';
import { assertAreaScope, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { levelInForce } from '../programmes/programmes.service';
import { generateArrears, generateRegular, generateRetry, type GenerationScope, type MonthLevel } from './batch-generation';
import type { BatchReads } from './batch-reads';
import { RELEASED } from './batch-states';
import { recordBatchTransition } from './batch-transitions';
import { toBatchView, type BatchKind, type BatchView } from './batch-views';
import type { BatchHooks } from './batches.service';

/** Longest range of months one arrears batch may cover. */
export const MAX_ARREARS_MONTHS = 36;

export interface NewBatch {
  programmeId: number;
  kind: BatchKind;
  period: Period;
  /** arrears only: the last month of the range (default: `period`) */
  periodTo?: Period | undefined;
  areaId: number;
  title?: string | null | undefined;
}

const LOCK_WAIT_S = 60;

/** `B` + the first month + 8 random base-32 characters: the prefix of every payment reference of the batch. */
function newPrefix(period: Period): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(8);
  let s = '';
  for (const b of bytes) s += alphabet[b % 32];
  return `B${period}${s}`;
}

/** Counters of the batch from its payments (after generation or a review). */
export async function recountBatch(em: EntityManager, batchId: string): Promise<void> {
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
/** A new draft batch: its checks, then its payments generated in one transaction with its counters, makers and transition. */
export class BatchCreation {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly hooks: BatchHooks,
    private readonly reads: BatchReads,
  ) {}

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
    const o = await this.reads.visible(p, originalId);
    assertAreaScope(p, o.area_path, 'this batch');
    if (!RELEASED.includes(o.status)) {
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
        await recountBatch(em, batchId);
        await em.query('INSERT INTO batch_makers (batch_id, user_id, first_action) VALUES (?, ?, ?)', [batchId, actor.userId, 'create']);
        const b = await this.reads.row(em, batchId);
        await recordBatchTransition(em, actor, b, null, 'draft', meta.retryOf ? `retry of batch ${meta.retryOf}` : null);
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
}

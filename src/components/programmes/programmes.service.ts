import type { DataSource, EntityManager } from 'typeorm';
import { conflict, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, keysetWhere, type Page } from '../../platform/http/pagination';
import { entitlement } from '../../platform/money';
import { formatPeriod, type Period } from '../../platform/period';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import { isDuplicateKey, likeContains } from '../../platform/db';

export const PROGRAMME_FREQUENCIES = ['monthly', 'one_off'] as const;
export type ProgrammeFrequency = (typeof PROGRAMME_FREQUENCIES)[number];

/** Highest base level accepted, in đồng: far above any real level, low enough to catch a misplaced digit group. */
export const MAX_BASE_LEVEL = 100_000_000;

export interface Programme {
  id: number;
  code: string;
  name: string;
  frequency: ProgrammeFrequency;
  active: boolean;
}

export interface BaseLevel {
  /** `YYYY-MM`: the level is in force from this month until the next level's month */
  effectiveFrom: string;
  amount: number;
  reason: string | null;
}

export interface ProgrammeDetail extends Programme {
  baseLevels: BaseLevel[];
}

export interface BaseLevelSet extends BaseLevel {
  programmeId: number;
  /** the amount this month had before, null when the level is new */
  previousAmount: number | null;
}

export interface Entitlement {
  period: string;
  baseLevel: number;
  effectiveFrom: string;
  coefficientX100: number;
  amount: number;
}

export interface ProgrammeFilter {
  active?: boolean | undefined;
  q?: string | undefined;
}

export interface NewBaseLevel {
  effectiveFrom: Period;
  amount: number;
  reason?: string | null | undefined;
}

interface Row {
  id: number;
  code: string;
  name: string;
  frequency: ProgrammeFrequency;
  active: number;
}

interface LevelRow {
  effective_from: number;
  amount: string;
  reason: string | null;
}

/** The base level in force in a month: the one with the greatest effectiveFrom not after that month. */
export function levelInForce<T extends { effectiveFrom: Period }>(levels: readonly T[], period: Period): T | null {
  let best: T | null = null;
  for (const l of levels) if (l.effectiveFrom <= period && (best === null || l.effectiveFrom > best.effectiveFrom)) best = l;
  return best;
}

function toProgramme(r: Row): Programme {
  return { id: r.id, code: r.code, name: r.name, frequency: r.frequency, active: r.active === 1 };
}

function toLevel(r: LevelRow): BaseLevel {
  return { effectiveFrom: formatPeriod(r.effective_from), amount: Number(r.amount), reason: r.reason };
}

function clean(text: string): string {
  return text.normalize('NFC').trim();
}

function codeTaken(code: string) {
  return conflict('PROGRAMME_CODE_TAKEN', `code: ${code} is already used by another programme`);
}

/** `programmeName`, not `name`: the audit redaction masks `name` keys, and a programme's name is no personal data. */
function auditShape(p: { code: string; name: string; frequency: ProgrammeFrequency; active: boolean }) {
  return { code: p.code, programmeName: p.name, frequency: p.frequency, active: p.active };
}

/** Allowance programmes and their effective-dated base levels, from which every monthly amount is computed. */
export class ProgrammesService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  private async row(em: EntityManager, id: number, lock = false): Promise<Row> {
    const [r] = (await em.query(`SELECT id, code, name, frequency, active FROM programmes WHERE id = ?${lock ? ' FOR UPDATE' : ''}`, [
      id,
    ])) as Row[];
    if (!r) throw notFound('PROGRAMME_NOT_FOUND', `no programme with id ${id}`);
    return r;
  }

  private async levelRows(em: EntityManager, id: number): Promise<LevelRow[]> {
    return (await em.query(
      'SELECT effective_from, amount, reason FROM programme_base_levels WHERE programme_id = ? ORDER BY effective_from',
      [id],
    )) as LevelRow[];
  }

  async get(id: number): Promise<ProgrammeDetail> {
    const r = await this.row(this.ds.manager, id);
    return { ...toProgramme(r), baseLevels: (await this.levelRows(this.ds.manager, id)).map(toLevel) };
  }

  async list(f: ProgrammeFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<Programme>> {
    const conds: string[] = [];
    const params: unknown[] = [];
    if (f.active !== undefined) {
      conds.push('p.active = ?');
      params.push(f.active ? 1 : 0);
    }
    if (f.q) {
      conds.push('(CONVERT(p.code USING utf8mb4) LIKE ? OR p.name LIKE ?)');
      const like = likeContains(f.q.normalize('NFC'));
      params.push(like, like);
    }
    const after = decodeCursor(page.cursor, 1);
    if (after && (!Number.isSafeInteger(after[0]) || (after[0] as number) < 0)) {
      throw invalid('INVALID_CURSOR', 'cursor is not one this list issued; start again without it', { location: 'query', path: 'cursor' });
    }
    const ks = keysetWhere([{ expr: 'p.id', dir: 'ASC' }], after);
    const rows = (await this.ds.query(
      `SELECT p.id, p.code, p.name, p.frequency, p.active FROM programmes p
       WHERE ${conds.length ? conds.join(' AND ') : '1=1'} AND ${ks.sql} ORDER BY p.id LIMIT ?`,
      [...params, ...ks.params, page.limit + 1],
    )) as Row[];
    return finishPage(rows, page.limit, (r) => [r.id], toProgramme);
  }

  async create(
    actor: Actor,
    input: {
      code: string;
      name: string;
      frequency: ProgrammeFrequency;
      active?: boolean | undefined;
      baseLevels?: NewBaseLevel[] | undefined;
    },
  ): Promise<ProgrammeDetail> {
    const name = clean(input.name);
    const active = input.active ?? true;
    const levels = [...(input.baseLevels ?? [])]
      .sort((a, b) => a.effectiveFrom - b.effectiveFrom)
      .map((l) => ({ effectiveFrom: l.effectiveFrom, amount: l.amount, reason: l.reason ? clean(l.reason) : null }));
    const id = await this.ds.transaction(async (em) => {
      const [taken] = (await em.query('SELECT id FROM programmes WHERE code = ?', [input.code])) as unknown[];
      if (taken) throw codeTaken(input.code);
      // the check above reads a snapshot: a concurrent insert of the same code only shows up as a duplicate key
      const res = (await em
        .query('INSERT INTO programmes (code, name, frequency, active, created_by) VALUES (?, ?, ?, ?, ?)', [
          input.code,
          name,
          input.frequency,
          active ? 1 : 0,
          actor.userId,
        ])
        .catch((e: unknown) => {
          throw isDuplicateKey(e) ? codeTaken(input.code) : e;
        })) as { insertId: number };
      if (levels.length) {
        await em.query(
          `INSERT INTO programme_base_levels (programme_id, effective_from, amount, reason, created_by) VALUES ${levels.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
          levels.flatMap((l) => [res.insertId, l.effectiveFrom, l.amount, l.reason, actor.userId]),
        );
      }
      await this.audit.record(em, actor, {
        action: 'programme.create',
        entityType: 'programme',
        entityId: res.insertId,
        after: {
          ...auditShape({ code: input.code, name, frequency: input.frequency, active }),
          baseLevels: levels.map((l) => ({ effectiveFrom: formatPeriod(l.effectiveFrom), amount: l.amount, reason: l.reason })),
        },
      });
      return res.insertId;
    });
    return this.get(id);
  }

  /** Renames, changes the frequency of, or (de)activates a programme; the code never changes, rolls and files refer to it. */
  async update(
    actor: Actor,
    id: number,
    input: { name?: string | undefined; frequency?: ProgrammeFrequency | undefined; active?: boolean | undefined },
  ): Promise<ProgrammeDetail> {
    await this.ds.transaction(async (em) => {
      const r = await this.row(em, id, true);
      const before = { code: r.code, name: r.name, frequency: r.frequency, active: r.active === 1 };
      const after = {
        ...before,
        ...(input.name !== undefined ? { name: clean(input.name) } : {}),
        ...(input.frequency !== undefined ? { frequency: input.frequency } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
      };
      await em.query('UPDATE programmes SET name = ?, frequency = ?, active = ? WHERE id = ?', [
        after.name,
        after.frequency,
        after.active ? 1 : 0,
        id,
      ]);
      await this.audit.record(em, actor, {
        action: 'programme.update',
        entityType: 'programme',
        entityId: id,
        before: auditShape(before),
        after: auditShape(after),
      });
    });
    return this.get(id);
  }

  /**
   * Sets the base level in force from a month (until the next level's month).
   * Replaying the same amount and reason changes nothing and records nothing.
   */
  async setBaseLevel(
    actor: Actor,
    id: number,
    effectiveFrom: Period,
    input: { amount: number; reason: string },
  ): Promise<{ created: boolean; level: BaseLevelSet }> {
    const reason = clean(input.reason);
    return this.ds.transaction(async (em) => {
      // the programme row lock serialises every change to its levels: two first writes of one month cannot both insert
      const p = await this.row(em, id, true);
      const [old] = (await em.query(
        'SELECT effective_from, amount, reason FROM programme_base_levels WHERE programme_id = ? AND effective_from = ?',
        [id, effectiveFrom],
      )) as LevelRow[];
      const level: BaseLevelSet = {
        programmeId: id,
        effectiveFrom: formatPeriod(effectiveFrom),
        amount: input.amount,
        reason,
        previousAmount: old ? Number(old.amount) : null,
      };
      if (old && Number(old.amount) === input.amount && old.reason === reason) return { created: false, level };
      if (old) {
        await em.query(
          'UPDATE programme_base_levels SET amount = ?, reason = ?, created_by = ? WHERE programme_id = ? AND effective_from = ?',
          [input.amount, reason, actor.userId, id, effectiveFrom],
        );
      } else {
        await em.query(
          'INSERT INTO programme_base_levels (programme_id, effective_from, amount, reason, created_by) VALUES (?, ?, ?, ?, ?)',
          [id, effectiveFrom, input.amount, reason, actor.userId],
        );
      }
      await this.audit.record(em, actor, {
        action: 'programme.base_level_set',
        entityType: 'programme',
        entityId: id,
        before: old ? { code: p.code, effectiveFrom: level.effectiveFrom, amount: Number(old.amount), reason: old.reason } : null,
        after: { code: p.code, effectiveFrom: level.effectiveFrom, amount: input.amount, reason },
      });
      return { created: !old, level };
    });
  }

  /** Base level in force in a month × coefficient, rounded half up to whole đồng. */
  async entitlement(id: number, period: Period, coefficientX100: number): Promise<Entitlement> {
    await this.row(this.ds.manager, id);
    const levels = (await this.levelRows(this.ds.manager, id)).map((r) => ({ effectiveFrom: r.effective_from, amount: Number(r.amount) }));
    const level = levelInForce(levels, period);
    if (!level) throw notFound('NO_BASE_LEVEL', `programme ${id} has no base level in force in ${formatPeriod(period)}`);
    return {
      period: formatPeriod(period),
      baseLevel: level.amount,
      effectiveFrom: formatPeriod(level.effectiveFrom),
      coefficientX100,
      amount: entitlement(level.amount, coefficientX100),
    };
  }
}

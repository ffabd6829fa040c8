import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { forbidden } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import { areaPathScopeSql, hasRole, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { foldName } from './roll-values';
import { likePrefix } from '../../platform/db';
import { BeneficiaryCorrections, type BeneficiaryChange, type EnrolmentChange } from './beneficiary-corrections';
import {
  E_SELECT,
  enrolmentViewOf,
  listItemOf,
  loadBeneficiary,
  REVEAL_ROLES,
  type BeneficiaryDetail,
  type BeneficiaryListItem,
  type BRow,
  type Channel,
  type EnrolmentStatus,
  type EnrolmentView,
  type ERow,
} from './beneficiary-views';

export type { BeneficiaryChange, EnrolmentChange } from './beneficiary-corrections';
export {
  REVEAL_ROLES,
  type BeneficiaryDetail,
  type BeneficiaryListItem,
  type Channel,
  type EnrolmentStatus,
  type EnrolmentView,
} from './beneficiary-views';

export interface BeneficiaryFilter {
  q?: string | undefined;
  given?: string | undefined;
  nationalId?: string | undefined;
  areaId?: number | undefined;
  programmeId?: number | undefined;
  channel?: Channel | undefined;
  status?: EnrolmentStatus | undefined;
}
/**
 * The roll: search, view with enrolments and history (here), edit and the status of enrolments (beneficiary-corrections).
 * Every query is limited to the caller's area; every change keeps its history and is audited; identifiers are masked
 * unless revealed (beneficiary-views).
 */
export class BeneficiariesService {
  private readonly corrections: BeneficiaryCorrections;

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
  ) {
    this.corrections = new BeneficiaryCorrections(ds, cipher, audit);
  }

  /**
   * Search: a national ID is looked up by its keyed hash; `q` is a prefix of
   * the name without diacritics (family name first), `given` a prefix of the
   * given name; results are ordered by that name so that a page is one index
   * range, whatever the size of the roll.
   */
  async search(
    p: Principal,
    f: BeneficiaryFilter,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<BeneficiaryListItem>> {
    const conds: string[] = [];
    const params: unknown[] = [];
    const scope = areaPathScopeSql(p, 'a.path');
    if (p.areaPath) {
      conds.push(scope.sql);
      params.push(...scope.params);
    }
    if (f.nationalId) {
      conds.push('b.national_id_hash = ?');
      params.push(this.cipher.lookupHash('nid', f.nationalId));
    }
    const sortCol = f.given ? 'b.given_search' : f.q ? 'b.name_search' : null;
    const prefix = f.given ? foldName(f.given) : f.q ? foldName(f.q) : null;
    if (sortCol && prefix !== null) {
      conds.push(`${sortCol} LIKE ?`);
      params.push(likePrefix(prefix));
    }
    if (f.areaId !== undefined) {
      const [under] = (await this.ds.query('SELECT path FROM areas WHERE id = ?', [f.areaId])) as { path: string }[];
      if (!under) return { items: [], nextCursor: null };
      conds.push('a.path LIKE ?');
      params.push(`${under.path}%`);
    }
    const enrolmentConds: string[] = [];
    const enrolmentFilters: [string, unknown][] = [
      ['fe.programme_id = ?', f.programmeId],
      ['fe.channel = ?', f.channel],
      ['fe.status = ?', f.status],
    ];
    for (const [sql, value] of enrolmentFilters) {
      if (value === undefined) continue;
      enrolmentConds.push(sql);
      params.push(value);
    }
    if (enrolmentConds.length)
      conds.push(`EXISTS (SELECT 1 FROM enrolments fe WHERE fe.beneficiary_id = b.id AND ${enrolmentConds.join(' AND ')})`);
    const cursor = decodeCursor(page.cursor, sortCol ? 2 : 1);
    if (cursor && sortCol) {
      conds.push(`(${sortCol} > ? OR (${sortCol} = ? AND b.id > ?))`);
      params.push(cursor[0], cursor[0], cursor[1]);
    } else if (cursor) {
      conds.push('b.id > ?');
      params.push(cursor[0]);
    }
    // people first, in name (or id) order, each checked against the scope through its area row: a page reads about
    // `limit` index entries instead of every match of a common name (the optimizer would otherwise start from the areas)
    const index = f.nationalId ? '' : f.given ? 'FORCE INDEX (ix_beneficiaries_given)' : f.q ? 'FORCE INDEX (ix_beneficiaries_name)' : '';
    const order = sortCol ? `${sortCol}, b.id` : 'b.id';
    const rows = (await this.ds.query(
      `SELECT STRAIGHT_JOIN b.*, a.code AS area_code, a.name AS area_name, a.path AS area_path
       FROM beneficiaries b ${index} JOIN areas a ON a.id = b.area_id
       WHERE ${conds.length ? conds.join(' AND ') : '1=1'} ORDER BY ${order} LIMIT ?`,
      [...params, page.limit + 1],
    )) as BRow[];
    const key = f.given ? 'given_search' : 'name_search';
    return finishPage(
      rows,
      page.limit,
      (r) => (sortCol ? [r[key], String(r.id)] : [String(r.id)]),
      (r) => listItemOf(this.cipher, r, false),
    );
  }

  /**
   * One person with enrolments; `reveal` shows full identifiers to the roles that need them, and audits the read with
   * the reason given, so that each full read says who, when and why.
   */
  async get(p: Principal, actor: Actor, id: string, revealFor: { reason: string } | false = false): Promise<BeneficiaryDetail> {
    const reveal = revealFor !== false;
    if (reveal && !hasRole(p, ...REVEAL_ROLES)) throw forbidden('REVEAL_NOT_ALLOWED', 'your role may not see full identifiers');
    const b = await loadBeneficiary(this.ds.manager, p, id);
    const enrolments = (await this.ds.query(`${E_SELECT} WHERE e.beneficiary_id = ? ORDER BY e.id`, [id])) as ERow[];
    if (revealFor) {
      await this.audit.recordAlone(actor, {
        action: 'beneficiary.reveal',
        entityType: 'beneficiary',
        entityId: id,
        areaId: b.area_id,
        after: { fields: ['nationalId', 'phone', 'accountNumber', 'walletId'] },
        note: revealFor.reason,
      });
    }
    return {
      ...listItemOf(this.cipher, b, reveal),
      revealed: reveal,
      enrolments: enrolments.map((e) => enrolmentViewOf(this.cipher, e, reveal)),
      createdAt: b.created_at.toISOString(),
      updatedAt: b.updated_at.toISOString(),
    };
  }

  async history(p: Principal, id: string, page: { limit: number; cursor?: string | undefined }) {
    await loadBeneficiary(this.ds.manager, p, id);
    const after = decodeCursor(page.cursor, 1);
    const rows = (await this.ds.query(
      `SELECT h.*, u.username FROM roll_history h LEFT JOIN users u ON u.id = h.changed_by
       WHERE h.beneficiary_id = ?${after ? ' AND h.id < ?' : ''} ORDER BY h.id DESC LIMIT ?`,
      after ? [id, after[0], page.limit + 1] : [id, page.limit + 1],
    )) as {
      id: string;
      enrolment_id: string | null;
      change_type: string;
      before_state: string | null;
      after_state: string | null;
      reason: string | null;
      changed_by: number | null;
      username: string | null;
      import_id: string | null;
      changed_at: Date;
    }[];
    const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));
    return finishPage(
      rows,
      page.limit,
      (r) => [String(r.id)],
      (r) => ({
        id: String(r.id),
        enrolmentId: r.enrolment_id === null ? null : String(r.enrolment_id),
        change: r.change_type,
        before: parse(r.before_state),
        after: parse(r.after_state),
        reason: r.reason,
        changedBy: r.changed_by,
        changedByUsername: r.username,
        importId: r.import_id === null ? null : String(r.import_id),
        changedAt: r.changed_at.toISOString(),
      }),
    );
  }

  /** Corrects a person's data (not the national ID: a wrong ID is another person); answers the person as they are now. */
  async updateBeneficiary(p: Principal, actor: Actor, id: string, change: BeneficiaryChange): Promise<BeneficiaryDetail> {
    await this.corrections.updateBeneficiary(p, actor, id, change);
    return this.get(p, actor, id);
  }

  updateEnrolment(p: Principal, actor: Actor, enrolmentId: string, change: EnrolmentChange): Promise<EnrolmentView> {
    return this.corrections.updateEnrolment(p, actor, enrolmentId, change);
  }

  setStatus(
    p: Principal,
    actor: Actor,
    enrolmentId: string,
    action: 'suspend' | 'resume' | 'end',
    input: { reason: string; endPeriod?: string | undefined },
  ): Promise<EnrolmentView> {
    return this.corrections.setStatus(p, actor, enrolmentId, action, input);
  }
}

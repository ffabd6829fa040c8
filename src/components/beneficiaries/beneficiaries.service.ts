import type { DataSource, EntityManager } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { decodeCursor, finishPage, type Page } from '../../platform/http/pagination';
import { areaPathScopeSql, assertVisible, hasRole, inAreaScope, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { type Column } from './roll-columns';
import type { RollRow } from './roll-row';
import { validateRow } from './roll-validation';
import { foldName, formatPeriod, givenFirst, maskDigits, parsePeriod } from './roll-values';
import { likePrefix } from '../../platform/db';

export type EnrolmentStatus = 'active' | 'suspended' | 'ended';
export type Channel = 'BANK' | 'WALLET' | 'CASH';

/** Roles that may ask for full identifiers (each such read is audited). */
export const REVEAL_ROLES = ['staff', 'auditor'] as const;

export interface BeneficiaryListItem {
  id: string;
  nationalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'M' | 'F';
  phone: string | null;
  areaId: number;
  areaCode: string;
  areaName: string;
}

export interface EnrolmentView {
  id: string;
  programmeId: number;
  programmeCode: string;
  coefficient: string;
  coefficientX100: number;
  startPeriod: string;
  endPeriod: string | null;
  /** active: paid each period; suspended: kept on the roll, not paid until resumed; ended: no longer paid */
  status: EnrolmentStatus;
  statusReason: string | null;
  channel: Channel;
  bankCode: string | null;
  accountNumber: string | null;
  accountName: string | null;
  walletProvider: string | null;
  walletId: string | null;
  /** the account name does not match the person's name (ignoring case and diacritics): review before paying */
  nameMismatch: boolean;
  version: number;
  updatedAt: string;
}

export interface BeneficiaryDetail extends BeneficiaryListItem {
  /** true when identifiers are shown in full (and the read was audited) */
  revealed: boolean;
  enrolments: EnrolmentView[];
  createdAt: string;
  updatedAt: string;
}

export interface BeneficiaryFilter {
  q?: string | undefined;
  given?: string | undefined;
  nationalId?: string | undefined;
  areaId?: number | undefined;
  programmeId?: number | undefined;
  channel?: Channel | undefined;
  status?: EnrolmentStatus | undefined;
}

interface BRow {
  id: string;
  national_id_enc: Buffer;
  national_id_masked: string;
  full_name: string;
  name_search: string;
  given_search: string;
  date_of_birth: Date | string;
  gender: 'M' | 'F';
  phone_enc: Buffer | null;
  phone_masked: string | null;
  area_id: number;
  area_code: string;
  area_name: string;
  area_path: string;
  created_at: Date;
  updated_at: Date;
}

interface ERow {
  id: string;
  beneficiary_id: string;
  programme_id: number;
  programme_code: string;
  coefficient_x100: number;
  start_period: number;
  end_period: number | null;
  status: EnrolmentStatus;
  status_reason: string | null;
  channel: Channel;
  bank_bin: string | null;
  account_enc: Buffer | null;
  account_masked: string | null;
  account_name: string | null;
  wallet_provider: string | null;
  wallet_enc: Buffer | null;
  wallet_masked: string | null;
  name_mismatch: number;
  version: number;
  updated_at: Date;
}

const B_SELECT = `SELECT b.*, a.code AS area_code, a.name AS area_name, a.path AS area_path FROM beneficiaries b JOIN areas a ON a.id = b.area_id`;
const E_SELECT = `SELECT e.*, p.code AS programme_code FROM enrolments e JOIN programmes p ON p.id = e.programme_id`;

const isoDate = (d: Date | string): string => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));
/** 150 → '1.5', 115 → '1.15', 200 → '2': decimal text from the integer hundredths, without float arithmetic. */
const coefficientText = (x100: number): string => {
  const frac = x100 % 100;
  const whole = String((x100 - frac) / 100);
  return frac === 0 ? whole : `${whole}.${String(frac).padStart(2, '0').replace(/0$/, '')}`;
};

/** API field for each roll column, so that validation problems name what the caller sent. */
const FIELD: Record<Column, string> = {
  national_id: 'nationalId',
  full_name: 'fullName',
  date_of_birth: 'dateOfBirth',
  gender: 'gender',
  area_code: 'areaId',
  programme_code: 'programmeId',
  coefficient: 'coefficient',
  start_period: 'startPeriod',
  end_period: 'endPeriod',
  channel: 'channel',
  bank_code: 'bankCode',
  account_number: 'accountNumber',
  account_name: 'accountName',
  wallet_provider: 'walletProvider',
  wallet_id: 'walletId',
  phone: 'phone',
};

export interface BeneficiaryChange {
  fullName?: string | undefined;
  dateOfBirth?: string | undefined;
  gender?: 'M' | 'F' | undefined;
  phone?: string | null | undefined;
  areaId?: number | undefined;
  /** The person's updatedAt as read: refused with 409 BENEFICIARY_CHANGED when they changed since. */
  updatedAt?: string | undefined;
  reason: string;
}

export interface EnrolmentChange {
  coefficient?: string | undefined;
  startPeriod?: string | undefined;
  endPeriod?: string | null | undefined;
  channel?: Channel | undefined;
  bankCode?: string | null | undefined;
  accountNumber?: string | null | undefined;
  accountName?: string | null | undefined;
  walletProvider?: string | null | undefined;
  walletId?: string | null | undefined;
  /** The enrolment's version as read: refused with 409 ENROLMENT_CHANGED when it moved on. */
  version?: number | undefined;
  reason: string;
}

/**
 * The roll: search, view with enrolments and history, edit, and the status of
 * enrolments. Every query is limited to the caller's area; every change keeps
 * its history and is audited; identifiers are masked unless revealed.
 */
export class BeneficiariesService {
  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
  ) {}

  private listItem(r: BRow, reveal: boolean): BeneficiaryListItem {
    return {
      id: String(r.id),
      nationalId: reveal ? this.cipher.decrypt(r.national_id_enc, 'nid') : r.national_id_masked,
      fullName: r.full_name,
      dateOfBirth: isoDate(r.date_of_birth),
      gender: r.gender,
      phone: reveal && r.phone_enc ? this.cipher.decrypt(r.phone_enc, 'phone') : r.phone_masked,
      areaId: r.area_id,
      areaCode: r.area_code,
      areaName: r.area_name,
    };
  }

  private enrolment(e: ERow, reveal: boolean): EnrolmentView {
    return {
      id: String(e.id),
      programmeId: e.programme_id,
      programmeCode: e.programme_code,
      coefficient: coefficientText(e.coefficient_x100),
      coefficientX100: e.coefficient_x100,
      startPeriod: formatPeriod(e.start_period),
      endPeriod: e.end_period === null ? null : formatPeriod(e.end_period),
      status: e.status,
      statusReason: e.status_reason,
      channel: e.channel,
      bankCode: e.bank_bin,
      accountNumber: reveal && e.account_enc ? this.cipher.decrypt(e.account_enc, 'account') : e.account_masked,
      accountName: e.account_name,
      walletProvider: e.wallet_provider,
      walletId: reveal && e.wallet_enc ? this.cipher.decrypt(e.wallet_enc, 'wallet') : e.wallet_masked,
      nameMismatch: e.name_mismatch === 1,
      version: e.version,
      updatedAt: e.updated_at.toISOString(),
    };
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
      (r) => this.listItem(r, false),
    );
  }

  private async loadBeneficiary(
    p: Principal,
    id: string,
    em: EntityManager = this.ds.manager,
    lock = false,
    missing: [code: string, message: string] = ['BENEFICIARY_NOT_FOUND', `no beneficiary ${id}`],
  ): Promise<BRow> {
    const [r] = (await em.query(`${B_SELECT} WHERE b.id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as BRow[];
    if (!r) throw notFound(...missing);
    assertVisible(p, r.area_path, ...missing);
    return r;
  }

  /**
   * One person with enrolments; `reveal` shows full identifiers to the roles that need them, and audits the read with
   * the reason given, so that each full read says who, when and why.
   */
  async get(p: Principal, actor: Actor, id: string, revealFor: { reason: string } | false = false): Promise<BeneficiaryDetail> {
    const reveal = revealFor !== false;
    if (reveal && !hasRole(p, ...REVEAL_ROLES)) throw forbidden('REVEAL_NOT_ALLOWED', 'your role may not see full identifiers');
    const b = await this.loadBeneficiary(p, id);
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
      ...this.listItem(b, reveal),
      revealed: reveal,
      enrolments: enrolments.map((e) => this.enrolment(e, reveal)),
      createdAt: b.created_at.toISOString(),
      updatedAt: b.updated_at.toISOString(),
    };
  }

  async history(p: Principal, id: string, page: { limit: number; cursor?: string | undefined }) {
    await this.loadBeneficiary(p, id);
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

  private async reference() {
    const banks = new Set(((await this.ds.query('SELECT bin FROM banks WHERE active = 1')) as { bin: string }[]).map((b) => b.bin));
    const wallets = new Set(
      ((await this.ds.query('SELECT code FROM wallet_providers WHERE active = 1')) as { code: string }[]).map((w) => w.code),
    );
    return { isKnownBank: (b: string) => banks.has(b), isKnownWalletProvider: (w: string) => wallets.has(w) };
  }

  /** Validates a whole record with the import's rules, so that the API and files can never disagree on what is valid. */
  private async validate(values: Partial<Record<Column, string | undefined>>): Promise<RollRow> {
    const { row, problems } = validateRow(values, await this.reference());
    if (!row) {
      const details = problems.map((pr) => ({ location: 'body', path: FIELD[pr.column], message: pr.message, code: pr.code }));
      throw invalid(
        'VALIDATION_FAILED',
        `${details[0]!.path}: ${details[0]!.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`,
        details,
      );
    }
    return row;
  }

  private valuesOf(b: BRow, e: ERow | null): Partial<Record<Column, string>> {
    const v: Partial<Record<Column, string>> = {
      national_id: this.cipher.decrypt(b.national_id_enc, 'nid'),
      full_name: b.full_name,
      date_of_birth: isoDate(b.date_of_birth),
      gender: b.gender,
      area_code: b.area_code,
      phone: b.phone_enc ? this.cipher.decrypt(b.phone_enc, 'phone') : '',
      programme_code: e?.programme_code ?? 'X',
      coefficient: e ? coefficientText(e.coefficient_x100) : '1',
      start_period: e ? formatPeriod(e.start_period) : '2000-01',
      end_period: e?.end_period ? formatPeriod(e.end_period) : '',
      channel: e?.channel ?? 'CASH',
    };
    if (e?.channel === 'BANK') {
      v.bank_code = e.bank_bin ?? '';
      v.account_number = e.account_enc ? this.cipher.decrypt(e.account_enc, 'account') : '';
      v.account_name = e.account_name ?? '';
    }
    if (e?.channel === 'WALLET') {
      v.wallet_provider = e.wallet_provider ?? '';
      v.wallet_id = e.wallet_enc ? this.cipher.decrypt(e.wallet_enc, 'wallet') : '';
      v.account_name = e.account_name ?? '';
    }
    return v;
  }

  /** Corrects a person's data (not the national ID: a wrong ID is another person). History and audit in the same transaction. */
  async updateBeneficiary(p: Principal, actor: Actor, id: string, change: BeneficiaryChange): Promise<BeneficiaryDetail> {
    await this.ds.transaction(async (em) => {
      const b = await this.loadBeneficiary(p, id, em, true);
      if (change.updatedAt !== undefined && b.updated_at.toISOString() !== new Date(change.updatedAt).toISOString()) {
        throw conflict('BENEFICIARY_CHANGED', `beneficiary ${id} changed since you read it; read it again`, {
          updatedAt: b.updated_at.toISOString(),
        });
      }
      const values = this.valuesOf(b, null);
      let area = { id: b.area_id, code: b.area_code };
      if (change.areaId !== undefined && change.areaId !== b.area_id) {
        const [a] = (await em.query('SELECT id, code, path, level FROM areas WHERE id = ? AND active = 1', [change.areaId])) as {
          id: number;
          code: string;
          path: string;
          level: string;
        }[];
        const refused = (message: string) => [{ location: 'body', path: 'areaId', message }];
        if (!a) throw invalid('UNKNOWN_AREA', `areaId: no active area ${change.areaId}`, refused('no active area with this id'));
        if (a.level !== 'commune') {
          throw invalid('AREA_NOT_COMMUNE', 'areaId: give the commune the person is paid in', refused('not a commune'));
        }
        // a person moved out of the caller's scope could no longer be seen or corrected by them
        if (!inAreaScope(p, a.path)) throw forbidden('AREA_OUT_OF_SCOPE', 'areaId is outside your area', refused('outside your area'));
        area = { id: a.id, code: a.code };
      }
      if (change.fullName !== undefined) values.full_name = change.fullName;
      if (change.dateOfBirth !== undefined) values.date_of_birth = change.dateOfBirth;
      if (change.gender !== undefined) values.gender = change.gender;
      if (change.phone !== undefined) values.phone = change.phone ?? '';
      values.area_code = area.code;
      const row = await this.validate(values);
      const folded = foldName(row.fullName);
      const before = {
        fullName: b.full_name,
        dateOfBirth: isoDate(b.date_of_birth),
        gender: b.gender,
        phone: b.phone_masked,
        areaId: b.area_id,
      };
      const after = {
        fullName: row.fullName,
        dateOfBirth: row.dateOfBirth,
        gender: row.gender,
        phone: row.phone ? maskDigits(row.phone, 3, 2) : null,
        areaId: area.id,
      };
      if (JSON.stringify(before) === JSON.stringify(after)) return;
      await em.query(
        `UPDATE beneficiaries SET full_name = ?, name_search = ?, given_search = ?, date_of_birth = ?, gender = ?, phone_hash = ?, phone_enc = ?,
           phone_masked = ?, area_id = ?, updated_by = ? WHERE id = ?`,
        [
          row.fullName,
          folded,
          givenFirst(folded),
          row.dateOfBirth,
          row.gender,
          row.phone ? this.cipher.lookupHash('phone', row.phone) : null,
          row.phone ? this.cipher.encrypt(row.phone, 'phone') : null,
          after.phone,
          area.id,
          p.userId,
          id,
        ],
      );
      // account names are compared with the person's name: a new name may (un)flag their enrolments
      await em.query(`UPDATE enrolments SET name_mismatch = (account_name IS NOT NULL AND account_name <> ?) WHERE beneficiary_id = ?`, [
        folded.toUpperCase(),
        id,
      ]);
      await em.query(
        `INSERT INTO roll_history (beneficiary_id, change_type, before_state, after_state, reason, changed_by, request_id) VALUES (?, 'beneficiary.updated', ?, ?, ?, ?, ?)`,
        [id, JSON.stringify(before), JSON.stringify(after), change.reason, p.userId, actor.requestId],
      );
      await this.audit.record(em, actor, {
        action: 'beneficiary.update',
        entityType: 'beneficiary',
        entityId: id,
        areaId: area.id,
        before: {
          changed: Object.keys(before).filter((k) => before[k as keyof typeof before] !== after[k as keyof typeof after]),
          // a move says where from and where to: area ids are no personal data, and the event is filed under the new area
          ...(area.id !== b.area_id ? { areaId: b.area_id } : {}),
        },
        ...(area.id !== b.area_id ? { after: { areaId: area.id } } : {}),
        note: change.reason,
      });
    });
    return this.get(p, actor, id);
  }

  private async loadEnrolment(p: Principal, enrolmentId: string, em: EntityManager): Promise<{ e: ERow; b: BRow }> {
    const [e] = (await em.query(`${E_SELECT} WHERE e.id = ? FOR UPDATE`, [enrolmentId])) as ERow[];
    if (!e) throw notFound('ENROLMENT_NOT_FOUND', `no enrolment ${enrolmentId}`);
    const b = await this.loadBeneficiary(p, String(e.beneficiary_id), em, true, ['ENROLMENT_NOT_FOUND', `no enrolment ${enrolmentId}`]);
    return { e, b };
  }

  private enrolmentState(e: {
    coefficient_x100: number;
    start_period: number;
    end_period: number | null;
    status: string;
    channel: string;
    bank_bin: string | null;
    account_masked: string | null;
    account_name: string | null;
    wallet_provider: string | null;
    wallet_masked: string | null;
  }) {
    return {
      coefficientX100: e.coefficient_x100,
      startPeriod: e.start_period,
      endPeriod: e.end_period,
      status: e.status,
      channel: e.channel,
      bankBin: e.bank_bin,
      account: e.account_masked,
      accountName: e.account_name,
      walletProvider: e.wallet_provider,
      wallet: e.wallet_masked,
    };
  }

  /** Changes coefficient, periods or payment channel of one enrolment; refuses an account that another person holds. */
  async updateEnrolment(p: Principal, actor: Actor, enrolmentId: string, change: EnrolmentChange): Promise<EnrolmentView> {
    let beneficiaryId = '';
    await this.ds.transaction(async (em) => {
      const { e, b } = await this.loadEnrolment(p, enrolmentId, em);
      beneficiaryId = String(b.id);
      if (change.version !== undefined && Number(e.version) !== change.version) {
        throw conflict('ENROLMENT_CHANGED', `enrolment ${enrolmentId} changed since you read it (version ${e.version}); read it again`, {
          version: Number(e.version),
        });
      }
      if (e.status === 'ended') throw conflict('ENROLMENT_ENDED', 'an ended enrolment cannot be changed; enrol the person again');
      const values = this.valuesOf(b, e);
      if (change.coefficient !== undefined) values.coefficient = change.coefficient;
      if (change.startPeriod !== undefined) values.start_period = change.startPeriod;
      if (change.endPeriod !== undefined) values.end_period = change.endPeriod ?? '';
      if (change.channel !== undefined && change.channel !== e.channel) {
        values.channel = change.channel;
        for (const k of ['bank_code', 'account_number', 'account_name', 'wallet_provider', 'wallet_id'] as const) values[k] = '';
      }
      const set = (k: Column, v: string | null | undefined) => {
        if (v !== undefined) values[k] = v ?? '';
      };
      set('bank_code', change.bankCode);
      set('account_number', change.accountNumber);
      set('account_name', change.accountName);
      set('wallet_provider', change.walletProvider);
      set('wallet_id', change.walletId);
      const row = await this.validate(values);
      const bank = row.channel === 'BANK';
      const wallet = row.channel === 'WALLET';
      const accountHash = bank ? this.cipher.lookupHash('account', `${row.bankCode}:${row.accountNumber}`) : null;
      const walletHash = wallet ? this.cipher.lookupHash('wallet', `${row.walletProvider}:${row.walletId}`) : null;
      for (const [col, hash, what] of [
        ['account_hash', accountHash, 'bank account'],
        ['wallet_hash', walletHash, 'wallet'],
      ] as const) {
        if (!hash) continue;
        const [other] = (await em.query(`SELECT 1 AS x FROM enrolments WHERE ${col} = ? AND beneficiary_id <> ? LIMIT 1`, [
          hash,
          b.id,
        ])) as unknown[];
        if (other) throw conflict('SHARED_ACCOUNT', `this ${what} is on the roll for another person`);
      }
      const next = {
        coefficient_x100: row.coefficientX100,
        start_period: row.startPeriod,
        end_period: row.endPeriod,
        status: e.status,
        channel: row.channel,
        bank_bin: bank ? row.bankCode : null,
        account_masked: bank ? maskDigits(row.accountNumber!, 0, 4) : null,
        account_name: bank || wallet ? row.accountName : null,
        wallet_provider: wallet ? row.walletProvider : null,
        wallet_masked: wallet ? maskDigits(row.walletId!, 3, 2) : null,
      };
      const before = this.enrolmentState(e);
      const after = this.enrolmentState(next);
      const unchanged =
        JSON.stringify(before) === JSON.stringify(after) &&
        (bank ? this.cipher.decrypt(e.account_enc!, 'account') === row.accountNumber : true) &&
        (wallet ? this.cipher.decrypt(e.wallet_enc!, 'wallet') === row.walletId : true);
      if (unchanged) return;
      await em.query(
        `UPDATE enrolments SET coefficient_x100 = ?, start_period = ?, end_period = ?, channel = ?, bank_bin = ?, account_hash = ?, account_enc = ?,
           account_masked = ?, account_name = ?, wallet_provider = ?, wallet_hash = ?, wallet_enc = ?, wallet_masked = ?, name_mismatch = ?,
           version = version + 1, updated_by = ? WHERE id = ?`,
        [
          next.coefficient_x100,
          next.start_period,
          next.end_period,
          next.channel,
          next.bank_bin,
          accountHash,
          bank ? this.cipher.encrypt(row.accountNumber!, 'account') : null,
          next.account_masked,
          next.account_name,
          next.wallet_provider,
          walletHash,
          wallet ? this.cipher.encrypt(row.walletId!, 'wallet') : null,
          next.wallet_masked,
          row.nameMismatch ? 1 : 0,
          p.userId,
          enrolmentId,
        ],
      );
      await this.recordChange(em, b, enrolmentId, 'enrolment.updated', before, after, change.reason, p, actor);
    });
    return this.enrolmentView(beneficiaryId, enrolmentId);
  }

  private async enrolmentView(beneficiaryId: string, enrolmentId: string): Promise<EnrolmentView> {
    const [e] = (await this.ds.query(`${E_SELECT} WHERE e.id = ? AND e.beneficiary_id = ?`, [enrolmentId, beneficiaryId])) as ERow[];
    return this.enrolment(e!, false);
  }

  private async recordChange(
    em: EntityManager,
    b: BRow,
    enrolmentId: string,
    change: string,
    before: object,
    after: object,
    reason: string,
    p: Principal,
    actor: Actor,
  ): Promise<void> {
    await em.query(
      `INSERT INTO roll_history (beneficiary_id, enrolment_id, change_type, before_state, after_state, reason, changed_by, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [b.id, enrolmentId, change, JSON.stringify(before), JSON.stringify(after), reason, p.userId, actor.requestId],
    );
    // the account holder's name is personal data: the trail says only that it changed (roll_history keeps it)
    const { accountName: nameBefore, ...auditBefore } = before as Record<string, unknown>;
    const { accountName: nameAfter, ...auditAfter } = after as Record<string, unknown>;
    await this.audit.record(em, actor, {
      action: change,
      entityType: 'enrolment',
      entityId: enrolmentId,
      areaId: b.area_id,
      before: auditBefore,
      after: { ...auditAfter, ...(nameBefore !== nameAfter ? { accountNameChanged: true } : {}) },
      note: reason,
    });
  }

  /**
   * active → suspended (suspend), suspended → active (resume), active | suspended → ended (end).
   * Any other move is refused with 409 ILLEGAL_STATUS_CHANGE.
   */
  async setStatus(
    p: Principal,
    actor: Actor,
    enrolmentId: string,
    action: 'suspend' | 'resume' | 'end',
    input: { reason: string; endPeriod?: string | undefined },
  ): Promise<EnrolmentView> {
    const from: Record<typeof action, EnrolmentStatus[]> = { suspend: ['active'], resume: ['suspended'], end: ['active', 'suspended'] };
    const to: Record<typeof action, EnrolmentStatus> = { suspend: 'suspended', resume: 'active', end: 'ended' };
    let beneficiaryId = '';
    await this.ds.transaction(async (em) => {
      const { e, b } = await this.loadEnrolment(p, enrolmentId, em);
      beneficiaryId = String(b.id);
      if (!from[action].includes(e.status)) {
        throw conflict('ILLEGAL_STATUS_CHANGE', `an enrolment that is ${e.status} cannot be ${action === 'end' ? 'ended' : `${action}d`}`, {
          status: e.status,
          allowedFrom: from[action],
        });
      }
      let endPeriod = e.end_period;
      if (action === 'end' && input.endPeriod !== undefined) {
        const parsed = parsePeriod(input.endPeriod);
        if (parsed === null) throw invalid('VALIDATION_FAILED', 'endPeriod: must be YYYY-MM');
        if (parsed < e.start_period) throw invalid('END_PERIOD_BEFORE_START', 'endPeriod: must not be before the start period');
        endPeriod = parsed;
      }
      await em.query(
        'UPDATE enrolments SET status = ?, status_reason = ?, end_period = ?, version = version + 1, updated_by = ? WHERE id = ?',
        [to[action], input.reason, endPeriod, p.userId, enrolmentId],
      );
      await this.recordChange(
        em,
        b,
        enrolmentId,
        `enrolment.${action === 'end' ? 'ended' : `${action}d`}`,
        { status: e.status, endPeriod: e.end_period },
        { status: to[action], endPeriod },
        input.reason,
        p,
        actor,
      );
    });
    return this.enrolmentView(beneficiaryId, enrolmentId);
  }
}

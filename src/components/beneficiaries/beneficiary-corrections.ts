import type { DataSource, EntityManager } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors';
import { inAreaScope, type Actor, type Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { type Column } from './roll-columns';
import type { RollRow } from './roll-row';
import { validateRow } from './roll-validation';
import { foldName, formatPeriod, givenFirst, maskDigits, parsePeriod } from './roll-values';
import {
  coefficientText,
  E_SELECT,
  enrolmentViewOf,
  isoDate,
  loadBeneficiary,
  type BRow,
  type Channel,
  type EnrolmentStatus,
  type EnrolmentView,
  type ERow,
} from './beneficiary-views';

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
 * Corrections of the roll by staff: a person's data, an enrolment's terms and channel, and its status. Each change is
 * checked with the import's own row rules, runs in one transaction with its roll_history row and audit event, and is
 * refused when the record moved on since the caller read it.
 */
export class BeneficiaryCorrections {
  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
  ) {}

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
  async updateBeneficiary(p: Principal, actor: Actor, id: string, change: BeneficiaryChange): Promise<void> {
    await this.ds.transaction(async (em) => {
      const b = await loadBeneficiary(em, p, id, true);
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
  }

  private async loadEnrolment(p: Principal, enrolmentId: string, em: EntityManager): Promise<{ e: ERow; b: BRow }> {
    const [e] = (await em.query(`${E_SELECT} WHERE e.id = ? FOR UPDATE`, [enrolmentId])) as ERow[];
    if (!e) throw notFound('ENROLMENT_NOT_FOUND', `no enrolment ${enrolmentId}`);
    const b = await loadBeneficiary(em, p, String(e.beneficiary_id), true, ['ENROLMENT_NOT_FOUND', `no enrolment ${enrolmentId}`]);
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
    return enrolmentViewOf(this.cipher, e!, false);
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

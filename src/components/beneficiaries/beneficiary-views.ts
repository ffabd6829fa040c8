/**
 * The roll as the API shows it: the person and enrolment views, the rows they are read from, and the masking of
 * identifiers unless revealed.
 */
import type { EntityManager } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { notFound } from '../../platform/errors';
import { assertVisible, type Principal } from '../../platform/security';
import { formatPeriod } from './roll-values';

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

export interface BRow {
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

export interface ERow {
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

export const B_SELECT = `SELECT b.*, a.code AS area_code, a.name AS area_name, a.path AS area_path FROM beneficiaries b JOIN areas a ON a.id = b.area_id`;
export const E_SELECT = `SELECT e.*, p.code AS programme_code FROM enrolments e JOIN programmes p ON p.id = e.programme_id`;

export const isoDate = (d: Date | string): string => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));
/** 150 → '1.5', 115 → '1.15', 200 → '2': decimal text from the integer hundredths, without float arithmetic. */
export const coefficientText = (x100: number): string => {
  const frac = x100 % 100;
  const whole = String((x100 - frac) / 100);
  return frac === 0 ? whole : `${whole}.${String(frac).padStart(2, '0').replace(/0$/, '')}`;
};

/** A person as listed: identifiers masked unless revealed. */
export function listItemOf(cipher: DataCipher, r: BRow, reveal: boolean): BeneficiaryListItem {
  return {
    id: String(r.id),
    nationalId: reveal ? cipher.decrypt(r.national_id_enc, 'nid') : r.national_id_masked,
    fullName: r.full_name,
    dateOfBirth: isoDate(r.date_of_birth),
    gender: r.gender,
    phone: reveal && r.phone_enc ? cipher.decrypt(r.phone_enc, 'phone') : r.phone_masked,
    areaId: r.area_id,
    areaCode: r.area_code,
    areaName: r.area_name,
  };
}

/** An enrolment as shown: account and wallet masked unless revealed. */
export function enrolmentViewOf(cipher: DataCipher, e: ERow, reveal: boolean): EnrolmentView {
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
    accountNumber: reveal && e.account_enc ? cipher.decrypt(e.account_enc, 'account') : e.account_masked,
    accountName: e.account_name,
    walletProvider: e.wallet_provider,
    walletId: reveal && e.wallet_enc ? cipher.decrypt(e.wallet_enc, 'wallet') : e.wallet_masked,
    nameMismatch: e.name_mismatch === 1,
    version: e.version,
    updatedAt: e.updated_at.toISOString(),
  };
}

/** One person the caller may see (else not found, with the code given), locked for update when asked. */
export async function loadBeneficiary(
  em: EntityManager,
  p: Principal,
  id: string,
  lock = false,
  missing: [code: string, message: string] = ['BENEFICIARY_NOT_FOUND', `no beneficiary ${id}`],
): Promise<BRow> {
  const [r] = (await em.query(`${B_SELECT} WHERE b.id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as BRow[];
  if (!r) throw notFound(...missing);
  assertVisible(p, r.area_path, ...missing);
  return r;
}

/**
 * A row of the roll import format once validated, and the problems a row can have: what validation (roll-validation.ts)
 * hands to the import and to edits of the roll.
 */
import type { Column } from './roll-columns';

export interface RollRow {
  nationalId: string;
  /** NFC, trimmed, inner spaces collapsed */
  fullName: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
  gender: 'M' | 'F';
  areaCode: string;
  programmeCode: string;
  /** 1.5 -> 150 */
  coefficientX100: number;
  /** yyyymm */
  startPeriod: number;
  endPeriod: number | null;
  channel: 'BANK' | 'WALLET' | 'CASH';
  bankCode: string | null;
  accountNumber: string | null;
  accountName: string | null;
  walletProvider: string | null;
  walletId: string | null;
  phone: string | null;
  nameMismatch: boolean;
}

export type RowProblemCode =
  | 'NATIONAL_ID_REQUIRED'
  | 'NATIONAL_ID_FORMAT'
  | 'NATIONAL_ID_CENTURY_DIGIT'
  | 'NATIONAL_ID_FUTURE_BIRTH_YEAR'
  | 'NATIONAL_ID_DOB_MISMATCH'
  | 'NATIONAL_ID_GENDER_MISMATCH'
  | 'FULL_NAME_REQUIRED'
  | 'FULL_NAME_TOO_LONG'
  | 'FULL_NAME_CHARACTERS'
  | 'FULL_NAME_NO_LETTER'
  | 'FULL_NAME_START'
  | 'DATE_OF_BIRTH_REQUIRED'
  | 'DATE_OF_BIRTH_FORMAT'
  | 'DATE_OF_BIRTH_INVALID_DATE'
  | 'DATE_OF_BIRTH_IN_FUTURE'
  | 'DATE_OF_BIRTH_BEFORE_1900'
  | 'GENDER_REQUIRED'
  | 'GENDER_INVALID'
  | 'AREA_CODE_REQUIRED'
  | 'AREA_CODE_FORMAT'
  | 'PROGRAMME_CODE_REQUIRED'
  | 'PROGRAMME_CODE_FORMAT'
  | 'COEFFICIENT_REQUIRED'
  | 'COEFFICIENT_FORMAT'
  | 'COEFFICIENT_PRECISION'
  | 'COEFFICIENT_OUT_OF_RANGE'
  | 'START_PERIOD_REQUIRED'
  | 'START_PERIOD_FORMAT'
  | 'END_PERIOD_FORMAT'
  | 'END_PERIOD_BEFORE_START'
  | 'CHANNEL_REQUIRED'
  | 'CHANNEL_INVALID'
  | 'BANK_CODE_REQUIRED'
  | 'BANK_CODE_FORMAT'
  | 'BANK_CODE_UNKNOWN'
  | 'BANK_CODE_NOT_ALLOWED'
  | 'ACCOUNT_NUMBER_REQUIRED'
  | 'ACCOUNT_NUMBER_FORMAT'
  | 'ACCOUNT_NUMBER_NOT_ALLOWED'
  | 'ACCOUNT_NAME_REQUIRED'
  | 'ACCOUNT_NAME_TOO_LONG'
  | 'ACCOUNT_NAME_CHARACTERS'
  | 'ACCOUNT_NAME_START'
  | 'ACCOUNT_NAME_NOT_ALLOWED'
  | 'WALLET_PROVIDER_REQUIRED'
  | 'WALLET_PROVIDER_UNKNOWN'
  | 'WALLET_PROVIDER_NOT_ALLOWED'
  | 'WALLET_ID_REQUIRED'
  | 'WALLET_ID_FORMAT'
  | 'WALLET_ID_NOT_ALLOWED'
  | 'PHONE_FORMAT';

export interface RowProblem {
  column: Column;
  code: string;
  message: string;
}

export interface ReferenceData {
  isKnownBank(bin: string): boolean;
  isKnownWalletProvider(code: string): boolean;
}

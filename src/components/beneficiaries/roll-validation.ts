/**
 * Validation of one row of the beneficiary roll import format (the roll-import contract: each column's value, and the
 * rules between columns: national ID against birth date and sex, a channel and its payment columns).
 * Pure and allocation-light: called once per row for files of a million rows, so every pattern is
 * compiled here once and problems are returned, never thrown.
 */
import type { Column } from './roll-columns';
import type { ReferenceData, RollRow, RowProblem, RowProblemCode } from './roll-row';
import { collapseSpaces, foldName, nfcLower, normaliseName, pad2, parsePeriod, shown, vietnamDay } from './roll-values';

// \d is ASCII-only: full-width digits are refused

const NID = /^\d{12}$/;
const DIGITS = /^\d+$/;
const SCIENTIFIC = /^\d(?:[.,]\d+)?e\+?\d+$/i;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DMY_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const NAME_OK = /^[\p{L}\p{M} .'-]+$/u;
const NAME_BAD_CHAR = /[^\p{L}\p{M} .'-]/gu;
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;
const HAS_LETTER = /\p{L}/u;
/** A name begins with a letter: one beginning with = + - @ is a formula to a spreadsheet program opening an export. */
const STARTS_WITH_LETTER = /^\p{L}/u;
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;
const CONTROL_OR_FORMAT_ALL = /[\p{Cc}\p{Cf}]/gu;
const AREA_CODE = /^[A-Za-z0-9]{1,16}$/;
const PROGRAMME_CODE = /^[A-Za-z0-9_-]{1,32}$/;
const DECIMAL = /^(\d+)(?:[.,](\d+))?$/;
const BANK_BIN = /^\d{6}$/;
const ACCOUNT_NUMBER = /^\d{6,19}$/;
const MOBILE = /^0\d{9}$/;
const INTERNATIONAL_VN = /^\+?84\d{9}$/;

const NAME_MAX = 100;
const COEFFICIENT_MIN_X100 = 50;
const COEFFICIENT_MAX_X100 = 1000;

const GENDERS = new Map<string, 'M' | 'F'>([
  ['m', 'M'],
  ['f', 'F'],
  ['nam', 'M'],
  ['nữ', 'F'],
  ['nu', 'F'],
]);

const CHANNELS = new Map<string, 'BANK' | 'WALLET' | 'CASH'>([
  ['bank', 'BANK'],
  ['wallet', 'WALLET'],
  ['cash', 'CASH'],
  ['ngân hàng', 'BANK'],
  ['ngan hang', 'BANK'],
  ['ví điện tử', 'WALLET'],
  ['vi dien tu', 'WALLET'],
  ['tiền mặt', 'CASH'],
  ['tien mat', 'CASH'],
]);

type PaymentColumn = 'bank_code' | 'account_number' | 'account_name' | 'wallet_provider' | 'wallet_id';
const CHANNEL_COLUMNS: Record<'BANK' | 'WALLET' | 'CASH', readonly PaymentColumn[]> = {
  BANK: ['bank_code', 'account_number', 'account_name'],
  WALLET: ['wallet_provider', 'wallet_id', 'account_name'],
  CASH: [],
};
const PAYMENT_COLUMNS: readonly PaymentColumn[] = ['bank_code', 'account_number', 'account_name', 'wallet_provider', 'wallet_id'];

const REQUIRED_CODE: Record<PaymentColumn, RowProblemCode> = {
  bank_code: 'BANK_CODE_REQUIRED',
  account_number: 'ACCOUNT_NUMBER_REQUIRED',
  account_name: 'ACCOUNT_NAME_REQUIRED',
  wallet_provider: 'WALLET_PROVIDER_REQUIRED',
  wallet_id: 'WALLET_ID_REQUIRED',
};
const NOT_ALLOWED_CODE: Record<PaymentColumn, RowProblemCode> = {
  bank_code: 'BANK_CODE_NOT_ALLOWED',
  account_number: 'ACCOUNT_NUMBER_NOT_ALLOWED',
  account_name: 'ACCOUNT_NAME_NOT_ALLOWED',
  wallet_provider: 'WALLET_PROVIDER_NOT_ALLOWED',
  wallet_id: 'WALLET_ID_NOT_ALLOWED',
};

const clean = (v: string | undefined): string => (v === undefined ? '' : v.trim());

function codePointLength(s: string): number {
  if (s.length <= NAME_MAX) return s.length; // a code point is 1-2 units: only long strings can differ
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Why a digits-only identifier is malformed, without repeating the value. */
function digitsHint(v: string, digitCount: number): string {
  if (SCIENTIFIC.test(v))
    return 'the value is in scientific notation (Excel does this to long numbers); format the column as Text and re-enter it';
  if (digitCount === 10 && INTERNATIONAL_VN.test(v)) return 'write it in the national form starting with 0, not with +84 or 84';
  if (!DIGITS.test(v)) return 'it must contain digits only, without spaces, dots, dashes or letters';
  if (v.length < digitCount && v.charCodeAt(0) !== 48)
    return `it has ${v.length} digits; leading zeros were probably lost (Excel drops them from numbers): format the column as Text`;
  return `it has ${v.length} digits`;
}

function add(problems: RowProblem[], column: Column, code: RowProblemCode, message: string): void {
  problems.push({ column, code, message });
}

function codePoints(chars: readonly string[]): string {
  return [...new Set(chars.map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`))].slice(0, 5).join(', ');
}

function describeBadChars(s: string): string {
  const seen = new Set<string>();
  for (const c of s.match(NAME_BAD_CHAR) ?? []) {
    if (seen.size === 5) break;
    seen.add(VISIBLE.test(c) ? `"${c}"` : `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);
  }
  return [...seen].join(', ');
}

/**
 * Validates one data row (values by column; missing or blank cells are undefined or ''), reporting every problem of the
 * row. Returns `row` only when there are no problems. Messages never repeat an ID, account, wallet or phone number.
 */
export function validateRow(
  values: Partial<Record<Column, string | undefined>>,
  ref: ReferenceData,
): { row: RollRow | null; problems: RowProblem[] } {
  const problems: RowProblem[] = [];
  const today = vietnamDay(Date.now());

  // national_id: format now, consistency with date_of_birth and gender once those are parsed
  const nationalId = clean(values.national_id);
  let idDigit4 = -1;
  if (nationalId === '') add(problems, 'national_id', 'NATIONAL_ID_REQUIRED', 'national_id is required: the 12-digit citizen ID (CCCD)');
  else if (!NID.test(nationalId))
    add(problems, 'national_id', 'NATIONAL_ID_FORMAT', `national_id must be exactly 12 digits; ${digitsHint(nationalId, 12)}`);
  else idDigit4 = nationalId.charCodeAt(3) - 48;

  // full_name
  const fullName = normaliseName(clean(values.full_name));
  if (fullName === '') add(problems, 'full_name', 'FULL_NAME_REQUIRED', 'full_name is required');
  else {
    const len = codePointLength(fullName);
    if (len > NAME_MAX) add(problems, 'full_name', 'FULL_NAME_TOO_LONG', `full_name must be at most ${NAME_MAX} characters; it has ${len}`);
    if (!NAME_OK.test(fullName))
      add(
        problems,
        'full_name',
        'FULL_NAME_CHARACTERS',
        `full_name may contain only letters, spaces and . ' - ; remove ${describeBadChars(fullName)}`,
      );
    else if (!HAS_LETTER.test(fullName)) add(problems, 'full_name', 'FULL_NAME_NO_LETTER', 'full_name must contain letters');
    else if (!STARTS_WITH_LETTER.test(fullName))
      add(problems, 'full_name', 'FULL_NAME_START', `full_name must begin with a letter; remove the leading "${fullName.charAt(0)}"`);
  }

  // date_of_birth
  const dobText = clean(values.date_of_birth);
  let dateOfBirth = '';
  if (dobText === '') add(problems, 'date_of_birth', 'DATE_OF_BIRTH_REQUIRED', 'date_of_birth is required (YYYY-MM-DD or DD/MM/YYYY)');
  else {
    let y = 0;
    let m = 0;
    let d = 0;
    const iso = ISO_DATE.exec(dobText);
    const dmy = iso === null ? DMY_DATE.exec(dobText) : null;
    if (iso !== null) {
      y = Number(iso[1]);
      m = Number(iso[2]);
      d = Number(iso[3]);
    } else if (dmy !== null) {
      d = Number(dmy[1]);
      m = Number(dmy[2]);
      y = Number(dmy[3]);
    }
    if (iso === null && dmy === null)
      add(problems, 'date_of_birth', 'DATE_OF_BIRTH_FORMAT', `date_of_birth ${shown(dobText)} must be written YYYY-MM-DD or DD/MM/YYYY`);
    else if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m))
      add(
        problems,
        'date_of_birth',
        'DATE_OF_BIRTH_INVALID_DATE',
        `date_of_birth "${dobText}" is not a real calendar date (day/month out of range)`,
      );
    else {
      const isoDate = `${y}-${pad2(m)}-${pad2(d)}`;
      if (y < 1900) add(problems, 'date_of_birth', 'DATE_OF_BIRTH_BEFORE_1900', `date_of_birth ${isoDate} is before 1900-01-01`);
      else if (isoDate > today.iso) add(problems, 'date_of_birth', 'DATE_OF_BIRTH_IN_FUTURE', `date_of_birth ${isoDate} is in the future`);
      else dateOfBirth = isoDate;
    }
  }

  // gender
  const genderText = clean(values.gender);
  let gender: 'M' | 'F' | undefined;
  if (genderText === '') add(problems, 'gender', 'GENDER_REQUIRED', 'gender is required: M or F (Nam or Nữ)');
  else {
    gender = GENDERS.get(nfcLower(genderText));
    if (gender === undefined) add(problems, 'gender', 'GENDER_INVALID', `gender ${shown(genderText)} must be M or F (Nam or Nữ)`);
  }

  // national_id against date_of_birth and gender. Digit 4: 0/1 = 1900s male/female, 2/3 = 2000s, 4/5 = 2100s
  if (idDigit4 >= 0) {
    if (idDigit4 > 3)
      add(
        problems,
        'national_id',
        'NATIONAL_ID_CENTURY_DIGIT',
        `national_id is not a valid citizen ID for a living person: its 4th digit (century and sex) is ${idDigit4}` +
          (idDigit4 <= 5 ? ', which means born in the 2100s' : ', which is not a century code') +
          '; it must be 0 or 1 for people born in the 1900s, 2 or 3 for the 2000s',
      );
    else {
      const birthYear = 1900 + (idDigit4 >> 1) * 100 + (nationalId.charCodeAt(4) - 48) * 10 + (nationalId.charCodeAt(5) - 48);
      const idGender = (idDigit4 & 1) === 0 ? 'M' : 'F';
      if (birthYear > today.year)
        add(
          problems,
          'national_id',
          'NATIONAL_ID_FUTURE_BIRTH_YEAR',
          `national_id is not a valid citizen ID: its digits 4-6 (century, sex and year of birth) give a birth year of ${birthYear}, which is in the future`,
        );
      else if (dateOfBirth !== '' && Number(dateOfBirth.slice(0, 4)) !== birthYear)
        add(
          problems,
          'national_id',
          'NATIONAL_ID_DOB_MISMATCH',
          `national_id disagrees with date_of_birth: the ID's digits 4-6 give a birth year of ${birthYear}, date_of_birth has ${dateOfBirth.slice(0, 4)}; correct whichever is wrong`,
        );
      if (gender !== undefined && gender !== idGender)
        add(
          problems,
          'national_id',
          'NATIONAL_ID_GENDER_MISMATCH',
          `national_id disagrees with gender: the ID's 4th digit says ${idGender === 'M' ? 'male' : 'female'}, gender is ${gender}; correct whichever is wrong`,
        );
    }
  }

  // area_code, programme_code
  const areaCode = clean(values.area_code);
  if (areaCode === '')
    add(problems, 'area_code', 'AREA_CODE_REQUIRED', 'area_code is required: the code of the commune-level unit the person is paid in');
  else if (!AREA_CODE.test(areaCode))
    add(
      problems,
      'area_code',
      'AREA_CODE_FORMAT',
      `area_code ${shown(areaCode)} must be 1-16 letters or digits, without spaces or punctuation`,
    );

  const programmeText = clean(values.programme_code);
  if (programmeText === '') add(problems, 'programme_code', 'PROGRAMME_CODE_REQUIRED', 'programme_code is required, e.g. TCXH-NCT80');
  else if (!PROGRAMME_CODE.test(programmeText))
    add(
      problems,
      'programme_code',
      'PROGRAMME_CODE_FORMAT',
      `programme_code ${shown(programmeText)} must be 1-32 letters, digits, "_" or "-", e.g. TCXH-NCT80`,
    );

  // coefficient, in hundredths from its digits: no float rounding
  const coefficientText = clean(values.coefficient);
  let coefficientX100 = 0;
  if (coefficientText === '')
    add(problems, 'coefficient', 'COEFFICIENT_REQUIRED', 'coefficient is required: a number from 0.5 to 10, e.g. 1.5');
  else {
    const m = DECIMAL.exec(coefficientText);
    const intPart = m?.[1] ?? '';
    const frac = m?.[2] ?? '';
    if (m === null)
      add(
        problems,
        'coefficient',
        'COEFFICIENT_FORMAT',
        `coefficient ${shown(coefficientText)} is not a number; write it like 1.5 or 2,5, without thousands separators or units`,
      );
    else if (frac.length > 2)
      add(
        problems,
        'coefficient',
        'COEFFICIENT_PRECISION',
        `coefficient ${shown(coefficientText)} has more than 2 decimals; write at most 2 (e.g. 1.25) and no thousands separator`,
      );
    else {
      let start = 0;
      while (start < intPart.length - 1 && intPart.charCodeAt(start) === 48) start++;
      let x = -1;
      if (intPart.length - start <= 2) {
        x = 0;
        for (let i = start; i < intPart.length; i++) x = x * 10 + (intPart.charCodeAt(i) - 48);
        x *= 100;
        if (frac.length > 0) x += (frac.charCodeAt(0) - 48) * 10;
        if (frac.length > 1) x += frac.charCodeAt(1) - 48;
      }
      if (x < COEFFICIENT_MIN_X100 || x > COEFFICIENT_MAX_X100)
        add(
          problems,
          'coefficient',
          'COEFFICIENT_OUT_OF_RANGE',
          `coefficient ${shown(coefficientText)} is out of range: it must be from 0.5 to 10`,
        );
      else coefficientX100 = x;
    }
  }

  // periods
  const startText = clean(values.start_period);
  let startPeriod: number | null = null;
  if (startText === '')
    add(problems, 'start_period', 'START_PERIOD_REQUIRED', 'start_period is required: the first month paid, as YYYY-MM');
  else {
    startPeriod = parsePeriod(startText);
    if (startPeriod === null)
      add(
        problems,
        'start_period',
        'START_PERIOD_FORMAT',
        `start_period ${shown(startText)} must be a month written YYYY-MM, e.g. 2025-01`,
      );
  }
  const endText = clean(values.end_period);
  let endPeriod: number | null = null;
  if (endText !== '') {
    endPeriod = parsePeriod(endText);
    if (endPeriod === null)
      add(
        problems,
        'end_period',
        'END_PERIOD_FORMAT',
        `end_period ${shown(endText)} must be a month written YYYY-MM, e.g. 2025-12, or left empty`,
      );
    else if (startPeriod !== null && endPeriod < startPeriod)
      add(problems, 'end_period', 'END_PERIOD_BEFORE_START', `end_period ${endText} is before start_period ${startText}`);
  }

  // channel and its payment columns
  const channelText = clean(values.channel);
  let channel: 'BANK' | 'WALLET' | 'CASH' | undefined;
  if (channelText === '')
    add(problems, 'channel', 'CHANNEL_REQUIRED', 'channel is required: BANK, WALLET or CASH (Ngân hàng, Ví điện tử, Tiền mặt)');
  else {
    const key = nfcLower(channelText);
    channel = CHANNELS.get(collapseSpaces(key));
    if (channel === undefined)
      add(
        problems,
        'channel',
        'CHANNEL_INVALID',
        `channel ${shown(channelText)} must be BANK, WALLET or CASH (Ngân hàng, Ví điện tử, Tiền mặt)`,
      );
  }

  const pay: Record<PaymentColumn, string> = {
    bank_code: clean(values.bank_code),
    account_number: clean(values.account_number),
    account_name: clean(values.account_name),
    wallet_provider: clean(values.wallet_provider),
    wallet_id: clean(values.wallet_id),
  };
  // with a known channel, a column is either required or must be empty; with an unknown one, check what is there
  const allowed = channel === undefined ? PAYMENT_COLUMNS : CHANNEL_COLUMNS[channel];
  if (channel !== undefined) {
    for (const c of PAYMENT_COLUMNS) {
      const isAllowed = allowed.includes(c);
      if (isAllowed && pay[c] === '') add(problems, c, REQUIRED_CODE[c], `${c} is required when channel is ${channel}`);
      else if (!isAllowed && pay[c] !== '')
        add(
          problems,
          c,
          NOT_ALLOWED_CODE[c],
          `${c} must be empty when channel is ${channel}${channel === 'CASH' ? '' : `; it belongs to ${channel === 'BANK' ? 'WALLET' : 'BANK'} payments`}`,
        );
    }
  }

  const bankCode = allowed.includes('bank_code') ? pay.bank_code : '';
  if (bankCode !== '') {
    if (!BANK_BIN.test(bankCode))
      add(
        problems,
        'bank_code',
        'BANK_CODE_FORMAT',
        `bank_code ${shown(bankCode)} must be the bank's 6-digit NAPAS BIN, e.g. 970436 for Vietcombank`,
      );
    else if (!ref.isKnownBank(bankCode))
      add(
        problems,
        'bank_code',
        'BANK_CODE_UNKNOWN',
        `bank_code ${bankCode} is not a bank known to the service; check the bank's 6-digit NAPAS BIN`,
      );
  }
  const accountNumber = allowed.includes('account_number') ? pay.account_number : '';
  if (accountNumber !== '' && !ACCOUNT_NUMBER.test(accountNumber))
    add(problems, 'account_number', 'ACCOUNT_NUMBER_FORMAT', `account_number must be 6-19 digits; ${digitsHint(accountNumber, 0)}`);

  const walletProvider = (allowed.includes('wallet_provider') ? pay.wallet_provider : '').toUpperCase();
  if (walletProvider !== '' && !ref.isKnownWalletProvider(walletProvider))
    add(
      problems,
      'wallet_provider',
      'WALLET_PROVIDER_UNKNOWN',
      `wallet_provider ${shown(walletProvider)} is not a wallet provider known to the service; use its code, e.g. VIETTELMONEY`,
    );
  const walletId = allowed.includes('wallet_id') ? pay.wallet_id : '';
  if (walletId !== '' && !MOBILE.test(walletId))
    add(problems, 'wallet_id', 'WALLET_ID_FORMAT', `wallet_id must be 10 digits starting with 0; ${digitsHint(walletId, 10)}`);

  const accountNameText = normaliseName(allowed.includes('account_name') ? pay.account_name : '');
  let accountName: string | null = null;
  let nameMismatch = false;
  if (accountNameText !== '') {
    const folded = foldName(accountNameText);
    accountName = folded.toUpperCase();
    const len = Math.max(codePointLength(accountNameText), codePointLength(accountName));
    if (len > NAME_MAX)
      add(problems, 'account_name', 'ACCOUNT_NAME_TOO_LONG', `account_name must be at most ${NAME_MAX} characters; it has ${len}`);
    if (CONTROL_OR_FORMAT.test(accountNameText))
      add(
        problems,
        'account_name',
        'ACCOUNT_NAME_CHARACTERS',
        `account_name must not contain control or invisible characters; remove ${codePoints(accountNameText.match(CONTROL_OR_FORMAT_ALL) ?? [])}`,
      );
    else if (!STARTS_WITH_LETTER.test(accountNameText))
      add(
        problems,
        'account_name',
        'ACCOUNT_NAME_START',
        `account_name must begin with a letter, as the bank holds the name; remove the leading ${shown(accountNameText.charAt(0))}`,
      );
    nameMismatch = folded !== foldName(fullName);
  }

  const phoneText = clean(values.phone);
  if (phoneText !== '' && !MOBILE.test(phoneText))
    add(problems, 'phone', 'PHONE_FORMAT', `phone must be 10 digits starting with 0, or left empty; ${digitsHint(phoneText, 10)}`);

  if (problems.length > 0 || channel === undefined || gender === undefined || startPeriod === null) return { row: null, problems };
  return {
    row: {
      nationalId,
      fullName,
      dateOfBirth,
      gender,
      areaCode,
      programmeCode: programmeText.toUpperCase(),
      coefficientX100,
      startPeriod,
      endPeriod,
      channel,
      bankCode: bankCode === '' ? null : bankCode,
      accountNumber: accountNumber === '' ? null : accountNumber,
      accountName,
      walletProvider: walletProvider === '' ? null : walletProvider,
      walletId: walletId === '' ? null : walletId,
      phone: phoneText === '' ? null : phoneText,
      nameMismatch,
    },
    problems,
  };
}

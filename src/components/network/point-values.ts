/**
 * What a cash-out point is made of and the rules each value follows, the same for a point typed in the console and a
 * row of a registry file: kinds, the operator each kind belongs to, coordinates and opening hours.
 */

/** atm, bank_branch, bank_agent: a bank's (by BIN); mobile_money_agent: a wallet provider's; post_office: the postal operator's. */
export const POINT_KINDS = ['atm', 'bank_branch', 'bank_agent', 'post_office', 'mobile_money_agent'] as const;
export type PointKind = (typeof POINT_KINDS)[number];

export const OPERATOR_TYPES = ['bank', 'wallet', 'post'] as const;
export type OperatorType = (typeof OPERATOR_TYPES)[number];

/** The operator type a kind of point belongs to (the table's CHECK says the same). */
export const OPERATOR_OF_KIND: Readonly<Record<PointKind, OperatorType>> = Object.freeze({
  atm: 'bank',
  bank_branch: 'bank',
  bank_agent: 'bank',
  post_office: 'post',
  mobile_money_agent: 'wallet',
});

/** The postal operators a post office may belong to; one in Vietnam (Vietnam Post), kept as a list so that a file names it. */
export const POSTAL_OPERATORS: Readonly<Record<string, string>> = Object.freeze({ VNPOST: 'Bưu điện Việt Nam (Vietnam Post)' });

/** The operator's own code of the point (ATM id, branch code, agent code): letters, digits and . _ / - */
export const POINT_CODE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$/;

/** Opening hours are read aloud in an SMS later: one short line of text. */
export const OPENING_HOURS_MAX = 120;
export const NAME_MAX = 200;
export const ADDRESS_MAX = 300;

/** Six decimals of a degree are about 11 cm: more is noise from a spreadsheet, not precision. */
const DEGREES = /^-?\d{1,3}(\.\d{1,6})?$/;

export interface Problem {
  column: string;
  code: string;
  message: string;
}

/** A coordinate as the database keeps it (DECIMAL, a string): refused when out of range or finer than 6 decimals. */
export function coordinate(raw: string, column: 'latitude' | 'longitude'): { value: string } | Problem {
  const v = raw.trim().replace(',', '.');
  const limit = column === 'latitude' ? 90 : 180;
  if (!DEGREES.test(v)) {
    return { column, code: 'COORDINATE_FORMAT', message: `${column} must be decimal degrees with at most 6 decimals, e.g. 21.034567` };
  }
  if (Math.abs(Number(v)) > limit) {
    return { column, code: 'COORDINATE_RANGE', message: `${column} must lie between -${limit} and ${limit} degrees` };
  }
  return { value: Number(v).toFixed(6) };
}

/** One line of human text: NFC, trimmed, spaces collapsed, no control characters. */
export function cleanText(raw: string): string {
  return raw.normalize('NFC').replace(/\s+/g, ' ').trim();
}

// eslint-disable-next-line no-control-regex
export const hasControl = (s: string): boolean => /[\u0000-\u001f\u007f]/.test(s);

export interface OperatorRef {
  type: OperatorType;
  code: string;
}

/** The active banks and wallet providers a point may belong to, and their names. */
export interface Operators {
  banks: Map<string, string>;
  wallets: Map<string, string>;
}

/** The operator of a point of this kind, checked against the reference lists; the code is upper-cased. */
export function operatorOf(kind: PointKind, raw: string, ops: Operators): OperatorRef | Problem {
  const code = raw.trim().toUpperCase();
  const type = OPERATOR_OF_KIND[kind];
  if (code === '') return { column: 'operator', code: 'REQUIRED', message: 'operator is required' };
  if (type === 'bank') {
    if (!/^\d{6}$/.test(code)) {
      return { column: 'operator', code: 'OPERATOR_FORMAT', message: `a ${kind} belongs to a bank: give its 6-digit NAPAS BIN` };
    }
    if (!ops.banks.has(code)) return { column: 'operator', code: 'UNKNOWN_BANK', message: `no active bank with BIN ${code}` };
  } else if (type === 'wallet') {
    if (!ops.wallets.has(code)) {
      return {
        column: 'operator',
        code: 'UNKNOWN_WALLET_PROVIDER',
        message: `no active wallet provider ${code.slice(0, 20)}; a mobile_money_agent belongs to one, e.g. VIETTELMONEY`,
      };
    }
  } else if (!(code in POSTAL_OPERATORS)) {
    return {
      column: 'operator',
      code: 'UNKNOWN_POSTAL_OPERATOR',
      message: `a post_office belongs to the postal operator: ${Object.keys(POSTAL_OPERATORS).join(', ')}`,
    };
  }
  return { type, code };
}

export const isProblem = (v: object): v is Problem => 'code' in v && 'message' in v && 'column' in v;

/** The operator's name as people know it, for lists, reports and (later) the SMS. */
export function operatorName(op: OperatorRef, ops: Operators): string {
  if (op.type === 'bank') return ops.banks.get(op.code) ?? op.code;
  if (op.type === 'wallet') return ops.wallets.get(op.code) ?? op.code;
  return POSTAL_OPERATORS[op.code] ?? op.code;
}

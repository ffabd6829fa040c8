/**
 * The columns of the roll import contract and the header row that names them: the English or Vietnamese name of each
 * column, which are required whatever the channel, and how a header row maps to them.
 */
import { foldName, looksLikeIdentifier, nfcLower, shown } from './roll-values';

export type Column =
  | 'national_id'
  | 'full_name'
  | 'date_of_birth'
  | 'gender'
  | 'area_code'
  | 'programme_code'
  | 'coefficient'
  | 'start_period'
  | 'end_period'
  | 'channel'
  | 'bank_code'
  | 'account_number'
  | 'account_name'
  | 'wallet_provider'
  | 'wallet_id'
  | 'phone';

/** The contract's column table, in its order; `required` = required whatever the channel. */
export const COLUMNS: readonly { key: Column; vi: string; required: boolean }[] = Object.freeze([
  { key: 'national_id', vi: 'Số CCCD', required: true },
  { key: 'full_name', vi: 'Họ và tên', required: true },
  { key: 'date_of_birth', vi: 'Ngày sinh', required: true },
  { key: 'gender', vi: 'Giới tính', required: true },
  { key: 'area_code', vi: 'Mã đơn vị hành chính', required: true },
  { key: 'programme_code', vi: 'Mã chế độ', required: true },
  { key: 'coefficient', vi: 'Hệ số', required: true },
  { key: 'start_period', vi: 'Tháng bắt đầu', required: true },
  { key: 'end_period', vi: 'Tháng kết thúc', required: false },
  { key: 'channel', vi: 'Hình thức nhận', required: true },
  { key: 'bank_code', vi: 'Mã ngân hàng', required: false },
  { key: 'account_number', vi: 'Số tài khoản', required: false },
  { key: 'account_name', vi: 'Tên chủ tài khoản', required: false },
  { key: 'wallet_provider', vi: 'Nhà cung cấp ví', required: false },
  { key: 'wallet_id', vi: 'Số ví', required: false },
  { key: 'phone', vi: 'Số điện thoại', required: false },
] as const);

export type HeaderProblemCode = 'UNKNOWN_COLUMN' | 'DUPLICATE_COLUMN' | 'MISSING_COLUMN' | 'UNNAMED_COLUMN';

export interface HeaderProblem {
  column: string | null;
  code: string;
  message: string;
}

const HEADER_SEPARATORS = /[\s_-]+/g;
const headerKey = (s: string): string => foldName(s).replace(HEADER_SEPARATORS, ' ').trim();

const HEADER_LOOKUP = new Map<string, Column>();
const HEADER_SUGGESTIONS = new Map<string, Column>();
const VI_NAME = {} as Record<Column, string>;
for (const c of COLUMNS) {
  HEADER_LOOKUP.set(c.key, c.key);
  HEADER_LOOKUP.set(nfcLower(c.vi), c.key);
  HEADER_SUGGESTIONS.set(headerKey(c.key), c.key);
  HEADER_SUGGESTIONS.set(headerKey(c.vi), c.key);
  VI_NAME[c.key] = c.vi;
}

const columnLabel = (c: Column): string => `${c} (${VI_NAME[c]})`;

/**
 * Maps a header row to column positions. Matching is case-insensitive, ignores surrounding spaces and a leading BOM,
 * accepts the English or Vietnamese name (Vietnamese compared after NFC normalisation). Unknown, unnamed and duplicate
 * columns and missing always-required columns are problems; every problem is reported. Positions in messages are 1-based.
 */
export function mapHeader(headers: string[]): { index: Partial<Record<Column, number>>; problems: HeaderProblem[] } {
  const index: Partial<Record<Column, number>> = {};
  const problems: HeaderProblem[] = [];
  for (let i = 0; i < headers.length; i++) {
    let raw = headers[i] ?? '';
    if (i === 0 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    const text = raw.trim();
    if (text === '') {
      problems.push({
        column: null,
        code: 'UNNAMED_COLUMN',
        message: `Column ${i + 1} has no header; give it one of the template's column names or delete the column`,
      });
      continue;
    }
    const col = HEADER_LOOKUP.get(nfcLower(text));
    if (col === undefined) {
      // a file without its header row would otherwise put a person's ID or account number in the report
      const looksLikeData = looksLikeIdentifier(text);
      const hint = looksLikeData ? undefined : HEADER_SUGGESTIONS.get(headerKey(text));
      problems.push({
        column: looksLikeData ? null : text,
        code: 'UNKNOWN_COLUMN',
        message:
          `Column ${i + 1} ${shown(text)} is not a column of the roll import template; ` +
          (looksLikeData
            ? 'the first row must be the header row with the column names'
            : hint === undefined
              ? 'rename it to one of the template column names (English or Vietnamese) or delete it'
              : `did you mean "${hint}" (Vietnamese "${VI_NAME[hint]}", with its diacritics)?`),
      });
      continue;
    }
    const first = index[col];
    if (first !== undefined) {
      problems.push({
        column: col,
        code: 'DUPLICATE_COLUMN',
        message: `Column ${columnLabel(col)} appears more than once (columns ${first + 1} and ${i + 1}); keep only one of them`,
      });
      continue;
    }
    index[col] = i;
  }
  for (const c of COLUMNS) {
    if (c.required && index[c.key] === undefined) {
      problems.push({
        column: c.key,
        code: 'MISSING_COLUMN',
        message: `Required column ${columnLabel(c.key)} is missing from the header row`,
      });
    }
  }
  return { index, problems };
}

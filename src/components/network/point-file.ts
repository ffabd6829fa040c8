/**
 * A registry file's columns and rows (docs/network.md): the header mapped to columns, each row checked into a point
 * or into its problems. Reading the file itself is the roll import's reader (CSV and XLSX, with its limits).
 */
import { plainCell } from '../beneficiaries';
import {
  ADDRESS_MAX,
  NAME_MAX,
  OPENING_HOURS_MAX,
  POINT_CODE,
  POINT_KINDS,
  cleanText,
  coordinate,
  hasControl,
  isProblem,
  operatorOf,
  type Operators,
  type OperatorType,
  type PointKind,
  type Problem,
} from './point-values';

export type FileColumn =
  'point_code' | 'kind' | 'operator' | 'name' | 'area_code' | 'address' | 'latitude' | 'longitude' | 'opening_hours' | 'active';

export const FILE_COLUMNS: readonly { key: FileColumn; vi: string; required: boolean }[] = Object.freeze([
  { key: 'point_code', vi: 'Mã điểm', required: true },
  { key: 'kind', vi: 'Loại điểm', required: true },
  { key: 'operator', vi: 'Đơn vị vận hành', required: true },
  { key: 'name', vi: 'Tên điểm', required: true },
  { key: 'area_code', vi: 'Mã đơn vị hành chính', required: true },
  { key: 'address', vi: 'Địa chỉ', required: true },
  { key: 'latitude', vi: 'Vĩ độ', required: false },
  { key: 'longitude', vi: 'Kinh độ', required: false },
  { key: 'opening_hours', vi: 'Giờ mở cửa', required: false },
  { key: 'active', vi: 'Đang hoạt động', required: false },
]);

/** Lower case without diacritics or separators: "Loại điểm" and "loai_diem" alike. */
export function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ')
    .trim();
}

const HEADERS = new Map<string, FileColumn>();
for (const c of FILE_COLUMNS) {
  HEADERS.set(fold(c.key), c.key);
  HEADERS.set(fold(c.vi), c.key);
}

/** The kinds as a file may name them: the code, or its Vietnamese name. */
const KIND_NAMES = new Map<string, PointKind>([
  ...POINT_KINDS.map((k) => [fold(k), k] as [string, PointKind]),
  ['cay atm', 'atm'],
  ['chi nhanh ngan hang', 'bank_branch'],
  ['chi nhanh', 'bank_branch'],
  ['phong giao dich', 'bank_branch'],
  ['dai ly ngan hang', 'bank_agent'],
  ['buu dien', 'post_office'],
  ['buu cuc', 'post_office'],
  ['diem buu dien', 'post_office'],
  ['dai ly mobile money', 'mobile_money_agent'],
  ['diem mobile money', 'mobile_money_agent'],
]);

const YES = new Set(['', 'yes', 'y', 'true', '1', 'co', 'x']);
const NO = new Set(['no', 'n', 'false', '0', 'khong']);

export interface HeaderProblem {
  column: string | null;
  code: string;
  message: string;
}

/** Positions of the columns in the header row; unknown, unnamed, repeated and missing required columns are problems. */
export function mapHeader(names: string[]): { index: Partial<Record<FileColumn, number>>; problems: HeaderProblem[] } {
  const index: Partial<Record<FileColumn, number>> = {};
  const problems: HeaderProblem[] = [];
  names.forEach((raw, i) => {
    // a spreadsheet's UTF-8 byte order mark (U+FEFF) before the first header is no part of its name
    const text = (i === 0 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw).trim();
    if (text === '') {
      problems.push({ column: null, code: 'UNNAMED_COLUMN', message: `column ${i + 1} has no header; name it or delete it` });
      return;
    }
    const col = HEADERS.get(fold(text));
    if (!col) {
      problems.push({
        column: text.slice(0, 64),
        code: 'UNKNOWN_COLUMN',
        message: `column ${i + 1} "${text.slice(0, 40)}" is not a column of the registry file; rename it (English or Vietnamese name) or delete it`,
      });
    } else if (index[col] !== undefined) {
      problems.push({ column: col, code: 'DUPLICATE_COLUMN', message: `column ${col} appears more than once; keep one` });
    } else index[col] = i;
  });
  for (const c of FILE_COLUMNS) {
    if (c.required && index[c.key] === undefined) {
      problems.push({
        column: c.key,
        code: 'MISSING_COLUMN',
        message: `required column ${c.key} (${c.vi}) is missing from the header row`,
      });
    }
  }
  return { index, problems };
}

/** A row that passed every check of its own: what the registry is to hold for its point. */
export interface FilePoint {
  rowNo: number;
  kind: PointKind;
  operatorType: OperatorType;
  operatorCode: string;
  pointCode: string;
  name: string;
  areaId: number;
  areaPath: string;
  address: string;
  latitude: string | null;
  longitude: string | null;
  openingHours: string | null;
  active: 0 | 1;
}

export interface AreaRef {
  id: number;
  path: string;
  level: string;
}

/** What rows are checked against: active communes by code, active operators, the uploader's scope. */
export interface RowContext {
  areas: Map<string, AreaRef>;
  operators: Operators;
  scopePath: string | null;
}

function text(raw: string, column: FileColumn, max: number, required: boolean, problems: Problem[]): string | null {
  const v = cleanText(raw);
  if (v === '') {
    if (required) problems.push({ column, code: 'REQUIRED', message: `${column} is required` });
    return null;
  }
  if (hasControl(raw.replace(/[\r\n\t]/g, ' '))) {
    problems.push({ column, code: 'CONTROL_CHARACTERS', message: `${column} holds control characters` });
    return null;
  }
  if ([...v].length > max) {
    problems.push({ column, code: 'TEXT_TOO_LONG', message: `${column} is longer than ${max} characters` });
    return null;
  }
  return v;
}

/** A data row's checks, every problem of it reported; the point when it has none. */
export function checkRow(
  rowNo: number,
  cells: string[],
  index: Partial<Record<FileColumn, number>>,
  ctx: RowContext,
): { point: FilePoint | null; problems: Problem[] } {
  const cell = (c: FileColumn) => {
    const i = index[c];
    return i === undefined ? '' : plainCell(cells[i] ?? '');
  };
  const problems: Problem[] = [];
  const pointCode = cell('point_code').trim();
  if (pointCode === '') problems.push({ column: 'point_code', code: 'REQUIRED', message: 'point_code is required' });
  else if (!POINT_CODE.test(pointCode)) {
    problems.push({
      column: 'point_code',
      code: 'POINT_CODE_FORMAT',
      message: 'point_code must be 1-40 letters, digits or . _ / - (the operator’s own code of the point)',
    });
  }
  const kindText = cell('kind');
  const kind = KIND_NAMES.get(fold(kindText));
  if (kindText.trim() === '') problems.push({ column: 'kind', code: 'REQUIRED', message: 'kind is required' });
  else if (!kind) {
    problems.push({
      column: 'kind',
      code: 'UNKNOWN_KIND',
      message: `kind must be one of ${POINT_KINDS.join(', ')} (or its Vietnamese name)`,
    });
  }
  let operator: { type: OperatorType; code: string } | null = null;
  if (kind) {
    const op = operatorOf(kind, cell('operator'), ctx.operators);
    if (isProblem(op)) problems.push(op);
    else operator = op;
  }
  const name = text(cell('name'), 'name', NAME_MAX, true, problems);
  const address = text(cell('address'), 'address', ADDRESS_MAX, true, problems);
  const openingHours = text(cell('opening_hours'), 'opening_hours', OPENING_HOURS_MAX, false, problems);
  const code = cell('area_code').trim();
  let area: AreaRef | undefined;
  if (code === '') problems.push({ column: 'area_code', code: 'REQUIRED', message: 'area_code is required' });
  else {
    area = ctx.areas.get(code);
    if (!area)
      problems.push({ column: 'area_code', code: 'UNKNOWN_AREA', message: `no active administrative unit with code ${code.slice(0, 16)}` });
    else if (area.level !== 'commune') {
      problems.push({
        column: 'area_code',
        code: 'AREA_NOT_COMMUNE',
        message: `${code} is a ${area.level}; give the commune the point is in`,
      });
      area = undefined;
    } else if (ctx.scopePath && !area.path.startsWith(ctx.scopePath)) {
      problems.push({ column: 'area_code', code: 'AREA_OUT_OF_SCOPE', message: `${code} is outside your area` });
      area = undefined;
    }
  }
  const lat = cell('latitude').trim();
  const lng = cell('longitude').trim();
  let latitude: string | null = null;
  let longitude: string | null = null;
  if (lat !== '' || lng !== '') {
    if (lat === '' || lng === '') {
      problems.push({
        column: lat === '' ? 'latitude' : 'longitude',
        code: 'COORDINATES_PAIRED',
        message: 'give latitude and longitude together, or neither',
      });
    } else {
      const la = coordinate(lat, 'latitude');
      const lo = coordinate(lng, 'longitude');
      if (isProblem(la)) problems.push(la);
      else latitude = la.value;
      if (isProblem(lo)) problems.push(lo);
      else longitude = lo.value;
    }
  }
  const activeText = fold(cell('active'));
  let active: 0 | 1 = 1;
  if (NO.has(activeText)) active = 0;
  else if (!YES.has(activeText)) {
    problems.push({ column: 'active', code: 'ACTIVE_FORMAT', message: 'active must be yes or no (có / không, 1 / 0), or empty for yes' });
  }
  if (problems.length || !kind || !operator || !area || name === null || address === null) return { point: null, problems };
  return {
    point: {
      rowNo,
      kind,
      operatorType: operator.type,
      operatorCode: operator.code,
      pointCode,
      name,
      areaId: area.id,
      areaPath: area.path,
      address,
      latitude,
      longitude,
      openingHours,
      active,
    },
    problems,
  };
}

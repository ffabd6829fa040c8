import type { DataSource } from 'typeorm';
import { COLUMNS, type Column } from '../roll-columns';
import type { ReferenceData, RowProblem } from '../roll-row';
import { DATE_CELL, NUMERIC_CELL, plainCell } from './file-reader';
import type { ImportRow } from './types';

/** What a file's rows are checked against (the active areas, programmes, banks and wallet providers) and the uploader's scope. */
export interface Reference extends ReferenceData {
  areas: Map<string, AreaRef>;
  programmes: Map<string, number>;
  /** The path of the uploader's area, or null for a user of the whole tree. */
  scopePath: string | null;
}

export interface AreaRef {
  id: number;
  path: string;
  level: string;
}

const FIXED_LENGTH_DIGITS: Partial<Record<Column, number>> = { national_id: 12, phone: 10, wallet_id: 10 };

/** A row's cells by column (the header's index), with the spreadsheet's typed cells turned into text as the contract says. */
export function cellValues(
  cells: string[],
  header: Partial<Record<Column, number>>,
  rowProblems: RowProblem[],
): Partial<Record<Column, string>> {
  const values: Partial<Record<Column, string>> = {};
  for (const col of COLUMNS) {
    const i = header[col.key];
    if (i === undefined) continue;
    let v = cells[i] ?? '';
    if (v.startsWith(NUMERIC_CELL)) {
      v = v.slice(NUMERIC_CELL.length);
      const fixed = FIXED_LENGTH_DIGITS[col.key];
      if (fixed && /^\d+$/.test(v) && v.length < fixed) v = v.padStart(fixed, '0');
      else if (col.key === 'account_number') {
        rowProblems.push({
          column: 'account_number',
          code: 'NUMBER_CELL',
          message:
            'the account number is stored as a number in the spreadsheet, which loses leading zeros and long digits; format the column as Text',
        });
      }
    } else if (v.startsWith(DATE_CELL)) {
      v = v.slice(DATE_CELL.length);
      // Excel turns a month typed as 2024-01 into the date 2024-01-01
      if (col.key === 'start_period' || col.key === 'end_period') v = v.slice(0, 7);
    }
    values[col.key] = v;
  }
  return values;
}

const NOT_SPACE = /\S/;

/** A header row's column names: empty cells after the last name are no columns (Excel keeps cells merely formatted). */
export function headerNames(cells: string[]): string[] {
  const names = cells.map(plainCell);
  while (names.length > 0 && names[names.length - 1]!.trim() === '') names.pop();
  return names;
}

/** Whether every cell from `from` on is empty or spaces (most rows: the first cell says no). */
export function isBlank(cells: string[], from: number): boolean {
  for (let i = from; i < cells.length; i++) {
    const c = cells[i]!;
    if (c.length !== 0 && NOT_SPACE.test(c)) return false;
  }
  return true;
}

export async function loadReference(ds: DataSource, imp: ImportRow): Promise<Reference> {
  const areas = new Map<string, AreaRef>();
  for (const a of (await ds.query('SELECT id, code, path, level FROM areas WHERE active = 1')) as (AreaRef & { code: string })[]) {
    areas.set(a.code, { id: a.id, path: a.path, level: a.level });
  }
  const programmes = new Map<string, number>();
  for (const p of (await ds.query('SELECT id, code FROM programmes WHERE active = 1')) as { id: number; code: string }[]) {
    programmes.set(p.code, p.id);
  }
  const banks = new Set(((await ds.query('SELECT bin FROM banks WHERE active = 1')) as { bin: string }[]).map((b) => b.bin));
  const wallets = new Set(
    ((await ds.query('SELECT code FROM wallet_providers WHERE active = 1')) as { code: string }[]).map((w) => w.code),
  );
  let scopePath: string | null = null;
  if (imp.scope_area_id !== null) {
    const [s] = (await ds.query('SELECT path FROM areas WHERE id = ?', [imp.scope_area_id])) as { path: string }[];
    scopePath = s?.path ?? '/none/';
  }
  return {
    areas,
    programmes,
    scopePath,
    isKnownBank: (b: string) => banks.has(b),
    isKnownWalletProvider: (w: string) => wallets.has(w),
  };
}

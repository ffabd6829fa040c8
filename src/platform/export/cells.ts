/**
 * The one writer of spreadsheet cells: every CSV and XLSX the service hands to people goes through it, so that no
 * text from a roll, a reviewer or a provider reaches a spreadsheet program as a formula.
 */
import type ExcelJS from 'exceljs';

/** One cell: text, a number (written as a number, so amounts stay numeric and a negative stays a number), or empty. */
export type Cell = string | number | null;

/** A text cell a spreadsheet program would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Text that a spreadsheet shows and never runs: a leading quote keeps a would-be formula text (OWASP CSV injection). */
export function safeText(v: string): string {
  return FORMULA_START.test(v) ? `'${v}` : v;
}

export function safeCell(v: Cell): Cell {
  return typeof v === 'string' ? safeText(v) : v;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field (RFC 4180): neutralised, then quoted when it holds a comma, a quote or a line break. */
export function csvField(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const text = safeText(v);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record with its `\n` line end. */
export function csvLine(cells: readonly Cell[]): string {
  let line = '';
  for (let i = 0; i < cells.length; i++) line += i === 0 ? csvField(cells[i]!) : `,${csvField(cells[i]!)}`;
  return `${line}\n`;
}

/** Spreadsheet programs read a UTF-8 CSV as UTF-8 (Vietnamese intact) only after this byte order mark. */
export const CSV_BOM = '\uFEFF';

/** Yield roughly this many characters at a time: a long export is a few hundred writes, not one per row. */
const CSV_CHUNK = 64 * 1024;

/** A whole CSV (byte order mark, header, rows) as text pieces, for `Readable.from()` into a response. */
export async function* csvText(header: readonly string[], rows: AsyncIterable<readonly Cell[]>): AsyncGenerator<string> {
  let buf = `${CSV_BOM}${csvLine(header)}`;
  for await (const r of rows) {
    buf += csvLine(r);
    if (buf.length >= CSV_CHUNK) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/** Adds a row to an XLSX sheet through the same neutraliser (the caller styles and commits it). */
export function addSheetRow(ws: ExcelJS.Worksheet, cells: readonly Cell[]): ExcelJS.Row {
  return ws.addRow(cells.map(safeCell));
}

import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../../../platform/errors';
import { WORKBOOK_LIMITS, WorkbookZip, workbookLimit, type WorkbookLimits } from './workbook';

export type RollFormat = 'csv' | 'xlsx';

/** A record of the file: row 1 is the header; rows are numbered as a spreadsheet shows them. */
export interface FileRow {
  rowNo: number;
  cells: string[];
}

/** The file as a whole cannot be read: nothing of it is imported. */
export function fileError(code: string, message: string): AppError {
  return new AppError('invalid', code, message);
}

/** The longest record accepted; a longer one is a broken file, not a roll. */
export const MAX_RECORD_BYTES = 64 * 1024;

/** Fails the stream on the first byte sequence that is not UTF-8 (a file saved as ANSI / Windows-1258 / UTF-16). */
class Utf8Guard extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private offset = 0;
  private first = true;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.first) {
      this.first = false;
      if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
        done(fileError('FILE_NOT_UTF8', 'the file is UTF-16; save it as "CSV UTF-8 (comma delimited)"'));
        return;
      }
    }
    // NUL is valid UTF-8 but never in a roll: it is the other half of each character of a UTF-16 file saved without its BOM
    if (chunk.includes(0)) {
      done(
        fileError(
          'FILE_NOT_UTF8',
          'the file contains NUL bytes, so it is probably UTF-16 ("Unicode text"); save it as "CSV UTF-8 (comma delimited)"',
        ),
      );
      return;
    }
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      done(
        fileError(
          'FILE_NOT_UTF8',
          `the file is not UTF-8 (invalid bytes near byte ${this.offset}); save it as "CSV UTF-8 (comma delimited)"`,
        ),
      );
      return;
    }
    this.offset += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    try {
      this.decoder.decode();
      done();
    } catch {
      done(fileError('FILE_NOT_UTF8', 'the file ends in the middle of a UTF-8 character; save it as "CSV UTF-8 (comma delimited)"'));
    }
  }
}

function csvError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const err = e as { code?: string; message?: string; lines?: number };
  if (err.code === 'CSV_MAX_RECORD_SIZE') {
    return fileError(
      'LINE_TOO_LONG',
      `a line near line ${err.lines ?? '?'} is longer than ${MAX_RECORD_BYTES / 1024} KB; the file is not a roll in the agreed format`,
    );
  }
  if (err.code === 'INVALID_OPENING_QUOTE') {
    // csv-parse's own message quotes the cell, which may be someone's ID
    return fileError(
      'MALFORMED_CSV',
      `the CSV cannot be read near line ${err.lines ?? '?'}: a quote (") inside a cell that does not start with one; quote the whole cell and double the quote`,
    );
  }
  if (typeof err.code === 'string' && err.code.startsWith('CSV_')) {
    return fileError('MALFORMED_CSV', `the CSV cannot be read near line ${err.lines ?? '?'}: ${err.message ?? err.code}`);
  }
  return fileError('UNREADABLE_FILE', 'the file cannot be read');
}

/** How many rows a reader hands over at once (one await per batch, not per row). */
const BATCH_ROWS = 512;

/** The general CSV reader (csv-parse): quoted fields, embedded separators, quotes and line ends, any line-end style. */
export async function* readCsvGeneral(path: string): AsyncGenerator<FileRow[]> {
  // empty lines are records too (one empty cell): a spreadsheet counts them as rows, and so must the row numbers of problems
  const parser = parse({
    bom: true,
    delimiter: ',',
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: MAX_RECORD_BYTES,
  });
  const source = createReadStream(path, { highWaterMark: 256 * 1024 });
  const guard = new Utf8Guard();
  const fail = (e: unknown) => parser.destroy(e instanceof Error ? e : new Error(String(e)));
  source.on('error', fail);
  guard.on('error', fail);
  source.pipe(guard).pipe(parser);
  let rowNo = 0;
  let batch: FileRow[] = [];
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      rowNo += 1;
      batch.push({ rowNo, cells: record });
      if (batch.length >= BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } catch (e) {
    throw csvError(e);
  } finally {
    source.destroy();
  }
}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Whether the file is CSV of the plain kind a roll export is: no quote character anywhere, and one line-end style
 * (every line ends in LF, or every line in CRLF, with no CR elsewhere). Such a file's records are its lines and its
 * cells what lies between the commas, so `readCsvPlain` reads it exactly as csv-parse would, at a fraction of the cost.
 * Anything else (a quoted cell, old Mac CR line ends, mixed line ends) is read by csv-parse. One pass over the
 * bytes with memchr-speed searches, small beside reading the file.
 */
export async function isPlainCsv(path: string): Promise<{ plain: boolean; crlf: boolean }> {
  let lf = 0;
  let crlf = 0;
  let last = -1; // the previous chunk's last byte
  let bad = false;
  const source = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (chunk.length === 0) continue;
      // a quote anywhere, or a CR not followed by LF (also across the chunk boundary)
      if (chunk.includes(QUOTE) || (last === CR && chunk[0] !== LF)) {
        bad = true;
        break;
      }
      for (let i = chunk.indexOf(CR); i >= 0 && !bad; i = chunk.indexOf(CR, i + 1)) {
        if (i + 1 < chunk.length && chunk[i + 1] !== LF) bad = true;
      }
      if (bad) break;
      for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
        lf += 1;
        if ((i > 0 ? chunk[i - 1] : last) === CR) crlf += 1;
      }
      last = chunk[chunk.length - 1]!;
    }
  } finally {
    source.destroy();
  }
  // a CR as the very last byte, or mixed line ends: csv-parse's rules apply
  if (bad || last === CR || (crlf !== 0 && crlf !== lf)) return { plain: false, crlf: false };
  return { plain: true, crlf: crlf > 0 };
}

/** Which rows a reader is to yield (the others are still read and numbered, not split into cells): all when absent. */
export type KeepRow = (rowNo: number) => boolean;

/**
 * The plain-CSV reader (see isPlainCsv): lines split at LF (CRLF: the CR dropped), cells split at commas. Same records
 * as csv-parse with this module's options for such a file: a leading BOM dropped, an empty line one empty cell, no
 * record after a final line end; the same refusals (FILE_NOT_UTF8 through the same guard, LINE_TOO_LONG).
 */
export async function* readCsvPlain(path: string, crlf: boolean, keep?: KeepRow): AsyncGenerator<FileRow[]> {
  const source = createReadStream(path, { highWaterMark: 256 * 1024 });
  const guard = new Utf8Guard();
  source.on('error', (e) => guard.destroy(e));
  source.pipe(guard);
  // the guard has checked the bytes; this decoder only turns them into text
  const decoder = new TextDecoder('utf-8', { ignoreBOM: false });
  let rest = '';
  let rowNo = 0;
  let line = 1;
  const tooLong = () =>
    fileError(
      'LINE_TOO_LONG',
      `a line near line ${line} is longer than ${MAX_RECORD_BYTES / 1024} KB; the file is not a roll in the agreed format`,
    );
  const cut = crlf ? 1 : 0;
  try {
    for await (const chunk of guard as AsyncIterable<Buffer>) {
      const s = rest.length ? rest + decoder.decode(chunk, { stream: true }) : decoder.decode(chunk, { stream: true });
      const batch: FileRow[] = [];
      let pos = 0;
      for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', pos)) {
        const end = nl - cut;
        if (end - pos > MAX_RECORD_BYTES) throw tooLong();
        rowNo += 1;
        line += 1;
        if (keep === undefined || keep(rowNo)) batch.push({ rowNo, cells: s.slice(pos, end).split(',') });
        pos = nl + 1;
      }
      rest = pos === 0 ? s : s.slice(pos);
      if (rest.length > MAX_RECORD_BYTES) throw tooLong();
      if (batch.length) yield batch;
    }
    rest += decoder.decode();
    if (rest.length && (keep === undefined || keep(rowNo + 1))) yield [{ rowNo: rowNo + 1, cells: rest.split(',') }];
  } catch (e) {
    throw csvError(e);
  } finally {
    source.destroy();
    guard.destroy();
  }
}

async function* readCsv(path: string, keep?: KeepRow): AsyncGenerator<FileRow[]> {
  const { plain, crlf } = await isPlainCsv(path);
  yield* plain ? readCsvPlain(path, crlf, keep) : readCsvGeneral(path);
}

/** Marks cells that Excel holds as numbers, so that the validator can say "format the column as Text" when digits were lost. */
export const NUMERIC_CELL = '\u0000n:';
/** Marks cells that Excel holds as dates (followed by YYYY-MM-DD): a date of birth, or a month typed as 2024-01 that Excel made a date. */
export const DATE_CELL = '\u0000d:';

/** The text of a cell as the file holds it, without the NUMERIC_CELL / DATE_CELL marks. */
export function plainCell(cell: string): string {
  return cell.startsWith(NUMERIC_CELL) || cell.startsWith(DATE_CELL) ? cell.slice(NUMERIC_CELL.length) : cell;
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return `${NUMERIC_CELL}${String(v)}`;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  // Excel dates are wall-clock dates; exceljs gives them as UTC midnight
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : `${DATE_CELL}${v.toISOString().slice(0, 10)}`;
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('text' in v && typeof v.text === 'string') return v.text;
    if ('result' in v) return cellText(v.result as ExcelJS.CellValue);
    if ('error' in v) return '';
  }
  return String(v);
}

/** An exceljs worksheet reader: its rows as they are parsed. */
type SheetReader = AsyncIterable<ExcelJS.Row>;

/** The parts of exceljs's streaming workbook reader that read one part each; the zip is opened here (WorkbookZip). */
interface PartParsers {
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<{ index: number; text: ExcelJS.CellValue }>;
  _parseWorksheet(iterator: AsyncIterable<string>, sheetNo: string): Generator<{ eventType: string; value: SheetReader }>;
  sharedStrings?: ExcelJS.CellValue[];
  workbookRels?: { Id: string; Target: string }[];
  model?: { sheets?: { rId: string }[] };
}

const SHEET_PART = /^xl\/worksheets\/sheet(\d+)\.xml$/;

/** The part of the first worksheet as the workbook orders its tabs; else the first sheet part in the zip. */
function firstSheet(parts: PartParsers, zip: WorkbookZip): string | undefined {
  const rId = parts.model?.sheets?.[0]?.rId;
  const target = parts.workbookRels?.find((r) => r.Id === rId)?.Target;
  if (target) {
    const name = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
    if (zip.has(name)) return name;
  }
  return zip.names().find((n) => SHEET_PART.test(n));
}

/**
 * The first worksheet's rows. The zip is opened by its central directory and every part is inflated within
 * WORKBOOK_LIMITS (a small file that inflates to gigabytes is refused, not read); the parts are read in the order
 * they are needed, whatever their order in the zip, so no worksheet is copied aside to wait for the shared strings.
 */
async function* readXlsx(path: string, limits: WorkbookLimits = WORKBOOK_LIMITS): AsyncGenerator<FileRow[]> {
  const fh = await open(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    if (magic.readUInt32BE(0) !== 0x504b0304) throw fileError('NOT_XLSX', 'the file is not an XLSX workbook');
  } finally {
    await fh.close();
  }
  const zip = await WorkbookZip.open(path, limits);
  try {
    // styles are read because they alone tell a date cell from a number
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
      sharedStrings: 'emit',
      hyperlinks: 'ignore',
      styles: 'cache',
      worksheets: 'emit',
    });
    const parts = reader as unknown as PartParsers;
    const part = (name: string) => Readable.from(zip.text(name, 'part'));
    if (zip.has('xl/_rels/workbook.xml.rels')) await parts._parseRels(part('xl/_rels/workbook.xml.rels'));
    if (zip.has('xl/workbook.xml')) await parts._parseWorkbook(part('xl/workbook.xml'));
    if (zip.has('xl/styles.xml')) await parts._parseStyles(part('xl/styles.xml'));
    const strings: ExcelJS.CellValue[] = [];
    if (zip.has('xl/sharedStrings.xml')) {
      for await (const s of parts._parseSharedStrings(Readable.from(zip.text('xl/sharedStrings.xml', 'sharedStrings')))) {
        if (strings.push(s.text) > limits.sharedStrings) {
          throw workbookLimit('sharedStrings', `it has more than ${limits.sharedStrings} shared strings`);
        }
      }
    }
    parts.sharedStrings = strings;
    const sheetPart = firstSheet(parts, zip);
    if (!sheetPart) throw fileError('UNREADABLE_FILE', 'the XLSX workbook has no worksheet');
    const [made] = [...parts._parseWorksheet(zip.text(sheetPart, 'sheet'), SHEET_PART.exec(sheetPart)?.[1] ?? '1')];
    let batch: FileRow[] = [];
    for await (const row of made!.value) {
      const values = row.values as ExcelJS.CellValue[];
      const cells: string[] = [];
      for (let i = 1; i < values.length; i++) cells.push(cellText(values[i] ?? null));
      batch.push({ rowNo: row.number, cells });
      if (batch.length >= BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw fileError('UNREADABLE_FILE', 'the XLSX workbook cannot be read (damaged, or not an Excel 2007+ file)');
  } finally {
    zip.close();
  }
}

/**
 * The file's records in batches. `keep`: a hint that only those rows are wanted; the plain-CSV path then leaves the
 * others out (without splitting them into cells), the other paths may yield every row.
 */
export function readRollFile(path: string, format: RollFormat, keep?: KeepRow, limits?: WorkbookLimits): AsyncGenerator<FileRow[]> {
  return format === 'csv' ? readCsv(path, keep) : readXlsx(path, limits);
}

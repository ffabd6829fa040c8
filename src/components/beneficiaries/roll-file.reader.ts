import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../../platform/errors';

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
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      done(fileError('FILE_NOT_UTF8', `the file is not UTF-8 (invalid bytes near byte ${this.offset}); save it as "CSV UTF-8 (comma delimited)"`));
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
    return fileError('LINE_TOO_LONG', `a line near line ${err.lines ?? '?'} is longer than ${MAX_RECORD_BYTES / 1024} KB; the file is not a roll in the agreed format`);
  }
  if (typeof err.code === 'string' && err.code.startsWith('CSV_')) {
    return fileError('MALFORMED_CSV', `the CSV cannot be read near line ${err.lines ?? '?'}: ${err.message ?? err.code}`);
  }
  return fileError('UNREADABLE_FILE', 'the file cannot be read');
}

async function* readCsv(path: string): AsyncGenerator<FileRow> {
  const parser = parse({
    bom: true,
    delimiter: ',',
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  const source = createReadStream(path, { highWaterMark: 256 * 1024 });
  const guard = new Utf8Guard();
  const fail = (e: unknown) => parser.destroy(e instanceof Error ? e : new Error(String(e)));
  source.on('error', fail);
  guard.on('error', fail);
  source.pipe(guard).pipe(parser);
  let rowNo = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      rowNo += 1;
      yield { rowNo, cells: record };
    }
  } catch (e) {
    throw csvError(e);
  } finally {
    source.destroy();
  }
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('text' in v && typeof v.text === 'string') return v.text;
    if ('result' in v) return cellText(v.result as ExcelJS.CellValue);
    if ('error' in v) return '';
  }
  return String(v);
}

/** Marks cells that Excel holds as numbers, so that the validator can say "format the column as Text" when digits were lost. */
export const NUMERIC_CELL = '\u0000n:';

async function* readXlsx(path: string): AsyncGenerator<FileRow> {
  const fh = await open(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    if (magic.readUInt32BE(0) !== 0x504b0304) throw fileError('NOT_XLSX', 'the file is not an XLSX workbook');
  } finally {
    await fh.close();
  }
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, { sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'ignore', worksheets: 'emit' });
  try {
    for await (const sheet of reader) {
      for await (const row of sheet as AsyncIterable<ExcelJS.Row>) {
        const values = row.values as ExcelJS.CellValue[];
        const cells: string[] = [];
        for (let i = 1; i < values.length; i++) {
          const v = values[i];
          cells.push(typeof v === 'number' ? `${NUMERIC_CELL}${String(v)}` : cellText(v ?? null));
        }
        yield { rowNo: row.number, cells };
      }
      return; // the first worksheet only
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw fileError('UNREADABLE_FILE', 'the XLSX workbook cannot be read (damaged, or not an Excel 2007+ file)');
  }
}

export function readRollFile(path: string, format: RollFormat): AsyncGenerator<FileRow> {
  return format === 'csv' ? readCsv(path) : readXlsx(path);
}

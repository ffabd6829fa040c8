import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import { addSheetRow, CSV_BOM, csvLine, type Cell } from '../../platform/export/cells';

export type { Cell };

/** What an export writes, whatever the format: a header, rows, and (XLSX only) a summary sheet at the end. */
export interface TableSink {
  row(cells: readonly Cell[]): Promise<void> | void;
  /** Finishes the file; resolves with its size and SHA-256 once it is on disk. */
  close(summary: [string, Cell][]): Promise<{ bytes: number; sha256: string }>;
  /** Stops writing (the caller deletes the partial file). */
  abort(): void;
}

/** Counts and hashes every byte on its way to the file: the manifest describes exactly what was written. */
class HashCount extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

function fileTarget(path: string): { head: HashCount; done: Promise<void> } {
  const head = new HashCount();
  const done = pipeline(head, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  // the pipeline's own promise reports the failure; this keeps an early one from being unhandled
  done.catch(() => undefined);
  return { head, done };
}

/** Flush to the file in pieces of about this many characters. */
const CSV_CHUNK = 256 * 1024;

/**
 * CSV as RFC 4180 with `\n` line ends and a UTF-8 byte order mark (spreadsheet programs then read Vietnamese
 * correctly). Rows are joined into large strings before each write: a million rows are a few hundred writes.
 */
export class CsvSink implements TableSink {
  private readonly target: { head: HashCount; done: Promise<void> };
  private buf: string;

  constructor(path: string, header: readonly string[]) {
    this.target = fileTarget(path);
    this.buf = `${CSV_BOM}${csvLine(header)}`;
  }

  row(cells: readonly Cell[]): Promise<void> | void {
    this.buf += csvLine(cells);
    if (this.buf.length >= CSV_CHUNK) return this.flush();
  }

  private flush(): Promise<void> | void {
    const chunk = Buffer.from(this.buf, 'utf8');
    this.buf = '';
    if (!this.target.head.write(chunk)) return Promise.race([once(this.target.head, 'drain').then(() => undefined), this.target.done]);
  }

  async close(): Promise<{ bytes: number; sha256: string }> {
    if (this.buf.length) await this.flush();
    this.target.head.end();
    await this.target.done;
    return { bytes: this.target.head.bytes, sha256: this.target.head.hash.digest('hex') };
  }

  abort(): void {
    this.target.head.destroy();
  }
}

/** Excel's limit is 1,048,576 rows a sheet; the header takes one. */
export const XLSX_ROWS_PER_SHEET = 1_048_575;

/**
 * XLSX through exceljs's streaming writer: each row is committed as it comes, so memory stays flat. The table goes
 * in sheets named after it (a second one past Excel's row limit), and a last sheet lists the export's parameters
 * and totals.
 */
export class XlsxSink implements TableSink {
  private readonly target: { head: HashCount; done: Promise<void> };
  private readonly wb: ExcelJS.stream.xlsx.WorkbookWriter;
  private ws: ExcelJS.Worksheet | undefined;
  private rowsInSheet = 0;
  private sheets = 0;

  constructor(
    path: string,
    private readonly header: readonly string[],
    private readonly sheetName: string,
  ) {
    this.target = fileTarget(path);
    this.wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: this.target.head, useStyles: true, useSharedStrings: false });
  }

  private newSheet(): void {
    this.ws?.commit();
    this.sheets += 1;
    this.ws = this.wb.addWorksheet(this.sheets === 1 ? this.sheetName : `${this.sheetName} (${this.sheets})`);
    const h = addSheetRow(this.ws, this.header);
    h.font = { bold: true };
    h.commit();
    this.rowsInSheet = 0;
  }

  row(cells: readonly Cell[]): Promise<void> | void {
    if (!this.ws || this.rowsInSheet >= XLSX_ROWS_PER_SHEET) this.newSheet();
    addSheetRow(this.ws!, cells).commit();
    this.rowsInSheet += 1;
    if ((this.rowsInSheet & 255) === 0) return this.backpressure();
  }

  /**
   * exceljs writes a sheet's XML into the zip without heeding backpressure: when rows come faster than deflate
   * compresses them, the backlog waits in the zip entry's input buffer and memory grows with the sheet. Every 256
   * rows the writer waits for that buffer to drain (its sheet stream is internal to exceljs, hence the cast).
   */
  private backpressure(): Promise<void> | void {
    const sheet = (this.ws as unknown as { _stream?: { pipes?: (Writable & { _writableState?: { needDrain?: boolean } })[] } })._stream;
    const entry = sheet?.pipes?.[0];
    // archiver's own readable-stream 3 PassThrough: no writableNeedDrain getter, the state says it
    if (entry?._writableState?.needDrain) return Promise.race([once(entry, 'drain').then(() => undefined), this.target.done]);
    if (this.target.head.writableNeedDrain) return Promise.race([once(this.target.head, 'drain').then(() => undefined), this.target.done]);
  }

  async close(summary: [string, Cell][]): Promise<{ bytes: number; sha256: string }> {
    if (!this.ws) this.newSheet();
    this.ws!.commit();
    const s = this.wb.addWorksheet('Manifest');
    s.columns = [{ width: 28 }, { width: 60 }];
    for (const [k, v] of summary) addSheetRow(s, [k, v]).commit();
    s.commit();
    await this.wb.commit();
    await this.target.done;
    return { bytes: this.target.head.bytes, sha256: this.target.head.hash.digest('hex') };
  }

  abort(): void {
    this.target.head.destroy();
  }
}

import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { AppError } from '../../../platform/errors';

/**
 * What an uploaded workbook may inflate to. A few hundred kilobytes of zip can declare (or hide) gigabytes of XML;
 * the worker's heap is 192 MB. Each limit is far above what a roll of a million rows needs (docs/benchmarks.md,
 * "XLSX roll limits").
 */
export interface WorkbookLimits {
  /** Entries in the zip; a workbook saved by Excel has about a dozen. */
  entries: number;
  /** Uncompressed bytes of all entries together, as their sizes are declared and as they inflate. */
  totalBytes: number;
  /** Uncompressed bytes of xl/sharedStrings.xml. */
  sharedStringsBytes: number;
  /** Shared strings: every one is held in memory while the sheet is read. */
  sharedStrings: number;
  /** Uncompressed bytes of each other part read whole into memory (workbook, relationships, styles). */
  partBytes: number;
  /** Cells in one row (Excel's own sheets have at most 16,384 columns). */
  cellsPerRow: number;
  /** Uncompressed bytes per compressed byte of one entry larger than RATIO_FLOOR (XML deflates 5-20 to 1). */
  ratio: number;
  /** Characters between two tags: one text or one tag is held whole (an Excel cell holds at most 32,767). */
  runChars: number;
}

const MB = 1024 * 1024;

export const WORKBOOK_LIMITS: Readonly<WorkbookLimits> = Object.freeze({
  entries: 1000,
  totalBytes: 4096 * MB,
  sharedStringsBytes: 512 * MB,
  sharedStrings: 8_000_000,
  partBytes: 16 * MB,
  cellsPerRow: 16_384,
  ratio: 200,
  runChars: MB,
});

/** Entries inflating to at most this much are not held to the ratio (a tiny part of repeated tags compresses well). */
const RATIO_FLOOR = MB;

const SHARED_STRINGS = 'xl/sharedStrings.xml';

/** The file is refused because it would inflate past one of the limits; `limit` names it. */
export function workbookLimit(limit: keyof WorkbookLimits, what: string): AppError {
  return new AppError(
    'invalid',
    'WORKBOOK_LIMIT',
    `the workbook is refused before it is read: ${what} (limit ${limit}); a roll workbook is far smaller. Save the roll again from Excel, or as CSV UTF-8`,
  );
}

function damaged(what: string): AppError {
  return new AppError('invalid', 'UNREADABLE_FILE', `the XLSX workbook cannot be read: ${what}`);
}

const mb = (n: number) => (n >= MB ? `${Math.round(n / MB)} MB` : `${n} bytes`);

/** Where the part is read: the sheet is streamed, shared strings are held, the others are parsed whole. */
export type PartKind = 'sheet' | 'sharedStrings' | 'part';

/**
 * Follows the XML of a part as it inflates: the characters between two `<` (one text or one tag, which the XML parser
 * holds whole) and, in a sheet, the `<c` cells since the last `<row`. Cheap: one indexOf per tag.
 */
class XmlScan {
  private tail = '';
  private cells = 0;

  constructor(
    private readonly limits: WorkbookLimits,
    private readonly sheet: boolean,
    private readonly name: string,
  ) {}

  /** Since the last `<`, from the tail carried over. */
  private run = 0;

  feed(chunk: string): void {
    const s = this.tail ? this.tail + chunk : chunk;
    this.tail = '';
    let i = s.indexOf('<');
    if (i < 0) {
      this.run += s.length;
      this.checkRun();
      return;
    }
    this.run += i;
    this.checkRun();
    while (i >= 0) {
      if (this.sheet) {
        // a tag name cut by the end of the chunk is looked at again with the next one
        if (i + 4 >= s.length) {
          this.tail = s.slice(i);
          this.run = 0;
          return;
        }
        const a = s.charCodeAt(i + 1);
        if (a === 0x63 /* c */ && endsName(s.charCodeAt(i + 2))) {
          if (++this.cells > this.limits.cellsPerRow) {
            throw workbookLimit('cellsPerRow', `a row of ${this.name} has more than ${this.limits.cellsPerRow} cells`);
          }
        } else if (a === 0x72 /* r */ && s.startsWith('row', i + 1) && endsName(s.charCodeAt(i + 4))) {
          this.cells = 0;
        }
      }
      const next = s.indexOf('<', i + 1);
      this.run = (next < 0 ? s.length : next) - i;
      this.checkRun();
      i = next;
    }
  }

  private checkRun(): void {
    if (this.run > this.limits.runChars) {
      throw workbookLimit('runChars', `${this.name} holds a text or tag longer than ${this.limits.runChars} characters`);
    }
  }
}

/** Whether the character ends an element name: a space, `>` or `/`. */
function endsName(c: number): boolean {
  return c === 0x20 || c === 0x3e || c === 0x2f || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * An uploaded workbook opened by its zip's central directory (yauzl): the entries' number and declared sizes are
 * checked before anything is inflated, and each part is inflated on demand, counted as it inflates (yauzl also
 * stops an entry at the size it declares).
 */
export class WorkbookZip {
  private inflated = 0;

  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly entries: Map<string, yauzl.Entry>,
    private readonly limits: WorkbookLimits,
  ) {}

  static async open(path: string, limits: WorkbookLimits = WORKBOOK_LIMITS): Promise<WorkbookZip> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, z) =>
        err ? reject(damaged('it is not a complete zip file')) : resolve(z),
      ),
    );
    try {
      if (zip.entryCount > limits.entries) {
        throw workbookLimit('entries', `its zip has ${zip.entryCount} entries, more than ${limits.entries}`);
      }
      const entries = await new Promise<Map<string, yauzl.Entry>>((resolve, reject) => {
        const all = new Map<string, yauzl.Entry>();
        zip.on('entry', (e: yauzl.Entry) => {
          if (all.has(e.fileName)) {
            reject(damaged(`its zip holds ${e.fileName} twice`));
            return;
          }
          all.set(e.fileName, e);
          zip.readEntry();
        });
        zip.on('end', () => resolve(all));
        zip.on('error', () => reject(damaged('its zip directory is damaged')));
        zip.readEntry();
      });
      let declared = 0;
      for (const e of entries.values()) {
        declared += e.uncompressedSize;
        if (declared > limits.totalBytes) {
          throw workbookLimit('totalBytes', `its entries declare more than ${mb(limits.totalBytes)} uncompressed`);
        }
        if (e.uncompressedSize > RATIO_FLOOR && e.uncompressedSize > limits.ratio * e.compressedSize) {
          throw workbookLimit('ratio', `${e.fileName} would inflate more than ${limits.ratio} times`);
        }
      }
      const shared = entries.get(SHARED_STRINGS);
      if (shared && shared.uncompressedSize > limits.sharedStringsBytes) {
        throw workbookLimit(
          'sharedStringsBytes',
          `its shared strings declare ${mb(shared.uncompressedSize)}, more than ${mb(limits.sharedStringsBytes)}`,
        );
      }
      return new WorkbookZip(zip, entries, limits);
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The most this part may inflate to. */
  private capOf(name: string, kind: PartKind): { limit: keyof WorkbookLimits; bytes: number } {
    if (kind === 'sharedStrings') return { limit: 'sharedStringsBytes', bytes: this.limits.sharedStringsBytes };
    if (kind === 'part') return { limit: 'partBytes', bytes: this.limits.partBytes };
    return { limit: 'totalBytes', bytes: this.limits.totalBytes };
  }

  /** The part's text as it inflates, in chunks, refused at the first limit it passes. */
  async *text(name: string, kind: PartKind): AsyncGenerator<string> {
    const entry = this.entries.get(name);
    if (!entry) throw damaged(`${name} is missing`);
    const cap = this.capOf(name, kind);
    if (entry.uncompressedSize > cap.bytes) {
      throw workbookLimit(cap.limit, `${name} declares ${mb(entry.uncompressedSize)}, more than ${mb(cap.bytes)}`);
    }
    const stream = await new Promise<Readable>((resolve, reject) =>
      this.zip.openReadStream(entry, (err, s) => (err ? reject(damaged(`${name} cannot be opened (${err.message})`)) : resolve(s))),
    );
    const scan = new XmlScan(this.limits, kind === 'sheet', name);
    const decoder = new StringDecoder('utf8');
    const ratioCap = Math.max(RATIO_FLOOR, this.limits.ratio * entry.compressedSize);
    let bytes = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        this.inflated += chunk.length;
        if (bytes > cap.bytes) throw workbookLimit(cap.limit, `${name} inflates to more than ${mb(cap.bytes)}`);
        if (this.inflated > this.limits.totalBytes) {
          throw workbookLimit('totalBytes', `its entries inflate to more than ${mb(this.limits.totalBytes)}`);
        }
        if (bytes > ratioCap) throw workbookLimit('ratio', `${name} inflates more than ${this.limits.ratio} times`);
        const s = decoder.write(chunk);
        scan.feed(s);
        yield s;
      }
      const rest = decoder.end();
      if (rest) yield rest;
    } catch (e) {
      if (e instanceof AppError) throw e;
      // yauzl stops an entry that inflates past its declared size, or whose data is not what its header says
      throw damaged(`${name} is damaged or holds more than its zip declares`);
    } finally {
      stream.destroy();
    }
  }

  close(): void {
    this.zip.close();
  }
}

/**
 * Rows for `LOAD DATA … CHARACTER SET binary` with the default field and line
 * format (tab between fields, newline after each row, backslash escapes, `\N`
 * for NULL), written straight into bytes: no per-value strings or SQL quoting.
 * Only the four bytes the server would misread are escaped (backslash, tab,
 * newline, NUL); every other byte, binary or UTF-8, is written as it is.
 */

const BACKSLASH = 0x5c;
const TAB = 0x09;
const NEWLINE = 0x0a;
const NUL = 0x00;
const N = 0x4e;
const ZERO = 0x30;
const T = 0x74;
const LOWER_N = 0x6e;
/** Strings up to this length are tried as plain ASCII first. */
const SHORT = 64;
/** A JS string holding a character the file format gives a meaning to. */
const SPECIAL = /[\\\t\n\0]/;

/** What one row may take at most: 30 fields, strings of at most a few hundred bytes, escaped at worst to twice their size. */
const ROW_ROOM = 16 * 1024;

export class TsvWriter {
  private buf: Buffer;
  private pos = 0;
  private first = true;

  /** `chunkBytes`: how full the buffer gets before `full` says to hand it over. */
  constructor(private readonly chunkBytes = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(chunkBytes + ROW_ROOM);
  }

  /** The buffer has reached its chunk size: take() it before writing more rows. */
  get full(): boolean {
    return this.pos >= this.chunkBytes;
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far, as a buffer of their own; the writer starts over. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.chunkBytes + ROW_ROOM);
    this.pos = 0;
    return out;
  }

  private field(): void {
    if (this.first) this.first = false;
    else this.buf[this.pos++] = TAB;
  }

  /** Ends the row. A row must not exceed ROW_ROOM bytes. */
  endRow(): void {
    this.buf[this.pos++] = NEWLINE;
    this.first = true;
  }

  nul(): void {
    this.field();
    this.buf[this.pos++] = BACKSLASH;
    this.buf[this.pos++] = N;
  }

  int(n: number): void {
    this.field();
    if (Number.isSafeInteger(n) && n >= 0 && n < 1e15) {
      // digits written directly: a native call per value costs more than the value
      const buf = this.buf;
      let end = this.pos;
      for (let x = n; x >= 10; x = Math.floor(x / 10)) end++;
      this.pos = end + 1;
      let x = n;
      do {
        buf[end--] = ZERO + (x % 10);
        x = Math.floor(x / 10);
      } while (x > 0);
      return;
    }
    this.pos += this.buf.write(String(n), this.pos, 'latin1');
  }

  intOrNull(n: number | null): void {
    if (n === null) this.nul();
    else this.int(n);
  }

  text(s: string): void {
    this.field();
    if (s.length <= SHORT) {
      // short ASCII without special characters (codes, dates, masks, folded names): bytes copied here
      const buf = this.buf;
      let p = this.pos;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80 || c === BACKSLASH || c === TAB || c === NEWLINE || c === NUL) break;
        buf[p++] = c;
      }
      if (i === s.length) {
        this.pos = p;
        return;
      }
    }
    if (!SPECIAL.test(s)) {
      this.pos += this.buf.write(s, this.pos, 'utf8');
      return;
    }
    this.escaped(Buffer.from(s, 'utf8'));
  }

  textOrNull(s: string | null): void {
    if (s === null) this.nul();
    else this.text(s);
  }

  bytes(b: Buffer): void {
    this.field();
    this.escaped(b);
  }

  bytesOrNull(b: Buffer | null): void {
    if (b === null) this.nul();
    else this.bytes(b);
  }

  private escaped(b: Buffer): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c === BACKSLASH) {
        buf[p++] = BACKSLASH;
        buf[p++] = BACKSLASH;
      } else if (c === TAB) {
        buf[p++] = BACKSLASH;
        buf[p++] = T;
      } else if (c === NEWLINE) {
        buf[p++] = BACKSLASH;
        buf[p++] = LOWER_N;
      } else if (c === NUL) {
        buf[p++] = BACKSLASH;
        buf[p++] = ZERO;
      } else buf[p++] = c;
    }
    this.pos = p;
  }
}

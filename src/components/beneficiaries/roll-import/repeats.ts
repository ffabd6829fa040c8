/**
 * Which national IDs and accounts of an import's file may occur on more than one row, found while the file is read,
 * so that the whole-file checks (DUPLICATE_IN_FILE, PERSON_DIFFERS_IN_FILE, SHARED_ACCOUNT within the file, and the
 * person of several rows) look at those rows only instead of sorting all of them: the staging table then needs no
 * index but its row number, and no index is built nor the whole file sorted for checks that concern few rows.
 *
 * A row is known here by the first six bytes of its keyed hashes (HMAC-SHA256, so uniformly spread), as two 24-bit
 * halves marked in two bitmaps of 2^24 bits: a Bloom filter of 4 MB a kind, whatever the size of the file. A value
 * whose two bits are both set already may have been met before: its six bytes are a candidate, handed on at once
 * (`take`) so that nothing here grows with the file. Equal values set the same bits, so no repeat is missed; a value
 * met once may be taken for a repeat (about 1 in 1,000 rows at a million rows, 1 in 50 at four million), which only
 * adds rows to look at, as the checks compare the full hashes.
 */

/** Fingerprints per row in a batch's array: the national ID's two halves, then the bank account's or wallet's. */
export const FINGERPRINTS_PER_ROW = 4;

/** In a batch's fingerprints: the row has no account or wallet (halves are below 2^24). */
export const NO_FINGERPRINT = 0xffffffff;

/** Bytes of a keyed hash its fingerprint is made of. */
export const FINGERPRINT_BYTES = 6;

/** The two 24-bit halves of the first six bytes of a keyed hash, into `fps` at `at` and `at + 1`. */
export function fingerprintInto(hash: Uint8Array, fps: Uint32Array, at: number): void {
  fps[at] = (hash[0]! << 16) | (hash[1]! << 8) | hash[2]!;
  fps[at + 1] = (hash[3]! << 16) | (hash[4]! << 8) | hash[5]!;
}

/** Two bitmaps of 2^24 bits, one per half of a fingerprint. */
class Bloom {
  private readonly first = new Uint8Array(1 << 21);
  private readonly second = new Uint8Array(1 << 21);

  /** Marks the value; whether both of its bits were set already (it may have been met before). */
  add(x: number, y: number): boolean {
    const bx = 1 << (x & 7);
    const by = 1 << (y & 7);
    const seen = (this.first[x >>> 3]! & bx) !== 0 && (this.second[y >>> 3]! & by) !== 0;
    this.first[x >>> 3]! |= bx;
    this.second[y >>> 3]! |= by;
    return seen;
  }
}

/** What may be on several rows: a national ID (0) or an account or wallet (1), by the first bytes of its keyed hash. */
export type Candidate = [kind: 0 | 1, prefix: Buffer];

function prefixOf(x: number, y: number): Buffer {
  return Buffer.from([x >>> 16, (x >>> 8) & 0xff, x & 0xff, y >>> 16, (y >>> 8) & 0xff, y & 0xff]);
}

export class RepeatFinder {
  private readonly nids = new Bloom();
  /** Bank accounts and wallets together: their hashes are keyed by purpose, so they never share a value. */
  private readonly accounts = new Bloom();
  private pending: Candidate[] = [];

  /** The fingerprints of `rows` rows, FINGERPRINTS_PER_ROW each. */
  note(fps: Uint32Array, rows: number): void {
    for (let k = 0; k < rows; k++) {
      const i = k * FINGERPRINTS_PER_ROW;
      if (this.nids.add(fps[i]!, fps[i + 1]!)) this.pending.push([0, prefixOf(fps[i]!, fps[i + 1]!)]);
      if (fps[i + 2] !== NO_FINGERPRINT && this.accounts.add(fps[i + 2]!, fps[i + 3]!)) {
        this.pending.push([1, prefixOf(fps[i + 2]!, fps[i + 3]!)]);
      }
    }
  }

  /** Candidates found since the last call not yet taken (a value met three times is a candidate twice). */
  get waiting(): number {
    return this.pending.length;
  }

  /** The candidates found since the last call. */
  take(): Candidate[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

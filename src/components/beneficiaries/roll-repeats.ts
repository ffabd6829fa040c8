/**
 * Which national IDs and accounts of an import's file may occur on more than one row, found while the file is read,
 * so that the whole-file checks (DUPLICATE_IN_FILE, PERSON_DIFFERS_IN_FILE, SHARED_ACCOUNT within the file, and the
 * person of several rows) look at those rows only instead of sorting all of them: the staging table then needs no
 * index but its row number (at a million rows: 2.2-2.4 s of index build and about 2.5 s of grouping saved).
 *
 * A row is known here by 32-bit fingerprints: the first four bytes of its keyed hashes (HMAC-SHA256, so uniformly
 * spread), kept in typed arrays (4 bytes a row and kind) and sorted once the file has been read; a fingerprint met
 * twice is a candidate. Equal values have equal fingerprints, so no repeat is missed; different values may share one
 * (about one in 4,000 at a million rows), which only adds rows to look at, as the checks compare the full hashes.
 */

/** Fingerprints per row in a batch's array: the national ID's, then the bank account's or wallet's. */
export const FINGERPRINTS_PER_ROW = 2;

/** Bytes of a keyed hash a fingerprint is made of. */
export const FINGERPRINT_BYTES = 4;

/** In a batch's fingerprints: the row has no account or wallet. A real fingerprint of this value is kept as 0. */
export const NO_FINGERPRINT = 0xffffffff;

/** The fingerprint of a keyed hash: its first four bytes, big-endian (NO_FINGERPRINT's bytes are read as 0). */
export function fingerprintOf(hash: Uint8Array): number {
  const fp = ((hash[0]! << 24) | (hash[1]! << 16) | (hash[2]! << 8) | hash[3]!) >>> 0;
  return fp === NO_FINGERPRINT ? 0 : fp;
}

/** The bytes a fingerprint was read from (0 stands for two prefixes). */
function prefixesOf(fp: number): Buffer[] {
  const b = Buffer.alloc(FINGERPRINT_BYTES);
  b.writeUInt32BE(fp);
  return fp === 0 ? [b, Buffer.alloc(FINGERPRINT_BYTES, 0xff)] : [b];
}

/** Rows per chunk of a FingerprintList: memory grows by 256 KB at a time, never by copying what is there. */
const CHUNK = 1 << 16;

/** Fingerprints appended in chunks; `repeated` sorts them all once and answers those met more than once. */
class FingerprintList {
  private chunks: Uint32Array[] = [];
  private used = CHUNK;

  add(fp: number): void {
    if (this.used === CHUNK) {
      this.chunks.push(new Uint32Array(CHUNK));
      this.used = 0;
    }
    this.chunks[this.chunks.length - 1]![this.used++] = fp;
  }

  repeated(): number[] {
    const n = this.chunks.length === 0 ? 0 : (this.chunks.length - 1) * CHUNK + this.used;
    const all = new Uint32Array(n);
    this.chunks.forEach((c, i) => all.set(i === this.chunks.length - 1 ? c.subarray(0, this.used) : c, i * CHUNK));
    this.chunks = [];
    this.used = CHUNK;
    all.sort();
    const out: number[] = [];
    for (let i = 1; i < n; i++) if (all[i] === all[i - 1] && all[i] !== out[out.length - 1]) out.push(all[i]!);
    return out;
  }
}

export class RepeatFinder {
  private readonly nids = new FingerprintList();
  /** Bank accounts and wallets together: their hashes are keyed by purpose, so they never share a value. */
  private readonly accounts = new FingerprintList();

  /** The fingerprints of `rows` rows, FINGERPRINTS_PER_ROW each. */
  note(fps: Uint32Array, rows: number): void {
    for (let k = 0; k < rows; k++) {
      this.nids.add(fps[k * FINGERPRINTS_PER_ROW]!);
      const a = fps[k * FINGERPRINTS_PER_ROW + 1]!;
      if (a !== NO_FINGERPRINT) this.accounts.add(a);
    }
  }

  /**
   * The keyed-hash prefixes (FINGERPRINT_BYTES) of the national IDs and of the accounts or wallets met more than once.
   * Once: the fingerprints are let go.
   */
  candidates(): { nids: Buffer[]; accounts: Buffer[] } {
    return { nids: this.nids.repeated().flatMap(prefixesOf), accounts: this.accounts.repeated().flatMap(prefixesOf) };
  }
}

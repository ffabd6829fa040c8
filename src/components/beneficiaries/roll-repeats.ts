/**
 * Which national IDs and accounts of an import's file occur on more than one row, found while the file is read, so
 * that the whole-file checks (DUPLICATE_IN_FILE, PERSON_DIFFERS_IN_FILE, SHARED_ACCOUNT within the file, and the
 * person of several rows) look at those rows only instead of sorting all of them: the staging table then needs no
 * index but its row number (at a million rows: 2.2-2.4 s of index build and about 3 s of grouping saved).
 *
 * A row is known here by 32-bit fingerprints: the first four bytes of its keyed hashes (HMAC-SHA256, so uniformly
 * spread). Equal values have equal fingerprints, so no repeat is missed; two different values can share one (about
 * one row in 4,000 at a million rows), which only adds rows to look at, as the checks compare the full hashes.
 */

/** Fingerprints per row in a batch's array: the national ID's, then the bank account's or wallet's (0: none). */
export const FINGERPRINTS_PER_ROW = 2;

/** The fingerprint of a keyed hash: its first four bytes, little-endian (`prefixOf` turns it back into them). */
export function fingerprintOf(hash: Uint8Array): number {
  return (hash[0]! | (hash[1]! << 8) | (hash[2]! << 16) | (hash[3]! << 24)) >>> 0 || 1; // 0 marks an empty slot
}

/** The four bytes a fingerprint was read from (an fp of 1 may also stand for 0: both are looked for). */
function prefixesOf(fp: number): Buffer[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(fp);
  if (fp !== 1) return [b];
  return [b, Buffer.alloc(4)];
}

/** A set of non-zero 32-bit numbers, open addressing in one typed array (4 bytes a slot, at most half full). */
class FingerprintSet {
  private slots = new Uint32Array(1 << 12);
  private size = 0;
  /** Values added more than once (each once). */
  readonly repeated = new Set<number>();

  add(fp: number): void {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    let i = fp & mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) {
        this.slots[i] = fp;
        this.size += 1;
        return;
      }
      if (s === fp) {
        this.repeated.add(fp);
        return;
      }
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (const fp of old) {
      if (fp === 0) continue;
      let i = fp & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = fp;
    }
  }
}

export class RepeatFinder {
  private readonly nids = new FingerprintSet();
  /** Bank accounts and wallets together: their hashes are keyed by purpose, so they never share a value. */
  private readonly accounts = new FingerprintSet();

  /** The fingerprints of `rows` rows, FINGERPRINTS_PER_ROW each. */
  note(fps: Uint32Array, rows: number): void {
    for (let k = 0; k < rows; k++) {
      this.nids.add(fps[k * FINGERPRINTS_PER_ROW]!);
      const a = fps[k * FINGERPRINTS_PER_ROW + 1]!;
      if (a !== 0) this.accounts.add(a);
    }
  }

  /** The keyed-hash prefixes (4 bytes) of the national IDs and of the accounts or wallets seen on more than one row. */
  candidates(): { nids: Buffer[]; accounts: Buffer[] } {
    return {
      nids: [...this.nids.repeated].flatMap(prefixesOf),
      accounts: [...this.accounts.repeated].flatMap(prefixesOf),
    };
  }
}

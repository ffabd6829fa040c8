import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';
import type { CipherKeyring } from '../../platform/crypto';

/**
 * AES-256-GCM for the roll import's short identifiers, many at a time: the same ciphertexts as `DataCipher.encrypt`
 * (layout: version 1, key id length, key id, 12-byte random IV, 16-byte tag, data; the active key), made with one
 * AES call per batch instead of one cipher object per value.
 *
 * Why: a staging row seals up to three values of 10-19 bytes, and `createCipheriv` costs about 5 µs of set-up per value,
 * three times the rest of the row's staging. GCM is counter mode plus a GHASH tag (NIST SP 800-38D): for a 96-bit IV
 * the keystream is AES_K(IV‖2), AES_K(IV‖3)… and the tag is AES_K(IV‖1) XOR GHASH_H(AAD, C), H = AES_K(0). Here the
 * AES blocks of a whole batch come from one `aes-256-ecb` update (OpenSSL, AES-NI) and GHASH is computed in
 * JavaScript with Shoup's 4-bit tables, as OpenSSL's and mbed TLS's portable GHASH do. The output is byte for byte
 * that of node:crypto's GCM for the same IV (test/components/roll-reader.test.ts checks it over random values, and
 * that `DataCipher.decrypt` opens it). Values longer than 32 bytes, or not ASCII, are sealed by node:crypto.
 */

/** Keystream blocks per value: the tag's block and two counter blocks (values of up to 32 bytes). */
const BLOCKS = 3;
const MAX_FAST = (BLOCKS - 1) * 16;

/** Shoup's reduction table: the high bits of the product that fall off the end, folded back (x^128 = x^7+x^2+x+1). */
const LAST4 = [
  0x0000, 0x1c20, 0x3840, 0x2460, 0x7080, 0x6ca0, 0x48c0, 0x54e0, 0xe100, 0xfd20, 0xd940, 0xc560, 0x9180, 0x8da0, 0xa9c0, 0xb5e0,
];

export class GcmBatchSealer {
  private readonly key: Buffer;
  private readonly header: Buffer;
  private readonly ecb: Cipher;
  /** Multiples of H for Shoup's 4-bit method: words 0-3 of entry i at [i * 4]. */
  private readonly table = new Uint32Array(16 * 4);
  /** A batch: IVs and their keystream blocks. */
  private ivs = Buffer.alloc(0);
  private stream = Buffer.alloc(0);
  private next = 0;
  private slots = 0;
  private readonly x = new Uint32Array(4);
  private readonly block = new Uint8Array(16);

  constructor(keyring: CipherKeyring) {
    const entry = keyring.keys.find(([id]) => id === keyring.activeKeyId);
    if (!entry) throw new Error(`active key ${keyring.activeKeyId} is not in the keyring`);
    this.key = Buffer.from(entry[1]);
    const id = Buffer.from(keyring.activeKeyId, 'ascii');
    this.header = Buffer.concat([Buffer.from([1, id.length]), id]);
    this.ecb = createCipheriv('aes-256-ecb', this.key, null);
    this.ecb.setAutoPadding(false);
    const h = this.ecb.update(Buffer.alloc(16));
    this.buildTable(h);
  }

  /** Room for `n` values: their IVs drawn and their AES blocks computed, in one call each. */
  begin(n: number): void {
    this.ivs = randomBytes(12 * n);
    const counters = Buffer.allocUnsafe(16 * BLOCKS * n);
    for (let v = 0; v < n; v++) {
      for (let b = 0; b < BLOCKS; b++) {
        const at = (v * BLOCKS + b) * 16;
        this.ivs.copy(counters, at, v * 12, v * 12 + 12);
        counters.writeUInt32BE(b + 1, at + 12);
      }
    }
    this.stream = this.ecb.update(counters);
    this.next = 0;
    this.slots = n;
  }

  /** Whether `plain` can be sealed here (else node:crypto must). */
  static fits(plain: string): boolean {
    if (plain.length > MAX_FAST) return false;
    for (let i = 0; i < plain.length; i++) if (plain.charCodeAt(i) >= 0x80) return false;
    return true;
  }

  /** The sealed value, as DataCipher.encrypt(plain, aad) would make it with the next IV of the batch. */
  seal(plain: string, aad: string): Buffer {
    if (this.next >= this.slots) throw new Error('GcmBatchSealer: batch exhausted');
    if (!GcmBatchSealer.fits(plain) || aad.length > 16) throw new Error('GcmBatchSealer: value does not fit');
    const slot = this.next++;
    const h = this.header.length;
    const n = plain.length;
    const out = Buffer.allocUnsafe(h + 28 + n);
    this.header.copy(out, 0);
    this.ivs.copy(out, h, slot * 12, slot * 12 + 12);
    const ks = slot * BLOCKS * 16;
    const s = this.stream;
    const data = h + 28;
    for (let i = 0; i < n; i++) out[data + i] = plain.charCodeAt(i) ^ s[ks + 16 + i]!;
    // GHASH over the AAD (one block, zero-padded), the ciphertext blocks and the lengths block
    const x = this.x;
    x.fill(0);
    const blk = this.block;
    blk.fill(0);
    for (let i = 0; i < aad.length; i++) blk[i] = aad.charCodeAt(i);
    if (aad.length) this.absorb(blk);
    for (let off = 0; off < n; off += 16) {
      blk.fill(0);
      for (let i = 0; i < 16 && off + i < n; i++) blk[i] = out[data + off + i]!;
      this.absorb(blk);
    }
    blk.fill(0);
    const aadBits = aad.length * 8;
    const cBits = n * 8;
    blk[6] = (aadBits >>> 8) & 0xff;
    blk[7] = aadBits & 0xff;
    blk[14] = (cBits >>> 8) & 0xff;
    blk[15] = cBits & 0xff;
    this.absorb(blk);
    // tag = AES_K(J0) XOR GHASH
    const tag = h + 12;
    for (let w = 0; w < 4; w++) {
      const v = x[w]!;
      out[tag + w * 4] = s[ks + w * 4]! ^ (v >>> 24);
      out[tag + w * 4 + 1] = s[ks + w * 4 + 1]! ^ ((v >>> 16) & 0xff);
      out[tag + w * 4 + 2] = s[ks + w * 4 + 2]! ^ ((v >>> 8) & 0xff);
      out[tag + w * 4 + 3] = s[ks + w * 4 + 3]! ^ (v & 0xff);
    }
    return out;
  }

  /** X = (X XOR block) · H. */
  private absorb(b: Uint8Array): void {
    const x = this.x;
    const t = this.block2;
    for (let w = 0; w < 4; w++) {
      const v = x[w]!;
      t[w * 4] = (v >>> 24) ^ b[w * 4]!;
      t[w * 4 + 1] = ((v >>> 16) & 0xff) ^ b[w * 4 + 1]!;
      t[w * 4 + 2] = ((v >>> 8) & 0xff) ^ b[w * 4 + 2]!;
      t[w * 4 + 3] = (v & 0xff) ^ b[w * 4 + 3]!;
    }
    this.mult(t);
  }

  private readonly block2 = new Uint8Array(16);

  /** Shoup's 4-bit multiplication by H of the 16 bytes of `xb` (as mbed TLS's gcm_mult), into this.x (big-endian words). */
  private mult(xb: Uint8Array): void {
    const T = this.table;
    let lo = xb[15]! & 0xf;
    let z0 = T[lo * 4]!;
    let z1 = T[lo * 4 + 1]!;
    let z2 = T[lo * 4 + 2]!;
    let z3 = T[lo * 4 + 3]!;
    for (let i = 15; i >= 0; i--) {
      lo = xb[i]! & 0xf;
      const hi = xb[i]! >>> 4;
      if (i !== 15) {
        const rem = z3 & 0xf;
        z3 = (z3 >>> 4) | (z2 << 28);
        z2 = (z2 >>> 4) | (z1 << 28);
        z1 = (z1 >>> 4) | (z0 << 28);
        z0 = (z0 >>> 4) ^ (LAST4[rem]! << 16);
        z0 ^= T[lo * 4]!;
        z1 ^= T[lo * 4 + 1]!;
        z2 ^= T[lo * 4 + 2]!;
        z3 ^= T[lo * 4 + 3]!;
      }
      const rem = z3 & 0xf;
      z3 = (z3 >>> 4) | (z2 << 28);
      z2 = (z2 >>> 4) | (z1 << 28);
      z1 = (z1 >>> 4) | (z0 << 28);
      z0 = (z0 >>> 4) ^ (LAST4[rem]! << 16);
      z0 ^= T[hi * 4]!;
      z1 ^= T[hi * 4 + 1]!;
      z2 ^= T[hi * 4 + 2]!;
      z3 ^= T[hi * 4 + 3]!;
    }
    const x = this.x;
    x[0] = z0 >>> 0;
    x[1] = z1 >>> 0;
    x[2] = z2 >>> 0;
    x[3] = z3 >>> 0;
  }

  /** Shoup's table of H·i for the 4-bit values i (bit-reflected, as GCM numbers its bits). */
  private buildTable(h: Buffer): void {
    const T = this.table;
    let v0 = h.readUInt32BE(0);
    let v1 = h.readUInt32BE(4);
    let v2 = h.readUInt32BE(8);
    let v3 = h.readUInt32BE(12);
    T.set([v0, v1, v2, v3], 8 * 4);
    for (let i = 4; i > 0; i >>>= 1) {
      const carry = v3 & 1;
      v3 = (v3 >>> 1) | (v2 << 31);
      v2 = (v2 >>> 1) | (v1 << 31);
      v1 = (v1 >>> 1) | (v0 << 31);
      v0 = (v0 >>> 1) ^ (carry ? 0xe1000000 : 0);
      T.set([v0 >>> 0, v1 >>> 0, v2 >>> 0, v3 >>> 0], i * 4);
    }
    for (let i = 2; i <= 8; i *= 2) {
      for (let j = 1; j < i; j++) {
        for (let w = 0; w < 4; w++) T[(i + j) * 4 + w] = T[i * 4 + w]! ^ T[j * 4 + w]!;
      }
    }
  }
}

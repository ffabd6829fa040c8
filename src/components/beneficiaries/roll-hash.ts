import { createHash } from 'node:crypto';

/**
 * The roll import's keyed lookup hashes (`DataCipher.lookupHash`: HMAC-SHA256 under DATA_HMAC_KEY of
 * `${purpose}\n${value}`), computed in plain JavaScript from the key's precomputed inner and outer SHA-256 states.
 *
 * Why: a roll row needs up to three of them, and each `createHmac` costs about 4-6 µs of object set-up for a
 * 20-byte message, more than the hashing itself (two SHA-256 blocks, well under a microsecond here). The output is
 * byte for byte that of `node:crypto` (test/components/roll-stage.test.ts compares them over random inputs of every
 * length); only the messages differ in cost. Nothing here is secret-dependent in its timing that `createHmac` would
 * hide: the key enters only through the two precomputed states.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** One SHA-256 compression of the 64 bytes of `block` at `at` into `state`; `w` is scratch of 64 words. */
function compress(state: Int32Array, block: Uint8Array, at: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    const j = at + i * 4;
    w[i] = (block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** HMAC-SHA256 under one key, for many short messages. Not safe to share between threads (scratch buffers). */
export class LookupHasher {
  private readonly inner0 = new Int32Array(8);
  private readonly outer0 = new Int32Array(8);
  private readonly state = new Int32Array(8);
  private readonly w = new Int32Array(64);
  /** The message after the key block, padded: grows for long messages. */
  private msg = new Uint8Array(128);
  private readonly digestBlock = new Uint8Array(64);
  private readonly prefixes = new Map<string, Uint8Array>();

  /** `key` as `createHmac` takes a string key: its UTF-8 bytes, hashed first when longer than a block. */
  constructor(key: string | Buffer) {
    let k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (k.length > 64) k = createHash('sha256').update(k).digest();
    const pad = new Uint8Array(64);
    const w = this.w;
    for (const [state, x] of [
      [this.inner0, 0x36],
      [this.outer0, 0x5c],
    ] as const) {
      for (let i = 0; i < 64; i++) pad[i] = (k[i] ?? 0) ^ x;
      state.set(IV);
      compress(state, pad, 0, w);
    }
    // the outer message is always the 32-byte inner digest: its padding is fixed
    this.digestBlock[32] = 0x80;
    this.digestBlock[62] = ((64 + 32) * 8) >>> 8;
    this.digestBlock[63] = ((64 + 32) * 8) & 0xff;
  }

  private prefix(purpose: string): Uint8Array {
    let p = this.prefixes.get(purpose);
    if (p === undefined) {
      p = Buffer.from(`${purpose}\n`, 'utf8');
      if (this.prefixes.size < 16) this.prefixes.set(purpose, p);
    }
    return p;
  }

  /** HMAC-SHA256(key, `${purpose}\n${value}`) written into `out` at `at` (32 bytes); returns `out`. */
  hashInto(purpose: string, value: string, out: Uint8Array, at = 0): Uint8Array {
    const p = this.prefix(purpose);
    // the value's UTF-8 bytes: digits and codes are ASCII; anything else is encoded the slow way
    let ascii = true;
    for (let i = 0; i < value.length; i++) {
      if (value.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    const v = ascii ? null : Buffer.from(value, 'utf8');
    const len = p.length + (v ? v.length : value.length);
    const blocks = Math.ceil((len + 9) / 64);
    if (this.msg.length < blocks * 64) this.msg = new Uint8Array(blocks * 64);
    const m = this.msg;
    m.set(p, 0);
    if (v) m.set(v, p.length);
    else for (let i = 0; i < value.length; i++) m[p.length + i] = value.charCodeAt(i);
    m[len] = 0x80;
    const end = blocks * 64;
    m.fill(0, len + 1, end - 4);
    const bits = (64 + len) * 8; // the key block counts; under 2^32 bits for any message this takes
    m[end - 4] = bits >>> 24;
    m[end - 3] = (bits >>> 16) & 0xff;
    m[end - 2] = (bits >>> 8) & 0xff;
    m[end - 1] = bits & 0xff;

    const s = this.state;
    const w = this.w;
    s.set(this.inner0);
    for (let b = 0; b < blocks; b++) compress(s, m, b * 64, w);
    const d = this.digestBlock;
    for (let i = 0; i < 8; i++) {
      const x = s[i]!;
      d[i * 4] = x >>> 24;
      d[i * 4 + 1] = (x >>> 16) & 0xff;
      d[i * 4 + 2] = (x >>> 8) & 0xff;
      d[i * 4 + 3] = x & 0xff;
    }
    s.set(this.outer0);
    compress(s, d, 0, w);
    for (let i = 0; i < 8; i++) {
      const x = s[i]!;
      out[at + i * 4] = x >>> 24;
      out[at + i * 4 + 1] = (x >>> 16) & 0xff;
      out[at + i * 4 + 2] = (x >>> 8) & 0xff;
      out[at + i * 4 + 3] = x & 0xff;
    }
    return out;
  }

  /** HMAC-SHA256(key, `${purpose}\n${value}`) as a new 32-byte buffer. */
  hash(purpose: string, value: string): Buffer {
    const out = Buffer.allocUnsafe(32);
    this.hashInto(purpose, value, out);
    return out;
  }
}

import { createHash, randomBytes } from 'node:crypto';

/**
 * A fresh seed, for a sandbox started without one (it is reported, so that a
 * run can be repeated): 16 letters, since logs mask long runs of digits.
 */
export const randomSeed = (): string => [...randomBytes(16)].map((b) => String.fromCharCode(97 + (b % 26))).join('');

/**
 * A small seeded generator (sfc32): the sandbox's request-level dice (5xx,
 * timeouts, latency, callback jitter). The same seed and the same order of
 * requests give the same faults.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    const h = createHash('sha256').update(`rng\0${seed}`).digest();
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** True with probability `share` (no draw when the share is 0 or 1, so that unused faults do not shift the sequence). */
  chance(share: number): boolean {
    if (share <= 0) return false;
    if (share >= 1) return true;
    return this.next() < share;
  }

  /** A whole number in [min, max]. */
  between(range: readonly [number, number]): number {
    const [min, max] = range;
    return max <= min ? min : min + Math.floor(this.next() * (max - min + 1));
  }
}

/**
 * The fixed dice of one transfer: eight uniforms in [0, 1) and a hex digest,
 * from the seed and the reference only. A transfer's fate (delay, failure,
 * return, out-of-order delivery) does not depend on what else was sent or in
 * which order, so a seeded run settles every reference the same way.
 */
export interface Dice {
  u: Float64Array;
  hex: string;
}

export function diceOf(seed: string, reference: string): Dice {
  const h = createHash('sha256').update(seed).update('\0').update(reference).digest();
  const u = new Float64Array(8);
  for (let i = 0; i < 8; i++) u[i] = h.readUInt32LE(i * 4) / 4294967296;
  return { u, hex: h.toString('hex') };
}

/** A value of a range drawn with the uniform `u`. */
export const pick = (range: readonly [number, number], u: number): number =>
  range[1] <= range[0] ? range[0] : range[0] + Math.floor(u * (range[1] - range[0] + 1));

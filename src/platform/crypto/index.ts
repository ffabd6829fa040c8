import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../../config';

const VERSION = 1;

/** A DataCipher's keys as plain data, for a worker thread (structured clone). */
export interface CipherKeyring {
  keys: [string, Buffer][];
  activeKeyId: string;
  hmacKey: string;
}

/**
 * AES-256-GCM with a keyring: every ciphertext carries the id of the key that
 * sealed it, so keys can be rotated (new values use the active key, old ones
 * stay readable until re-encrypted). Layout: version, id length, id, iv(12), tag(16), data.
 */
export class DataCipher {
  // random IVs drawn from a pooled CSPRNG buffer: one getrandom call per 4096 IVs instead of one per value
  private ivPool = Buffer.alloc(0);
  private ivOffset = 0;

  private nextIv(): Buffer {
    if (this.ivOffset + 12 > this.ivPool.length) {
      this.ivPool = randomBytes(12 * 4096);
      this.ivOffset = 0;
    }
    const iv = this.ivPool.subarray(this.ivOffset, this.ivOffset + 12);
    this.ivOffset += 12;
    return iv;
  }

  /** The active key's header (version, id length, id), written before every ciphertext. */
  private readonly header: Buffer;
  /** Associated data as bytes, by its text: a handful of purposes, encoded once. */
  private readonly aadBytes = new Map<string, Buffer>();

  constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    private readonly activeKeyId: string,
    private readonly hmacKey: string,
  ) {
    if (!keys.has(activeKeyId)) throw new Error(`active key ${activeKeyId} is not in the keyring`);
    const id = Buffer.from(activeKeyId, 'ascii');
    this.header = Buffer.concat([Buffer.from([VERSION, id.length]), id]);
  }

  private aadOf(aad: string): Buffer {
    let b = this.aadBytes.get(aad);
    if (b === undefined) {
      b = Buffer.from(aad);
      if (this.aadBytes.size < 64) this.aadBytes.set(aad, b); // per-row aad (totp:<id>) is not worth keeping
    }
    return b;
  }

  /** What `fromKeyring` needs to build the same cipher in a worker thread of this process (posted, never stored or logged). */
  keyring(): CipherKeyring {
    return { keys: [...this.keys], activeKeyId: this.activeKeyId, hmacKey: this.hmacKey };
  }

  static fromKeyring(k: CipherKeyring): DataCipher {
    return new DataCipher(new Map(k.keys), k.activeKeyId, k.hmacKey);
  }

  static fromConfig(cfg: Config): DataCipher {
    return new DataCipher(cfg.dataKeys, cfg.dataActiveKeyId, cfg.dataHmacKey);
  }

  encrypt(plain: string, aad = ''): Buffer {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = this.nextIv();
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    if (aad) cipher.setAAD(this.aadOf(aad));
    let data = cipher.update(plain, 'utf8');
    const rest = cipher.final(); // GCM is a stream mode: final() computes the tag and adds no bytes
    if (rest.length) data = Buffer.concat([data, rest]);
    // one allocation: header, iv, tag, data
    const h = this.header.length;
    const out = Buffer.allocUnsafe(h + 12 + 16 + data.length);
    this.header.copy(out, 0);
    iv.copy(out, h);
    cipher.getAuthTag().copy(out, h + 12);
    data.copy(out, h + 28);
    return out;
  }

  decrypt(sealed: Buffer, aad = ''): string {
    if (sealed.length < 2 || sealed[0] !== VERSION) throw new Error('unknown ciphertext version');
    const idLen = sealed[1]!;
    const id = sealed.subarray(2, 2 + idLen).toString('ascii');
    const key = this.keys.get(id);
    if (!key) throw new Error(`key ${id} is not in the keyring`);
    const at = 2 + idLen;
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(at, at + 12));
    decipher.setAuthTag(sealed.subarray(at + 12, at + 28));
    if (aad) decipher.setAAD(Buffer.from(aad));
    return Buffer.concat([decipher.update(sealed.subarray(at + 28)), decipher.final()]).toString('utf8');
  }

  static keyIdOf(sealed: Buffer): string {
    return sealed.subarray(2, 2 + (sealed[1] ?? 0)).toString('ascii');
  }

  /** Keyed hash for exact lookup and uniqueness of an encrypted value; `purpose` separates domains. */
  lookupHash(purpose: string, value: string): Buffer {
    return createHmac('sha256', this.hmacKey).update(`${purpose}\n${value}`).digest();
  }
}

export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const x = Buffer.isBuffer(a) ? a : Buffer.from(a);
  const y = Buffer.isBuffer(b) ? b : Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

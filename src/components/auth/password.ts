import { randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { invalid } from '../../platform/errors';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r };
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, KEYLEN, opts, (e, k) => (e ? reject(e) : resolve(k))));
}

/** `scrypt$N$r$p$salt$hash`, parameters stored so that they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Hash of a password nobody has: compared against when the username is unknown, so timing does not reveal it. */
export const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/**
 * Level-3 rule: at least 14 characters of 4 kinds, or at least 8 (still of 4
 * kinds) for accounts protected by a second factor.
 */
export function passwordProblems(password: string, opts: { username: string; secondFactor: boolean }): string[] {
  const problems: string[] = [];
  const min = opts.secondFactor ? 8 : 14;
  if ([...password].length < min) problems.push(`must be at least ${min} characters`);
  if (password.length > 128) problems.push('must be at most 128 characters');
  if (!/\p{Ll}/u.test(password)) problems.push('must contain a lower-case letter');
  if (!/\p{Lu}/u.test(password)) problems.push('must contain an upper-case letter');
  if (!/\d/.test(password)) problems.push('must contain a digit');
  if (!/[^\p{L}\d]/u.test(password)) problems.push('must contain a symbol');
  if (opts.username.length >= 3 && password.toLowerCase().includes(opts.username.toLowerCase()))
    problems.push('must not contain the username');
  return problems;
}

export function assertPasswordPolicy(password: string, opts: { username: string; secondFactor: boolean }, field = 'newPassword'): void {
  const problems = passwordProblems(password, opts);
  if (problems.length) {
    throw invalid(
      'WEAK_PASSWORD',
      `${field}: ${problems.join('; ')}`,
      problems.map((message) => ({ location: 'body', path: field, message })),
    );
  }
}

/**
 * A temporary password that satisfies the strictest policy; it must be changed
 * at first login. Shorter ones (each still of the four kinds) are the halves
 * of a password that two administrators hand over separately.
 */
export function temporaryPassword(length = 18): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#%+=?'];
  const all = sets.join('');
  const chars = sets.map((s) => s[randomInt(s.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

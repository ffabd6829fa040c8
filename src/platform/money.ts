/**
 * Money is whole đồng (VND has no minor unit) held in integers, never floats;
 * coefficients are hundredths (150 = 1.5).
 */

function assertWhole(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a whole, non-negative number: ${String(value)}`);
}

/**
 * Monthly allowance = base level × coefficient, rounded half up to whole đồng.
 * Computed in BigInt: base × coefficientX100 can pass 2^53 long before the
 * result does, and a float product would round twice.
 */
export function entitlement(baseLevel: number, coefficientX100: number): number {
  assertWhole(baseLevel, 'baseLevel');
  assertWhole(coefficientX100, 'coefficientX100');
  const amount = (BigInt(baseLevel) * BigInt(coefficientX100) + 50n) / 100n;
  if (amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('entitlement exceeds the safe integer range');
  return Number(amount);
}

const COEFFICIENT_TEXT = /^(\d{1,3})(?:\.(\d{1,2}))?$/;

/**
 * `1.5` → 150, read digit by digit (a float would turn 1.15 into 114.99…);
 * null when it is not a plain decimal with at most two decimals.
 */
export function parseCoefficient(text: string): number | null {
  const m = COEFFICIENT_TEXT.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
}

/** 150 → `1.5`, 200 → `2`, 105 → `1.05`. */
export function formatCoefficient(x100: number): string {
  assertWhole(x100, 'coefficientX100');
  const frac = String(x100 % 100)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return `${Math.floor(x100 / 100)}${frac ? `.${frac}` : ''}`;
}

/** `500.000 đ`: dots between thousands, as Vietnamese documents write amounts. */
export function formatVnd(amount: number | bigint): string {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount)) throw new RangeError(`not a whole number of đồng: ${amount}`);
  const n = BigInt(amount);
  const digits = (n < 0n ? -n : n).toString().replace(/\B(?=(\d{3})+$)/g, '.');
  return `${n < 0n ? '-' : ''}${digits} đ`;
}

/**
 * Pay periods are calendar months held as INT yyyymm (202412), the form the
 * database stores and sorts; `YYYY-MM` is the form people and the API use.
 */
export type Period = number;

const MIN_YEAR = 1900;
const MAX_YEAR = 9999;
const PERIOD_TEXT = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isPeriod(p: unknown): p is Period {
  if (typeof p !== 'number' || !Number.isSafeInteger(p)) return false;
  const year = Math.floor(p / 100);
  const month = p % 100;
  return year >= MIN_YEAR && year <= MAX_YEAR && month >= 1 && month <= 12;
}

function assertPeriod(p: Period): void {
  if (!isPeriod(p)) throw new RangeError(`not a period (yyyymm): ${String(p)}`);
}

/** `2024-12` → 202412; null for anything else (`2024-13`, `2024-1`, ` 2024-12`). */
export function parsePeriod(text: string): Period | null {
  const m = PERIOD_TEXT.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  if (year < MIN_YEAR) return null;
  return year * 100 + Number(m[2]);
}

/** 202412 → `2024-12`. */
export function formatPeriod(p: Period): string {
  assertPeriod(p);
  return `${Math.floor(p / 100)}-${String(p % 100).padStart(2, '0')}`;
}

/** A count of months from year 0, so that periods can be subtracted: year × 12 + month − 1. */
export function monthIndex(p: Period): number {
  assertPeriod(p);
  return Math.floor(p / 100) * 12 + (p % 100) - 1;
}

export function fromMonthIndex(i: number): Period {
  if (!Number.isSafeInteger(i)) throw new RangeError(`not a month index: ${i}`);
  const p = Math.floor(i / 12) * 100 + (i % 12) + 1;
  assertPeriod(p);
  return p;
}

/** The period n months later (n < 0: earlier). */
export function addMonths(p: Period, n: number): Period {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a whole number of months: ${n}`);
  return fromMonthIndex(monthIndex(p) + n);
}

/** Every period from a to b, both included; empty when b is before a. */
export function periodsBetween(a: Period, b: Period): Period[] {
  const from = monthIndex(a);
  const to = monthIndex(b);
  const out: Period[] = [];
  for (let i = from; i <= to; i++) out.push(fromMonthIndex(i));
  return out;
}

import { invalid } from '../../platform/errors';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** [start, end) of a business date in Asia/Ho_Chi_Minh (UTC+7, no daylight saving). */
export function businessDay(date: string): { start: Date; end: Date } {
  const start = new Date(`${date}T00:00:00+07:00`);
  return { start, end: new Date(start.getTime() + DAY_MS) };
}

/** The business date (Asia/Ho_Chi_Minh) `days` before the one holding `now`. */
export function businessDateBefore(now: Date, days = 1): string {
  return new Date(now.getTime() + 7 * 3_600_000 - days * DAY_MS).toISOString().slice(0, 10);
}

/** A business date a statement may be for: a real calendar date, already begun in Asia/Ho_Chi_Minh. */
export function checkBusinessDate(date: string): string {
  if (
    !DATE.test(date) ||
    Number.isNaN(Date.parse(`${date}T00:00:00Z`)) ||
    new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date
  ) {
    throw invalid('INVALID_DATE', `business date must be a real date YYYY-MM-DD, not "${date}"`);
  }
  if (Date.parse(`${date}T00:00:00+07:00`) > Date.now()) throw invalid('DATE_IN_FUTURE', `${date} has not begun yet`);
  return date;
}

/** A DATE column as YYYY-MM-DD (the connection's time zone is UTC, so a Date is that day's UTC midnight). */
export const day = (d: Date | string): string => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

/** A DATETIME column as ISO 8601 (UTC). */
export const iso = (d: Date | string | null): string | null =>
  d === null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString();

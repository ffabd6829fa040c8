/*
 * How the console writes numbers, money, dates and names: Vietnamese conventions whatever the interface language,
 * since the documents people compare the screen with are Vietnamese. No DOM here: the tests run it in Node.
 */

const TIME_ZONE = 'Asia/Ho_Chi_Minh';
const money = new Intl.NumberFormat('vi-VN', { style: 'currency', currency: 'VND', maximumFractionDigits: 0 });
const day = new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: TIME_ZONE });
const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: TIME_ZONE });
const collator = new Intl.Collator('vi', { sensitivity: 'base', numeric: true });

/**
 * Whole đồng as `1.234.567 ₫` (a no-break space before the sign, so the sign never wraps alone). Amounts arrive as
 * integers (or decimal strings for the largest totals) and are never divided: no float ever touches them.
 */
export function formatMoney(amount: number | bigint | string): string {
  let value: number | bigint;
  if (typeof amount === 'string') {
    if (!/^-?\d+$/.test(amount)) throw new RangeError(`not a whole number of đồng: ${amount}`);
    value = BigInt(amount);
  } else {
    if (typeof amount === 'number' && !Number.isSafeInteger(amount)) throw new RangeError(`not a whole number of đồng: ${amount}`);
    value = amount;
  }
  return money.format(value).replace(/\s+/gu, '\u00a0');
}

function parts(f: Intl.DateTimeFormat, d: Date): Record<string, string> {
  return Object.fromEntries(f.formatToParts(d).map((p) => [p.type, p.value]));
}

/** dd/MM/yyyy in Vietnam's time zone. */
export function formatDate(value: string | Date): string {
  const p = parts(day, typeof value === 'string' ? new Date(value) : value);
  return `${p.day}/${p.month}/${p.year}`;
}

/** HH:mm (24 hours) in Vietnam's time zone. */
export function formatTime(value: string | Date): string {
  const p = parts(clock, typeof value === 'string' ? new Date(value) : value);
  return `${p.hour}:${p.minute}`;
}

/** Orders names as a Vietnamese reader expects: a < ă < â, d < đ, tones after the base letter. */
export function compareVietnamese(a: string, b: string): number {
  return collator.compare(a, b);
}

/** Lower case without tones or diacritics (đ → d): "Đặng Thị Ước" → "dang thi uoc". */
export function foldVietnamese(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Whether `name` contains `query`, typed with or without diacritics. */
export function matchesVietnamese(name: string, query: string): boolean {
  return foldVietnamese(name).includes(foldVietnamese(query));
}

/** A month given as YYYY-MM, written MM/yyyy as on Vietnamese payment documents; anything else is shown unchanged. */
export function formatMonth(period: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(period);
  return m ? `${m[2]}/${m[1]}` : period;
}

/** The month `n` months after (or before) a YYYY-MM month. */
export function addMonths(period: string, n: number): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + n, 1)).toISOString().slice(0, 7);
}

/** The months from `from` to `to` (YYYY-MM), both included, oldest first; none when `to` comes first. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let p = from; p <= to; p = addMonths(p, 1)) out.push(p);
  return out;
}

/** One month, or the first and last of a range, as MM/yyyy. */
export function formatMonthRange(from: string, to?: string | null): string {
  return !to || to === from ? formatMonth(from) : `${formatMonth(from)} – ${formatMonth(to)}`;
}

/** A calendar day given as yyyy-MM-dd, written dd/MM/yyyy; anything else is shown unchanged. */
export function formatDay(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : iso;
}

/**
 * A day typed as a Vietnamese reader writes it, dd/MM/yyyy (one-digit day or month, `-`, `.` or a space between
 * the parts, or the 8 digits alone), or yyyy-MM-dd as pasted from a system: the day as yyyy-MM-dd, '' for an empty
 * text, null for anything that is no day of the calendar (31/02/2026, 29/02/2025, 15/3/26).
 */
export function parseDay(text: string): string | null {
  const s = text.trim();
  if (s === '') return '';
  const dmy = /^(\d{1,2})[/.\-\s](\d{1,2})[/.\-\s](\d{4})$/.exec(s) ?? /^(\d{2})(\d{2})(\d{4})$/.exec(s);
  const ymd = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  const parts = dmy ? [dmy[1], dmy[2], dmy[3]] : ymd ? [ymd[3], ymd[2], ymd[1]] : null;
  if (!parts) return null;
  const [day, month, year] = parts.map(Number) as [number, number, number];
  if (year < 1000 || month < 1 || month > 12 || day < 1) return null;
  // the last day of the month: day 0 of the next one
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  return `${String(year)}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * A month typed as MM/yyyy (a one-digit month, `-`, `.` or a space between the parts), or YYYY-MM as pasted from a
 * system: the month as YYYY-MM, '' for an empty text, null for anything that is no month (13/2026, 3/26).
 */
export function parseMonth(text: string): string | null {
  const s = text.trim();
  if (s === '') return '';
  const my = /^(\d{1,2})[/.\-\s](\d{4})$/.exec(s);
  const ym = /^(\d{4})-(\d{2})$/.exec(s);
  const parts = my ? [my[1], my[2]] : ym ? [ym[2], ym[1]] : null;
  if (!parts) return null;
  const [month, year] = parts.map(Number) as [number, number];
  if (year < 1000 || month < 1 || month > 12) return null;
  return `${String(year)}-${String(month).padStart(2, '0')}`;
}

/** The day `days` after (or before) a yyyy-MM-dd day. */
export function addDays(iso: string, days: number): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

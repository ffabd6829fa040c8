/**
 * The values of a roll row as the service keeps and shows them: names folded for search and comparison, identifiers
 * masked, months as numbers, today's date in Vietnam, and values quoted in messages without revealing an identifier.
 * Used by the import's validation and staging and by edits of the roll.
 */

const NON_ASCII = /[\u0080-\uffff]/;
const NEEDS_COLLAPSE = /\s\s|[^\S ]/;
const WS_RUN = /\s+/g;
const MARKS = /\p{M}+/gu;
// Ð/ð (U+00D0/U+00F0, eth) is often typed for Đ/đ: fold both to d
const D_STROKE = /[đð]/g;
const PERIOD = /^(\d{4})-(\d{2})$/;
const LONG_DIGIT_RUN = /\d{6}/;

function foldSlowly(s: string): string {
  let t = s.normalize('NFD').replace(MARKS, '').toLowerCase().replace(D_STROKE, 'd');
  if (NEEDS_COLLAPSE.test(t)) t = t.replace(WS_RUN, ' ');
  return t.trim();
}

// Latin letters (Vietnamese included) and combining marks folded one UTF-16 unit at a time: per-letter NFD is the
// same as whole-string NFD once the marks are dropped, and it spares normalising every name of a million-row file
const FOLD_TABLE_END = 0x1f00;
const FOLD_TABLE: (string | null)[] = new Array<string | null>(FOLD_TABLE_END).fill(null);
const FOLD_RANGES: readonly (readonly [number, number])[] = [
  [0x80, 0x24f], // Latin-1 Supplement, Latin Extended-A and -B
  [0x300, 0x36f], // combining diacritical marks (NFD input)
  [0x1e00, 0x1eff], // Latin Extended Additional: most Vietnamese letters with tone marks
];
for (const [from, to] of FOLD_RANGES) {
  for (let cp = from; cp <= to; cp++) {
    FOLD_TABLE[cp] = String.fromCharCode(cp).normalize('NFD').replace(MARKS, '').toLowerCase().replace(D_STROKE, 'd');
  }
}

/** Lower-case ASCII without diacritics (đ/Đ -> d), spaces collapsed and trimmed: "Nguyễn Văn  Ánh" -> "nguyen van anh". */
export function foldName(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    const f = c < FOLD_TABLE_END ? FOLD_TABLE[c] : null;
    if (f === null || f === undefined) return foldSlowly(s);
    out += s.slice(from, i) + f;
    from = i + 1;
  }
  let t = (from === 0 ? s : out + s.slice(from)).toLowerCase();
  if (NEEDS_COLLAPSE.test(t)) t = t.replace(WS_RUN, ' ');
  return t.trim();
}

/** The given name first (`an nguyen van`), so that a search for the given name uses an index too. */
export function givenFirst(folded: string): string {
  const i = folded.lastIndexOf(' ');
  return i < 0 ? folded : `${folded.slice(i + 1)} ${folded.slice(0, i)}`;
}

/** Masks the middle of `value` with '*', keeping `keepStart` and `keepEnd` characters; masks all of a value too short to hide anything. */
export function maskDigits(value: string, keepStart: number, keepEnd: number): string {
  const n = value.length;
  const s = Number.isFinite(keepStart) ? Math.max(0, Math.floor(keepStart)) : 0;
  const e = Number.isFinite(keepEnd) ? Math.max(0, Math.floor(keepEnd)) : 0;
  if (s + e >= n) return '*'.repeat(n);
  return value.slice(0, s) + '*'.repeat(n - s - e) + value.slice(n - e);
}

/** '001234567889' -> '0012******89' (province and century/sex digits, then the last two). */
export function maskNationalId(id: string): string {
  return maskDigits(id, 4, 2);
}

/** 'YYYY-MM' -> yyyymm; null unless month is 01-12 and year 1900-2999. */
export function parsePeriod(s: string): number | null {
  const m = PERIOD.exec(s);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (year < 1900 || year > 2999 || month < 1 || month > 12) return null;
  return year * 100 + month;
}

/** 202412 -> '2024-12'. */
export function formatPeriod(p: number): string {
  return `${String(Math.trunc(p / 100)).padStart(4, '0')}-${pad2(p % 100)}`;
}

const VIETNAM_UTC_OFFSET_MS = 7 * 3_600_000; // Asia/Ho_Chi_Minh, no daylight saving
const DAY_MS = 86_400_000;
let todayCache = { from: 0, until: 0, iso: '', year: 0 };

export function vietnamDay(now: number): typeof todayCache {
  if (now < todayCache.from || now >= todayCache.until) {
    const local = now + VIETNAM_UTC_OFFSET_MS;
    const dayStart = local - (((local % DAY_MS) + DAY_MS) % DAY_MS);
    const iso = new Date(dayStart).toISOString().slice(0, 10);
    todayCache = {
      from: dayStart - VIETNAM_UTC_OFFSET_MS,
      until: dayStart + DAY_MS - VIETNAM_UTC_OFFSET_MS,
      iso,
      year: Number(iso.slice(0, 4)),
    };
  }
  return todayCache;
}

/** Today's date in Vietnam as YYYY-MM-DD: a date of birth is "in the future" by the officer's calendar, not the server's. */
export function todayInVietnam(now: number = Date.now()): string {
  return vietnamDay(now).iso;
}

/** Lower case, after NFC normalisation where the text is not ASCII. */
export const nfcLower = (s: string): string => (NON_ASCII.test(s) ? s.normalize('NFC') : s).toLowerCase();

/** NFC, trimmed, inner whitespace collapsed to one space. */
export function normaliseName(s: string): string {
  let t = NON_ASCII.test(s) ? s.normalize('NFC') : s;
  if (NEEDS_COLLAPSE.test(t)) t = t.replace(WS_RUN, ' ');
  return t;
}

/** `s` without inner runs of whitespace: each becomes one space. */
export const collapseSpaces = (s: string): string => (NEEDS_COLLAPSE.test(s) ? s.replace(WS_RUN, ' ') : s);

export const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const clip = (s: string, max = 40): string => (s.length > max ? `${s.slice(0, max)}…` : s);
/** A value quoted for a message, unless it could be someone's ID, account or phone number (e.g. columns swapped). */
export const shown = (s: string): string =>
  LONG_DIGIT_RUN.test(s) ? `(a ${s.length}-character value, not shown: it looks like an ID or account number)` : `"${clip(s)}"`;

/** Whether `s` holds a run of six digits: it may be someone's ID, account or phone number. */
export const looksLikeIdentifier = (s: string): boolean => LONG_DIGIT_RUN.test(s);

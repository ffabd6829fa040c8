/**
 * How a gateway counts a text (sms-api.md section 2): GSM-7 when every
 * character is in the GSM 03.38 default alphabet or its extension table, else
 * UCS-2 for the whole message; the units it is billed in and its segments.
 */

export type SmsEncoding = 'GSM7' | 'UCS2';

export interface SmsCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7, an extension character counts two) or UTF-16 code units (UCS-2). */
  units: number;
  segments: number;
}

/** The most characters the contract lets a message carry. */
export const MAX_TEXT_CHARS = 612;

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// each of these is sent as the escape septet and its own: two septets that travel together
const GSM7_EXTENSION = '\f^{}\\[~]|€';

const BASIC = new Set(GSM7_BASIC);
const EXTENSION = new Set(GSM7_EXTENSION);

const LIMITS = {
  GSM7: { single: 160, part: 153 },
  UCS2: { single: 70, part: 67 },
} as const;

/** Septets of one character in GSM-7, or 0 when the character is not in the alphabet. */
function septets(ch: string): number {
  if (BASIC.has(ch)) return 1;
  if (EXTENSION.has(ch)) return 2;
  return 0;
}

export function encodingOf(text: string): SmsEncoding {
  for (const ch of text) if (septets(ch) === 0) return 'UCS2';
  return 'GSM7';
}

/**
 * Segments of a text whose characters weigh `weights` units each: one segment up
 * to `single` units, else parts of at most `part` units, a character never cut
 * across two parts (an extension character's two septets, a surrogate pair).
 */
function segmentsOf(weights: number[], single: number, part: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= single) return 1;
  let segments = 1;
  let used = 0;
  for (const w of weights) {
    if (used + w > part) {
      segments++;
      used = 0;
    }
    used += w;
  }
  return segments;
}

/** Encoding, units and segments of a text as the gateway counts them; an empty text is one segment of nothing. */
export function countSms(text: string): SmsCount {
  const chars = [...text];
  const encoding = encodingOf(text);
  const weights = encoding === 'GSM7' ? chars.map(septets) : chars.map((c) => c.length);
  const units = weights.reduce((a, b) => a + b, 0);
  const { single, part } = LIMITS[encoding];
  return { encoding, units, segments: segmentsOf(weights, single, part) };
}

// typographic punctuation that staff paste from word processors, with its GSM-7 spelling
const PUNCTUATION: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u2026': '...',
  '\u00A0': ' ',
};

/**
 * Vietnamese without diacritics, as recipients read SMS on basic handsets: đ → d, Đ → D, every tone mark and the
 * letters ă â ê ô ơ ư reduced to their base letter; typographic quotes and dashes to their plain forms. What
 * remains outside GSM-7 (an emoji, another script) stays, and keeps the message UCS-2.
 */
export function withoutDiacritics(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .replace(/[\u2018\u2019\u201C\u201D\u2013\u2014\u2026\u00A0]/g, (c) => PUNCTUATION[c] ?? c)
    .normalize('NFC');
}

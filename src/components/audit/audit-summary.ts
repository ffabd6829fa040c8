import { PERSONAL_OR_SECRET_KEY } from '../../platform/logger';

/** What a summary may hold: plain values, dates, exact amounts (BigInt), lists and records of them. */
export type SummaryValue =
  string | number | boolean | bigint | null | Date | readonly SummaryValue[] | { readonly [key: string]: SummaryValue };

const MAX_DEPTH = 8;

/**
 * The stored form of a before/after summary. Callers summarise with fields that
 * are not personal data (ids, codes, counts, amounts, states, hashes), and each
 * value is stored exactly as given: an auditor compares references, periods and
 * file hashes with the originals. A value under a key named like personal data
 * or a secret is still replaced by `[redacted]`, in case a caller passes a whole record.
 */
export function storedSummary(value: unknown, depth = 0): SummaryValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value !== 'object' || depth >= MAX_DEPTH) return `[${typeof value}]`;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return '[binary]';
  if (Array.isArray(value)) return value.map((v) => storedSummary(v, depth + 1));
  const out: Record<string, SummaryValue> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    // a flag (`totpEnabled`, `displayNameChanged`) says nothing personal
    out[k] = PERSONAL_OR_SECRET_KEY.test(k) && typeof v !== 'boolean' && v !== null ? '[redacted]' : storedSummary(v, depth + 1);
  }
  return out;
}

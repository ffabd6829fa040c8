/**
 * Personal data and secrets never reach the logs: values under sensitive keys
 * are replaced, and long digit runs (national IDs, account numbers, phones)
 * are masked wherever they appear in strings.
 */
const SENSITIVE_KEY =
  /(password|passwd|secret|token|authorization|cookie|totp|otp|national_?id|cccd|account_?(number|name)|wallet_?id|phone|full_?name|display_?name|^name$|date_?of_?birth|dob|signature|api_?key|private)/i;

const DIGIT_RUN = /\d{6,}/g;

export function maskDigits(s: string): string {
  return s.replace(DIGIT_RUN, (m) => `${m.slice(0, 2)}${'*'.repeat(m.length - 4)}${m.slice(-2)}`);
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return maskDigits(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { name: value.name, message: maskDigits(value.message), stack: value.stack ? maskDigits(value.stack) : undefined };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

/**
 * Personal data and secrets never reach the logs: values under sensitive keys
 * are replaced, and long digit runs (national IDs, account numbers, phones)
 * are masked wherever they appear in strings.
 */
const SENSITIVE_KEY =
  /(password|passwd|secret|token|authorization|cookie|totp|otp|national_?id|cccd|cmnd|passport|id_?number|account_?(number|name|no$)|bank_?account|wallet_?id|phone|e_?mail|full_?name|display_?name|(first|last|given|family|middle|holder|payee)_?name|^name$|^address$|date_?of_?birth|birth|dob|signature|api_?key|private|parameters|^sql$)/i;

/** UUIDs (request ids) are matched first so that their digit groups stay readable; any other run of 6+ digits is masked. */
const DIGIT_RUN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{6,}/gi;

export function maskDigits(s: string): string {
  return s.replace(DIGIT_RUN, (m) =>
    m.length === 36 && m.includes('-') ? m : `${m.slice(0, 2)}${'*'.repeat(m.length - 4)}${m.slice(-2)}`,
  );
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return maskDigits(value);
  if (value === null || typeof value !== 'object') return value;
  // without these, a Date or a Buffer would become {} or a map of bytes
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return '[binary]';
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: maskDigits(value.message),
      ...(typeof code === 'string' ? { code } : {}),
      stack: value.stack ? maskDigits(value.stack) : undefined,
      ...(value.cause !== undefined ? { cause: redact(value.cause, depth + 1) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Map) return redact(Object.fromEntries(value), depth);
  if (value instanceof Set) return redact([...value], depth);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // a flag (`totpEnabled`, `displayNameChanged`) says nothing personal; every other value under a sensitive key goes
    out[k] = SENSITIVE_KEY.test(k) && typeof v !== 'boolean' && v !== null ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

/**
 * Personal data and secrets never reach the logs: values under sensitive keys
 * are replaced, and long digit runs (national IDs, account numbers, phones)
 * are masked wherever they appear in strings.
 */

/** Keys whose values are personal data or secrets, wherever they appear. */
export const PERSONAL_OR_SECRET_KEY =
  /(password|passwd|secret|token|authorization|cookie|totp|otp|national_?id|cccd|cmnd|passport|id_?number|account_?(number|name|no$)|bank_?account|wallet_?id|phone|e_?mail|full_?name|display_?name|(first|last|given|family|middle|holder|payee)_?name|^name$|^address$|date_?of_?birth|birth|dob|signature|api_?key|private)/i;
/** A database driver's error carries the statement and the row's values under these. */
const DRIVER_KEY = /(parameters|^sql$)/i;

/**
 * UUIDs (request ids) and SHA-256 digests (64 hex characters, at least one a letter: file hashes, the audit chain's
 * hashes and MACs) are matched first so that they stay readable; any other run of 6+ digits is masked.
 */
const DIGIT_RUN =
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<![0-9a-z])(?=[0-9]*[a-f])[0-9a-f]{64}(?![0-9a-z])|\d{6,}/gi;

export function maskDigits(s: string): string {
  // a masked run is digits only: a match with a dash or a letter is a UUID or a digest
  return s.replace(DIGIT_RUN, (m) => (/[^0-9]/.test(m) ? m : `${m.slice(0, 2)}${'*'.repeat(m.length - 4)}${m.slice(-2)}`));
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
    out[k] =
      (PERSONAL_OR_SECRET_KEY.test(k) || DRIVER_KEY.test(k)) && typeof v !== 'boolean' && v !== null ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

import type { CookieOptions } from 'express';
import type { Config } from '../../../config';

/** The browser session cookie: `<session id>.<secret>`, never readable by the page's scripts. */
export const SESSION_COOKIE = 'wd_session';

export const CSRF_HEADER = 'X-CSRF-Token';

/**
 * Session-only (no Max-Age: the server ends the session, the browser forgets it when closed); Secure in production,
 * where the service is only reached over TLS.
 */
export function sessionCookieOptions(cfg: Pick<Config, 'mode'>): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: cfg.mode === 'production' };
}

/**
 * The value of the session cookie in a Cookie header: undefined when absent, null when it is sent more than once
 * (a cookie set for a parent domain or another path shadowing ours: which one is meant cannot be told, so neither is used).
 */
export function sessionCookieOf(header: string | undefined): string | null | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    if (found !== undefined) return null;
    found = pair.slice(eq + 1).trim();
  }
  return found;
}

/** The warning shows this long before the idle limit ends the session. */
export const IDLE_WARNING_MS = 60_000;

export type IdlePhase = { phase: 'active'; msLeft: number } | { phase: 'warning'; msLeft: number } | { phase: 'ended' };

/**
 * Where the session stands at `now`: it ends at the idle deadline or the absolute one, whichever comes first, and
 * is in its warning minute before that. The page's clock follows the server's: every answered request moves the idle
 * deadline, since the server counts each one as activity; typing in a form does not reach the server and does not.
 */
export function idlePhase(now: number, idleDeadline: number, absoluteDeadline: number, warnMs = IDLE_WARNING_MS): IdlePhase {
  const msLeft = Math.min(idleDeadline, absoluteDeadline) - now;
  if (msLeft <= 0) return { phase: 'ended' };
  return msLeft <= warnMs ? { phase: 'warning', msLeft } : { phase: 'active', msLeft };
}

/** Where to come back to after logging in again: a path of this site only, never another origin. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.startsWith('/login')) return '/';
  return next;
}

/** The login page's address that returns to `path` (path, query and fragment of the page being left). */
export function loginUrl(path: string, reason?: 'idle' | 'ended' | 'logout'): string {
  const q = new URLSearchParams();
  const next = safeNext(path);
  if (next !== '/') q.set('next', next);
  if (reason) q.set('reason', reason);
  const s = q.toString();
  return s ? `/login?${s}` : '/login';
}

import type { Me } from '../../api/client';
import { safeNext } from '../../app/idle';

/** Where a user goes after logging in or finishing a set-up step: the set-up still pending first, then `next`. */
export function nextStep(me: Me, next: string | null): string {
  const after = safeNext(next);
  const q = after === '/' ? '' : `?next=${encodeURIComponent(after)}`;
  if (me.pending.includes('password_change')) return `/account/password${q}`;
  if (me.pending.includes('totp_enrolment')) return `/account/totp${q}`;
  return after;
}

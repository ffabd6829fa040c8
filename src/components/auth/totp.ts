import { authenticator } from 'otplib';

authenticator.options = { window: 1, step: 30, digits: 6 };

export function newTotpSecret(): string {
  return authenticator.generateSecret(20);
}

export function totpUri(username: string, issuer: string, secret: string): string {
  return authenticator.keyuri(username, issuer, secret);
}

/** The time step a code belongs to (within one step of now), or null; steps already used are refused by the caller. */
export function matchTotp(code: string, secret: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = authenticator.checkDelta(code, secret);
  if (delta === null) return null;
  return Math.floor(now / 1000 / 30) + delta;
}

export function currentTotp(secret: string): string {
  return authenticator.generate(secret);
}

import type { Translate } from '../../i18n/i18n';

/** The password policy's problems (src/components/auth/password.ts) in the interface language. */
export function passwordProblem(t: Translate, message: string): string {
  let m: RegExpMatchArray | null;
  if ((m = /^must be at least (\d+) characters$/.exec(message))) return t('policy.minLength', { n: m[1]! });
  if ((m = /^must be at most (\d+) characters$/.exec(message))) return t('policy.maxLength', { n: m[1]! });
  const known: Record<string, Parameters<Translate>[0]> = {
    'must contain a lower-case letter': 'policy.lower',
    'must contain an upper-case letter': 'policy.upper',
    'must contain a digit': 'policy.digit',
    'must contain a symbol': 'policy.symbol',
    'must not contain the username': 'policy.username',
  };
  const key = known[message];
  return key ? t(key) : t('form.invalidField', { message });
}

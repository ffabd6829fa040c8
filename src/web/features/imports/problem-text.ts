import { hasMessage, messageKeys, type MessageKey } from '../../i18n/catalogue';

/** The page's t() (i18n.tsx), named here without its JSX module so Node tests can load this file. */
type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** A problem or failure of an import in the reader's language, from its code; the server's own text for a code the catalogue lacks. */
export function problemText(t: Translate, p: { code: string; message: string; column?: string | null }): string {
  const key = `imports.problem.${p.code}`;
  return hasMessage(key) ? t(key, { column: p.column ?? '' }) : p.message;
}

/** The worker's step while an import runs, named in the reader's language. */
export function phaseText(t: Translate, phase: string): string {
  const key = `imports.phase.${phase}`;
  return hasMessage(key) ? t(key) : phase;
}

/** Every problem code the catalogue names, in alphabetical order. */
export function problemCodes(): string[] {
  const prefix = 'imports.problem.';
  return messageKeys()
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .sort();
}

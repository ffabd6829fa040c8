import viCore from './vi.json';
import enCore from './en.json';
import viBatches from '../features/batches/messages.vi.json';
import enBatches from '../features/batches/messages.en.json';

// Each feature keeps its own messages beside its pages (features/<name>/messages.vi.json, .en.json), listed here;
// keys are prefixed with the feature's name, and test/web/format.test.ts refuses a key defined twice.
const vi = { ...viCore, ...viBatches };
const en = { ...enCore, ...enBatches };

export type MessageKey = keyof typeof vi;
export type Lang = 'vi' | 'en';
export const LANGS: readonly Lang[] = ['vi', 'en'];

/** English must name every key Vietnamese has: a missing one fails the type check, not a user. */
const catalogues: Record<Lang, Record<MessageKey, string>> = { vi, en };

/** The message for `key` in `lang`, with `{name}` placeholders filled from `vars`. */
export function translate(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  const text = catalogues[lang][key];
  return vars ? text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole)) : text;
}

export function hasMessage(key: string): key is MessageKey {
  return key in catalogues.vi;
}

import type { MessageKey } from '../i18n/catalogue';

/** The page's t() (i18n.tsx), named here without its JSX module so Node tests can load this file. */
type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/**
 * The account check's summary in the reader's language. The server words it in one of two fixed forms (counts, and
 * the first failure's text from the provider); anything else is shown as the server wrote it.
 */
export function accountCheckDetail(t: Translate, detail: string | null | undefined): string {
  if (!detail) return '';
  const done = /^(\d+) accounts checked$/.exec(detail);
  if (done) return t('accountCheck.checked', { checked: Number(done[1]).toLocaleString('vi-VN') });
  const failed = /^(\d+) of (\d+) lookups failed \(first: (.*)\); run the check again$/s.exec(detail);
  if (failed) {
    return t('accountCheck.failed', {
      failed: Number(failed[1]).toLocaleString('vi-VN'),
      checked: Number(failed[2]).toLocaleString('vi-VN'),
      first: failed[3] ?? '',
    });
  }
  return detail;
}

import type { MessageKey } from '../i18n/catalogue';

/** The page's t() (i18n.tsx), named here without its JSX module so Node tests can load this file. */
type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** A batch's account check as the API gives it: counts as numbers, and its summary in English. */
export interface AccountCheckCounts {
  detail?: string | null | undefined;
  checked?: number | null | undefined;
  failed?: number | null | undefined;
  firstError?: string | null | undefined;
}

/**
 * The account check's summary in the reader's language, from the counts the API gives. A check recorded before the
 * API gave counts has only the server's sentence: it is shown as written.
 */
export function accountCheckDetail(t: Translate, check: AccountCheckCounts | null | undefined): string {
  if (!check) return '';
  const { checked, failed } = check;
  if (checked === null || checked === undefined) return check.detail ?? '';
  if (failed) {
    return t('accountCheck.failed', {
      failed: failed.toLocaleString('vi-VN'),
      checked: checked.toLocaleString('vi-VN'),
      first: check.firstError ?? '',
    });
  }
  return t('accountCheck.checked', { checked: checked.toLocaleString('vi-VN') });
}

import { ApiError } from '../../api/errors';
import { hasMessage } from '../../i18n/catalogue';
import type { Translate } from '../../i18n/i18n';
import { errorMessage } from '../../ui/form-errors';

/** The API's refusal in this feature's words (`<feature>.error.<CODE>`), else in the console's. */
export function refusal(t: Translate, feature: string, e: unknown): string {
  if (e instanceof ApiError) {
    const key = `${feature}.error.${e.code}`;
    if (hasMessage(key)) return t(key);
  }
  return errorMessage(t, e);
}

export { newIdempotencyKey } from '../../api/client';

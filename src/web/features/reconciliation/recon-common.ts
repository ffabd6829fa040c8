import { type Schemas } from '../../api/client';
import type { FormErrors } from '../../ui/form-errors';

export type Statement = Schemas['Statement'];

export type Run = Schemas['ReconciliationRun'];

export type Exception = Schemas['ReconciliationException'];

export type Category = Exception['category'];

export type Resolution = 'resent' | 'refunded' | 'written_off' | 'corrected' | 'no_action';

export const CATEGORIES: readonly Category[] = ['matched', 'amount_mismatch', 'status_mismatch', 'unknown', 'duplicate', 'missing'];

export const EXCEPTION_CATEGORIES = CATEGORIES.filter((c) => c !== 'matched');

export const RESOLUTIONS: readonly Resolution[] = ['resent', 'refunded', 'corrected', 'no_action', 'written_off'];

export const NO_ERRORS: FormErrors = { form: null, fields: {} };

/** Today in Vietnam, YYYY-MM-DD: the latest business date a statement may cover. */
export function todayInVietnam(): string {
  return new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
}

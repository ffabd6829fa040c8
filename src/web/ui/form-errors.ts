import { ApiError, type FieldProblem } from '../api/errors';
import { hasMessage } from '../i18n/catalogue';
import type { Translate } from '../i18n/i18n';

export interface FormErrors {
  /** What to show above the form; null when every problem sits beside a field. */
  form: string | null;
  /** Problems by the request field they name. */
  fields: Record<string, string>;
}

/** The API's refusal in plain Vietnamese (or English): the code's message from the catalogue, else a generic one. */
export function errorMessage(t: Translate, e: unknown): string {
  if (!(e instanceof ApiError)) return t('errors.UNKNOWN', { code: 'CLIENT', requestId: '-' });
  const key = `errors.${e.code}`;
  return hasMessage(key) ? t(key) : t('errors.UNKNOWN', { code: e.code, requestId: e.requestId ?? '-' });
}

/**
 * Splits an error between the form and its fields: each `details[].path` the form has a field for goes beside that
 * field (its message through `fieldMessage`, which may translate it), the rest above the form.
 */
export function formErrors(
  t: Translate,
  e: unknown,
  knownFields: readonly string[],
  fieldMessage: (message: string, problem: FieldProblem) => string = (m) => t('form.invalidField', { message: m }),
): FormErrors {
  const fields: Record<string, string> = {};
  let unplaced = !(e instanceof ApiError) || e.fieldProblems.length === 0;
  if (e instanceof ApiError) {
    for (const p of e.fieldProblems) {
      if (!knownFields.includes(p.path)) {
        unplaced = true;
        continue;
      }
      const known = `errors.${e.code}`;
      const text =
        e.code !== 'VALIDATION_FAILED' && e.fieldProblems.length === 1 && hasMessage(known) ? t(known) : fieldMessage(p.message, p);
      fields[p.path] = fields[p.path] ? `${fields[p.path]} ${text}` : text;
    }
  }
  return { form: unplaced ? errorMessage(t, e) : null, fields };
}

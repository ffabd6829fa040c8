import { useId, type TextareaHTMLAttributes } from 'react';
import { ApiError } from '../../api/errors';
import { hasMessage } from '../../i18n/catalogue';
import type { Translate } from '../../i18n/i18n';
import { errorMessage, formErrors, type FormErrors } from '../../ui/form-errors';

/**
 * The API's refusal in plain words: the feature's own message for the code (`<feature>.error.<CODE>`) when it has
 * one, else the console's. Feature messages keep their prefix so that sections added side by side never collide.
 */
export function refusal(t: Translate, feature: 'admin' | 'reconciliation', e: unknown): string {
  if (e instanceof ApiError) {
    const key = `${feature}.error.${e.code}`;
    if (hasMessage(key)) return t(key);
  }
  return errorMessage(t, e);
}

/** formErrors, with the form's message from `refusal`. */
export function featureFormErrors(t: Translate, feature: 'admin' | 'reconciliation', e: unknown, fields: readonly string[]): FormErrors {
  const out = formErrors(t, e, fields);
  return out.form === null ? out : { ...out, form: refusal(t, feature, e) };
}

export { newIdempotencyKey } from '../../api/client';

export { SelectField } from '../../ui/field';

interface TextAreaFieldProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'> {
  label: string;
  error?: string | undefined;
}

export function TextAreaField({ label, error, ...area }: TextAreaFieldProps) {
  const id = useId();
  return (
    <div className={error ? 'field field--invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <textarea id={id} rows={3} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} {...area} />
      {error ? (
        <p className="field__error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A one-time secret (a temporary password or its half): shown once, in a box a person can copy from. */
export function OnceSecret({ label, value, note }: { label: string; value: string; note: string }) {
  return (
    <div className="notice once-secret" role="status">
      <p>
        {label} <code className="secret">{value}</code>
      </p>
      <p>{note}</p>
    </div>
  );
}

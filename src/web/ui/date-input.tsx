import { useEffect, useId, useState, type KeyboardEvent, type ReactNode, type Ref } from 'react';
import { useI18n } from '../i18n/i18n';
import { addDays, formatDay, parseDay } from './format';

interface DateInputProps {
  label: string;
  name: string;
  /** The day as yyyy-MM-dd, '' for none, null while the text typed is no day (the form must not be sent then). */
  value: string | null;
  onChange: (value: string | null) => void;
  /** The form's or the API's problem with the field; the field's own (not a day, out of range) comes first. */
  error?: string | undefined;
  /** Replaces the format hint (dd/mm/yyyy). */
  hint?: ReactNode;
  /** Earliest and latest day allowed, yyyy-MM-dd. */
  min?: string | undefined;
  max?: string | undefined;
  required?: boolean | undefined;
  ref?: Ref<HTMLInputElement>;
}

/**
 * A day typed as dd/MM/yyyy whatever the browser's language (a native date input shows the browser's own format):
 * a labelled text field with its format as a hint, an inline error once a text that is no day is left, and the
 * arrow keys moving a valid day by one. The form gets yyyy-MM-dd, as the API takes it.
 */
export function DateInput({ label, name, value, onChange, error, hint, min, max, required, ref }: DateInputProps) {
  const { t } = useI18n();
  const id = useId();
  const [text, setText] = useState(() => formatDay(value ?? ''));
  const [left, setLeft] = useState(false);
  // a value set from outside (a reset, a record read again) replaces the text; the text's own value leaves it alone
  useEffect(() => {
    setText((old) => (value !== null && value !== parseDay(old) ? formatDay(value) : old));
  }, [value]);

  const parsed = parseDay(text);
  const outOfRange = parsed ? (min && parsed < min ? 'early' : max && parsed > max ? 'late' : null) : null;
  const own =
    parsed === null
      ? t('form.dateInvalid')
      : outOfRange === 'early'
        ? t('form.dateTooEarly', { date: formatDay(min!) })
        : outOfRange === 'late'
          ? t('form.dateTooLate', { date: formatDay(max!) })
          : null;
  const shown = (left && own) || error;

  const change = (next: string) => {
    setText(next);
    const day = parseDay(next);
    const inRange = day ? !(min && day < min) && !(max && day > max) : true;
    onChange(day !== null && inRange ? day : null);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') setLeft(true);
    if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && parsed) {
      e.preventDefault();
      change(formatDay(addDays(parsed, e.key === 'ArrowUp' ? 1 : -1)));
    }
  };

  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  return (
    <div className={shown ? 'field field--invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <p className="field__hint" id={hintId}>
        {hint ?? t('form.dateHint')}
      </p>
      <input
        ref={ref}
        id={id}
        name={name}
        type="text"
        inputMode="numeric"
        autoComplete="off"
        placeholder={t('form.datePlaceholder')}
        maxLength={10}
        required={required}
        value={text}
        onChange={(e) => change(e.target.value)}
        onBlur={() => setLeft(true)}
        onKeyDown={onKeyDown}
        aria-invalid={shown ? true : undefined}
        aria-describedby={shown ? `${hintId} ${errorId}` : hintId}
      />
      {shown ? (
        <p className="field__error" id={errorId}>
          {shown}
        </p>
      ) : null}
    </div>
  );
}

import { useEffect, useId, useState, type KeyboardEvent, type ReactNode, type Ref } from 'react';
import type { MessageKey } from '../i18n/catalogue';
import { useI18n } from '../i18n/i18n';
import { addDays, addMonths, formatDay, formatMonth, parseDay, parseMonth } from './format';

interface CalendarInputProps {
  label: string;
  name: string;
  /** The value as the API takes it (yyyy-MM-dd, YYYY-MM), '' for none, null while the text typed is none (the form must not be sent then). */
  value: string | null;
  onChange: (value: string | null) => void;
  /** The form's or the API's problem with the field; the field's own (not a day, out of range) comes first. */
  error?: string | undefined;
  /** Replaces the format hint. */
  hint?: ReactNode;
  /** Earliest and latest value allowed, as the API takes them. */
  min?: string | undefined;
  max?: string | undefined;
  required?: boolean | undefined;
  ref?: Ref<HTMLInputElement>;
}

interface Kind {
  parse: (text: string) => string | null;
  format: (value: string) => string;
  step: (value: string, by: number) => string;
  width: number;
  messages: { hint: MessageKey; placeholder: MessageKey; invalid: MessageKey; early: MessageKey; late: MessageKey };
}

const DAY: Kind = {
  parse: parseDay,
  format: formatDay,
  step: addDays,
  width: 10,
  messages: {
    hint: 'form.dateHint',
    placeholder: 'form.datePlaceholder',
    invalid: 'form.dateInvalid',
    early: 'form.dateTooEarly',
    late: 'form.dateTooLate',
  },
};

const MONTH: Kind = {
  parse: parseMonth,
  format: formatMonth,
  step: addMonths,
  width: 7,
  messages: {
    hint: 'form.monthHint',
    placeholder: 'form.monthPlaceholder',
    invalid: 'form.monthInvalid',
    early: 'form.monthTooEarly',
    late: 'form.monthTooLate',
  },
};

/**
 * A day or a month typed as a Vietnamese reader writes it (dd/MM/yyyy, MM/yyyy) whatever the browser's language (a
 * native date or month input shows the browser's own format): a labelled text field with its format as a hint, an
 * inline error once a text that is none is left, and the arrow keys moving a valid value by one. The form gets the
 * value as the API takes it.
 */
function CalendarInput({ kind, label, name, value, onChange, error, hint, min, max, required, ref }: CalendarInputProps & { kind: Kind }) {
  const { t } = useI18n();
  const id = useId();
  const [text, setText] = useState(() => kind.format(value ?? ''));
  const [left, setLeft] = useState(false);
  // a value set from outside (a reset, a record read again) replaces the text; the text's own value leaves it alone
  useEffect(() => {
    setText((old) => (value !== null && value !== kind.parse(old) ? kind.format(value) : old));
  }, [value, kind]);

  const parsed = kind.parse(text);
  const early = parsed && min && parsed < min;
  const late = parsed && max && parsed > max;
  const own =
    parsed === null
      ? t(kind.messages.invalid)
      : early
        ? t(kind.messages.early, { value: kind.format(min) })
        : late
          ? t(kind.messages.late, { value: kind.format(max) })
          : null;
  const shown = (left && own) || error;

  const change = (next: string) => {
    setText(next);
    const v = kind.parse(next);
    onChange(v !== null && !(v && min && v < min) && !(v && max && v > max) ? v : null);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') setLeft(true);
    if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && parsed) {
      e.preventDefault();
      change(kind.format(kind.step(parsed, e.key === 'ArrowUp' ? 1 : -1)));
    }
  };

  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  return (
    <div className={shown ? 'field field--invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <p className="field__hint" id={hintId}>
        {hint ?? t(kind.messages.hint)}
      </p>
      <input
        ref={ref}
        id={id}
        name={name}
        type="text"
        inputMode="numeric"
        autoComplete="off"
        placeholder={t(kind.messages.placeholder)}
        maxLength={kind.width + 2}
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

/** A day typed as dd/MM/yyyy; the form gets yyyy-MM-dd. */
export function DateInput(props: CalendarInputProps) {
  return <CalendarInput kind={DAY} {...props} />;
}

/** A month typed as MM/yyyy; the form gets YYYY-MM. */
export function MonthInput(props: CalendarInputProps) {
  return <CalendarInput kind={MONTH} {...props} />;
}

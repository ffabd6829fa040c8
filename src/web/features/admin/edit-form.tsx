import { useMutation } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../../api/errors';
import { useI18n, type Translate } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { refusal } from './controls';
import './admin.css';

/**
 * The one shape of the admin pages' edit forms: fields edited in place, checked in the page's language, the changes
 * listed for a confirmation before anything is sent, only what changed sent, and the API's refusal shown beside the
 * field it concerns (or above the form when it concerns none).
 */

export type FormValue = string | boolean | number | null | readonly string[];
export type FormValues = Record<string, FormValue>;
type Key<V> = keyof V & string;

const NO_ERRORS: FormErrors = { form: null, fields: {} };

export interface EditSpec<V extends FormValues, R> {
  /** The record as the form shows it first: text, a checkbox, an id, a set of checkboxes. */
  initial: V;
  /** Each field's label, as the confirmation names what changes. */
  labels: Record<Key<V>, string>;
  /** How a value reads in the confirmation (an id as its name, a secret as "replaced"), with the form's other values beside it; the value itself by default. */
  show?: Partial<{ [K in Key<V>]: (value: V[K], all: V) => ReactNode }>;
  /** Checks made before anything is sent, in the page's language, by field. */
  check?: (values: V, changed: Key<V>[]) => Partial<Record<Key<V>, string>>;
  /** Sends the change (the fields in `changed`); throws the API's refusal. */
  save: (values: V, changed: Key<V>[]) => Promise<R>;
  /** A form that creates or replaces rather than edits: it is sent whatever changed. */
  always?: boolean;
  /** Refusals about fields that the API does not name in its details: the fields they go beside. */
  codeFields?: Record<string, (e: ApiError, changed: Key<V>[]) => readonly string[]>;
  /** A field's rule in the page's language, shown beside it when the API's validation refuses it. */
  rules?: Partial<Record<Key<V>, string>>;
  onSaved?: (saved: R, values: V, changed: Key<V>[]) => void;
}

export interface Change {
  key: string;
  label: string;
  from: ReactNode;
  to: ReactNode;
}

export interface EditForm<V extends FormValues> {
  values: V;
  set: <K extends Key<V>>(key: K, value: V[K]) => void;
  errors: FormErrors;
  /** The changes waiting for confirmation; null while editing. */
  confirming: Change[] | null;
  busy: boolean;
  submit: (e: FormEvent) => void;
  confirm: () => void;
  cancel: () => void;
  /** Props of a text Field bound to `key`. */
  text: (key: Key<V>) => { value: string; onChange: (e: { target: { value: string } }) => void; error: string | undefined };
  /** Props of a checkbox bound to `key`. */
  checkbox: (key: Key<V>) => { checked: boolean; onChange: (e: { target: { checked: boolean } }) => void };
  /** The error beside `key`, if any. */
  error: (key: Key<V>) => string | undefined;
}

function same(a: FormValue, b: FormValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return [...a].sort().join('\n') === [...b].sort().join('\n');
  return a === b;
}

function plain(t: Translate, v: FormValue): ReactNode {
  if (typeof v === 'boolean') return v ? t('admin.yes') : t('admin.no');
  if (Array.isArray(v)) return v.length ? v.join(', ') : t('admin.edit.empty');
  if (v === null || v === '') return t('admin.edit.empty');
  return String(v);
}

/**
 * Splits a refusal between fields and form: a field problem of the API's validation goes beside its field with the
 * field's rule, another code's field problem with that code's message; a code listed in `codeFields` goes beside the
 * fields it names. When everything found a field, the form says only that nothing was saved.
 */
export function placeErrors<V extends FormValues>(
  t: Translate,
  e: unknown,
  fields: readonly Key<V>[],
  changed: Key<V>[],
  codeFields: EditSpec<V, unknown>['codeFields'] = {},
  rules: EditSpec<V, unknown>['rules'] = {},
): FormErrors {
  if (!(e instanceof ApiError)) return { form: refusal(t, 'admin', e), fields: {} };
  const out: Record<string, string> = {};
  const put = (field: string, text: string) => {
    out[field] = out[field] && out[field] !== text ? `${out[field]} ${text}` : text;
  };
  const named = codeFields[e.code]?.(e, changed).filter((f) => fields.includes(f as Key<V>)) ?? [];
  for (const f of named) put(f, refusal(t, 'admin', e));
  let unplaced = named.length === 0 && e.fieldProblems.length === 0;
  for (const p of e.fieldProblems) {
    if (!fields.includes(p.path as Key<V>)) {
      unplaced = true;
      continue;
    }
    const field = p.path as Key<V>;
    if (e.code === 'VALIDATION_FAILED') put(field, rules[field] ?? t('form.invalidField', { message: p.message }));
    else put(field, refusal(t, 'admin', e));
  }
  return { form: unplaced ? refusal(t, 'admin', e) : t('admin.edit.notSaved'), fields: out };
}

export function useEditForm<V extends FormValues, R>(spec: EditSpec<V, R>): EditForm<V> {
  const { t } = useI18n();
  const [base, setBase] = useState<V>(spec.initial);
  const [values, setValues] = useState<V>(spec.initial);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState<Key<V>[] | null>(null);
  const fields = Object.keys(spec.labels) as Key<V>[];
  const changedNow = () => fields.filter((k) => !same(values[k] as FormValue, base[k] as FormValue));

  const save = useMutation({
    mutationFn: (changed: Key<V>[]) => spec.save(values, changed),
    onSuccess: (saved, changed) => {
      setErrors(NO_ERRORS);
      setPending(null);
      setBase(values);
      spec.onSaved?.(saved, values, changed);
    },
    onError: (e, changed) => {
      setPending(null);
      setErrors(placeErrors<V>(t, e, fields, changed, spec.codeFields, spec.rules));
    },
  });

  const set = <K extends Key<V>>(key: K, value: V[K]) => {
    setValues((old) => ({ ...old, [key]: value }));
  };
  const error = (key: Key<V>) => errors.fields[key];

  return {
    values,
    set,
    errors,
    busy: save.isPending,
    confirming:
      pending === null
        ? null
        : pending.map((k) => {
            const show = spec.show?.[k] as ((v: FormValue, all: V) => ReactNode) | undefined;
            const read = (all: V) => (show ? show(all[k] as FormValue, all) : plain(t, all[k] as FormValue));
            return { key: k, label: spec.labels[k], from: read(base), to: read(values) };
          }),
    submit: (e: FormEvent) => {
      e.preventDefault();
      const changed = changedNow();
      const found = spec.check?.(values, changed) ?? {};
      const problems = Object.fromEntries(Object.entries(found).filter(([, v]) => v)) as Record<string, string>;
      if (Object.keys(problems).length) {
        setErrors({ form: t('admin.edit.notSaved'), fields: problems });
        return;
      }
      if (changed.length === 0 && !spec.always) {
        setErrors({ form: t('admin.edit.nothingChanged'), fields: {} });
        return;
      }
      setErrors(NO_ERRORS);
      setPending(spec.always ? fields : changed);
    },
    confirm: () => {
      if (pending !== null) save.mutate(spec.always ? changedNow() : pending);
    },
    cancel: () => setPending(null),
    text: (key) => ({
      value: String(values[key] ?? ''),
      onChange: (e) => set(key, e.target.value as V[typeof key]),
      error: error(key),
    }),
    checkbox: (key) => ({
      checked: values[key] === true,
      onChange: (e) => set(key, e.target.checked as V[typeof key]),
    }),
    error,
  };
}

interface EditFormProps<V extends FormValues> {
  form: EditForm<V>;
  submitLabel: string;
  /** What the confirmation asks, above the list of changes. */
  question: string;
  confirmLabel?: string;
  /** What the confirmation lists: each change from old to new (default), or each value (a form that creates). */
  list?: 'changes' | 'values';
  onCancel?: () => void;
  children: ReactNode;
}

/**
 * The form around `useEditForm`: its refusal on top, the fields (locked while the confirmation is shown), then either
 * the submit button or the confirmation with the changes it will make. The focus follows: to the confirmation when it
 * opens, back to the submit button when it closes, to the first field marked invalid after a refusal.
 */
export function EditFormView<V extends FormValues>({
  form,
  submitLabel,
  question,
  confirmLabel,
  list = 'changes',
  onCancel,
  children,
}: EditFormProps<V>) {
  const { t } = useI18n();
  const questionId = useId();
  const formRef = useRef<HTMLFormElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const submitRef = useRef<HTMLButtonElement>(null);
  const open = form.confirming !== null;
  const wasOpen = useRef(false);
  useEffect(() => {
    if (open) confirmRef.current?.focus();
    else if (wasOpen.current && Object.keys(form.errors.fields).length === 0) submitRef.current?.focus();
    wasOpen.current = open;
  }, [open, form.errors.fields]);
  useEffect(() => {
    const invalid = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    invalid?.focus();
  }, [form.errors]);
  return (
    <form ref={formRef} noValidate onSubmit={form.submit} aria-busy={form.busy}>
      <FormError message={form.errors.form} />
      <fieldset className="bare" disabled={open || form.busy}>
        {children}
      </fieldset>
      {form.confirming ? (
        <div className="confirm" role="group" aria-labelledby={questionId}>
          <p id={questionId}>{question}</p>
          <ul className="changes">
            {form.confirming.map((c) => (
              <li key={c.key}>
                <strong>{c.label}:</strong>{' '}
                {list === 'values' ? (
                  c.to
                ) : (
                  <>
                    {c.from} → {c.to}
                  </>
                )}
              </li>
            ))}
          </ul>
          <div className="actions">
            <button type="button" ref={confirmRef} className="primary" disabled={form.busy} onClick={form.confirm}>
              {confirmLabel ?? t('admin.edit.confirm')}
            </button>
            <button type="button" disabled={form.busy} onClick={form.cancel}>
              {t('admin.edit.back')}
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <button type="submit" ref={submitRef} className="primary" disabled={form.busy}>
            {submitLabel}
          </button>
          {onCancel ? (
            <button type="button" onClick={onCancel}>
              {t('admin.cancel')}
            </button>
          ) : null}
        </div>
      )}
    </form>
  );
}

interface ConfirmActionProps<R> {
  /** The button that asks first. */
  label: string;
  /** The question, naming the record and what follows. */
  question: string;
  confirmLabel: string;
  run: () => Promise<R>;
  onDone?: (result: R) => void;
  primary?: boolean;
  disabled?: boolean;
}

/** One action on a record (pause, deactivate, delete…): asked, confirmed, and its refusal shown right beside it. */
export function ConfirmAction<R>({ label, question, confirmLabel, run, onDone, primary, disabled }: ConfirmActionProps<R>) {
  const { t } = useI18n();
  const questionId = useId();
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const askRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  const act = useMutation({
    mutationFn: run,
    onSuccess: (r) => {
      setError(null);
      setAsking(false);
      onDone?.(r);
    },
    onError: (e) => {
      setAsking(false);
      setError(refusal(t, 'admin', e));
    },
  });
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) askRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  return (
    <div className="confirm-action">
      {asking ? (
        <div className="confirm" role="group" aria-labelledby={questionId}>
          <p id={questionId}>{question}</p>
          <div className="actions">
            <button type="button" ref={confirmRef} className="primary" disabled={act.isPending} onClick={() => act.mutate()}>
              {confirmLabel}
            </button>
            <button type="button" disabled={act.isPending} onClick={() => setAsking(false)}>
              {t('admin.cancel')}
            </button>
          </div>
        </div>
      ) : (
        <button
          type="button"
          ref={askRef}
          className={primary ? 'primary' : undefined}
          disabled={disabled}
          onClick={() => {
            setError(null);
            setAsking(true);
          }}
        >
          {label}
        </button>
      )}
      <FormError message={error} />
    </div>
  );
}

import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { ApiError, type FieldProblem } from '../../api/errors';
import { hasMessage } from '../../i18n/catalogue';
import { useI18n, type Translate } from '../../i18n/i18n';
import { DateInput } from '../../ui/date-input';
import { Field, FormError, SelectField } from '../../ui/field';
import { formErrors, type FormErrors } from '../../ui/form-errors';
import { CommunePicker } from './commune-picker';

type Beneficiary = Schemas['Beneficiary'];
type Enrolment = Schemas['Enrolment'];
type Channel = Enrolment['channel'];

const NO_ERRORS: FormErrors = { form: null, fields: {} };
const CHANNELS: Channel[] = ['BANK', 'WALLET', 'CASH'];
const DESTINATION: Record<Channel, readonly DestinationField[]> = {
  BANK: ['bankCode', 'accountNumber', 'accountName'],
  WALLET: ['walletProvider', 'walletId', 'accountName'],
  CASH: [],
};
type DestinationField = 'bankCode' | 'accountNumber' | 'accountName' | 'walletProvider' | 'walletId';

/** A roll rule's problem in the page's language (the import's catalogue has one message per rule), else the API's text. */
function problemText(t: Translate) {
  return (message: string, p: FieldProblem) => {
    const key = `imports.problem.${p.code ?? ''}`;
    return p.code && hasMessage(key) ? t(key) : t('form.invalidField', { message });
  };
}

function Select({
  label,
  value,
  onChange,
  error,
  children,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <div className={error ? 'field field--invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      >
        {children}
      </select>
      {error ? (
        <p className="field__error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * The bank or the wallet provider an enrolment is paid through, chosen from the active ones the service knows
 * (GET /banks, GET /wallet-providers); a code the enrolment holds that is no longer active stays shown as it is.
 */
function ProviderSelect({
  field,
  value,
  onChange,
  error,
}: {
  field: 'bankCode' | 'walletProvider';
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
}) {
  const { t } = useI18n();
  const list = useQuery({
    queryKey: ['reference', field, 'active'],
    queryFn: async ({ signal }) =>
      field === 'bankCode'
        ? (await unwrap(api.GET('/api/v1/banks', { params: { query: { active: 'true' } }, signal }))).items.map((b) => ({
            code: b.bin,
            label: `${b.shortName} – ${b.name} (${b.bin})`,
          }))
        : (await unwrap(api.GET('/api/v1/wallet-providers', { params: { query: { active: 'true' } }, signal }))).items.map((w) => ({
            code: w.code,
            label: `${w.name} (${w.code})`,
          })),
    staleTime: 5 * 60_000,
  });
  const options = list.data ?? [];
  return (
    <SelectField
      label={t(`beneficiaries.edit.${field}`)}
      name={field}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error ?? (list.isError ? t('beneficiaries.edit.listUnavailable') : undefined)}
    >
      <option value="">{t(field === 'bankCode' ? 'beneficiaries.edit.chooseBank' : 'beneficiaries.edit.chooseWallet')}</option>
      {/* the code held now stays shown while the list loads, and after it when it is no longer active */}
      {value && !options.some((o) => o.code === value) ? (
        <option value={value}>{list.isSuccess ? t('beneficiaries.edit.inactiveCode', { code: value }) : value}</option>
      ) : null}
      {options.map((o) => (
        <option key={o.code} value={o.code}>
          {o.label}
        </option>
      ))}
    </SelectField>
  );
}

/** What a conflict asks: the record moved on since it was read, so the form offers to read it again. */
function Conflict({ message, onReload }: { message: string; onReload: () => void }) {
  const { t } = useI18n();
  return (
    <div role="alert" className="form-error">
      {message}{' '}
      <button type="button" onClick={onReload}>
        {t('beneficiaries.edit.reload')}
      </button>
    </div>
  );
}

function useFocusFirst() {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

/** `revealed` (on each form) holds the full values when the identifiers were shown, so that masked ones can be edited. */
interface FormProps<T> {
  onSaved: (saved: T) => void;
  onCancel: () => void;
  onReload: () => void;
}

/** Corrects a person's name, birth date, gender or phone; sends only what changed, with the updatedAt it was read at. */
export function PersonForm({
  person,
  revealed,
  onSaved,
  onCancel,
  onReload,
}: FormProps<Beneficiary> & { person: Beneficiary; revealed: Beneficiary | null }) {
  const { t } = useI18n();
  const titleId = useId();
  const first = useFocusFirst();
  const initial = { fullName: person.fullName, gender: person.gender, phone: revealed?.phone ?? '' };
  const [v, setV] = useState(initial);
  // null while the text typed is no day: the field says so, and nothing is sent
  const [dateOfBirth, setDateOfBirth] = useState<string | null>(person.dateOfBirth);
  const [areaId, setAreaId] = useState(person.areaId);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [conflict, setConflict] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof initial) => (value: string) => setV((old) => ({ ...old, [k]: value }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (dateOfBirth === null) return;
    const change: { fullName?: string; dateOfBirth?: string; gender?: 'M' | 'F'; phone?: string | null; areaId?: number } = {};
    if (v.fullName.trim() !== initial.fullName) change.fullName = v.fullName.trim();
    if (dateOfBirth !== person.dateOfBirth) change.dateOfBirth = dateOfBirth;
    if (areaId !== person.areaId) change.areaId = areaId;
    if (v.gender !== initial.gender) change.gender = v.gender;
    // a masked phone is not known here: an empty field keeps it, unless the full value was shown and then cleared
    const phone = v.phone.trim();
    if (phone !== initial.phone && (phone !== '' || revealed)) change.phone = phone === '' ? null : phone;
    const fields: Record<string, string> = {};
    if (reason.trim().length < 3) fields.reason = t('beneficiaries.reveal.reasonTooShort');
    if (Object.keys(change).length === 0) {
      setErrors({ form: t('beneficiaries.edit.nothingChanged'), fields });
      return;
    }
    setErrors({ form: null, fields });
    setConflict(null);
    if (Object.keys(fields).length) return;
    setBusy(true);
    try {
      const saved = await unwrap(
        api.PATCH('/api/v1/beneficiaries/{id}', {
          params: { path: { id: person.id } },
          body: { ...change, updatedAt: person.updatedAt, reason: reason.trim() },
        }),
      );
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'BENEFICIARY_CHANGED') {
        setConflict(t('errors.BENEFICIARY_CHANGED'));
        setErrors(NO_ERRORS);
      } else {
        const found = formErrors(t, err, ['fullName', 'dateOfBirth', 'gender', 'phone', 'areaId', 'reason', 'nationalId'], problemText(t));
        // the national ID says the birth year and the sex: its disagreement is about the field that was changed
        const { nationalId, ...rest } = found.fields;
        if (nationalId) {
          const target = change.gender !== undefined && change.dateOfBirth === undefined ? 'gender' : 'dateOfBirth';
          rest[target] = rest[target] ? `${rest[target]} ${nationalId}` : nationalId;
        }
        setErrors({ form: found.form, fields: rest });
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-labelledby={titleId} className="edit-form">
      <h3 id={titleId}>{t('beneficiaries.edit.personTitle')}</h3>
      {conflict ? <Conflict message={conflict} onReload={onReload} /> : <FormError message={errors.form} />}
      <Field
        ref={first}
        label={t('beneficiaries.fullName')}
        name="fullName"
        value={v.fullName}
        maxLength={100}
        onChange={(e) => set('fullName')(e.target.value)}
        error={errors.fields.fullName}
      />
      <DateInput
        label={t('beneficiaries.dateOfBirth')}
        name="dateOfBirth"
        value={dateOfBirth}
        onChange={setDateOfBirth}
        error={errors.fields.dateOfBirth}
      />
      <Select label={t('beneficiaries.gender')} value={v.gender} onChange={set('gender')} error={errors.fields.gender}>
        <option value="M">{t('beneficiaries.gender.M')}</option>
        <option value="F">{t('beneficiaries.gender.F')}</option>
      </Select>
      <Field
        label={t('beneficiaries.phone')}
        hint={revealed ? t('beneficiaries.edit.phoneClear') : t('beneficiaries.edit.maskedKeep', { current: person.phone ?? '—' })}
        name="phone"
        type="tel"
        inputMode="tel"
        value={v.phone}
        maxLength={20}
        onChange={(e) => set('phone')(e.target.value)}
        error={errors.fields.phone}
      />
      <CommunePicker
        current={{ id: person.areaId, code: person.areaCode, name: person.areaName }}
        value={areaId}
        onChange={setAreaId}
        error={errors.fields.areaId}
      />
      <Field
        label={t('beneficiaries.edit.reason')}
        hint={t('beneficiaries.edit.reasonHint')}
        name="reason"
        value={reason}
        maxLength={500}
        onChange={(e) => setReason(e.target.value)}
        error={errors.fields.reason}
      />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t('beneficiaries.edit.save')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('beneficiaries.action.cancel')}
        </button>
      </div>
    </form>
  );
}

/** Changes an enrolment's coefficient, months or where it is paid; sends only what changed, with the version read. */
export function EnrolmentForm({
  enrolment,
  revealed,
  onSaved,
  onCancel,
  onReload,
}: FormProps<Enrolment> & { enrolment: Enrolment; revealed: Enrolment | null }) {
  const { t } = useI18n();
  const titleId = useId();
  const first = useFocusFirst();
  const initial = {
    coefficient: enrolment.coefficient,
    startPeriod: enrolment.startPeriod,
    endPeriod: enrolment.endPeriod ?? '',
    channel: enrolment.channel,
    bankCode: enrolment.bankCode ?? '',
    accountNumber: revealed?.accountNumber ?? '',
    accountName: enrolment.accountName ?? '',
    walletProvider: enrolment.walletProvider ?? '',
    walletId: revealed?.walletId ?? '',
  };
  const [v, setV] = useState(initial);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [conflict, setConflict] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof initial) => (value: string) => setV((old) => ({ ...old, [k]: value }));
  const masked = (k: 'accountNumber' | 'walletId') => !(revealed?.[k] ?? null) && enrolment[k] !== null;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const change: Partial<Record<'coefficient' | 'startPeriod', string>> &
      Partial<Record<DestinationField | 'endPeriod', string | null>> & { channel?: Channel } = {};
    const text = (s: string) => (s.trim() === '' ? null : s.trim());
    if (v.coefficient.trim() !== initial.coefficient) change.coefficient = v.coefficient.trim().replace(',', '.');
    if (v.startPeriod.trim() !== initial.startPeriod) change.startPeriod = v.startPeriod.trim();
    if (v.endPeriod.trim() !== initial.endPeriod) change.endPeriod = text(v.endPeriod);
    const channel = v.channel;
    if (channel !== initial.channel) {
      // a new channel clears the old destination on the API: the new one is sent whole
      change.channel = channel;
      for (const k of DESTINATION[channel]) change[k] = text(v[k]);
    } else {
      for (const k of DESTINATION[channel]) {
        const now = v[k].trim();
        if (now === initial[k]) continue;
        // an identifier shown masked is unknown here: an empty field keeps it
        if ((k === 'accountNumber' || k === 'walletId') && now === '' && masked(k)) continue;
        change[k] = text(now);
      }
    }
    const fields: Record<string, string> = {};
    if (reason.trim().length < 3) fields.reason = t('beneficiaries.reveal.reasonTooShort');
    if (Object.keys(change).length === 0) {
      setErrors({ form: t('beneficiaries.edit.nothingChanged'), fields });
      return;
    }
    setErrors({ form: null, fields });
    setConflict(null);
    if (Object.keys(fields).length) return;
    setBusy(true);
    try {
      const saved = await unwrap(
        api.PATCH('/api/v1/enrolments/{id}', {
          params: { path: { id: enrolment.id } },
          body: { ...change, version: enrolment.version, reason: reason.trim() },
        }),
      );
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ENROLMENT_CHANGED') {
        setConflict(t('errors.ENROLMENT_CHANGED'));
        setErrors(NO_ERRORS);
      } else if (err instanceof ApiError && err.code === 'SHARED_ACCOUNT') {
        setErrors({ form: null, fields: { [channel === 'WALLET' ? 'walletId' : 'accountNumber']: t('errors.SHARED_ACCOUNT') } });
      } else {
        setErrors(
          formErrors(
            t,
            err,
            [
              'coefficient',
              'startPeriod',
              'endPeriod',
              'channel',
              'bankCode',
              'accountNumber',
              'accountName',
              'walletProvider',
              'walletId',
              'reason',
            ],
            problemText(t),
          ),
        );
      }
    } finally {
      setBusy(false);
    }
  }

  const destination = DESTINATION[v.channel];
  return (
    <form onSubmit={submit} noValidate aria-labelledby={titleId} className="edit-form">
      <h3 id={titleId}>{t('beneficiaries.edit.enrolmentTitle', { programme: enrolment.programmeCode })}</h3>
      {conflict ? <Conflict message={conflict} onReload={onReload} /> : <FormError message={errors.form} />}
      <Field
        ref={first}
        label={t('beneficiaries.coefficient')}
        hint={t('beneficiaries.edit.coefficientHint')}
        name="coefficient"
        inputMode="decimal"
        value={v.coefficient}
        maxLength={10}
        onChange={(e) => set('coefficient')(e.target.value)}
        error={errors.fields.coefficient}
      />
      <Field
        label={t('beneficiaries.edit.startPeriod')}
        hint={t('beneficiaries.action.endPeriodHint')}
        name="startPeriod"
        value={v.startPeriod}
        maxLength={7}
        onChange={(e) => set('startPeriod')(e.target.value)}
        error={errors.fields.startPeriod}
      />
      <Field
        label={t('beneficiaries.action.endPeriod')}
        hint={t('beneficiaries.action.endPeriodHint')}
        name="endPeriod"
        value={v.endPeriod}
        maxLength={7}
        onChange={(e) => set('endPeriod')(e.target.value)}
        error={errors.fields.endPeriod}
      />
      <Select label={t('beneficiaries.channel')} value={v.channel} onChange={set('channel')} error={errors.fields.channel}>
        {CHANNELS.map((c) => (
          <option key={c} value={c}>
            {t(`beneficiaries.channel.${c}`)}
          </option>
        ))}
      </Select>
      {destination.map((k) =>
        k === 'bankCode' || k === 'walletProvider' ? (
          <ProviderSelect key={k} field={k} value={v[k]} onChange={set(k)} error={errors.fields[k]} />
        ) : (
          <Field
            key={k}
            label={t(`beneficiaries.edit.${k}`)}
            hint={
              (k === 'accountNumber' || k === 'walletId') && v.channel === initial.channel && masked(k)
                ? t('beneficiaries.edit.maskedKeep', { current: enrolment[k] ?? '—' })
                : undefined
            }
            name={k}
            value={v[k]}
            maxLength={k === 'accountName' ? 100 : k === 'accountNumber' ? 19 : 20}
            onChange={(e) => set(k)(e.target.value)}
            error={errors.fields[k]}
          />
        ),
      )}
      <Field
        label={t('beneficiaries.edit.reason')}
        hint={t('beneficiaries.edit.reasonHint')}
        name="reason"
        value={reason}
        maxLength={500}
        onChange={(e) => setReason(e.target.value)}
        error={errors.fields.reason}
      />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t('beneficiaries.edit.save')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('beneficiaries.action.cancel')}
        </button>
      </div>
    </form>
  );
}

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { featureFormErrors, newIdempotencyKey, refusal, SelectField } from './controls';
import './admin.css';

type WalletKind = Schemas['WalletProvider']['kind'];
const NO_ERRORS: FormErrors = { form: null, fields: {} };

function Banks() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [bin, setBin] = useState('');
  const [shortName, setShortName] = useState('');
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [rowError, setRowError] = useState<string | null>(null);
  // the API answers the whole list: tens of banks at most
  const banks = useQuery({ queryKey: ['banks'], queryFn: () => unwrap(api.GET('/api/v1/banks')) });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/banks', {
          body: { bin: bin.trim(), shortName: shortName.trim(), name: name.trim() },
          headers: { 'Idempotency-Key': newIdempotencyKey() },
        }),
      ),
    onSuccess: () => {
      setErrors(NO_ERRORS);
      setBin('');
      setShortName('');
      setName('');
      void qc.invalidateQueries({ queryKey: ['banks'] });
    },
    onError: (e) => setErrors(featureFormErrors(t, 'admin', e, ['bin', 'shortName', 'name'])),
  });
  const toggle = useMutation({
    mutationFn: (b: Schemas['Bank']) =>
      unwrap(api.PATCH('/api/v1/banks/{bin}', { params: { path: { bin: b.bin } }, body: { active: !b.active } })),
    onSuccess: () => {
      setRowError(null);
      void qc.invalidateQueries({ queryKey: ['banks'] });
    },
    onError: (e) => setRowError(refusal(t, 'admin', e)),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (!/^\d{6}$/.test(bin.trim())) fields.bin = t('admin.banks.binHint');
    if (!shortName.trim()) fields.shortName = t('form.required');
    if (!name.trim()) fields.name = t('form.required');
    setErrors({ form: null, fields });
    if (Object.keys(fields).length === 0) add.mutate();
  }
  return (
    <section aria-labelledby="banks-title">
      <h2 id="banks-title">{t('admin.banks.title')}</h2>
      <FormError message={rowError} />
      <div className="table-wrap">
        <table>
          <caption>{t('admin.banks.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.banks.bin')}</th>
              <th scope="col">{t('admin.banks.shortName')}</th>
              <th scope="col">{t('admin.banks.name')}</th>
              <th scope="col">{t('admin.status')}</th>
              <th scope="col">{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {(banks.data?.items ?? []).map((b) => (
              <tr key={b.bin}>
                <td>{b.bin}</td>
                <td>{b.shortName}</td>
                <td>{b.name}</td>
                <td>{b.active ? t('admin.active') : t('admin.inactive')}</td>
                <td>
                  <button type="button" disabled={toggle.isPending} onClick={() => toggle.mutate(b)}>
                    {t(b.active ? 'admin.deactivateNamed' : 'admin.activateNamed', { name: b.shortName })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form className="panel" noValidate onSubmit={submit} aria-busy={add.isPending}>
        <h3>{t('admin.banks.add')}</h3>
        <FormError message={errors.form} />
        <Field
          label={t('admin.banks.bin')}
          hint={t('admin.banks.binHint')}
          inputMode="numeric"
          maxLength={6}
          value={bin}
          onChange={(e) => setBin(e.target.value)}
          error={errors.fields.bin}
        />
        <Field
          label={t('admin.banks.shortName')}
          value={shortName}
          onChange={(e) => setShortName(e.target.value)}
          error={errors.fields.shortName}
        />
        <Field label={t('admin.banks.name')} value={name} onChange={(e) => setName(e.target.value)} error={errors.fields.name} />
        <button type="submit" className="primary" disabled={add.isPending}>
          {t('admin.banks.addSubmit')}
        </button>
      </form>
    </section>
  );
}

function Wallets() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<WalletKind>('ewallet');
  const [cap, setCap] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [rowError, setRowError] = useState<string | null>(null);
  const wallets = useQuery({ queryKey: ['wallet-providers'], queryFn: () => unwrap(api.GET('/api/v1/wallet-providers')) });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/wallet-providers', {
          body: { code: code.trim(), name: name.trim(), kind, monthlyCap: cap.trim() ? Number(cap.trim()) : null },
          headers: { 'Idempotency-Key': newIdempotencyKey() },
        }),
      ),
    onSuccess: () => {
      setErrors(NO_ERRORS);
      setCode('');
      setName('');
      setCap('');
      void qc.invalidateQueries({ queryKey: ['wallet-providers'] });
    },
    onError: (e) => setErrors(featureFormErrors(t, 'admin', e, ['code', 'name', 'kind', 'monthlyCap'])),
  });
  const toggle = useMutation({
    mutationFn: (w: Schemas['WalletProvider']) =>
      unwrap(api.PATCH('/api/v1/wallet-providers/{code}', { params: { path: { code: w.code } }, body: { active: !w.active } })),
    onSuccess: () => {
      setRowError(null);
      void qc.invalidateQueries({ queryKey: ['wallet-providers'] });
    },
    onError: (e) => setRowError(refusal(t, 'admin', e)),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (!/^[A-Za-z0-9]{2,20}$/.test(code.trim())) fields.code = t('admin.wallets.codeHint');
    if (!name.trim()) fields.name = t('form.required');
    if (cap.trim() && !/^[1-9]\d{0,9}$/.test(cap.trim())) fields.monthlyCap = t('admin.wallets.capHint');
    setErrors({ form: null, fields });
    if (Object.keys(fields).length === 0) add.mutate();
  }
  return (
    <section aria-labelledby="wallets-title">
      <h2 id="wallets-title">{t('admin.wallets.title')}</h2>
      <FormError message={rowError} />
      <div className="table-wrap">
        <table>
          <caption>{t('admin.wallets.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.wallets.code')}</th>
              <th scope="col">{t('admin.wallets.name')}</th>
              <th scope="col">{t('admin.wallets.kind')}</th>
              <th scope="col" className="num">
                {t('admin.wallets.cap')}
              </th>
              <th scope="col">{t('admin.status')}</th>
              <th scope="col">{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {(wallets.data?.items ?? []).map((w) => (
              <tr key={w.code}>
                <td>{w.code}</td>
                <td>{w.name}</td>
                <td>{t(`admin.wallets.kind.${w.kind}`)}</td>
                <td className="num">{w.monthlyCap === null ? t('admin.wallets.noCap') : <Money amount={w.monthlyCap} />}</td>
                <td>{w.active ? t('admin.active') : t('admin.inactive')}</td>
                <td>
                  <button type="button" disabled={toggle.isPending} onClick={() => toggle.mutate(w)}>
                    {t(w.active ? 'admin.deactivateNamed' : 'admin.activateNamed', { name: w.code })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form className="panel" noValidate onSubmit={submit} aria-busy={add.isPending}>
        <h3>{t('admin.wallets.add')}</h3>
        <FormError message={errors.form} />
        <Field
          label={t('admin.wallets.code')}
          hint={t('admin.wallets.codeHint')}
          value={code}
          onChange={(e) => setCode(e.target.value)}
          error={errors.fields.code}
        />
        <Field label={t('admin.wallets.name')} value={name} onChange={(e) => setName(e.target.value)} error={errors.fields.name} />
        <SelectField
          label={t('admin.wallets.kind')}
          value={kind}
          onChange={(e) => setKind(e.target.value as WalletKind)}
          error={errors.fields.kind}
        >
          <option value="ewallet">{t('admin.wallets.kind.ewallet')}</option>
          <option value="mobile_money">{t('admin.wallets.kind.mobile_money')}</option>
        </SelectField>
        <Field
          label={t('admin.wallets.cap')}
          hint={t('admin.wallets.capHint')}
          inputMode="numeric"
          value={cap}
          onChange={(e) => setCap(e.target.value.replace(/[^\d]/g, ''))}
          error={errors.fields.monthlyCap}
        />
        <button type="submit" className="primary" disabled={add.isPending}>
          {t('admin.wallets.addSubmit')}
        </button>
      </form>
    </section>
  );
}

export default function ReferenceSection() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.reference.title')}</PageTitle>
      <Banks />
      <Wallets />
    </main>
  );
}

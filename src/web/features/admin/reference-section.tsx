import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n, type Translate } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { featureFormErrors, newIdempotencyKey, SelectField } from './controls';
import { EditFormView, useEditForm } from './edit-form';
import './admin.css';

type WalletKind = Schemas['WalletProvider']['kind'];
const NO_ERRORS: FormErrors = { form: null, fields: {} };

type Bank = Schemas['Bank'];
type Wallet = Schemas['WalletProvider'];
type BankValues = { shortName: string; name: string; active: boolean };
type WalletValues = { name: string; kind: WalletKind; monthlyCap: string; active: boolean };
const CAP = /^[1-9]\d{0,9}$/;
/** Most that the API takes as a monthly cap (it only catches a misplaced digit group). */
const CAP_MAX = 1_000_000_000;

const activeText = (t: Translate) => (a: boolean) => (a ? t('admin.active') : t('admin.inactive'));

/** A bank's names and active flag (PATCH /banks/{bin}); the BIN is its identity and stays. */
function BankEdit({ bank, onSaved, onClose }: { bank: Bank; onSaved: (b: Bank) => void; onClose: () => void }) {
  const { t } = useI18n();
  const form = useEditForm<BankValues, Bank>({
    initial: { shortName: bank.shortName, name: bank.name, active: bank.active },
    labels: { shortName: t('admin.banks.shortName'), name: t('admin.banks.name'), active: t('admin.status') },
    show: { active: activeText(t) },
    check: (v) => ({
      shortName: v.shortName.trim() ? undefined : t('form.required'),
      name: v.name.trim() ? undefined : t('form.required'),
    }),
    rules: { shortName: t('admin.banks.shortNameRule'), name: t('admin.nameRule') },
    save: (v, changed) =>
      unwrap(
        api.PATCH('/api/v1/banks/{bin}', {
          params: { path: { bin: bank.bin } },
          body: {
            ...(changed.includes('shortName') ? { shortName: v.shortName.trim() } : {}),
            ...(changed.includes('name') ? { name: v.name.trim() } : {}),
            ...(changed.includes('active') ? { active: v.active } : {}),
          },
        }),
      ),
    onSaved,
  });
  return (
    <section className="panel" aria-labelledby="bank-edit">
      <h3 id="bank-edit">{t('admin.banks.edit', { name: `${bank.shortName} (${bank.bin})` })}</h3>
      <EditFormView
        form={form}
        submitLabel={t('admin.edit.submit')}
        question={t('admin.banks.editQuestion', { name: bank.shortName })}
        onCancel={onClose}
      >
        <Field label={t('admin.banks.shortName')} {...form.text('shortName')} />
        <Field label={t('admin.banks.name')} {...form.text('name')} />
        <div className="check-field">
          <label>
            <input type="checkbox" {...form.checkbox('active')} /> {t('admin.activeLabel')}
          </label>
          <p className="field__hint">{t('admin.banks.activeHint')}</p>
        </div>
      </EditFormView>
    </section>
  );
}

/** A wallet provider's name, kind, monthly cap and active flag (PATCH /wallet-providers/{code}). */
function WalletEdit({ wallet, onSaved, onClose }: { wallet: Wallet; onSaved: (w: Wallet) => void; onClose: () => void }) {
  const { t } = useI18n();
  const form = useEditForm<WalletValues, Wallet>({
    initial: {
      name: wallet.name,
      kind: wallet.kind,
      monthlyCap: wallet.monthlyCap === null ? '' : String(wallet.monthlyCap),
      active: wallet.active,
    },
    labels: {
      name: t('admin.wallets.name'),
      kind: t('admin.wallets.kind'),
      monthlyCap: t('admin.wallets.cap'),
      active: t('admin.status'),
    },
    show: {
      kind: (k) => t(`admin.wallets.kind.${k}`),
      monthlyCap: (c) => (c === '' ? t('admin.wallets.noCap') : <Money amount={Number(c)} />),
      active: activeText(t),
    },
    check: (v) => ({
      name: v.name.trim() ? undefined : t('form.required'),
      monthlyCap:
        v.monthlyCap === '' || (CAP.test(v.monthlyCap) && Number(v.monthlyCap) <= CAP_MAX) ? undefined : t('admin.wallets.capHint'),
    }),
    rules: { name: t('admin.nameRule'), monthlyCap: t('admin.wallets.capHint') },
    save: (v, changed) =>
      unwrap(
        api.PATCH('/api/v1/wallet-providers/{code}', {
          params: { path: { code: wallet.code } },
          body: {
            ...(changed.includes('name') ? { name: v.name.trim() } : {}),
            ...(changed.includes('kind') ? { kind: v.kind } : {}),
            ...(changed.includes('monthlyCap') ? { monthlyCap: v.monthlyCap === '' ? null : Number(v.monthlyCap) } : {}),
            ...(changed.includes('active') ? { active: v.active } : {}),
          },
        }),
      ),
    onSaved,
  });
  return (
    <section className="panel" aria-labelledby="wallet-edit">
      <h3 id="wallet-edit">{t('admin.wallets.edit', { name: wallet.code })}</h3>
      <EditFormView
        form={form}
        submitLabel={t('admin.edit.submit')}
        question={t('admin.wallets.editQuestion', { name: wallet.code })}
        onCancel={onClose}
      >
        <Field label={t('admin.wallets.name')} {...form.text('name')} />
        <SelectField label={t('admin.wallets.kind')} {...form.text('kind')}>
          <option value="ewallet">{t('admin.wallets.kind.ewallet')}</option>
          <option value="mobile_money">{t('admin.wallets.kind.mobile_money')}</option>
        </SelectField>
        <Field
          label={t('admin.wallets.cap')}
          hint={t('admin.wallets.capHint')}
          inputMode="numeric"
          {...form.text('monthlyCap')}
          onChange={(e) => form.set('monthlyCap', e.target.value.replace(/[^\d]/g, ''))}
        />
        <div className="check-field">
          <label>
            <input type="checkbox" {...form.checkbox('active')} /> {t('admin.activeLabel')}
          </label>
          <p className="field__hint">{t('admin.wallets.activeHint')}</p>
        </div>
      </EditFormView>
    </section>
  );
}

function Banks() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [bin, setBin] = useState('');
  const [shortName, setShortName] = useState('');
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [editing, setEditing] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
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
  const editedBank = (banks.data?.items ?? []).find((b) => b.bin === editing);
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
      {saved ? (
        <p className="success" role="status">
          {saved}
        </p>
      ) : null}
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
                  <button
                    type="button"
                    aria-expanded={editing === b.bin}
                    onClick={() => {
                      setSaved(null);
                      setEditing(editing === b.bin ? null : b.bin);
                    }}
                  >
                    {t('admin.editNamed', { name: b.shortName })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editedBank ? (
        <BankEdit
          key={editedBank.bin}
          bank={editedBank}
          onClose={() => setEditing(null)}
          onSaved={(b) => {
            setEditing(null);
            setSaved(t('admin.banks.saved', { name: b.shortName }));
            void qc.invalidateQueries({ queryKey: ['banks'] });
          }}
        />
      ) : null}
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
  const [editing, setEditing] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
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
  const editedWallet = (wallets.data?.items ?? []).find((w) => w.code === editing);
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
      {saved ? (
        <p className="success" role="status">
          {saved}
        </p>
      ) : null}
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
                  <button
                    type="button"
                    aria-expanded={editing === w.code}
                    onClick={() => {
                      setSaved(null);
                      setEditing(editing === w.code ? null : w.code);
                    }}
                  >
                    {t('admin.editNamed', { name: w.code })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editedWallet ? (
        <WalletEdit
          key={editedWallet.code}
          wallet={editedWallet}
          onClose={() => setEditing(null)}
          onSaved={(w) => {
            setEditing(null);
            setSaved(t('admin.wallets.saved', { name: w.code }));
            void qc.invalidateQueries({ queryKey: ['wallet-providers'] });
          }}
        />
      ) : null}
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

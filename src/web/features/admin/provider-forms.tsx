import { useState } from 'react';
import { api, newIdempotencyKey, unwrap, type Schemas } from '../../api/client';
import type { ApiError } from '../../api/errors';
import { useI18n, type Translate } from '../../i18n/i18n';
import { Field } from '../../ui/field';
import { SelectField } from './controls';
import { EditFormView, useEditForm } from './edit-form';

export type Provider = Schemas['Provider'];

type Kind = Provider['kind'];

const KINDS: readonly Kind[] = ['http', 'sandbox', 'file'];

/** The API's limits (PROVIDER_LIMITS), checked here first so that the refusal is in the page's language. */
const LIMITS = {
  timeoutMs: { min: 100, max: 120_000 },
  rateLimitPerSecond: { min: 1, max: 100_000 },
  concurrency: { min: 1, max: 1_000 },
} as const;

const PRINTABLE = (min: number, max: number) => new RegExp(`^[\\x21-\\x7e]{${min},${max}}$`);

const CLIENT_ID = PRINTABLE(1, 100);

const SECRET = PRINTABLE(16, 128);

const NAME = /^[a-z0-9][a-z0-9-]{1,39}$/;

type Connection = {
  baseUrl: string;
  clientId: string;
  secret: string;
  timeoutMs: string;
  rateLimitPerSecond: string;
  concurrency: string;
};

type EditValues = Connection & { removeSecret: boolean; active: boolean };

type CreateValues = Connection & { name: string; kind: Kind };

type ConnectionField = keyof Connection;

function inRange(v: string, key: keyof typeof LIMITS): boolean {
  return /^\d{1,7}$/.test(v) && Number(v) >= LIMITS[key].min && Number(v) <= LIMITS[key].max;
}

/** Checks of the connection fields in the page's language; the API checks again. */
function checkConnection(t: Translate, v: Connection, kind: Kind): Partial<Record<ConnectionField, string>> {
  const wire = kind !== 'file';
  const url = v.baseUrl.trim();
  return {
    baseUrl: wire && url !== '' && !/^https?:\/\/\S+$/.test(url) ? t('admin.providers.baseUrlHint') : undefined,
    clientId: wire && v.clientId !== '' && !CLIENT_ID.test(v.clientId) ? t('admin.providers.clientIdHint') : undefined,
    secret: wire && v.secret !== '' && !SECRET.test(v.secret) ? t('admin.providers.secretHint') : undefined,
    timeoutMs: inRange(v.timeoutMs, 'timeoutMs') ? undefined : t('admin.providers.timeoutHint'),
    rateLimitPerSecond:
      v.rateLimitPerSecond === '' || inRange(v.rateLimitPerSecond, 'rateLimitPerSecond') ? undefined : t('admin.providers.rateHint'),
    concurrency: inRange(v.concurrency, 'concurrency') ? undefined : t('admin.providers.concurrencyHint'),
  };
}

function connectionRules(t: Translate): Partial<Record<ConnectionField | 'name', string>> {
  return {
    baseUrl: t('admin.providers.baseUrlHint'),
    clientId: t('admin.providers.clientIdHint'),
    secret: t('admin.providers.secretHint'),
    timeoutMs: t('admin.providers.timeoutHint'),
    rateLimitPerSecond: t('admin.providers.rateHint'),
    concurrency: t('admin.providers.concurrencyHint'),
    name: t('admin.providers.nameHint'),
  };
}

/** Refusals of the provider service that name fields in their details or message rather than as field problems. */
const connectionCodeFields = {
  PROVIDER_INCOMPLETE: (e: ApiError) => (e.details as { missing?: string[] } | undefined)?.missing ?? [],
  PROVIDER_FIELD_NOT_FOR_KIND: (e: ApiError) => (e.details as { fields?: string[] } | undefined)?.fields ?? [],
  INVALID_BASE_URL: () => ['baseUrl'],
  INVALID_CLIENT_ID: () => ['clientId'],
  INVALID_SECRET: () => ['secret'],
  // "<field> must be a whole number from … to …"
  INVALID_PROVIDER_LIMIT: (e: ApiError) => [e.message.split(' ')[0] ?? ''],
} as const;

function labelsOf(t: Translate, creating = false) {
  return {
    baseUrl: t('admin.providers.address'),
    clientId: t('admin.providers.clientId'),
    secret: t(creating ? 'admin.providers.secretFirst' : 'admin.providers.secret'),
    timeoutMs: t('admin.providers.timeout'),
    rateLimitPerSecond: t('admin.providers.rate'),
    concurrency: t('admin.providers.concurrency'),
  };
}

function showOf(t: Translate) {
  return {
    baseUrl: (v: string) => v.trim() || t('admin.providers.defaultAddress'),
    clientId: (v: string) => v || t('admin.providers.defaultAddress'),
    // the secret is never shown, not even to the person typing it
    secret: (v: string) => (v ? t('admin.providers.secretNew') : t('admin.providers.secretKept')),
    rateLimitPerSecond: (v: string) => v || t('admin.providers.noRate'),
  };
}

/** The connection and limit fields both forms share; `text` binds one of them to its form. */
function ConnectionFields({
  text,
  kind,
  secretSet,
}: {
  text: (key: ConnectionField) => { value: string; onChange: (e: { target: { value: string } }) => void; error: string | undefined };
  kind: Kind;
  /** Whether the provider has a secret already: the field then replaces it, and empty keeps it. */
  secretSet: boolean | null;
}) {
  const { t } = useI18n();
  return (
    <>
      {kind !== 'file' ? (
        <>
          <Field
            label={t('admin.providers.address')}
            hint={t(kind === 'sandbox' ? 'admin.providers.baseUrlSandbox' : 'admin.providers.baseUrlHint')}
            inputMode="url"
            {...text('baseUrl')}
          />
          <Field
            label={t('admin.providers.clientId')}
            hint={t(kind === 'sandbox' ? 'admin.providers.clientIdSandbox' : 'admin.providers.clientIdHint')}
            autoComplete="off"
            {...text('clientId')}
          />
          <Field
            label={t(secretSet === null ? 'admin.providers.secretFirst' : 'admin.providers.secret')}
            hint={t(secretSet ? 'admin.providers.secretKeepHint' : 'admin.providers.secretHint')}
            type="password"
            autoComplete="new-password"
            {...text('secret')}
          />
        </>
      ) : null}
      <Field label={t('admin.providers.timeout')} hint={t('admin.providers.timeoutHint')} inputMode="numeric" {...text('timeoutMs')} />
      <Field label={t('admin.providers.rate')} hint={t('admin.providers.rateHint')} inputMode="numeric" {...text('rateLimitPerSecond')} />
      <Field
        label={t('admin.providers.concurrency')}
        hint={t('admin.providers.concurrencyHint')}
        inputMode="numeric"
        {...text('concurrency')}
      />
    </>
  );
}

/** A provider's connection, secret, limits and active flag (PATCH /providers/{id}); name and kind are fixed. */
export function ProviderEdit({ provider, onSaved, onClose }: { provider: Provider; onSaved: (p: Provider) => void; onClose: () => void }) {
  const { t } = useI18n();
  const form = useEditForm<EditValues, Provider>({
    initial: {
      baseUrl: provider.baseUrl ?? '',
      clientId: provider.clientId ?? '',
      secret: '',
      removeSecret: false,
      timeoutMs: String(provider.timeoutMs),
      rateLimitPerSecond: provider.rateLimitPerSecond === null ? '' : String(provider.rateLimitPerSecond),
      concurrency: String(provider.concurrency),
      active: provider.active,
    },
    labels: {
      ...labelsOf(t),
      removeSecret: t('admin.providers.removeSecret'),
      active: t('admin.status'),
    },
    show: { ...showOf(t), active: (a) => (a ? t('admin.active') : t('admin.inactive')) },
    check: (v) => ({
      ...checkConnection(t, v, provider.kind),
      removeSecret: v.removeSecret && v.secret !== '' ? t('admin.providers.removeOrNew') : undefined,
    }),
    rules: connectionRules(t),
    save: (v, changed) => {
      const has = (k: keyof EditValues) => changed.includes(k);
      const secret = v.secret !== '' ? { secret: v.secret } : v.removeSecret ? { secret: null } : {};
      return unwrap(
        api.PATCH('/api/v1/providers/{id}', {
          params: { path: { id: provider.id } },
          body: {
            ...(has('baseUrl') ? { baseUrl: v.baseUrl.trim() || null } : {}),
            ...(has('clientId') ? { clientId: v.clientId || null } : {}),
            ...secret,
            ...(has('timeoutMs') ? { timeoutMs: Number(v.timeoutMs) } : {}),
            ...(has('rateLimitPerSecond') ? { rateLimitPerSecond: v.rateLimitPerSecond === '' ? null : Number(v.rateLimitPerSecond) } : {}),
            ...(has('concurrency') ? { concurrency: Number(v.concurrency) } : {}),
            ...(has('active') ? { active: v.active } : {}),
          },
        }),
      );
    },
    codeFields: { ...connectionCodeFields, PROVIDER_ROUTED: () => ['active'] },
    onSaved,
  });
  return (
    <section className="panel" aria-labelledby="provider-edit">
      <h2 id="provider-edit">{t('admin.providers.edit', { name: provider.name })}</h2>
      <p className="field__hint">{t('admin.providers.fixed', { kind: t(`admin.providers.kind.${provider.kind}`) })}</p>
      <EditFormView
        form={form}
        submitLabel={t('admin.edit.submit')}
        question={t('admin.providers.editQuestion', { name: provider.name })}
        onCancel={onClose}
      >
        <ConnectionFields text={form.text} kind={provider.kind} secretSet={provider.secretSet} />
        {provider.kind === 'sandbox' && provider.secretSet ? (
          <div className="check-field">
            <label>
              <input type="checkbox" {...form.checkbox('removeSecret')} /> {t('admin.providers.removeSecret')}
            </label>
            {form.error('removeSecret') ? <p className="field__error">{form.error('removeSecret')}</p> : null}
          </div>
        ) : null}
        <div className="check-field">
          <label>
            <input type="checkbox" aria-invalid={form.error('active') ? true : undefined} {...form.checkbox('active')} />{' '}
            {t('admin.activeLabel')}
          </label>
          <p className="field__hint">{t('admin.providers.activeHint')}</p>
          {form.error('active') ? <p className="field__error">{form.error('active')}</p> : null}
        </div>
      </EditFormView>
    </section>
  );
}

/** A new provider (POST /providers): its name is part of its callback URL and its kind is fixed for good. */
export function ProviderCreate({ onCreated }: { onCreated: (p: Provider) => void }) {
  const { t } = useI18n();
  const [key, setKey] = useState(newIdempotencyKey);
  const initial: CreateValues = {
    name: '',
    kind: 'http',
    baseUrl: '',
    clientId: '',
    secret: '',
    timeoutMs: '10000',
    rateLimitPerSecond: '',
    concurrency: '50',
  };
  const form = useEditForm<CreateValues, Provider>({
    initial,
    always: true,
    labels: { name: t('admin.providers.name'), kind: t('admin.providers.kind'), ...labelsOf(t, true) },
    show: { ...showOf(t), kind: (k) => t(`admin.providers.kind.${k}`) },
    check: (v) => ({
      ...checkConnection(t, v, v.kind),
      name: NAME.test(v.name.trim()) ? undefined : t('admin.providers.nameHint'),
    }),
    rules: connectionRules(t),
    save: (v) => {
      const wire = v.kind !== 'file';
      return unwrap(
        api.POST('/api/v1/providers', {
          body: {
            name: v.name.trim(),
            kind: v.kind,
            ...(wire && v.baseUrl.trim() ? { baseUrl: v.baseUrl.trim() } : {}),
            ...(wire && v.clientId ? { clientId: v.clientId } : {}),
            ...(wire && v.secret ? { secret: v.secret } : {}),
            timeoutMs: Number(v.timeoutMs),
            rateLimitPerSecond: v.rateLimitPerSecond === '' ? null : Number(v.rateLimitPerSecond),
            concurrency: Number(v.concurrency),
          },
          headers: { 'Idempotency-Key': key },
        }),
      );
    },
    codeFields: { ...connectionCodeFields, PROVIDER_NAME_TAKEN: () => ['name'], INVALID_PROVIDER_NAME: () => ['name'] },
    onSaved: (p) => {
      setKey(newIdempotencyKey());
      onCreated(p);
    },
  });
  return (
    <section className="panel" aria-labelledby="provider-create">
      <h2 id="provider-create">{t('admin.providers.add')}</h2>
      <EditFormView form={form} list="values" submitLabel={t('admin.providers.addSubmit')} question={t('admin.providers.addQuestion')}>
        <Field label={t('admin.providers.name')} hint={t('admin.providers.nameHint')} autoComplete="off" {...form.text('name')} />
        <SelectField label={t('admin.providers.kind')} {...form.text('kind')}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`admin.providers.kind.${k}`)}
            </option>
          ))}
        </SelectField>
        <ConnectionFields text={form.text} kind={form.values.kind} secretSet={null} />
      </EditFormView>
    </section>
  );
}

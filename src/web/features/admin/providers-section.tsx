import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, newIdempotencyKey, unwrap, type Schemas } from '../../api/client';
import type { ApiError } from '../../api/errors';
import { useI18n, type Translate } from '../../i18n/i18n';
import { Field } from '../../ui/field';
import { PageTitle } from '../../ui/page-title';
import { SelectField } from './controls';
import { ConfirmAction, EditFormView, useEditForm } from './edit-form';
import { ProviderTestButton } from './provider-test';
import './admin.css';

type Provider = Schemas['Provider'];
type Kind = Provider['kind'];
type Route = Schemas['ProviderRoute'];
type Channel = 'BANK' | 'WALLET' | 'CASH';
const CHANNELS: readonly Channel[] = ['BANK', 'WALLET', 'CASH'];
const KINDS: readonly Kind[] = ['http', 'sandbox', 'file'];
const ANY = '*';

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
function ProviderEdit({ provider, onSaved, onClose }: { provider: Provider; onSaved: (p: Provider) => void; onClose: () => void }) {
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
function ProviderCreate({ onCreated }: { onCreated: (p: Provider) => void }) {
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

type RouteValues = { channel: Channel; matchCode: string; providerId: string };

/** A route's match code as people know it: `970436 · Vietcombank`, `MOMO · MoMo`, or the rest of the channel. */
function useMatchName(): (channel: string, code: string) => string {
  const { t } = useI18n();
  const banks = useQuery({ queryKey: ['banks'], queryFn: () => unwrap(api.GET('/api/v1/banks')) });
  const wallets = useQuery({ queryKey: ['wallet-providers'], queryFn: () => unwrap(api.GET('/api/v1/wallet-providers')) });
  return (channel, code) => {
    if (code === ANY) return t('admin.routes.any');
    const name =
      channel === 'BANK'
        ? banks.data?.items.find((b) => b.bin === code)?.shortName
        : wallets.data?.items.find((w) => w.code === code)?.name;
    return name ? `${code} · ${name}` : code;
  };
}

/**
 * Sets a route (PUT /providers/routes/{channel}/{matchCode}): the bank or wallet provider is chosen from the lists
 * the API keeps, or `*` for the rest of the channel; the confirmation says which provider it replaces, if any.
 */
function RouteForm({ providers, routes, onSaved }: { providers: Provider[]; routes: Route[]; onSaved: (message: string) => void }) {
  const { t } = useI18n();
  const banks = useQuery({ queryKey: ['banks'], queryFn: () => unwrap(api.GET('/api/v1/banks')) });
  const wallets = useQuery({ queryKey: ['wallet-providers'], queryFn: () => unwrap(api.GET('/api/v1/wallet-providers')) });
  const channelName = (c: Channel) => t(`admin.routes.channel.${c}`);
  const matchNameOf = useMatchName();
  const providerName = (id: string) => providers.find((p) => String(p.id) === id)?.name ?? '';
  const form = useEditForm<RouteValues, Route>({
    initial: { channel: 'BANK', matchCode: ANY, providerId: '' },
    always: true,
    labels: { channel: t('admin.routes.channel'), matchCode: t('admin.routes.match'), providerId: t('admin.routes.provider') },
    show: { channel: channelName, matchCode: (code, all) => matchNameOf(all.channel, code), providerId: providerName },
    check: (v) => ({ providerId: v.providerId ? undefined : t('admin.routes.chooseProvider') }),
    save: (v) =>
      unwrap(
        api.PUT('/api/v1/providers/routes/{channel}/{matchCode}', {
          params: { path: { channel: v.channel, matchCode: v.matchCode } },
          body: { providerId: Number(v.providerId) },
        }),
      ),
    codeFields: {
      INVALID_MATCH_CODE: () => ['matchCode'],
      UNKNOWN_BANK: () => ['matchCode'],
      UNKNOWN_WALLET_PROVIDER: () => ['matchCode'],
      PROVIDER_INACTIVE: () => ['providerId'],
      PROVIDER_NOT_FOUND: () => ['providerId'],
    },
    onSaved: (r) =>
      onSaved(
        t('admin.routes.saved', {
          channel: channelName(r.channel as Channel),
          match: matchNameOf(r.channel, r.matchCode),
          provider: r.providerName,
        }),
      ),
  });
  const v = form.values;
  const existing = routes.find((r) => r.channel === v.channel && r.matchCode === v.matchCode);
  const question = existing
    ? t('admin.routes.replaceQuestion', { provider: existing.providerName })
    : t('admin.routes.newQuestion', { channel: channelName(v.channel) });
  return (
    <section className="panel" aria-labelledby="route-set">
      <h3 id="route-set">{t('admin.routes.set')}</h3>
      <EditFormView
        form={form}
        list="values"
        submitLabel={t('admin.routes.setSubmit')}
        confirmLabel={t('admin.routes.setYes')}
        question={question}
      >
        <SelectField
          label={t('admin.routes.channel')}
          value={v.channel}
          onChange={(e) => {
            form.set('channel', e.target.value as Channel);
            form.set('matchCode', ANY);
          }}
        >
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {channelName(c)}
            </option>
          ))}
        </SelectField>
        <SelectField label={t(`admin.routes.matchFor.${v.channel}`)} {...form.text('matchCode')}>
          <option value={ANY}>{t('admin.routes.any')}</option>
          {v.channel === 'BANK'
            ? (banks.data?.items ?? []).map((b) => (
                <option key={b.bin} value={b.bin}>
                  {`${b.bin} · ${b.shortName}${b.active ? '' : ` (${t('admin.inactive')})`}`}
                </option>
              ))
            : null}
          {v.channel === 'WALLET'
            ? (wallets.data?.items ?? []).map((w) => (
                <option key={w.code} value={w.code}>
                  {`${w.code} · ${w.name}${w.active ? '' : ` (${t('admin.inactive')})`}`}
                </option>
              ))
            : null}
        </SelectField>
        <SelectField label={t('admin.routes.provider')} {...form.text('providerId')}>
          <option value="">{t('admin.routes.chooseProvider')}</option>
          {providers
            .filter((p) => p.active)
            .map((p) => (
              <option key={p.id} value={p.id}>
                {`${p.name} · ${t(`admin.providers.kind.${p.kind}`)}`}
              </option>
            ))}
        </SelectField>
      </EditFormView>
    </section>
  );
}

function Routes({ providers, onDone }: { providers: Provider[]; onDone: (message: string) => void }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const routes = useQuery({ queryKey: ['provider-routes'], queryFn: () => unwrap(api.GET('/api/v1/providers/routes')) });
  const channelName = (c: string) => t(`admin.routes.channel.${c as Channel}`);
  const matchName = useMatchName();
  const changed = (message: string) => {
    onDone(message);
    void qc.invalidateQueries({ queryKey: ['provider-routes'] });
  };
  const items = routes.data?.items ?? [];
  return (
    <section aria-labelledby="routes-title">
      <h2 id="routes-title">{t('admin.routes.title')}</h2>
      <p>{t('admin.routes.intro')}</p>
      <div className="table-wrap">
        <table>
          <caption>{t('admin.routes.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.routes.channel')}</th>
              <th scope="col">{t('admin.routes.match')}</th>
              <th scope="col">{t('admin.routes.provider')}</th>
              <th scope="col">{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => {
              const name = `${channelName(r.channel)} · ${matchName(r.channel, r.matchCode)}`;
              return (
                <tr key={r.id}>
                  <td>{channelName(r.channel)}</td>
                  <td>{matchName(r.channel, r.matchCode)}</td>
                  <td>{r.providerName}</td>
                  <td>
                    <ConfirmAction
                      label={t('admin.routes.delete', { name })}
                      question={t('admin.routes.deleteAsk', { name, provider: r.providerName })}
                      confirmLabel={t('admin.routes.deleteYes')}
                      run={() =>
                        unwrap(
                          api.DELETE('/api/v1/providers/routes/{channel}/{matchCode}', {
                            params: { path: { channel: r.channel, matchCode: r.matchCode } },
                          }),
                        )
                      }
                      onDone={() => changed(t('admin.routes.deleted', { name }))}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <RouteForm providers={providers} routes={items} onSaved={changed} />
    </section>
  );
}

export default function ProvidersSection() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [done, setDone] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  // a blank creation form again after each provider added
  const [created, setCreated] = useState(0);
  // tens of entries at most: the API answers each list whole
  const providers = useQuery({ queryKey: ['providers'], queryFn: () => unwrap(api.GET('/api/v1/providers')) });
  const items = providers.data?.items ?? [];
  const edited = items.find((p) => p.id === editing);
  const changed = (message: string) => {
    setDone(message);
    void qc.invalidateQueries({ queryKey: ['providers'] });
    void qc.invalidateQueries({ queryKey: ['queues'] });
  };
  const pauseRun = (p: Provider) => () =>
    p.paused
      ? unwrap(api.POST('/api/v1/providers/{id}/resume', { params: { path: { id: p.id } } }))
      : unwrap(api.POST('/api/v1/providers/{id}/pause', { params: { path: { id: p.id } } }));
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.providers.title')}</PageTitle>
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <caption>{t('admin.providers.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.providers.name')}</th>
              <th scope="col">{t('admin.providers.kind')}</th>
              <th scope="col">{t('admin.providers.address')}</th>
              <th scope="col" className="num">
                {t('admin.providers.concurrency')}
              </th>
              <th scope="col">{t('admin.status')}</th>
              <th scope="col">{t('admin.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td>{t(`admin.providers.kind.${p.kind}`)}</td>
                <td>{p.kind === 'file' ? '–' : (p.baseUrl ?? t('admin.providers.defaultAddress'))}</td>
                <td className="num">{p.concurrency}</td>
                <td>{!p.active ? t('admin.inactive') : p.paused ? t('admin.providers.paused') : t('admin.providers.running')}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    aria-expanded={editing === p.id}
                    onClick={() => {
                      setDone(null);
                      setEditing(editing === p.id ? null : p.id);
                    }}
                  >
                    {t('admin.editNamed', { name: p.name })}
                  </button>
                  {p.kind !== 'file' ? <ProviderTestButton provider={p} /> : null}
                  {p.active && p.kind !== 'file' ? (
                    <ConfirmAction
                      label={t(p.paused ? 'admin.providers.resume' : 'admin.providers.pause', { name: p.name })}
                      question={t(p.paused ? 'admin.providers.resumeAsk' : 'admin.providers.pauseAsk', { name: p.name })}
                      confirmLabel={t(p.paused ? 'admin.providers.resumeYes' : 'admin.providers.pauseYes')}
                      run={pauseRun(p)}
                      onDone={(after) =>
                        changed(t(after.paused ? 'admin.providers.pausedNow' : 'admin.providers.resumedNow', { name: after.name }))
                      }
                    />
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {edited ? (
        <ProviderEdit
          key={edited.id}
          provider={edited}
          onClose={() => setEditing(null)}
          onSaved={(p) => {
            setEditing(null);
            changed(t('admin.providers.saved', { name: p.name }));
          }}
        />
      ) : null}
      <Routes providers={items} onDone={setDone} />
      <ProviderCreate
        key={created}
        onCreated={(p) => {
          setCreated((n) => n + 1);
          changed(t('admin.providers.created', { name: p.name }));
        }}
      />
    </main>
  );
}

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { SelectField } from './controls';
import { ConfirmAction, EditFormView, useEditForm } from './edit-form';
import { type Provider } from './provider-forms';

type Route = Schemas['ProviderRoute'];

type Channel = 'BANK' | 'WALLET' | 'CASH';

const CHANNELS: readonly Channel[] = ['BANK', 'WALLET', 'CASH'];

const ANY = '*';

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

export function Routes({ providers, onDone }: { providers: Provider[]; onDone: (message: string) => void }) {
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

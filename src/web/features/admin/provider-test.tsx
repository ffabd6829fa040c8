import { useMutation } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../api/client';
import { ApiError } from '../../api/errors';
import { useI18n, type Translate } from '../../i18n/i18n';
import { formatMoney } from '../../ui/format';

type Test = Schemas['ProviderConnectionTest'];

/** What the provider said, in the page's language: the provider's own code first, then how the exchange failed. */
function verdict(t: Translate, name: string, r: Test): string {
  if (r.ok && r.balance) return t('admin.providers.test.ok', { name, balance: formatMoney(r.balance.available), ms: r.latencyMs });
  const e = r.error;
  if (e?.providerError === 'BAD_SIGNATURE') return t('admin.providers.test.badSignature', { name });
  if (e?.providerError === 'STALE_TIMESTAMP') return t('admin.providers.test.staleTimestamp', { name });
  if (e?.transport) return t('admin.providers.test.unreachable', { name, how: e.transport });
  if (e?.code === 'PROVIDER_UNAVAILABLE') return t('admin.providers.test.unavailable', { name, status: e.httpStatus ?? '–' });
  if (e?.code === 'PROVIDER_BAD_RESPONSE') return t('admin.providers.test.badResponse', { name, status: e.httpStatus ?? '–' });
  return t('admin.providers.test.failed', { name, code: e?.providerError ?? e?.code ?? '–' });
}

/**
 * A signed balance request to the provider with its stored connection, so that an administrator knows before routing
 * payments to it that the address, client id, secret and clocks agree. Harmless (it reads the float), and audited.
 */
export function ProviderTestButton({ provider }: { provider: Pick<Schemas['Provider'], 'id' | 'name'> }) {
  const { t } = useI18n();
  const test = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/providers/{id}/test', { params: { path: { id: provider.id } } })),
  });
  const outcome = test.data
    ? { ok: test.data.ok, text: verdict(t, provider.name, test.data) }
    : test.error
      ? {
          ok: false,
          text: t('admin.providers.test.refused', { name: provider.name, code: test.error instanceof ApiError ? test.error.code : '–' }),
        }
      : null;
  return (
    <>
      <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>
        {test.isPending
          ? t('admin.providers.test.running', { name: provider.name })
          : t('admin.providers.test.button', { name: provider.name })}
      </button>
      <span role="status" className={outcome ? (outcome.ok ? 'success' : 'error') : undefined}>
        {outcome?.text ?? ''}
      </span>
    </>
  );
}

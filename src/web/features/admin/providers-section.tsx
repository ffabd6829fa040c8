import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { PageTitle } from '../../ui/page-title';
import { refusal } from './controls';
import './admin.css';

type Provider = Schemas['Provider'];

export default function ProvidersSection() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // tens of entries at most: the API answers each list whole
  const providers = useQuery({ queryKey: ['providers'], queryFn: () => unwrap(api.GET('/api/v1/providers')) });
  const routes = useQuery({ queryKey: ['provider-routes'], queryFn: () => unwrap(api.GET('/api/v1/providers/routes')) });
  const pause = useMutation({
    mutationFn: (p: Provider) =>
      p.paused
        ? unwrap(api.POST('/api/v1/providers/{id}/resume', { params: { path: { id: p.id } } }))
        : unwrap(api.POST('/api/v1/providers/{id}/pause', { params: { path: { id: p.id } } })),
    onSuccess: (p) => {
      setError(null);
      setDone(t(p.paused ? 'admin.providers.pausedNow' : 'admin.providers.resumedNow', { name: p.name }));
      void qc.invalidateQueries({ queryKey: ['providers'] });
      void qc.invalidateQueries({ queryKey: ['queues'] });
    },
    onError: (e) => {
      setDone(null);
      setError(refusal(t, 'admin', e));
    },
  });
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.providers.title')}</PageTitle>
      <FormError message={error} />
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
            {(providers.data?.items ?? []).map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td>{t(`admin.providers.kind.${p.kind}`)}</td>
                <td>{p.baseUrl ?? t('admin.providers.defaultAddress')}</td>
                <td className="num">{p.concurrency}</td>
                <td>{!p.active ? t('admin.inactive') : p.paused ? t('admin.providers.paused') : t('admin.providers.running')}</td>
                <td>
                  {p.active && p.kind !== 'file' ? (
                    <button type="button" disabled={pause.isPending} onClick={() => pause.mutate(p)}>
                      {t(p.paused ? 'admin.providers.resume' : 'admin.providers.pause', { name: p.name })}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>{t('admin.routes.title')}</h2>
      <p>{t('admin.routes.intro')}</p>
      <div className="table-wrap">
        <table>
          <caption>{t('admin.routes.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.routes.channel')}</th>
              <th scope="col">{t('admin.routes.match')}</th>
              <th scope="col">{t('admin.routes.provider')}</th>
            </tr>
          </thead>
          <tbody>
            {(routes.data?.items ?? []).map((r) => (
              <tr key={r.id}>
                <td>{t(`admin.routes.channel.${r.channel as 'BANK' | 'WALLET' | 'CASH'}`)}</td>
                <td>{r.matchCode === '*' ? t('admin.routes.any') : r.matchCode}</td>
                <td>{r.providerName}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}

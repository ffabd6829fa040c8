import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { PageTitle } from '../../ui/page-title';
import { ConfirmAction } from './edit-form';
import { ProviderTestButton } from './provider-test';
import './admin.css';
import { type Provider, ProviderCreate, ProviderEdit } from './provider-forms';
import { Routes } from './provider-routes';

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

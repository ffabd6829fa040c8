import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { ConfirmAction } from '../admin/edit-form';
import { Field, FormError } from '../../ui/field';
import { formErrors, type FormErrors } from '../../ui/form-errors';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';

type Gateway = Schemas['SmsGateway'];
type GatewayTest = Schemas['SmsGatewayTest'];
const FIELDS = ['sender', 'rateLimitPerSecond', 'pricePerSegment', 'secret'] as const;

function GatewayEdit({ gateway, onDone }: { gateway: Gateway; onDone: (message: string) => void }) {
  const { t } = useI18n();
  const [v, setV] = useState({
    sender: gateway.sender,
    rate: String(gateway.rateLimitPerSecond),
    price: String(gateway.pricePerSegment),
    secret: '',
  });
  const [errors, setErrors] = useState<FormErrors>({ form: null, fields: {} });
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/api/v1/notifications/gateways/{id}', {
          params: { path: { id: gateway.id } },
          body: {
            sender: v.sender.trim(),
            rateLimitPerSecond: Number(v.rate),
            pricePerSegment: Number(v.price),
            ...(v.secret ? { secret: v.secret } : {}),
          },
        }),
      ),
    onSuccess: (g) => onDone(t('notifications.gateways.saved', { name: g.name })),
    onError: (e) => setErrors(formErrors(t, e, FIELDS)),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate();
  }
  return (
    <form onSubmit={submit} noValidate aria-busy={save.isPending}>
      <FormError message={errors.form} />
      <Field
        label={t('notifications.gateways.sender')}
        value={v.sender}
        error={errors.fields.sender}
        maxLength={11}
        onChange={(e) => setV({ ...v, sender: e.target.value })}
      />
      <Field
        label={t('notifications.gateways.rate')}
        inputMode="numeric"
        value={v.rate}
        error={errors.fields.rateLimitPerSecond}
        onChange={(e) => setV({ ...v, rate: e.target.value })}
      />
      <Field
        label={t('notifications.gateways.price')}
        inputMode="numeric"
        value={v.price}
        error={errors.fields.pricePerSegment}
        onChange={(e) => setV({ ...v, price: e.target.value })}
      />
      <Field
        label={t('notifications.gateways.secret')}
        type="password"
        autoComplete="off"
        hint={t('notifications.gateways.secretHint')}
        value={v.secret}
        error={errors.fields.secret}
        onChange={(e) => setV({ ...v, secret: e.target.value })}
      />
      <button type="submit">{t('notifications.gateways.save')}</button>
    </form>
  );
}

function TestButton({ gateway }: { gateway: Gateway }) {
  const { t } = useI18n();
  const [result, setResult] = useState<GatewayTest | null>(null);
  const test = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/notifications/gateways/{id}/test', { params: { path: { id: gateway.id } } })),
    onSuccess: setResult,
  });
  return (
    <>
      <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>
        {t('notifications.gateways.test', { name: gateway.name })}
      </button>
      {result ? (
        <span role="status">
          {result.ok
            ? t('notifications.gateways.testOk', { segments: result.balance?.segmentsLeft ?? '—', ms: result.latencyMs })
            : t('notifications.gateways.testFailed', {
                error: result.error?.providerError ?? result.error?.transport ?? result.error?.code ?? '?',
              })}
        </span>
      ) : null}
    </>
  );
}

/** /sms-gateways (administrators): the SMS gateways, tested, paused and resumed, their sender, rate and price changed. */
export default function GatewaysSection() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [done, setDone] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const gateways = useQuery({ queryKey: ['sms-gateways'], queryFn: () => unwrap(api.GET('/api/v1/notifications/gateways')) });
  const items = gateways.data?.items ?? [];
  const edited = items.find((g) => g.id === editing);
  const changed = (message: string) => {
    setDone(message);
    setEditing(null);
    void qc.invalidateQueries({ queryKey: ['sms-gateways'] });
  };
  return (
    <main id="main" className="page">
      <PageTitle>{t('notifications.gateways.title')}</PageTitle>
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <caption>{t('notifications.gateways.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('notifications.gateways.name')}</th>
              <th scope="col">{t('notifications.gateways.sender')}</th>
              <th scope="col" className="num">
                {t('notifications.gateways.rate')}
              </th>
              <th scope="col" className="num">
                {t('notifications.gateways.price')}
              </th>
              <th scope="col">{t('notifications.state')}</th>
              <th scope="col">{t('notifications.gateways.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((g) => (
              <tr key={g.id}>
                <td>
                  {g.name}
                  {g.isDefault ? ` (${t('notifications.gateways.default')})` : ''}
                </td>
                <td>{g.sender}</td>
                <td className="num">{g.rateLimitPerSecond}</td>
                <td className="num">
                  <Money amount={g.pricePerSegment} />
                </td>
                <td>{g.paused ? t('notifications.gateways.paused') : t('notifications.gateways.running')}</td>
                <td className="row-actions">
                  <button type="button" aria-expanded={editing === g.id} onClick={() => setEditing(editing === g.id ? null : g.id)}>
                    {t('notifications.gateways.edit', { name: g.name })}
                  </button>
                  <TestButton gateway={g} />
                  <ConfirmAction
                    label={t(g.paused ? 'notifications.gateways.resume' : 'notifications.gateways.pause', { name: g.name })}
                    question={t(g.paused ? 'notifications.gateways.resumeAsk' : 'notifications.gateways.pauseAsk', { name: g.name })}
                    confirmLabel={t('notifications.gateways.confirm')}
                    run={() =>
                      unwrap(
                        api.POST(g.paused ? '/api/v1/notifications/gateways/{id}/resume' : '/api/v1/notifications/gateways/{id}/pause', {
                          params: { path: { id: g.id } },
                        }),
                      )
                    }
                    onDone={() =>
                      changed(t(g.paused ? 'notifications.gateways.resumed' : 'notifications.gateways.pausedDone', { name: g.name }))
                    }
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {edited ? (
        <section aria-labelledby="gateway-edit">
          <h2 id="gateway-edit">{t('notifications.gateways.edit', { name: edited.name })}</h2>
          <GatewayEdit key={edited.id} gateway={edited} onDone={changed} />
        </section>
      ) : null}
    </main>
  );
}

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { ApiError } from '../../api/errors';
import { useI18n, type Translate } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { errorMessage } from '../../ui/form-errors';
import { Money } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import './notifications.css';

type Template = Schemas['NotificationTemplate'];
type Event = Template['event'];

/** The refusal of a template in the page's language, naming the placeholders the API named. */
function refusal(t: Translate, e: unknown): string {
  if (e instanceof ApiError && e.code === 'UNKNOWN_PLACEHOLDER') {
    const names = (e.details as { placeholders?: string[] } | undefined)?.placeholders ?? [];
    return t('notifications.unknownPlaceholder', { names: names.map((n) => `{${n}}`).join(', ') });
  }
  return errorMessage(t, e);
}

/** The text typed, settled for `ms`: the preview follows typing without a request per key. */
function useSettled<T>(value: T, ms = 400): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Keyed by programme and event, not version: a save keeps what was typed and its confirmation on screen. */
function Editor({ template, onSaved }: { template: Template; onSaved: () => void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [body, setBody] = useState(template.body);
  const [plain, setPlain] = useState(template.plain);
  const [active, setActive] = useState(template.active);
  const [recipient, setRecipient] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const bodyId = useId();
  const recipientId = useId();
  const settledBody = useSettled(body);
  const settledRecipient = useSettled(recipient.trim());
  const preview = useQuery({
    queryKey: ['notifications', 'preview', template.programmeId, template.event, settledBody, plain, settledRecipient],
    enabled: /^\d{1,19}$/.test(settledRecipient) && settledBody.trim().length > 0,
    retry: false,
    queryFn: () =>
      unwrap(
        api.POST('/api/v1/notifications/templates/preview', {
          body: { programmeId: template.programmeId, event: template.event, beneficiaryId: settledRecipient, body: settledBody, plain },
        }),
      ),
  });
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/v1/notifications/templates/{programmeId}/{event}', {
          params: { path: { programmeId: template.programmeId, event: template.event } },
          body: { body, plain, active, expectedVersion: template.version },
        }),
      ),
    onSuccess: async (next) => {
      setError(null);
      setSaved(t('notifications.saved', { version: next.version }));
      await queryClient.invalidateQueries({ queryKey: ['notifications', 'templates'] });
      onSaved();
    },
    onError: (e) => {
      setSaved(null);
      setError(refusal(t, e));
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!body.trim()) return setError(t('form.required'));
    save.mutate();
  }
  const p = preview.data;
  return (
    <form onSubmit={submit} noValidate aria-busy={save.isPending} className="notifications-editor">
      <FormError message={error} />
      {saved ? (
        <p role="status" className="form-ok">
          {saved}
        </p>
      ) : null}
      <div className="field">
        <label htmlFor={bodyId}>{t('notifications.body')}</label>
        <p className="field__hint">{t('notifications.bodyHint')}</p>
        <textarea id={bodyId} rows={4} maxLength={500} value={body} onChange={(e) => setBody(e.target.value)} />
      </div>
      <label className="check">
        <input type="checkbox" checked={plain} onChange={(e) => setPlain(e.target.checked)} /> {t('notifications.plain')}
      </label>
      <label className="check">
        <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> {t('notifications.active')}
      </label>
      <div className="field">
        <label htmlFor={recipientId}>{t('notifications.previewFor')}</label>
        <p className="field__hint">{t('notifications.previewForHint')}</p>
        <input id={recipientId} inputMode="numeric" value={recipient} onChange={(e) => setRecipient(e.target.value)} />
      </div>
      <section aria-labelledby={`${bodyId}-preview`} aria-live="polite" className="notifications-preview">
        <h3 id={`${bodyId}-preview`}>{t('notifications.preview')}</h3>
        {preview.error ? (
          <p role="alert" className="form-error">
            {refusal(t, preview.error)}
          </p>
        ) : p ? (
          <>
            <p className="sms-text" data-testid="preview-text">
              {p.text}
            </p>
            <p data-testid="preview-count">
              {t('notifications.count', { encoding: p.encoding === 'GSM7' ? 'GSM-7' : 'UCS-2', units: p.units, segments: p.segments })}{' '}
              {p.cost !== null ? (
                <>
                  · {t('notifications.cost')} <Money amount={p.cost} />
                </>
              ) : null}
            </p>
            {p.tooLong ? <p className="form-error">{t('notifications.tooLong')}</p> : null}
          </>
        ) : (
          <p>{t('notifications.previewEmpty')}</p>
        )}
      </section>
      <button type="submit" disabled={save.isPending}>
        {t('notifications.save')}
      </button>
    </form>
  );
}

/** /notifications: a programme's SMS templates, one per event, each edited with a live preview for a real recipient. */
export function TemplatesPage() {
  const { t } = useI18n();
  const [programmeId, setProgrammeId] = useState<number | null>(null);
  const [event, setEvent] = useState<Event | null>(null);
  const programmeSelect = useId();
  const searchId = useId();
  const [typed, setTyped] = useState('');
  const q = useSettled(typed.trim());
  const programmes = useQuery({
    queryKey: ['programmes', 'choice', q],
    queryFn: () => unwrap(api.GET('/api/v1/programmes', { params: { query: { limit: 50, ...(q ? { q } : {}) } } })),
  });
  const templates = useQuery({
    queryKey: ['notifications', 'templates', programmeId],
    enabled: programmeId !== null,
    queryFn: () => unwrap(api.GET('/api/v1/notifications/templates', { params: { query: { programmeId: programmeId! } } })),
  });
  const current = templates.data?.items.find((x) => x.event === event) ?? null;
  return (
    <main id="main" className="page">
      <PageTitle>{t('notifications.templatesTitle')}</PageTitle>
      <p>
        <Link href="/costs">{t('notifications.costsLink')}</Link>
      </p>
      <div className="field">
        <label htmlFor={searchId}>{t('notifications.findProgramme')}</label>
        <input id={searchId} type="search" maxLength={100} value={typed} onChange={(e) => setTyped(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={programmeSelect}>{t('notifications.programme')}</label>
        <select
          id={programmeSelect}
          value={programmeId ?? ''}
          onChange={(e) => {
            setProgrammeId(e.target.value ? Number(e.target.value) : null);
            setEvent(null);
          }}
        >
          <option value="">{t('notifications.chooseProgramme')}</option>
          {programmes.data?.items.map((p) => (
            <option key={p.id} value={p.id}>
              {p.code} · {p.name}
            </option>
          ))}
        </select>
      </div>
      {templates.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, templates.error)}
        </p>
      ) : null}
      {templates.data ? (
        <div className="table-wrap">
          <table>
            <caption>{t('notifications.templatesCaption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('notifications.event')}</th>
                <th scope="col">{t('notifications.version')}</th>
                <th scope="col">{t('notifications.text')}</th>
                <th scope="col">{t('notifications.state')}</th>
              </tr>
            </thead>
            <tbody>
              {templates.data.items.map((x) => (
                <tr key={x.event} aria-current={x.event === event ? 'true' : undefined}>
                  <td>
                    <button type="button" className="link" onClick={() => setEvent(x.event)}>
                      {t(`notifications.event.${x.event}`)}
                    </button>
                  </td>
                  <td>{x.version === 0 ? t('notifications.builtIn') : x.version}</td>
                  <td>{x.body}</td>
                  <td>
                    {x.active ? t('notifications.on') : t('notifications.off')}
                    {x.plain ? ` · ${t('notifications.plainShort')}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {current ? (
        <section aria-labelledby="editor-title">
          <h2 id="editor-title">{t('notifications.editTitle', { event: t(`notifications.event.${current.event}`) })}</h2>
          <Editor key={`${current.programmeId}-${current.event}`} template={current} onSaved={() => undefined} />
        </section>
      ) : null}
    </main>
  );
}

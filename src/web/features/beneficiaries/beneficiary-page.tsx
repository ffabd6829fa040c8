import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useMe } from '../../app/session';
import { hasMessage } from '../../i18n/catalogue';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import { errorMessage, formErrors, type FormErrors } from '../../ui/form-errors';
import { formatDate, formatMonth, formatTime } from '../../ui/format';
import { KeysetTable } from '../../ui/keyset-table';
import { DateText } from '../../ui/money';
import { EnrolmentForm, PersonForm } from './edit-forms';
import { PageTitle } from '../../ui/page-title';
import { MessageHistory } from '../notifications/message-history';

type Beneficiary = Schemas['Beneficiary'];
type Enrolment = Schemas['Enrolment'];
type Change = Schemas['RollChange'];
type Action = 'suspend' | 'resume' | 'end';
type OpenForm = { enrolmentId: string; action: Action | 'edit' } | { enrolmentId: null; action: 'editPerson' };

/** The API's REVEAL_ROLES and EDITORS: the page offers only what the API would allow. */
const REVEAL_ROLES = ['staff', 'auditor'];
const EDIT_ROLES = ['staff', 'admin'];
const NO_ERRORS: FormErrors = { form: null, fields: {} };

function monthText(period: string | null): string {
  return period ? formatMonth(period) : '…';
}

function RevealForm({ id, onRevealed }: { id: string; onRevealed: (b: Beneficiary) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const titleId = useId();
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (reason.trim().length < 3) {
      setErrors({ form: null, fields: { reason: t('beneficiaries.reveal.reasonTooShort') } });
      return;
    }
    setBusy(true);
    try {
      // read outside the query cache: the full values live in this page's state only, and go when it closes
      const b = await unwrap(
        api.GET('/api/v1/beneficiaries/{id}', { params: { path: { id }, query: { reveal: 'true', reason: reason.trim() } } }),
      );
      setErrors(NO_ERRORS);
      setReason('');
      onRevealed(b);
    } catch (err) {
      setErrors(formErrors(t, err, ['reason']));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-labelledby={titleId} className="reveal-form">
      <h3 id={titleId}>{t('beneficiaries.reveal.title')}</h3>
      <FormError message={errors.form} />
      <Field
        label={t('beneficiaries.reveal.reason')}
        hint={t('beneficiaries.reveal.hint')}
        name="reason"
        value={reason}
        maxLength={500}
        onChange={(e) => setReason(e.target.value)}
        error={errors.fields.reason}
      />
      <div className="actions">
        <button type="submit" disabled={busy}>
          {t('beneficiaries.reveal.submit')}
        </button>
      </div>
    </form>
  );
}

function StatusForm({ enrolment, action, onDone }: { enrolment: Enrolment; action: Action; onDone: (message: string | null) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const [endPeriod, setEndPeriod] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const titleId = useId();
  async function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (reason.trim().length < 3) fields.reason = t('beneficiaries.reveal.reasonTooShort');
    if (endPeriod && !/^\d{4}-(0[1-9]|1[0-2])$/.test(endPeriod)) fields.endPeriod = t('beneficiaries.action.monthFormat');
    setErrors({ form: null, fields });
    if (Object.keys(fields).length) return;
    setBusy(true);
    try {
      const path = { id: enrolment.id };
      if (action === 'end') {
        await unwrap(
          api.POST('/api/v1/enrolments/{id}/end', {
            params: { path },
            body: { reason: reason.trim(), ...(endPeriod ? { endPeriod } : {}) },
          }),
        );
      } else if (action === 'suspend') {
        await unwrap(api.POST('/api/v1/enrolments/{id}/suspend', { params: { path }, body: { reason: reason.trim() } }));
      } else {
        await unwrap(api.POST('/api/v1/enrolments/{id}/resume', { params: { path }, body: { reason: reason.trim() } }));
      }
      onDone(t(`beneficiaries.action.done.${action}`, { programme: enrolment.programmeCode }));
    } catch (err) {
      setErrors(formErrors(t, err, ['reason', 'endPeriod']));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-labelledby={titleId} className="status-form">
      <h3 id={titleId}>{t(`beneficiaries.action.title.${action}`, { programme: enrolment.programmeCode })}</h3>
      <FormError message={errors.form} />
      <Field
        label={t('beneficiaries.action.reason')}
        name="reason"
        value={reason}
        maxLength={500}
        onChange={(e) => setReason(e.target.value)}
        error={errors.fields.reason}
      />
      {action === 'end' ? (
        <Field
          label={t('beneficiaries.action.endPeriod')}
          hint={t('beneficiaries.action.endPeriodHint')}
          name="endPeriod"
          value={endPeriod}
          maxLength={7}
          onChange={(e) => setEndPeriod(e.target.value)}
          error={errors.fields.endPeriod}
        />
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t(`beneficiaries.action.${action}`)}
        </button>
        <button type="button" onClick={() => onDone(null)}>
          {t('beneficiaries.action.cancel')}
        </button>
      </div>
    </form>
  );
}

function actionsFor(e: Enrolment): Action[] {
  if (e.status === 'active') return ['suspend', 'end'];
  if (e.status === 'suspended') return ['resume', 'end'];
  return [];
}

export function BeneficiaryPage({ id }: { id: string }) {
  const { t } = useI18n();
  const me = useMe();
  const queryClient = useQueryClient();
  const [revealed, setRevealed] = useState<Beneficiary | null>(null);
  const [open, setOpen] = useState<OpenForm | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => {
    setRevealed(null);
    void queryClient.invalidateQueries({ queryKey: ['beneficiaries', id] });
  };
  const saved = (message: string) => {
    setOpen(null);
    setNotice(message);
    refresh();
  };
  const person = useQuery({
    queryKey: ['beneficiaries', id],
    queryFn: () => unwrap(api.GET('/api/v1/beneficiaries/{id}', { params: { path: { id } } })),
  });
  const canReveal = REVEAL_ROLES.some((r) => me.roles.includes(r as never));
  const canEdit = EDIT_ROLES.some((r) => me.roles.includes(r as never));
  const masked = person.data;
  const b = revealed ?? masked;
  const accountOf = (e: Enrolment) => {
    const shown = revealed?.enrolments.find((x) => x.id === e.id) ?? e;
    if (e.channel === 'BANK') return `${e.bankCode ?? ''} · ${shown.accountNumber ?? ''}`;
    if (e.channel === 'WALLET') return `${e.walletProvider ?? ''} · ${shown.walletId ?? ''}`;
    return t('beneficiaries.channel.CASH');
  };
  const changeLabel = (c: string) => {
    const key = `beneficiaries.change.${c}`;
    return hasMessage(key) ? t(key) : c;
  };
  return (
    <main id="main" className="page">
      <p>
        <Link href="/">{t('beneficiaries.back')}</Link>
      </p>
      <PageTitle>{masked ? masked.fullName : t('beneficiaries.person')}</PageTitle>
      {person.error ? (
        <p role="alert" className="form-error">
          {errorMessage(t, person.error)}
        </p>
      ) : null}
      <p role="status" className={notice ? 'notice' : undefined}>
        {notice}
      </p>
      {b ? (
        <>
          <section aria-labelledby="person-title">
            <h2 id="person-title">{t('beneficiaries.identity')}</h2>
            <dl className="facts">
              <div>
                <dt>{t('beneficiaries.nationalId')}</dt>
                <dd data-testid="national-id">{b.nationalId}</dd>
              </div>
              <div>
                <dt>{t('beneficiaries.dateOfBirth')}</dt>
                <dd>
                  <DateText value={b.dateOfBirth} />
                </dd>
              </div>
              <div>
                <dt>{t('beneficiaries.gender')}</dt>
                <dd>{t(`beneficiaries.gender.${b.gender}`)}</dd>
              </div>
              <div>
                <dt>{t('beneficiaries.phone')}</dt>
                <dd>{b.phone ?? '—'}</dd>
              </div>
              <div>
                <dt>{t('beneficiaries.area')}</dt>
                <dd>
                  {b.areaName} ({b.areaCode})
                </dd>
              </div>
            </dl>
            {canEdit && open?.action !== 'editPerson' ? (
              <p>
                <button
                  type="button"
                  onClick={() => {
                    setNotice(null);
                    setOpen({ enrolmentId: null, action: 'editPerson' });
                  }}
                >
                  {t('beneficiaries.edit.person')}
                </button>
              </p>
            ) : null}
            {open?.action === 'editPerson' && masked ? (
              <PersonForm
                key={masked.updatedAt}
                person={masked}
                revealed={revealed}
                onSaved={() => saved(t('beneficiaries.edit.personSaved'))}
                onCancel={() => setOpen(null)}
                onReload={refresh}
              />
            ) : null}
            {revealed ? (
              <p className="notice">
                {t('beneficiaries.reveal.shown')}{' '}
                <button type="button" onClick={() => setRevealed(null)}>
                  {t('beneficiaries.reveal.hide')}
                </button>
              </p>
            ) : canReveal ? (
              <RevealForm id={id} onRevealed={setRevealed} />
            ) : null}
          </section>
          <section aria-labelledby="enrolments-title">
            <h2 id="enrolments-title">{t('beneficiaries.enrolments')}</h2>
            <div className="table-wrap">
              <table>
                <caption>{t('beneficiaries.enrolmentsCaption')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('beneficiaries.programme')}</th>
                    <th scope="col" className="num">
                      {t('beneficiaries.coefficient')}
                    </th>
                    <th scope="col">{t('beneficiaries.period')}</th>
                    <th scope="col">{t('beneficiaries.statusCol')}</th>
                    <th scope="col">{t('beneficiaries.channel')}</th>
                    <th scope="col">{t('beneficiaries.destination')}</th>
                    {canEdit ? <th scope="col">{t('beneficiaries.actions')}</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {b.enrolments.map((e) => (
                    <tr key={e.id}>
                      <td>{e.programmeCode}</td>
                      <td className="num">{e.coefficient}</td>
                      <td>
                        {monthText(e.startPeriod)} – {monthText(e.endPeriod)}
                      </td>
                      <td>
                        {t(`beneficiaries.status.${e.status}`)}
                        {e.statusReason ? ` (${e.statusReason})` : null}
                      </td>
                      <td>{t(`beneficiaries.channel.${e.channel}`)}</td>
                      <td>
                        {accountOf(e)}
                        {e.nameMismatch ? ` · ${t('beneficiaries.nameMismatch')}` : null}
                      </td>
                      {canEdit ? (
                        <td>
                          {e.status !== 'ended' ? (
                            <button
                              type="button"
                              aria-label={t('beneficiaries.edit.enrolmentTitle', { programme: e.programmeCode })}
                              onClick={() => {
                                setNotice(null);
                                setOpen({ enrolmentId: e.id, action: 'edit' });
                              }}
                            >
                              {t('beneficiaries.edit.enrolment')}
                            </button>
                          ) : null}
                          {actionsFor(e).map((a) => (
                            <button
                              key={a}
                              type="button"
                              aria-label={t(`beneficiaries.action.title.${a}`, { programme: e.programmeCode })}
                              onClick={() => {
                                setNotice(null);
                                setOpen({ enrolmentId: e.id, action: a });
                              }}
                            >
                              {t(`beneficiaries.action.${a}`)}
                            </button>
                          ))}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {open && open.enrolmentId !== null && masked
              ? (() => {
                  const e = masked.enrolments.find((x) => x.id === open.enrolmentId);
                  if (e && open.action === 'edit') {
                    return (
                      <EnrolmentForm
                        key={`${e.id}-${e.version}`}
                        enrolment={e}
                        revealed={revealed?.enrolments.find((x) => x.id === e.id) ?? null}
                        onSaved={() => saved(t('beneficiaries.edit.enrolmentSaved', { programme: e.programmeCode }))}
                        onCancel={() => setOpen(null)}
                        onReload={refresh}
                      />
                    );
                  }
                  return e && open.action !== 'edit' ? (
                    <StatusForm
                      key={`${open.enrolmentId}-${open.action}`}
                      enrolment={e}
                      action={open.action}
                      onDone={(message) => (message ? saved(message) : setOpen(null))}
                    />
                  ) : null;
                })()
              : null}
          </section>
          <section aria-labelledby="history-title">
            <h2 id="history-title">{t('beneficiaries.history')}</h2>
            <KeysetTable<Change>
              caption={t('beneficiaries.historyCaption')}
              queryKey={['beneficiaries', id, 'history']}
              fetchPage={(cursor) =>
                unwrap(api.GET('/api/v1/beneficiaries/{id}/history', { params: { path: { id }, query: { limit: 20, cursor } } }))
              }
              rowKey={(c) => c.id}
              columns={[
                {
                  header: t('beneficiaries.changedAt'),
                  cell: (c) => (
                    <time dateTime={c.changedAt}>
                      {formatDate(c.changedAt)} {formatTime(c.changedAt)}
                    </time>
                  ),
                },
                { header: t('beneficiaries.change'), cell: (c) => changeLabel(c.change) },
                {
                  header: t('beneficiaries.changedBy'),
                  cell: (c) => c.changedByUsername ?? (c.importId ? t('beneficiaries.byImport', { id: c.importId }) : '—'),
                },
                { header: t('beneficiaries.reason'), cell: (c) => c.reason ?? '—' },
              ]}
            />
          </section>
          <MessageHistory beneficiaryId={id} />
        </>
      ) : null}
    </main>
  );
}

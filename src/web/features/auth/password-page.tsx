import { useState, type FormEvent } from 'react';
import { useLocation, useSearch } from 'wouter';
import { api, unwrap, type CookieSessionAnswer } from '../../api/client';
import { useMe, useSession } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import { formErrors, type FormErrors } from '../../ui/form-errors';
import { PageTitle } from '../../ui/page-title';
import { nextStep } from './next-step';
import { passwordProblem } from './policy';

const FIELDS = ['currentPassword', 'newPassword'] as const;

/** Change one's own password; at first login the only page open besides TOTP enrolment and the profile. */
export function PasswordPage() {
  const { t } = useI18n();
  const me = useMe();
  const session = useSession();
  const [, navigate] = useLocation();
  const next = new URLSearchParams(useSearch()).get('next');
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<FormErrors>({ form: null, fields: {} });
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (!currentPassword) fields.currentPassword = t('form.required');
    if (!newPassword) fields.newPassword = t('form.required');
    if (newPassword && confirm !== newPassword) fields.confirm = t('password.mismatch');
    setErrors({ form: null, fields });
    if (Object.keys(fields).length) return;
    setBusy(true);
    // at first login the change is a set-up step: once done, the user goes on (to TOTP enrolment, `next` or home)
    const setUpStep = me.pending.includes('password_change');
    try {
      const answer = (await unwrap(api.POST('/api/v1/auth/password', { body: { currentPassword, newPassword } }))) as CookieSessionAnswer;
      const after = await session.established(answer);
      setCurrent('');
      setNew('');
      setConfirm('');
      const to = nextStep(after, next);
      // a change chosen from the profile stays here and says it is done
      if (to === '/' && !next && !setUpStep) setDone(true);
      else navigate(to, { replace: true });
    } catch (err) {
      setErrors(formErrors(t, err, FIELDS, (m) => passwordProblem(t, m)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="page narrow">
      <PageTitle>{t('password.title')}</PageTitle>
      {me.pending.includes('password_change') ? <p className="notice">{t('password.firstLogin')}</p> : null}
      {done ? (
        <p className="success" role="status">
          {t('password.done')}
        </p>
      ) : null}
      <form onSubmit={submit} noValidate aria-busy={busy}>
        <FormError message={errors.form} />
        <input type="text" name="username" autoComplete="username" value={me.username} readOnly hidden />
        <Field
          label={t('password.current')}
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          value={currentPassword}
          onChange={(e) => setCurrent(e.target.value)}
          error={errors.fields.currentPassword}
        />
        <Field
          label={t('password.new')}
          hint={t('password.newHint')}
          name="newPassword"
          type="password"
          autoComplete="new-password"
          value={newPassword}
          onChange={(e) => setNew(e.target.value)}
          error={errors.fields.newPassword}
        />
        <Field
          label={t('password.confirm')}
          name="confirm"
          type="password"
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          error={errors.fields.confirm}
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {t('password.submit')}
          </button>
        </div>
      </form>
    </main>
  );
}

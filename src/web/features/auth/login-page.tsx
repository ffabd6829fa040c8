import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Redirect, useLocation, useSearch } from 'wouter';
import { api, unwrap, type CookieSessionAnswer } from '../../api/client';
import type { paths } from '../../api/schema';
import { ApiError } from '../../api/errors';
import { useSession } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import { formErrors, type FormErrors } from '../../ui/form-errors';
import { PageTitle } from '../../ui/page-title';
import { nextStep } from './next-step';

type LoginBody = NonNullable<paths['/api/v1/auth/login']['post']['requestBody']>['content']['application/json'];
const FIELDS = ['username', 'password', 'totp'] as const;
const NO_ERRORS: FormErrors = { form: null, fields: {} };

/** Password first; the TOTP field appears when the API answers TOTP_REQUIRED. The session is a cookie, never a token. */
export function LoginPage() {
  const { t } = useI18n();
  const session = useSession();
  const [, navigate] = useLocation();
  const params = new URLSearchParams(useSearch());
  const next = params.get('next');
  const reason = params.get('reason');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const totpRef = useRef<HTMLInputElement>(null);
  // the code field, once it is there, is where the person types next (with the keyboard alone too)
  useEffect(() => {
    if (needTotp) totpRef.current?.focus();
  }, [needTotp]);

  if (session.status.state === 'authenticated' && !busy) return <Redirect to={nextStep(session.status.me, next)} />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (!username.trim()) fields.username = t('form.required');
    if (!password) fields.password = t('form.required');
    if (needTotp && !/^\d{6}$/.test(totp)) fields.totp = t('form.sixDigits');
    setErrors({ form: null, fields });
    if (Object.keys(fields).length) return;
    setBusy(true);
    try {
      const body: LoginBody & { session: 'cookie' } = { username: username.trim(), password, session: 'cookie' };
      if (needTotp) body.totp = totp;
      const answer = (await unwrap(api.POST('/api/v1/auth/login', { body }))) as CookieSessionAnswer;
      const me = await session.established(answer);
      navigate(nextStep(me, next), { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'TOTP_REQUIRED') {
        setNeedTotp(true);
        setErrors(NO_ERRORS);
      } else if (err instanceof ApiError && err.code === 'INVALID_TOTP') {
        setTotp('');
        setErrors({ form: null, fields: { totp: t('errors.INVALID_TOTP') } });
        totpRef.current?.focus();
      } else {
        setErrors(formErrors(t, err, FIELDS));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="auth-page">
      <div className="auth-card">
        <p className="brand">{t('app.title')}</p>
        <PageTitle>{t('login.title')}</PageTitle>
        {reason === 'idle' || reason === 'ended' || reason === 'logout' ? (
          <p className="notice" role="status">
            {t(reason === 'idle' ? 'login.idleEnded' : reason === 'ended' ? 'login.sessionEnded' : 'login.loggedOut')}
          </p>
        ) : (
          <p>{t('login.intro')}</p>
        )}
        <form onSubmit={submit} noValidate aria-busy={busy}>
          <FormError message={errors.form} />
          <Field
            label={t('login.username')}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            error={errors.fields.username}
            readOnly={needTotp}
          />
          <Field
            label={t('login.password')}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.fields.password}
            readOnly={needTotp}
          />
          {needTotp ? (
            <Field
              ref={totpRef}
              label={t('login.totp')}
              hint={t('login.totpHint')}
              name="totp"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="\d{6}"
              maxLength={6}
              value={totp}
              onChange={(e) => setTotp(e.target.value.replace(/\D/g, ''))}
              error={errors.fields.totp}
            />
          ) : null}
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? t('login.submitting') : t('login.submit')}
            </button>
            {needTotp ? (
              <button
                type="button"
                onClick={() => {
                  setNeedTotp(false);
                  setTotp('');
                  setErrors(NO_ERRORS);
                }}
              >
                {t('login.back')}
              </button>
            ) : null}
          </div>
        </form>
      </div>
    </main>
  );
}

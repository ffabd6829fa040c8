import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { api, unwrap, type CookieSessionAnswer } from '../../api/client';
import { ApiError } from '../../api/errors';
import { useMe, useSession } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import { formErrors, type FormErrors } from '../../ui/form-errors';
import { PageTitle } from '../../ui/page-title';
import { nextStep } from './next-step';
import { QrCode } from './qr-code';

/** TOTP enrolment: a new secret shown as a QR code drawn here, then a code from the app to confirm it. */
export function TotpPage() {
  const { t } = useI18n();
  const me = useMe();
  const session = useSession();
  const [, navigate] = useLocation();
  const next = new URLSearchParams(useSearch()).get('next');
  const [code, setCode] = useState('');
  const [errors, setErrors] = useState<FormErrors>({ form: null, fields: {} });
  const setup = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/auth/totp/setup')),
    onError: (err) => setErrors(formErrors(t, err, [])),
    onSuccess: () => setErrors({ form: null, fields: {} }),
  });
  const confirm = useMutation({
    mutationFn: async (c: string) => {
      const answer = (await unwrap(api.POST('/api/v1/auth/totp/confirm', { body: { code: c } }))) as CookieSessionAnswer;
      return session.established(answer);
    },
    onSuccess: (after) => navigate(nextStep(after, next), { replace: true }),
    onError: (err) => {
      setCode('');
      setErrors(
        err instanceof ApiError && err.code === 'INVALID_TOTP'
          ? { form: null, fields: { code: t('errors.INVALID_TOTP') } }
          : formErrors(t, err, ['code'], () => t('form.sixDigits')),
      );
    },
  });

  if (me.totpEnabled) {
    return (
      <main id="main" className="page narrow">
        <PageTitle>{t('totp.title')}</PageTitle>
        <p className="success">{t('totp.done')}</p>
        <Link href="/profile">{t('nav.profile')}</Link>
      </main>
    );
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!/^\d{6}$/.test(code)) {
      setErrors({ form: null, fields: { code: t('form.sixDigits') } });
      return;
    }
    confirm.mutate(code);
  }

  const secret = setup.data;
  return (
    <main id="main" className="page narrow">
      <PageTitle>{t('totp.title')}</PageTitle>
      {me.pending.includes('totp_enrolment') ? <p className="notice">{t('totp.required')}</p> : null}
      {!secret ? (
        <>
          <FormError message={errors.form} />
          <button type="button" className="primary" disabled={setup.isPending} onClick={() => setup.mutate()}>
            {t('totp.start')}
          </button>
        </>
      ) : (
        <form onSubmit={submit} noValidate aria-busy={confirm.isPending}>
          <FormError message={errors.form} />
          <p>{t('totp.step1')}</p>
          <div className="qr">
            <QrCode text={secret.otpauthUrl} label={t('totp.qrLabel')} />
          </div>
          <p>
            {t('totp.manual')} <code className="secret">{secret.secret.replace(/(.{4})/g, '$1 ').trim()}</code>
          </p>
          <p>{t('totp.step2')}</p>
          <Field
            label={t('totp.code')}
            name="code"
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
            error={errors.fields.code}
          />
          <div className="actions">
            <button type="submit" className="primary" disabled={confirm.isPending}>
              {t('totp.submit')}
            </button>
          </div>
        </form>
      )}
    </main>
  );
}

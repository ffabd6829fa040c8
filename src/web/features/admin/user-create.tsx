import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { PageTitle } from '../../ui/page-title';
import { AreaPicker } from './area-picker';
import { featureFormErrors, newIdempotencyKey, OnceSecret } from './controls';
import { GUARDED, NO_ERRORS, type Role, RoleChecks } from './user-parts';

const CREATE_FIELDS = ['username', 'displayName', 'roles', 'areaId'] as const;

export function CreateUser() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [roles, setRoles] = useState<Role[]>([]);
  const [areaId, setAreaId] = useState<number | null>(null);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [key] = useState(newIdempotencyKey);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/users', {
          body: { username: username.trim(), displayName: displayName.trim(), roles, areaId },
          headers: { 'Idempotency-Key': key },
        }),
      ),
    onSuccess: () => {
      setErrors(NO_ERRORS);
      void qc.invalidateQueries({ queryKey: ['users'] });
      void qc.invalidateQueries({ queryKey: ['role-grants'] });
    },
    onError: (e) => setErrors(featureFormErrors(t, 'admin', e, CREATE_FIELDS)),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (username.trim().length < 3) fields.username = t('admin.users.usernameHint');
    if (!displayName.trim()) fields.displayName = t('form.required');
    if (roles.length === 0) fields.roles = t('admin.users.rolesRequired');
    setErrors({ form: null, fields });
    if (Object.keys(fields).length === 0) create.mutate();
  }

  const done = create.data;
  if (done) {
    return (
      <main id="main" className="page narrow">
        <PageTitle>{t('admin.users.created', { username: done.user.username })}</PageTitle>
        {done.temporaryPassword ? (
          <OnceSecret
            label={t('admin.users.temporaryPassword')}
            value={done.temporaryPassword}
            note={t('admin.users.temporaryPasswordNote')}
          />
        ) : null}
        {done.roleGrant ? (
          <>
            <p>{t('admin.users.grantProposed', { roles: done.roleGrant.grant.roles.map((r) => t(`role.${r}`)).join(', ') })}</p>
            <OnceSecret
              label={t('admin.grants.firstHalf')}
              value={done.roleGrant.temporaryPasswordPart}
              note={t('admin.grants.firstHalfNote')}
            />
          </>
        ) : null}
        <p>
          <Link href={`/${done.user.id}`}>{t('admin.users.openCreated', { username: done.user.username })}</Link>
        </p>
        <p>
          <Link href="/">{t('admin.users.backToList')}</Link>
        </p>
      </main>
    );
  }

  const guarded = roles.some((r) => GUARDED.includes(r));
  return (
    <main id="main" className="page narrow">
      <PageTitle>{t('admin.users.create')}</PageTitle>
      <form onSubmit={submit} noValidate aria-busy={create.isPending}>
        <FormError message={errors.form} />
        <Field
          label={t('admin.users.username')}
          hint={t('admin.users.usernameHint')}
          name="username"
          autoComplete="off"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          error={errors.fields.username}
        />
        <Field
          label={t('admin.users.displayName')}
          name="displayName"
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
          error={errors.fields.displayName}
        />
        <RoleChecks value={roles} onChange={setRoles} error={errors.fields.roles} />
        {guarded ? <p className="notice">{t('admin.users.guardedNote')}</p> : null}
        <AreaPicker value={areaId} onChange={setAreaId} error={errors.fields.areaId} />
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending}>
            {t('admin.users.createSubmit')}
          </button>
          <Link href="/">{t('admin.cancel')}</Link>
        </div>
      </form>
    </main>
  );
}

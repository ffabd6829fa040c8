import { useId } from 'react';
import { type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import type { FormErrors } from '../../ui/form-errors';

export type User = Schemas['User'];

export type Role = User['roles'][number];

export type Grant = Schemas['RoleGrant'];

export const ROLES: readonly Role[] = ['staff', 'approver', 'auditor', 'admin'];

/** Roles that only a second administrator's confirmation gives. */
export const GUARDED: readonly Role[] = ['approver', 'admin'];

export const NO_ERRORS: FormErrors = { form: null, fields: {} };

export function RoleList({ roles }: { roles: readonly Role[] }) {
  const { t } = useI18n();
  return <>{roles.map((r) => t(`role.${r}`)).join(', ')}</>;
}

export function UserState({ user }: { user: User }) {
  const { t } = useI18n();
  const parts = [user.active ? t('admin.users.active') : t('admin.users.inactive')];
  if (user.locked) parts.push(t('admin.users.locked'));
  if (user.mustChangePassword) parts.push(t('admin.users.mustChange'));
  return <>{parts.join(' · ')}</>;
}

/** The role checkboxes, with the refusal about roles beside them. */
export function RoleChecks({
  value,
  onChange,
  error,
}: {
  value: readonly Role[];
  onChange: (roles: Role[]) => void;
  error?: string | undefined;
}) {
  const { t } = useI18n();
  const errorId = useId();
  return (
    <fieldset className={error ? 'checks field--invalid' : 'checks'} aria-describedby={error ? errorId : undefined}>
      <legend>{t('admin.users.roles')}</legend>
      {ROLES.map((r) => (
        <label key={r}>
          <input
            type="checkbox"
            name="roles"
            value={r}
            checked={value.includes(r)}
            aria-invalid={error ? true : undefined}
            onChange={(e) => onChange(e.target.checked ? [...value, r] : value.filter((x) => x !== r))}
          />{' '}
          {t(`role.${r}`)}
        </label>
      ))}
      {error ? (
        <p className="field__error" id={errorId}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

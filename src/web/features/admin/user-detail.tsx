import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import { DateText } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { AreaName, AreaPicker } from './area-picker';
import { newIdempotencyKey, OnceSecret, refusal } from './controls';
import { ConfirmAction, EditFormView, useEditForm } from './edit-form';
import { GUARDED, type Role, RoleChecks, RoleList, type User, UserState } from './user-parts';
import { PendingGrants } from './pending-grants';

type UserAction = 'deactivate' | 'activate' | 'unlock' | 'reset-totp' | 'reset-password' | 'reissue';

type UserValues = { displayName: string; roles: readonly Role[]; areaId: number | null };

interface Secret {
  label: string;
  value: string;
  note: string;
}

/**
 * Display name, roles and area scope, through PATCH /users/{id}: removals and staff or auditor apply at once (and end
 * the user's sessions); approver or admin become a grant another administrator confirms, whose first half of the
 * temporary password is shown here once. Nobody changes their own roles or scope: the API says so beside the field.
 */
function UserEditForm({ user, onSaved }: { user: User; onSaved: (saved: User, message: string, secret: Secret | null) => void }) {
  const { t } = useI18n();
  const roleNames = (roles: readonly Role[]) => roles.map((r) => t(`role.${r}`)).join(', ');
  const form = useEditForm<UserValues, Schemas['UpdatedUser']>({
    initial: { displayName: user.displayName, roles: user.roles, areaId: user.areaId },
    labels: { displayName: t('admin.users.displayName'), roles: t('admin.users.roles'), areaId: t('admin.users.scope') },
    show: { roles: roleNames, areaId: (id) => <AreaName id={id} /> },
    check: (v) => ({
      displayName: v.displayName.trim() ? undefined : t('form.required'),
      roles: v.roles.length ? undefined : t('admin.users.rolesRequired'),
    }),
    save: (v, changed) =>
      unwrap(
        api.PATCH('/api/v1/users/{id}', {
          params: { path: { id: user.id } },
          body: {
            ...(changed.includes('displayName') ? { displayName: v.displayName.trim() } : {}),
            ...(changed.includes('roles') ? { roles: [...v.roles] } : {}),
            ...(changed.includes('areaId') ? { areaId: v.areaId } : {}),
          },
        }),
      ),
    codeFields: {
      SELF_CHANGE_REFUSED: (_e, changed) => changed.filter((f) => f === 'roles' || f === 'areaId'),
      ROLE_GRANT_PENDING: () => ['roles'],
      AREA_OUT_OF_SCOPE: () => ['areaId'],
      UNKNOWN_AREA: () => ['areaId'],
    },
    onSaved: (saved, _v, changed) => {
      const { roleGrant, ...plainUser } = saved;
      if (roleGrant) {
        onSaved(plainUser, t('admin.users.grantProposed', { roles: roleNames(roleGrant.grant.roles) }), {
          label: t('admin.grants.firstHalf'),
          value: roleGrant.temporaryPasswordPart,
          note: t('admin.grants.firstHalfNote'),
        });
      } else {
        const ended = changed.includes('roles') || changed.includes('areaId');
        onSaved(plainUser, t(ended ? 'admin.users.savedSessionsEnded' : 'admin.users.saved'), null);
      }
    },
  });
  const adding = form.values.roles.some((r) => GUARDED.includes(r) && !user.roles.includes(r));
  return (
    <EditFormView
      form={form}
      submitLabel={t('admin.users.editSubmit')}
      question={t(adding ? 'admin.users.editQuestionGrant' : 'admin.users.editQuestion', { username: user.username })}
    >
      <Field label={t('admin.users.displayName')} name="displayName" {...form.text('displayName')} />
      <RoleChecks value={form.values.roles} onChange={(roles) => form.set('roles', roles)} error={form.error('roles')} />
      {adding ? <p className="notice">{t('admin.users.guardedNote')}</p> : null}
      <AreaPicker value={form.values.areaId} onChange={(id) => form.set('areaId', id)} error={form.error('areaId')} />
    </EditFormView>
  );
}

export function UserDetail() {
  const { t } = useI18n();
  const me = useMe();
  const qc = useQueryClient();
  const id = Number(useParams<{ id: string }>().id);
  const [secret, setSecret] = useState<Secret | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // a new form after each save, so that it starts again from the user as the API now has them
  const [formVersion, setFormVersion] = useState(0);
  const user = useQuery({
    queryKey: ['users', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v1/users/{id}', { params: { path: { id } } })),
  });

  const u = user.data;
  if (!u)
    return (
      <main id="main" className="page">
        {user.error ? <FormError message={refusal(t, 'admin', user.error)} /> : <p role="status">{t('app.loading')}</p>}
      </main>
    );

  const changed = (saved: User, message: string, shown: Secret | null) => {
    setDone(message);
    setSecret(shown);
    qc.setQueryData(['users', 'one', id], saved);
    void qc.invalidateQueries({ queryKey: ['users'] });
    void qc.invalidateQueries({ queryKey: ['role-grants'] });
  };
  const self = u.id === me.id;
  const guarded = u.roles.some((r) => GUARDED.includes(r));
  const params = { path: { id } };
  const runs: Record<UserAction, () => Promise<void>> = {
    deactivate: async () =>
      changed(await unwrap(api.POST('/api/v1/users/{id}/deactivate', { params })), t('admin.users.done.deactivate'), null),
    activate: async () => changed(await unwrap(api.POST('/api/v1/users/{id}/activate', { params })), t('admin.users.done.activate'), null),
    unlock: async () => changed(await unwrap(api.POST('/api/v1/users/{id}/unlock', { params })), t('admin.users.done.unlock'), null),
    'reset-totp': async () =>
      changed(await unwrap(api.POST('/api/v1/users/{id}/reset-totp', { params })), t('admin.users.done.reset-totp'), null),
    'reset-password': async () => {
      const out = await unwrap(api.POST('/api/v1/users/{id}/reset-password', { params, body: {} }));
      changed(
        out.user,
        t('admin.users.done.reset-password'),
        out.temporaryPassword
          ? { label: t('admin.users.temporaryPassword'), value: out.temporaryPassword, note: t('admin.users.temporaryPasswordNote') }
          : null,
      );
    },
    reissue: async () => {
      const out = await unwrap(
        api.POST('/api/v1/users/{id}/role-grants', {
          params,
          body: { roles: u.roles },
          headers: { 'Idempotency-Key': newIdempotencyKey() },
        }),
      );
      changed(u, t('admin.users.done.reissue'), {
        label: t('admin.grants.firstHalf'),
        value: out.temporaryPasswordPart,
        note: t('admin.grants.firstHalfNote'),
      });
    },
  };
  // keyed by the place, not the action: after deactivating, the same control offers to reactivate and keeps the focus
  const action = (slot: string, a: UserAction, primary = false) => (
    <ConfirmAction
      key={slot}
      label={t(`admin.users.action.${a}`)}
      question={t(`admin.users.ask.${a}`, { username: u.username })}
      confirmLabel={t(`admin.users.yes.${a}`)}
      primary={primary}
      run={runs[a]}
    />
  );
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.users.detailTitle', { username: u.username })}</PageTitle>
      <p>
        <Link href="/">{t('admin.users.backToList')}</Link>
      </p>
      <dl className="facts">
        <dt>{t('admin.users.displayName')}</dt>
        <dd>{u.displayName}</dd>
        <dt>{t('admin.users.roles')}</dt>
        <dd>
          <RoleList roles={u.roles} />
        </dd>
        <dt>{t('admin.users.scope')}</dt>
        <dd>
          <AreaName id={u.areaId} />
        </dd>
        <dt>{t('admin.users.status')}</dt>
        <dd>
          <UserState user={u} />
        </dd>
        <dt>{t('admin.users.totp')}</dt>
        <dd>{u.totpEnabled ? t('totp.enabled') : t('totp.notEnabled')}</dd>
        <dt>{t('admin.users.lastLogin')}</dt>
        <dd>{u.lastLoginAt ? <DateText value={u.lastLoginAt} /> : t('admin.users.never')}</dd>
      </dl>
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      {secret ? <OnceSecret {...secret} /> : null}
      <PendingGrants userId={u.id} />
      <section aria-labelledby="user-edit" className="panel">
        <h2 id="user-edit">{t('admin.users.editTitle')}</h2>
        {self ? <p className="notice">{t('admin.users.selfEditNote')}</p> : null}
        <UserEditForm
          key={formVersion}
          user={u}
          onSaved={(saved, message, shown) => {
            changed(saved, message, shown);
            setFormVersion((v) => v + 1);
          }}
        />
      </section>
      {self ? (
        <p className="notice">{t('admin.users.selfNote')}</p>
      ) : (
        <section aria-labelledby="user-actions">
          <h2 id="user-actions">{t('admin.actions')}</h2>
          <div className="action-list">
            {u.active ? action('active', 'deactivate') : action('active', 'activate', true)}
            {u.locked ? action('lock', 'unlock', true) : null}
            {guarded ? action('password', 'reissue') : action('password', 'reset-password')}
            {u.totpEnabled ? action('totp', 'reset-totp') : null}
          </div>
          {guarded ? <p className="field__hint">{t('admin.users.reissueNote')}</p> : null}
        </section>
      )}
    </main>
  );
}

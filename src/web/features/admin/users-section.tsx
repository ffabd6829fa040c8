import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Link, Route, Switch, useParams } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { KeysetTable } from '../../ui/keyset-table';
import { DateText } from '../../ui/money';
import { PageTitle } from '../../ui/page-title';
import { AreaName, AreaPicker } from './area-picker';
import { featureFormErrors, newIdempotencyKey, OnceSecret, refusal, SelectField } from './controls';
import { ConfirmAction, EditFormView, useEditForm } from './edit-form';
import './admin.css';

type User = Schemas['User'];
type Role = User['roles'][number];
type Grant = Schemas['RoleGrant'];
const ROLES: readonly Role[] = ['staff', 'approver', 'auditor', 'admin'];
/** Roles that only a second administrator's confirmation gives. */
const GUARDED: readonly Role[] = ['approver', 'admin'];
const NO_ERRORS: FormErrors = { form: null, fields: {} };

function RoleList({ roles }: { roles: readonly Role[] }) {
  const { t } = useI18n();
  return <>{roles.map((r) => t(`role.${r}`)).join(', ')}</>;
}

function UserState({ user }: { user: User }) {
  const { t } = useI18n();
  const parts = [user.active ? t('admin.users.active') : t('admin.users.inactive')];
  if (user.locked) parts.push(t('admin.users.locked'));
  if (user.mustChangePassword) parts.push(t('admin.users.mustChange'));
  return <>{parts.join(' · ')}</>;
}

/**
 * Pending grants of approver or admin, with who proposed them: another administrator confirms (and receives the
 * second half) or rejects; the proposer may withdraw. `userId` narrows them to one user's, shown only when there is one.
 */
function PendingGrants({ userId }: { userId?: number }) {
  const { t } = useI18n();
  const me = useMe();
  const qc = useQueryClient();
  const [issued, setIssued] = useState<{ username: string; part: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const grants = useQuery({
    queryKey: ['role-grants', 'pending', userId ?? 'all'],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/role-grants', {
          params: { query: { status: 'pending', limit: 50, ...(userId !== undefined ? { userId } : {}) } },
        }),
      ),
  });
  const decide = useMutation({
    mutationFn: async ({ grant, verdict }: { grant: Grant; verdict: 'confirm' | 'reject' }) => {
      const params = { path: { id: grant.id } };
      const headers = { 'Idempotency-Key': newIdempotencyKey() };
      if (verdict === 'confirm') {
        const out = await unwrap(api.POST('/api/v1/role-grants/{id}/confirm', { params, headers }));
        setIssued({ username: out.user.username, part: out.temporaryPasswordPart });
      } else {
        await unwrap(api.POST('/api/v1/role-grants/{id}/reject', { params, headers }));
        setIssued(null);
      }
    },
    onSuccess: () => {
      setError(null);
      void qc.invalidateQueries({ queryKey: ['role-grants'] });
      void qc.invalidateQueries({ queryKey: ['users'] });
    },
    onError: (e) => setError(refusal(t, 'admin', e)),
  });
  const items = grants.data?.items ?? [];
  if (userId !== undefined && items.length === 0 && !issued && !error) return null;
  return (
    <section aria-labelledby="grants-title">
      <h2 id="grants-title">{t('admin.grants.title')}</h2>
      <FormError message={error} />
      {issued ? (
        <OnceSecret
          label={t('admin.grants.secondHalf', { username: issued.username })}
          value={issued.part}
          note={t('admin.grants.secondHalfNote')}
        />
      ) : null}
      {items.length === 0 ? (
        <p>{t('admin.grants.none')}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption>{t('admin.grants.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('admin.users.username')}</th>
                <th scope="col">{t('admin.grants.roles')}</th>
                <th scope="col">{t('admin.grants.proposedBy')}</th>
                <th scope="col">{t('admin.grants.proposedAt')}</th>
                <th scope="col">{t('admin.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((g) => {
                const mine = g.proposedBy === me.id;
                return (
                  <tr key={g.id}>
                    <td>{g.username}</td>
                    <td>
                      <RoleList roles={g.roles} />
                    </td>
                    <td>{g.proposedByUsername}</td>
                    <td>
                      <DateText value={g.proposedAt} />
                    </td>
                    <td className="row-actions">
                      {mine || g.userId === me.id ? (
                        <span>{t('admin.grants.notYours')}</span>
                      ) : (
                        <button
                          type="button"
                          className="primary"
                          disabled={decide.isPending}
                          onClick={() => decide.mutate({ grant: g, verdict: 'confirm' })}
                        >
                          {t('admin.grants.confirm', { username: g.username })}
                        </button>
                      )}
                      <button type="button" disabled={decide.isPending} onClick={() => decide.mutate({ grant: g, verdict: 'reject' })}>
                        {mine ? t('admin.grants.withdraw', { username: g.username }) : t('admin.grants.reject', { username: g.username })}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function UserList() {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [active, setActive] = useState<'' | 'true' | 'false'>('');
  const [locked, setLocked] = useState<'' | 'true' | 'false'>('');
  const query = {
    limit: 25,
    ...(q ? { q } : {}),
    ...(role ? { role } : {}),
    ...(active ? { active } : {}),
    ...(locked ? { locked } : {}),
  };
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.users.title')}</PageTitle>
      <p>
        <Link href="/new" className="button-link">
          {t('admin.users.create')}
        </Link>
      </p>
      <PendingGrants />
      <h2>{t('admin.users.listTitle')}</h2>
      <form className="filters" role="search" aria-label={t('admin.filters')} onSubmit={(e) => e.preventDefault()}>
        <Field label={t('admin.users.searchUsername')} type="search" value={q} onChange={(e) => setQ(e.target.value.trim())} />
        <SelectField label={t('admin.users.role')} value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
          <option value="">{t('admin.any')}</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </SelectField>
        <SelectField label={t('admin.users.status')} value={active} onChange={(e) => setActive(e.target.value as '' | 'true' | 'false')}>
          <option value="">{t('admin.any')}</option>
          <option value="true">{t('admin.users.active')}</option>
          <option value="false">{t('admin.users.inactive')}</option>
        </SelectField>
        <SelectField
          label={t('admin.users.lockedFilter')}
          value={locked}
          onChange={(e) => setLocked(e.target.value as '' | 'true' | 'false')}
        >
          <option value="">{t('admin.any')}</option>
          <option value="true">{t('admin.yes')}</option>
          <option value="false">{t('admin.no')}</option>
        </SelectField>
      </form>
      <KeysetTable<User>
        caption={t('admin.users.caption')}
        queryKey={['users', query]}
        fetchPage={(cursor) => unwrap(api.GET('/api/v1/users', { params: { query: { ...query, ...(cursor ? { cursor } : {}) } } }))}
        rowKey={(u) => u.id}
        columns={[
          { header: t('admin.users.username'), cell: (u) => <Link href={`/${u.id}`}>{u.username}</Link> },
          { header: t('admin.users.displayName'), cell: (u) => u.displayName },
          { header: t('admin.users.roles'), cell: (u) => <RoleList roles={u.roles} /> },
          { header: t('admin.users.scope'), cell: (u) => <AreaName id={u.areaId} /> },
          { header: t('admin.users.status'), cell: (u) => <UserState user={u} /> },
        ]}
      />
    </main>
  );
}

/** The role checkboxes, with the refusal about roles beside them. */
function RoleChecks({ value, onChange, error }: { value: readonly Role[]; onChange: (roles: Role[]) => void; error?: string | undefined }) {
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

const CREATE_FIELDS = ['username', 'displayName', 'roles', 'areaId'] as const;

function CreateUser() {
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

function UserDetail() {
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

export default function UsersSection() {
  return (
    <Switch>
      <Route path="/" component={UserList} />
      <Route path="/new" component={CreateUser} />
      <Route path="/:id" component={UserDetail} />
    </Switch>
  );
}

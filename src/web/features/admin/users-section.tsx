import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
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

/** Pending grants of approver or admin: another administrator confirms (and receives the second half) or rejects. */
function PendingGrants() {
  const { t } = useI18n();
  const me = useMe();
  const qc = useQueryClient();
  const [issued, setIssued] = useState<{ username: string; part: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const grants = useQuery({
    queryKey: ['role-grants', 'pending'],
    queryFn: () => unwrap(api.GET('/api/v1/role-grants', { params: { query: { status: 'pending', limit: 50 } } })),
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
        <fieldset
          className={errors.fields.roles ? 'checks field--invalid' : 'checks'}
          aria-describedby={errors.fields.roles ? 'roles-error' : undefined}
        >
          <legend>{t('admin.users.roles')}</legend>
          {ROLES.map((r) => (
            <label key={r}>
              <input
                type="checkbox"
                name="roles"
                value={r}
                checked={roles.includes(r)}
                onChange={(e) => setRoles((rs) => (e.target.checked ? [...rs, r] : rs.filter((x) => x !== r)))}
              />{' '}
              {t(`role.${r}`)}
            </label>
          ))}
          {errors.fields.roles ? (
            <p className="field__error" id="roles-error">
              {errors.fields.roles}
            </p>
          ) : null}
        </fieldset>
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

function UserDetail() {
  const { t } = useI18n();
  const me = useMe();
  const qc = useQueryClient();
  const id = Number(useParams<{ id: string }>().id);
  const [secret, setSecret] = useState<{ label: string; value: string; note: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const user = useQuery({
    queryKey: ['users', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v1/users/{id}', { params: { path: { id } } })),
  });
  const act = useMutation({
    mutationFn: async (action: UserAction): Promise<User> => {
      const params = { path: { id } };
      switch (action) {
        case 'reset-password': {
          const out = await unwrap(api.POST('/api/v1/users/{id}/reset-password', { params, body: {} }));
          if (out.temporaryPassword)
            setSecret({
              label: t('admin.users.temporaryPassword'),
              value: out.temporaryPassword,
              note: t('admin.users.temporaryPasswordNote'),
            });
          return out.user;
        }
        case 'reissue': {
          const out = await unwrap(
            api.POST('/api/v1/users/{id}/role-grants', {
              params,
              body: { roles: user.data!.roles },
              headers: { 'Idempotency-Key': newIdempotencyKey() },
            }),
          );
          setSecret({ label: t('admin.grants.firstHalf'), value: out.temporaryPasswordPart, note: t('admin.grants.firstHalfNote') });
          return user.data!;
        }
        case 'deactivate':
          setSecret(null);
          return unwrap(api.POST('/api/v1/users/{id}/deactivate', { params }));
        case 'activate':
          setSecret(null);
          return unwrap(api.POST('/api/v1/users/{id}/activate', { params }));
        case 'unlock':
          setSecret(null);
          return unwrap(api.POST('/api/v1/users/{id}/unlock', { params }));
        case 'reset-totp':
          setSecret(null);
          return unwrap(api.POST('/api/v1/users/{id}/reset-totp', { params }));
      }
    },
    onSuccess: (u, action) => {
      setError(null);
      setDone(t(`admin.users.done.${action}`));
      qc.setQueryData(['users', 'one', id], u);
      void qc.invalidateQueries({ queryKey: ['users'] });
      void qc.invalidateQueries({ queryKey: ['role-grants'] });
    },
    onError: (e) => {
      setDone(null);
      setError(refusal(t, 'admin', e));
    },
  });

  const u = user.data;
  if (!u)
    return (
      <main id="main" className="page">
        {user.error ? <FormError message={refusal(t, 'admin', user.error)} /> : <p role="status">{t('app.loading')}</p>}
      </main>
    );
  const self = u.id === me.id;
  const guarded = u.roles.some((r) => GUARDED.includes(r));
  const button = (action: UserAction, primary = false) => (
    <button type="button" className={primary ? 'primary' : undefined} disabled={act.isPending} onClick={() => act.mutate(action)}>
      {t(`admin.users.action.${action}`)}
    </button>
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
      <FormError message={error} />
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      {secret ? <OnceSecret {...secret} /> : null}
      {self ? (
        <p className="notice">{t('admin.users.selfNote')}</p>
      ) : (
        <section aria-labelledby="user-actions">
          <h2 id="user-actions">{t('admin.actions')}</h2>
          <div className="actions wrap">
            {u.active ? button('deactivate') : button('activate', true)}
            {u.locked ? button('unlock', true) : null}
            {guarded ? button('reissue') : button('reset-password')}
            {u.totpEnabled ? button('reset-totp') : null}
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

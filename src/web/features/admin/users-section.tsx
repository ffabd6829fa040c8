import { useState } from 'react';
import { Link, Route, Switch } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field } from '../../ui/field';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';
import { AreaName } from './area-picker';
import { SelectField } from './controls';
import './admin.css';
import { ROLES, type Role, RoleList, type User, UserState } from './user-parts';
import { PendingGrants } from './pending-grants';
import { CreateUser } from './user-create';
import { UserDetail } from './user-detail';

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

export default function UsersSection() {
  return (
    <Switch>
      <Route path="/" component={UserList} />
      <Route path="/new" component={CreateUser} />
      <Route path="/:id" component={UserDetail} />
    </Switch>
  );
}

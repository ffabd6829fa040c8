import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, unwrap } from '../../api/client';
import { useMe, useSession } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { formatDate, formatTime } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';

/** One's own account: who, which roles and area, the second factor, the session's limits. */
export function ProfilePage() {
  const { t } = useI18n();
  const me = useMe();
  const { deadlines } = useSession();
  const area = useQuery({
    queryKey: ['areas', me.areaId],
    queryFn: () => unwrap(api.GET('/api/v1/areas/{id}', { params: { path: { id: me.areaId! } } })),
    enabled: me.areaId !== null,
  });
  return (
    <main id="main" className="page narrow">
      <PageTitle>{t('profile.title')}</PageTitle>
      <dl className="facts">
        <dt>{t('profile.displayName')}</dt>
        <dd>{me.displayName}</dd>
        <dt>{t('profile.username')}</dt>
        <dd>{me.username}</dd>
        <dt>{t('profile.roles')}</dt>
        <dd>{me.roles.map((r) => t(`role.${r}`)).join(', ')}</dd>
        <dt>{t('profile.scope')}</dt>
        <dd>{me.areaId === null ? t('profile.scopeAll') : (area.data?.name ?? `#${me.areaId}`)}</dd>
        <dt>{t('profile.totp')}</dt>
        <dd>{me.totpEnabled ? t('totp.enabled') : t('totp.notEnabled')}</dd>
        {deadlines ? (
          <>
            <dt>{t('profile.session')}</dt>
            <dd>
              {t('profile.idleLimit', { minutes: Math.round(deadlines.idleSeconds / 60) })}
              <br />
              {t('profile.sessionEnds', { time: formatTime(new Date(deadlines.absolute)), date: formatDate(new Date(deadlines.absolute)) })}
            </dd>
          </>
        ) : null}
      </dl>
      <ul className="links">
        <li>
          <Link href="/account/password">{t('profile.changePassword')}</Link>
        </li>
        {!me.totpEnabled ? (
          <li>
            <Link href="/account/totp">{t('profile.enrolTotp')}</Link>
          </li>
        ) : null}
      </ul>
    </main>
  );
}

import { Link } from 'wouter';
import { sectionsFor } from '../../app/sections';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { PageTitle } from '../../ui/page-title';

export function HomePage() {
  const { t } = useI18n();
  const me = useMe();
  return (
    <main id="main" className="page">
      <PageTitle>{t('home.title')}</PageTitle>
      <p className="welcome">{t('home.welcome', { name: me.displayName })}</p>
      <p>{t('home.intro')}</p>
      <ul className="cards">
        {sectionsFor(me.roles).map((s) => (
          <li key={s.path}>
            <Link href={s.path}>{t(s.label)}</Link>
          </li>
        ))}
      </ul>
    </main>
  );
}

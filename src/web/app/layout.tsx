import { useEffect, useRef, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { LANGS } from '../i18n/catalogue';
import { useI18n } from '../i18n/i18n';
import { sectionsFor } from './sections';
import { useMe, useSession } from './session';

function IdleWarning() {
  const { t } = useI18n();
  const { idle, refresh, logout } = useSession();
  const button = useRef<HTMLButtonElement>(null);
  const warning = idle?.phase === 'warning';
  useEffect(() => {
    if (warning) button.current?.focus();
  }, [warning]);
  if (idle?.phase !== 'warning') return null;
  return (
    <div className="idle-warning" role="alertdialog" aria-modal="false" aria-labelledby="idle-title" aria-describedby="idle-body">
      <h2 id="idle-title">{t('idle.title')}</h2>
      <p id="idle-body">{t('idle.body', { seconds: Math.ceil(idle.msLeft / 1000) })}</p>
      <div className="actions">
        <button ref={button} type="button" className="primary" onClick={() => void refresh()}>
          {t('idle.continue')}
        </button>
        <button type="button" onClick={() => void logout()}>
          {t('idle.logout')}
        </button>
      </div>
    </div>
  );
}

/** The shell around every page of a logged-in user: the sections of their roles, the language, who they are. */
export function Layout({ children }: { children: ReactNode }) {
  const { t, lang, setLang } = useI18n();
  const me = useMe();
  const { logout } = useSession();
  const [location] = useLocation();
  const limited = me.pending.length > 0;
  const link = (href: string, label: string) => (
    <li key={href}>
      <Link href={href} aria-current={location === href ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <>
      <a className="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <header className="topbar">
        <span className="brand">{t('app.title')}</span>
        <div className="topbar__right">
          <label className="lang">
            <span>{t('app.language')}</span>
            <select value={lang} onChange={(e) => setLang(e.target.value as (typeof LANGS)[number])}>
              {LANGS.map((l) => (
                <option key={l} value={l}>
                  {t(`app.language.${l}`)}
                </option>
              ))}
            </select>
          </label>
          <span className="who">{t('app.user', { name: me.displayName })}</span>
          <button type="button" onClick={() => void logout()}>
            {t('nav.logout')}
          </button>
        </div>
      </header>
      <IdleWarning />
      <div className="shell">
        <nav className="sidenav" aria-label={t('nav.label')}>
          <ul>
            {limited ? null : link('/', t('nav.home'))}
            {limited ? null : sectionsFor(me.roles).map((s) => link(s.path, t(s.label)))}
            {link('/profile', t('nav.profile'))}
          </ul>
        </nav>
        {children}
      </div>
    </>
  );
}

import { lazy, Suspense } from 'react';
import { Redirect, Route, Switch, useLocation } from 'wouter';
import { LoginPage } from '../features/auth/login-page';
import { nextStep } from '../features/auth/next-step';
import { PasswordPage } from '../features/auth/password-page';
import { ProfilePage } from '../features/auth/profile-page';
import { TotpPage } from '../features/auth/totp-page';
import { HomePage } from '../features/home/home-page';
import { ComingNextPage } from '../features/sections/coming-next-page';
import { useI18n } from '../i18n/i18n';
import { PageTitle } from '../ui/page-title';
import { loginUrl } from './idle';
import { Layout } from './layout';
import { SECTIONS } from './sections';
import { useSession } from './session';

/** What a `limited` session (password change or TOTP enrolment pending) may open; the API refuses the rest. */
const SETUP_PAGES = ['/account/password', '/account/totp', '/profile'];

/** Each section's pages as a lazy component, made once (a new lazy() per render would load it again). */
const SECTION_PAGES = new Map(SECTIONS.filter((s) => s.load).map((s) => [s.path, lazy(s.load!)]));

function Loading() {
  const { t } = useI18n();
  return (
    <p className="loading" role="status">
      {t('app.loading')}
    </p>
  );
}

function NotFound() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t('notFound.title')}</PageTitle>
      <p>{t('notFound.body')}</p>
    </main>
  );
}

function LoggedIn() {
  const { status } = useSession();
  const [location] = useLocation();
  if (status.state === 'loading') return <Loading />;
  if (status.state === 'anonymous') return <Redirect to={loginUrl(`${location}${window.location.search}`)} replace />;
  const me = status.me;
  if (me.pending.length > 0 && !SETUP_PAGES.includes(location)) return <Redirect to={nextStep(me, location)} replace />;
  return (
    <Layout>
      <Switch>
        <Route path="/" component={HomePage} />
        <Route path="/profile" component={ProfilePage} />
        <Route path="/account/password" component={PasswordPage} />
        <Route path="/account/totp" component={TotpPage} />
        {SECTIONS.filter((s) => s.roles.some((r) => me.roles.includes(r))).map((s) => {
          const Page = SECTION_PAGES.get(s.path);
          return (
            <Route key={s.path} path={s.path} nest>
              {Page ? (
                <Suspense fallback={<Loading />}>
                  <Page />
                </Suspense>
              ) : (
                <ComingNextPage title={s.label} />
              )}
            </Route>
          );
        })}
        <Route component={NotFound} />
      </Switch>
    </Layout>
  );
}

export function AppRouter() {
  return (
    <Switch>
      <Route path="/login" component={LoginPage} />
      <Route component={LoggedIn} />
    </Switch>
  );
}

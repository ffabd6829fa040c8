import { Link, useLocation } from 'wouter';
import { useI18n } from '../../i18n/i18n';

export function SubNav() {
  const { t } = useI18n();
  const [location] = useLocation();
  const item = (href: string, label: string) => (
    <li>
      <Link href={href} aria-current={location === href ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <nav aria-label={t('reconciliation.nav')} className="subnav">
      <ul>
        {item('/', t('reconciliation.statements.title'))}
        {item('/runs', t('reconciliation.runs.title'))}
        {item('/exceptions', t('reconciliation.exceptions.title'))}
      </ul>
    </nav>
  );
}

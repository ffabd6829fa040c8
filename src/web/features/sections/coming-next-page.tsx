import { useI18n } from '../../i18n/i18n';
import type { MessageKey } from '../../i18n/catalogue';
import { PageTitle } from '../../ui/page-title';

/** A section of the console whose pages come in a later release. */
export function ComingNextPage({ title }: { title: MessageKey }) {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t(title)}</PageTitle>
      <p>{t('section.comingNext')}</p>
    </main>
  );
}

import { useEffect, useRef } from 'react';
import { useI18n } from '../i18n/i18n';

/** The page's heading: it names the tab and takes the focus when the page opens, so a screen reader announces it. */
export function PageTitle({ children }: { children: string }) {
  const { t } = useI18n();
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${children} · ${t('app.title')}`;
  }, [children, t]);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

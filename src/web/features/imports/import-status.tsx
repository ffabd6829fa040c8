import type { MessageKey } from '../../i18n/catalogue';
import { useI18n } from '../../i18n/i18n';
import type { RollImport } from './upload';

export const IMPORT_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;

export function isFinished(status: RollImport['status']): boolean {
  return status === 'completed' || status === 'failed';
}

export function ImportStatus({ status }: { status: RollImport['status'] }) {
  const { t } = useI18n();
  return <span className={`status status--${status}`}>{t(`imports.status.${status}` as MessageKey)}</span>;
}

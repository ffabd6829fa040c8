import { Link } from 'wouter';
import { useI18n } from '../../i18n/i18n';
import { KeysetTable } from '../../ui/keyset-table';
import { DateText, Money } from '../../ui/money';
import { formatMonthRange } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';
import { approvalsApi, type Batch } from './approvals-api';

/** The submitted batches inside the officer's area scope (the API filters by scope), newest first. */
export function InboxPage() {
  const { t } = useI18n();
  return (
    <main id="main" className="page">
      <PageTitle>{t('approvals.title')}</PageTitle>
      <p>{t('approvals.intro')}</p>
      <KeysetTable<Batch>
        caption={t('approvals.inbox.caption')}
        queryKey={['approvals', 'inbox']}
        fetchPage={approvalsApi.inbox}
        rowKey={(b) => b.id}
        columns={[
          {
            header: t('approvals.col.batch'),
            cell: (b) => <Link href={`/${b.id}`}>{t('approvals.open', { id: b.id, title: b.title ?? b.programmeName })}</Link>,
          },
          { header: t('approvals.col.programme'), cell: (b) => `${b.programmeCode} · ${b.programmeName}` },
          { header: t('approvals.col.period'), cell: (b) => formatMonthRange(b.period, b.periodTo) },
          { header: t('approvals.col.area'), cell: (b) => b.areaName },
          { header: t('approvals.col.items'), cell: (b) => b.itemCount.toLocaleString('vi-VN'), numeric: true },
          { header: t('approvals.col.total'), cell: (b) => <Money amount={b.totalAmount} />, numeric: true },
          { header: t('approvals.col.flagged'), cell: (b) => b.flaggedCount.toLocaleString('vi-VN'), numeric: true },
          { header: t('approvals.col.submittedBy'), cell: (b) => b.submittedBy ?? '—' },
          { header: t('approvals.col.submittedAt'), cell: (b) => (b.submittedAt ? <DateText value={b.submittedAt} /> : '—') },
        ]}
      />
    </main>
  );
}

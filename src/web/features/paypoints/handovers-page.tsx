import { useState } from 'react';
import { Link } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { DateInput } from '../../ui/date-input';
import { addDays, formatDay, formatMonth } from '../../ui/format';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';
import { CommuneSelect, type CommuneChoice } from '../network/parts';

type Handover = Schemas['PayPointHandover'];

/** Today in Asia/Ho_Chi_Minh, as the API counts days. */
const vnToday = (): string => new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 10);

/**
 * /paypoints: the cash hand-overs in force across batches, by day then commune, in the user's area: when and where
 * each commune's pay point hands a batch's cash over, how many recipients it has, the results recorded, and how many
 * were told and reminded by SMS. Each row leads to its batch, where staff set or change the hand-over.
 */
export function HandoversPage() {
  const { t } = useI18n();
  const [commune, setCommune] = useState<CommuneChoice | null>(null);
  const [from, setFrom] = useState<string | null>(vnToday);
  const [to, setTo] = useState<string | null>(() => addDays(vnToday(), 30));
  const backwards = Boolean(from && to && to < from);
  // a day typed that is none (null) keeps the list as it was until it is one
  const [shown, setShown] = useState({ from: vnToday(), to: addDays(vnToday(), 30) });
  if (from !== null && to !== null && !backwards && (from !== shown.from || to !== shown.to)) setShown({ from, to });
  return (
    <main id="main" className="page">
      <PageTitle>{t('paypoints.title')}</PageTitle>
      <p>{t('paypoints.intro')}</p>
      <div className="filters">
        <CommuneSelect
          label={t('paypoints.commune')}
          value={commune?.id ?? null}
          onChange={setCommune}
          allLabel={t('paypoints.allCommunes')}
        />
        <DateInput label={t('paypoints.from')} name="from" value={from} onChange={setFrom} hint={t('paypoints.fromHint')} />
        <DateInput
          label={t('paypoints.to')}
          name="to"
          value={to}
          onChange={setTo}
          hint={t('paypoints.toHint')}
          error={backwards ? t('paypoints.toBeforeFrom') : undefined}
        />
      </div>
      <KeysetTable<Handover>
        caption={t('paypoints.caption')}
        queryKey={['paypoint-handovers', { commune: commune?.id, from: shown.from, to: shown.to }]}
        fetchPage={(cursor, signal) =>
          unwrap(
            api.GET('/api/v1/paypoints/schedules', {
              params: {
                query: {
                  limit: 50,
                  cursor,
                  ...(commune ? { areaId: commune.id } : {}),
                  ...(shown.from ? { from: shown.from } : {}),
                  ...(shown.to ? { to: shown.to } : {}),
                },
              },
              signal,
            }),
          )
        }
        rowKey={(h) => `${h.batch.id}:${h.area.id}`}
        columns={[
          { header: t('paypoints.date'), cell: (h) => formatDay(h.date) },
          { header: t('paypoints.hours'), cell: (h) => h.hours },
          { header: t('paypoints.communeColumn'), cell: (h) => `${h.area.name} (${h.area.code})` },
          { header: t('paypoints.place'), cell: (h) => h.place },
          { header: t('paypoints.papers'), cell: (h) => h.papers },
          {
            header: t('paypoints.batch'),
            cell: (h) => (
              <Link href={`~/batches/${h.batch.id}`}>
                {t('paypoints.batchText', { id: h.batch.id, month: formatMonth(h.batch.period), programme: h.batch.programme.code })}
              </Link>
            ),
          },
          { header: t('paypoints.recipients'), cell: (h) => h.cashRecipients, numeric: true },
          { header: t('paypoints.results'), cell: (h) => t('paypoints.resultsText', { paid: h.paid, notCollected: h.notCollected }) },
          { header: t('paypoints.told'), cell: (h) => t('paypoints.toldText', { told: h.told, reminded: h.reminded }) },
        ]}
      />
    </main>
  );
}

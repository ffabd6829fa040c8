import { csvLine, CSV_BOM } from '../../../platform/export/cells';
import type { Schemas } from '../../api/client';
import type { MessageKey } from '../../i18n/catalogue';
import { formatDay } from '../../ui/format';

/** The page's t() (i18n.tsx), named here without its JSX module so Node tests can load this file. */
type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export type CashRecipient = Schemas['CashRecipientPage']['items'][number];
type Page = Schemas['CashRecipientPage'];

/** More than this is a file for the export centre (written by the service, with its manifest), not for the page. */
export const MAX_LISTED = 40_000;

/**
 * Every person paid in cash in the month, page by page as GET /coverage/cash-recipients gives them (identifiers
 * masked); null when there are more than MAX_LISTED. `onPage` reports how many have arrived.
 */
export async function fetchCashRecipients(
  fetchPage: (cursor: string | undefined) => Promise<Page>,
  onPage: (count: number) => void,
): Promise<CashRecipient[] | null> {
  const out: CashRecipient[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    out.push(...page.items);
    if (out.length > MAX_LISTED) return null;
    onPage(out.length);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** The list as a CSV for a spreadsheet (byte order mark, headers in the reader's language), its cells written by the service's own writer. */
export function cashRecipientsCsv(t: Translate, people: readonly CashRecipient[]): string {
  const header = [
    t('coverage.cash.col.id'),
    t('coverage.cash.col.name'),
    t('coverage.cash.col.nationalId'),
    t('coverage.cash.col.dateOfBirth'),
    t('coverage.cash.col.phone'),
    t('coverage.cash.col.areaCode'),
    t('coverage.cash.col.area'),
    t('coverage.cash.col.programmes'),
    t('coverage.cash.col.payments'),
    t('coverage.cash.col.amount'),
    t('coverage.cash.col.channelsNow'),
  ];
  let text = `${CSV_BOM}${csvLine(header)}`;
  for (const p of people) {
    text += csvLine([
      p.beneficiaryId,
      p.fullName,
      p.nationalId,
      formatDay(p.dateOfBirth),
      p.phone,
      p.area.code,
      p.area.name,
      p.programmes.join(' '),
      p.cashPayments,
      p.cashAmount,
      p.channelsNow.join(' '),
    ]);
  }
  return text;
}

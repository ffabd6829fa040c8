import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n';

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** Right-aligned numbers and money. */
  numeric?: boolean;
}

interface KeysetTableProps<T> {
  caption: string;
  /** The query key of the list with its filters: a change of filter starts again at the first page. */
  queryKey: readonly unknown[];
  /**
   * One page from the API: `cursor` is the previous page's `nextCursor` (undefined for the first page); `signal`
   * aborts the request when the page is left before it answers.
   */
  fetchPage: (cursor: string | undefined, signal?: AbortSignal) => Promise<{ items: T[]; nextCursor: string | null }>;
  columns: Column<T>[];
  rowKey: (row: T) => string | number;
}

/**
 * A server-paged list: one page of rows at a time, next via the API's keyset cursor, previous via the cursors
 * already seen. The page never holds more than one page, however long the list.
 */
export function KeysetTable<T>({ caption, queryKey, fetchPage, columns, rowKey }: KeysetTableProps<T>) {
  const { t } = useI18n();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [listKey, setListKey] = useState(() => JSON.stringify(queryKey));
  const key = JSON.stringify(queryKey);
  if (key !== listKey) {
    setListKey(key);
    setCursors([undefined]);
  }
  const cursor = cursors[cursors.length - 1];
  const page = useQuery({
    queryKey: [...queryKey, 'page', cursor],
    queryFn: ({ signal }) => fetchPage(cursor, signal),
    placeholderData: keepPreviousData,
  });
  const items = page.data?.items ?? [];
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" className={c.numeric ? 'num' : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody aria-busy={page.isFetching}>
          {items.length === 0 && !page.isFetching ? (
            <tr>
              <td colSpan={columns.length}>{t('table.empty')}</td>
            </tr>
          ) : (
            items.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((c) => (
                  <td key={c.header} className={c.numeric ? 'num' : undefined}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
      <nav className="pager" aria-label={caption}>
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          {t('table.previous')}
        </button>
        <span aria-live="polite">{t('table.page', { page: cursors.length })}</span>
        <button
          type="button"
          disabled={!page.data?.nextCursor || page.isFetching}
          onClick={() => setCursors((c) => [...c, page.data!.nextCursor!])}
        >
          {t('table.next')}
        </button>
      </nav>
    </div>
  );
}

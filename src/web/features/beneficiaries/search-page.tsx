import { useId, useState } from 'react';
import { Link, useSearch, useLocation } from 'wouter';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { DateText } from '../../ui/money';
import { KeysetTable } from '../../ui/keyset-table';
import { PageTitle } from '../../ui/page-title';

type Person = Schemas['BeneficiaryListItem'];
const STATUSES = ['active', 'suspended', 'ended'] as const;
type StatusFilter = '' | (typeof STATUSES)[number];

/** Twelve digits are a national ID (the API matches it exactly); anything else is the start of a name. */
function searchParams(text: string): { nationalId: string } | { q: string } | null {
  const v = text.trim();
  if (!v) return null;
  return /^\d{12}$/.test(v) ? { nationalId: v } : { q: v };
}

export function SearchPage() {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  // the search is kept in the address, so that "back" from a person returns to the same list
  const params = new URLSearchParams(useSearch());
  const text = params.get('q') ?? '';
  const status = (params.get('status') ?? '') as StatusFilter;
  const [typed, setTyped] = useState(text);
  const [typedStatus, setTypedStatus] = useState<StatusFilter>(status);
  const textId = useId();
  const statusId = useId();
  const filter = searchParams(text);
  return (
    <main id="main" className="page">
      <PageTitle>{t('beneficiaries.title')}</PageTitle>
      <form
        role="search"
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const next = new URLSearchParams();
          if (typed.trim()) next.set('q', typed.trim());
          if (typedStatus) next.set('status', typedStatus);
          navigate(next.size ? `/?${next.toString()}` : '/');
        }}
      >
        <div className="field">
          <label htmlFor={textId}>{t('beneficiaries.search')}</label>
          <p className="field__hint" id={`${textId}-hint`}>
            {t('beneficiaries.searchHint')}
          </p>
          <input id={textId} value={typed} maxLength={100} aria-describedby={`${textId}-hint`} onChange={(e) => setTyped(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={statusId}>{t('beneficiaries.statusFilter')}</label>
          <select id={statusId} value={typedStatus} onChange={(e) => setTypedStatus(e.target.value as StatusFilter)}>
            <option value="">{t('beneficiaries.allStatuses')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`beneficiaries.status.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            {t('beneficiaries.searchSubmit')}
          </button>
        </div>
      </form>
      <KeysetTable<Person>
        caption={t('beneficiaries.caption')}
        queryKey={['beneficiaries', { filter, status }]}
        fetchPage={(cursor) =>
          unwrap(
            api.GET('/api/v1/beneficiaries', {
              params: { query: { limit: 20, cursor, ...(filter ?? {}), ...(status ? { status } : {}) } },
            }),
          )
        }
        rowKey={(p) => p.id}
        columns={[
          { header: t('beneficiaries.fullName'), cell: (p) => <Link href={`/${p.id}`}>{p.fullName}</Link> },
          { header: t('beneficiaries.nationalId'), cell: (p) => p.nationalId },
          { header: t('beneficiaries.dateOfBirth'), cell: (p) => <DateText value={p.dateOfBirth} /> },
          { header: t('beneficiaries.gender'), cell: (p) => t(`beneficiaries.gender.${p.gender}`) },
          { header: t('beneficiaries.area'), cell: (p) => p.areaName },
        ]}
      />
    </main>
  );
}

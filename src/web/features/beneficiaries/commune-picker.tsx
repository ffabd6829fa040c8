import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { SelectField } from '../../ui/field';

export interface CommuneChoice {
  id: number;
  code: string;
  name: string;
}

/**
 * The commune a person is paid in, among the thousands of a province: a search by name (tones and marks optional)
 * or code asks the API for the first active communes of the user's area that match; the select holds those and the
 * person's commune now.
 */
export function CommunePicker({
  current,
  value,
  onChange,
  error,
}: {
  current: CommuneChoice;
  value: number;
  onChange: (id: number) => void;
  error?: string | undefined;
}) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const searchId = useId();
  const hintId = `${searchId}-hint`;
  const text = q.trim();
  const matches = useQuery({
    queryKey: ['areas', 'communes', text],
    queryFn: ({ signal }) =>
      unwrap(
        api.GET('/api/v1/areas', {
          params: { query: { level: 'commune', active: 'true', limit: 20, ...(text ? { q: text } : {}) } },
          signal,
        }),
      ),
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
  // the commune chosen stays in the list while another search is typed
  const [chosen, setChosen] = useState<CommuneChoice | null>(null);
  const found = (matches.data?.items ?? []).filter((a) => a.id !== current.id);
  const kept = chosen && chosen.id === value && chosen.id !== current.id && !found.some((a) => a.id === chosen.id) ? [chosen] : [];
  const label = (a: CommuneChoice) => `${a.name} (${a.code})`;
  const choose = (id: number) => {
    setChosen([...kept, ...found].find((a) => a.id === id) ?? null);
    onChange(id);
  };
  return (
    <fieldset className="area-picker">
      <legend>{t('beneficiaries.move.legend')}</legend>
      <div className="field">
        <label htmlFor={searchId}>{t('beneficiaries.move.search')}</label>
        <p className="field__hint" id={hintId}>
          {t('beneficiaries.move.searchHint')}
        </p>
        <input id={searchId} type="search" aria-describedby={hintId} value={q} maxLength={100} onChange={(e) => setQ(e.target.value)} />
      </div>
      <SelectField
        label={t('beneficiaries.move.commune')}
        error={error}
        value={String(value)}
        onChange={(e) => choose(Number(e.target.value))}
      >
        <option value={current.id}>{t('beneficiaries.move.current', { name: label(current) })}</option>
        {[...kept, ...found].map((a) => (
          <option key={a.id} value={a.id}>
            {label(a)}
          </option>
        ))}
      </SelectField>
      <p role="status" className="field__hint">
        {matches.isSuccess && !matches.isPlaceholderData && text ? t('beneficiaries.move.found', { count: found.length }) : null}
      </p>
    </fieldset>
  );
}

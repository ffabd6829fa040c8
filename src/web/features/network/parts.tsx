import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import type { MessageKey } from '../../i18n/catalogue';
import { useI18n, type Translate } from '../../i18n/i18n';

export type Point = Schemas['CashOutPoint'];
export type Kind = Point['kind'];
export const KINDS: readonly Kind[] = ['atm', 'bank_branch', 'bank_agent', 'post_office', 'mobile_money_agent'];
export const OPERATOR_OF: Record<Kind, 'bank' | 'wallet' | 'post'> = {
  atm: 'bank',
  bank_branch: 'bank',
  bank_agent: 'bank',
  post_office: 'post',
  mobile_money_agent: 'wallet',
};

export const kindText = (t: Translate, k: Kind) => t(`network.kind.${k}` as MessageKey);

export interface OperatorChoice {
  type: 'bank' | 'wallet' | 'post';
  code: string;
  name: string;
}

/** The operators a point may belong to: active banks (by BIN), wallet providers, and the postal operator. */
export function useOperators() {
  return useQuery({
    queryKey: ['network', 'operators'],
    queryFn: async (): Promise<OperatorChoice[]> => {
      const [banks, wallets] = await Promise.all([
        unwrap(api.GET('/api/v1/banks', { params: { query: { active: 'true' } } })),
        unwrap(api.GET('/api/v1/wallet-providers', { params: { query: { active: 'true' } } })),
      ]);
      return [
        ...banks.items.map((b) => ({ type: 'bank' as const, code: b.bin, name: b.shortName })),
        ...wallets.items.map((w) => ({ type: 'wallet' as const, code: w.code, name: w.name })),
        { type: 'post' as const, code: 'VNPOST', name: 'Bưu điện Việt Nam (VNPost)' },
      ];
    },
    staleTime: 5 * 60_000,
  });
}

export interface CommuneChoice {
  id: number;
  code: string;
  name: string;
}

/**
 * A commune among the province's many: a search by name or code asks the API for the first matches in the user's
 * area; the select holds them (and the one chosen). `allLabel` adds a first option meaning "any commune".
 */
export function CommuneSelect({
  label,
  value,
  onChange,
  current,
  allLabel,
  error,
}: {
  label: string;
  value: number | null;
  onChange: (c: CommuneChoice | null) => void;
  current?: CommuneChoice | null | undefined;
  allLabel?: string;
  error?: string | undefined;
}) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const id = useId();
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
  const [chosen, setChosen] = useState<CommuneChoice | null>(current ?? null);
  const found = matches.data?.items ?? [];
  const options = [...(chosen && !found.some((a) => a.id === chosen.id) ? [chosen] : []), ...found];
  return (
    <fieldset className="area-picker">
      <legend>{label}</legend>
      <div className="field">
        <label htmlFor={`${id}-q`}>{t('network.commune.search')}</label>
        <input id={`${id}-q`} type="search" value={q} maxLength={100} onChange={(e) => setQ(e.target.value)} />
      </div>
      <div className={error ? 'field field--invalid' : 'field'}>
        <label htmlFor={`${id}-s`}>{t('network.commune.choose')}</label>
        <select
          id={`${id}-s`}
          value={value === null ? '' : String(value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-e` : undefined}
          onChange={(e) => {
            const c = options.find((a) => String(a.id) === e.target.value) ?? null;
            setChosen(c);
            onChange(c);
          }}
        >
          <option value="">{allLabel ?? t('network.commune.none')}</option>
          {options.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name} ({a.code})
            </option>
          ))}
        </select>
        {error ? (
          <p className="field__error" id={`${id}-e`}>
            {error}
          </p>
        ) : null}
      </div>
    </fieldset>
  );
}

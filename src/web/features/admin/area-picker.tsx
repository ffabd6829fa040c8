import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field } from '../../ui/field';
import { SelectField } from './controls';

/** An area's name (from the API, cached), for a user's or a route's scope. */
export function AreaName({ id }: { id: number | null }) {
  const { t } = useI18n();
  const area = useQuery({
    queryKey: ['area', id],
    enabled: id !== null,
    queryFn: () => unwrap(api.GET('/api/v1/areas/{id}', { params: { path: { id: id! } } })),
  });
  if (id === null) return <>{t('admin.scope.all')}</>;
  return <>{area.data ? `${area.data.name} (${area.data.code})` : `#${id}`}</>;
}

interface AreaPickerProps {
  value: number | null;
  onChange: (id: number | null) => void;
  error?: string | undefined;
  /** The group's name; a user's scope unless told. */
  legend?: string;
  /** What "no area" means here; the whole province unless told. */
  noneLabel?: string;
  /** The select's label; "Địa bàn" unless told. */
  selectLabel?: string;
  /** An area that cannot be chosen (an area's own id, when choosing its parent). */
  exclude?: number;
}

/**
 * Choosing an area among thousands: a search by code or name asks the API for at most 20 matches; the select holds
 * those and "none" (a user's whole province, or an area's place at the top).
 */
export function AreaPicker({ value, onChange, error, legend, noneLabel, selectLabel, exclude }: AreaPickerProps) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const matches = useQuery({
    queryKey: ['areas', 'pick', q],
    queryFn: () => unwrap(api.GET('/api/v1/areas', { params: { query: { limit: 20, active: 'true', ...(q ? { q } : {}) } } })),
  });
  const items = (matches.data?.items ?? []).filter((a) => a.id !== exclude);
  // the chosen area, which the search may not have found
  const chosen = useQuery({
    queryKey: ['area', value],
    enabled: value !== null,
    queryFn: () => unwrap(api.GET('/api/v1/areas/{id}', { params: { path: { id: value! } } })),
  });
  return (
    <fieldset className="area-picker">
      <legend>{legend ?? t('admin.users.scope')}</legend>
      <Field label={t('admin.areaPicker.search')} value={q} onChange={(e) => setQ(e.target.value.trim())} type="search" />
      <SelectField
        label={selectLabel ?? t('admin.areaPicker.choose')}
        value={value === null ? '' : String(value)}
        onChange={(e) => onChange(e.target.value === '' ? null : Number(e.target.value))}
        error={error}
      >
        <option value="">{noneLabel ?? t('admin.scope.all')}</option>
        {value !== null && !items.some((a) => a.id === value) ? (
          <option value={value}>{chosen.data ? `${chosen.data.name} (${chosen.data.code})` : `#${value}`}</option>
        ) : null}
        {items.map((a) => (
          <option key={a.id} value={a.id}>
            {`${a.name} (${a.code}) · ${t(`admin.level.${a.level}`)}`}
          </option>
        ))}
      </SelectField>
    </fieldset>
  );
}

import { useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { api, unwrap } from '../../api/client';
import { useI18n } from '../../i18n/i18n';

/**
 * The provinces and districts the user may choose from (communes are reached through them), in tree order. One page
 * of the API: enough for a province's tree; the API keeps each answer inside the user's scope.
 */
export function AreaSelect({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  const { t } = useI18n();
  const id = useId();
  const areas = useQuery({
    queryKey: ['areas', 'choices'],
    queryFn: async () => {
      const [provinces, districts] = await Promise.all([
        unwrap(api.GET('/api/v1/areas', { params: { query: { level: 'province', limit: 200 } } })),
        unwrap(api.GET('/api/v1/areas', { params: { query: { level: 'district', limit: 200 } } })),
      ]);
      return [...provinces.items, ...districts.items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
    staleTime: 5 * 60_000,
  });
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t('coverage.area.scope')}</option>
        {(areas.data ?? []).map((a) => (
          <option key={a.id} value={String(a.id)}>
            {a.level === 'district' ? `— ${a.name}` : a.name} ({a.code})
          </option>
        ))}
      </select>
    </div>
  );
}

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { api, newIdempotencyKey, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError, SelectField } from '../../ui/field';
import { formErrors, type FormErrors } from '../../ui/form-errors';
import { PageTitle } from '../../ui/page-title';
import { CommuneSelect, KINDS, OPERATOR_OF, kindText, useOperators, type CommuneChoice, type Kind, type Point } from './parts';

const FIELDS = ['kind', 'operator', 'pointCode', 'name', 'areaId', 'address', 'latitude', 'longitude', 'openingHours'] as const;
const DEGREES = /^-?\d{1,3}(\.\d{1,6})?$/;

interface Values {
  kind: Kind;
  operator: string;
  pointCode: string;
  name: string;
  commune: CommuneChoice | null;
  address: string;
  latitude: string;
  longitude: string;
  openingHours: string;
  active: boolean;
}

function PointForm({ point }: { point: Point | null }) {
  const { t } = useI18n();
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const ops = useOperators();
  const [v, setV] = useState<Values>(() => ({
    kind: point?.kind ?? 'atm',
    operator: point?.operator.code ?? '',
    pointCode: point?.pointCode ?? '',
    name: point?.name ?? '',
    commune: point ? point.area : null,
    address: point?.address ?? '',
    latitude: point?.latitude === null || !point ? '' : String(point.latitude),
    longitude: point?.longitude === null || !point ? '' : String(point.longitude),
    openingHours: point?.openingHours ?? '',
    active: point?.active ?? true,
  }));
  const [errors, setErrors] = useState<FormErrors>({ form: null, fields: {} });
  const [key, setKey] = useState(newIdempotencyKey);
  const set = <K extends keyof Values>(k: K, value: Values[K]) => setV((x) => ({ ...x, [k]: value }));
  const save = useMutation({
    mutationFn: () => {
      const pos = v.latitude.trim()
        ? { latitude: Number(v.latitude.replace(',', '.')), longitude: Number(v.longitude.replace(',', '.')) }
        : { latitude: null, longitude: null };
      const common = {
        kind: v.kind,
        name: v.name.trim(),
        areaId: v.commune!.id,
        address: v.address.trim(),
        openingHours: v.openingHours.trim() || null,
        ...pos,
      };
      if (point) {
        return unwrap(
          api.PATCH('/api/v1/cash-out-points/{id}', { params: { path: { id: point.id } }, body: { ...common, active: v.active } }),
        );
      }
      const body: Schemas['NewCashOutPoint'] = { ...common, operator: v.operator, pointCode: v.pointCode.trim() };
      return unwrap(api.POST('/api/v1/cash-out-points', { params: { header: { 'Idempotency-Key': key } }, body }));
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['cash-out-points'] });
      navigate('/');
    },
    onError: (e) => {
      setKey(newIdempotencyKey());
      setErrors(formErrors(t, e, FIELDS));
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    const f: Record<string, string> = {};
    if (!point && !v.operator) f.operator = t('form.required');
    if (!point && !v.pointCode.trim()) f.pointCode = t('form.required');
    if (!v.name.trim()) f.name = t('form.required');
    if (!v.address.trim()) f.address = t('form.required');
    if (!v.commune) f.areaId = t('form.required');
    const lat = v.latitude.trim().replace(',', '.');
    const lng = v.longitude.trim().replace(',', '.');
    if ((lat === '') !== (lng === '')) f.longitude = t('network.point.bothOrNeither');
    if (lat && (!DEGREES.test(lat) || Math.abs(Number(lat)) > 90)) f.latitude = t('network.point.degrees');
    if (lng && (!DEGREES.test(lng) || Math.abs(Number(lng)) > 180)) f.longitude = t('network.point.degrees');
    setErrors({ form: null, fields: f });
    if (Object.keys(f).length === 0) save.mutate();
  }
  const type = OPERATOR_OF[v.kind];
  const kinds = point ? KINDS.filter((k) => OPERATOR_OF[k] === point.operator.type) : KINDS;
  return (
    <form onSubmit={submit} noValidate aria-busy={save.isPending}>
      <FormError message={errors.form} />
      <SelectField
        label={t('network.point.kind')}
        value={v.kind}
        error={errors.fields.kind}
        onChange={(e) => setV((x) => ({ ...x, kind: e.target.value as Kind, operator: point ? x.operator : '' }))}
      >
        {kinds.map((k) => (
          <option key={k} value={k}>
            {kindText(t, k)}
          </option>
        ))}
      </SelectField>
      {point ? (
        <p>{t('network.point.identity', { operator: `${point.operator.name} (${point.operator.code})`, code: point.pointCode })}</p>
      ) : (
        <>
          <SelectField
            label={t('network.point.operator')}
            value={v.operator}
            error={errors.fields.operator}
            onChange={(e) => set('operator', e.target.value)}
          >
            <option value="">{t('network.point.chooseOperator')}</option>
            {(ops.data ?? [])
              .filter((o) => o.type === type)
              .map((o) => (
                <option key={o.code} value={o.code}>
                  {o.name} ({o.code})
                </option>
              ))}
          </SelectField>
          <Field
            label={t('network.point.pointCode')}
            hint={t('network.point.pointCodeHint')}
            value={v.pointCode}
            error={errors.fields.pointCode}
            maxLength={40}
            onChange={(e) => set('pointCode', e.target.value)}
          />
        </>
      )}
      <Field
        label={t('network.point.name')}
        value={v.name}
        error={errors.fields.name}
        maxLength={200}
        onChange={(e) => set('name', e.target.value)}
      />
      <CommuneSelect
        label={t('network.point.commune')}
        value={v.commune?.id ?? null}
        current={point?.area}
        error={errors.fields.areaId}
        onChange={(c) => set('commune', c)}
      />
      <Field
        label={t('network.point.address')}
        value={v.address}
        error={errors.fields.address}
        maxLength={300}
        onChange={(e) => set('address', e.target.value)}
      />
      <Field
        label={t('network.point.latitude')}
        hint={t('network.point.positionHint')}
        inputMode="decimal"
        value={v.latitude}
        error={errors.fields.latitude}
        onChange={(e) => set('latitude', e.target.value)}
      />
      <Field
        label={t('network.point.longitude')}
        inputMode="decimal"
        value={v.longitude}
        error={errors.fields.longitude}
        onChange={(e) => set('longitude', e.target.value)}
      />
      <Field
        label={t('network.point.openingHours')}
        hint={t('network.point.openingHoursHint')}
        value={v.openingHours}
        error={errors.fields.openingHours}
        maxLength={120}
        onChange={(e) => set('openingHours', e.target.value)}
      />
      {point ? (
        <div className="field">
          <input id="point-active" type="checkbox" checked={v.active} onChange={(e) => set('active', e.target.checked)} />{' '}
          <label htmlFor="point-active">{t('network.point.activeLabel')}</label>
        </div>
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {point ? t('network.point.save') : t('network.point.create')}
        </button>
      </div>
    </form>
  );
}

/** /network/points/new and /network/points/:id: register a point, or change or deactivate one. */
export function PointPage({ id }: { id: string | null }) {
  const { t } = useI18n();
  const point = useQuery({
    queryKey: ['cash-out-points', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v1/cash-out-points/{id}', { params: { path: { id: Number(id) } } })),
    enabled: id !== null,
  });
  return (
    <main id="main" className="page">
      <p>
        <Link href="/">{t('network.back')}</Link>
      </p>
      <PageTitle>{id === null ? t('network.point.new') : t('network.point.edit', { name: point.data?.name ?? '' })}</PageTitle>
      {id === null ? <PointForm point={null} /> : point.data ? <PointForm point={point.data} /> : <p role="status">{t('app.loading')}</p>}
    </main>
  );
}

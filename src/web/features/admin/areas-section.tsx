import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { PageTitle } from '../../ui/page-title';
import { AreaName, AreaPicker } from './area-picker';
import { featureFormErrors, newIdempotencyKey, SelectField } from './controls';
import { ConfirmAction, EditFormView, useEditForm } from './edit-form';
import './admin.css';

type Area = Schemas['Area'];
type Level = Area['level'];
const CHILD_LEVEL: Record<Level, Level | null> = { province: 'district', district: 'commune', commune: null };
const NO_ERRORS: FormErrors = { form: null, fields: {} };
/** Children shown per node; a district has a few dozen communes at most. */
const CHILDREN_LIMIT = 100;

function Children({ parent, selected, onSelect }: { parent: Area | null; selected: Area | null; onSelect: (a: Area) => void }) {
  const { t } = useI18n();
  const list = useQuery({
    queryKey: ['areas', 'children', parent?.id ?? 'roots'],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/areas', {
          params: { query: parent ? { parentId: parent.id, limit: CHILDREN_LIMIT } : { roots: 'true', limit: CHILDREN_LIMIT } },
        }),
      ),
  });
  if (!list.data) return <p role="status">{t('app.loading')}</p>;
  return (
    <ul className="tree">
      {list.data.items.map((a) => (
        <Node key={a.id} area={a} selected={selected} onSelect={onSelect} />
      ))}
    </ul>
  );
}

function Node({ area, selected, onSelect }: { area: Area; selected: Area | null; onSelect: (a: Area) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const label = `${area.name} (${area.code})`;
  return (
    <li>
      {area.childCount > 0 ? (
        <button
          type="button"
          aria-expanded={open}
          onClick={() => setOpen((o) => !o)}
          aria-label={t(open ? 'admin.areas.collapse' : 'admin.areas.expand', { name: label })}
        >
          {open ? '−' : '+'}
        </button>
      ) : null}{' '}
      <button type="button" className="linkish" aria-pressed={selected?.id === area.id} onClick={() => onSelect(area)}>
        {label}
      </button>{' '}
      <span className="field__hint">
        {t(`admin.level.${area.level}`)}
        {area.active ? '' : ` · ${t('admin.inactive')}`}
      </span>
      {open ? <Children parent={area} selected={selected} onSelect={onSelect} /> : null}
    </li>
  );
}

type AreaValues = { code: string; name: string; level: Level; parentId: number | null; active: boolean };
const LEVELS: readonly Level[] = ['province', 'district', 'commune'];

/**
 * An area's code, name, level, place in the tree and active flag (PATCH /areas/{id}). Moving an area moves its
 * subtree; after the 2025 reform a commune may hang directly under its province.
 */
function AreaEditForm({ area, onSaved }: { area: Area; onSaved: (a: Area) => void }) {
  const { t } = useI18n();
  const parentName = (id: number | null) => (id === null ? t('admin.areas.noParent') : <AreaName id={id} />);
  const form = useEditForm<AreaValues, Schemas['AreaDetail']>({
    initial: { code: area.code, name: area.name, level: area.level, parentId: area.parentId, active: area.active },
    labels: {
      code: t('admin.areas.code'),
      name: t('admin.areas.name'),
      level: t('admin.areas.level'),
      parentId: t('admin.areas.parent'),
      active: t('admin.status'),
    },
    show: {
      level: (l) => t(`admin.level.${l}`),
      parentId: parentName,
      active: (a) => (a ? t('admin.active') : t('admin.inactive')),
    },
    check: (v) => ({
      code: /^[0-9A-Za-z]{1,16}$/.test(v.code.trim()) ? undefined : t('admin.areas.codeHint'),
      name: v.name.trim() ? undefined : t('form.required'),
    }),
    rules: { code: t('admin.areas.codeHint') },
    save: (v, changed) =>
      unwrap(
        api.PATCH('/api/v1/areas/{id}', {
          params: { path: { id: area.id } },
          body: {
            ...(changed.includes('code') ? { code: v.code.trim() } : {}),
            ...(changed.includes('name') ? { name: v.name.trim() } : {}),
            ...(changed.includes('level') ? { level: v.level } : {}),
            ...(changed.includes('parentId') ? { parentId: v.parentId } : {}),
            ...(changed.includes('active') ? { active: v.active } : {}),
          },
        }),
      ),
    codeFields: {
      AREA_CODE_TAKEN: () => ['code'],
      AREA_CYCLE: () => ['parentId'],
      UNKNOWN_AREA: () => ['parentId'],
      AREA_OUT_OF_SCOPE: (_e, changed) => changed.filter((f) => f === 'parentId'),
    },
    onSaved,
  });
  return (
    <EditFormView form={form} submitLabel={t('admin.areas.editSubmit')} question={t('admin.areas.editQuestion', { name: area.name })}>
      <Field label={t('admin.areas.code')} hint={t('admin.areas.codeHint')} {...form.text('code')} />
      <Field label={t('admin.areas.name')} {...form.text('name')} />
      <SelectField label={t('admin.areas.level')} {...form.text('level')}>
        {LEVELS.map((l) => (
          <option key={l} value={l}>
            {t(`admin.level.${l}`)}
          </option>
        ))}
      </SelectField>
      <AreaPicker
        legend={t('admin.areas.parent')}
        selectLabel={t('admin.areas.parentChoose')}
        noneLabel={t('admin.areas.noParent')}
        exclude={area.id}
        value={form.values.parentId}
        onChange={(id) => form.set('parentId', id)}
        error={form.error('parentId')}
      />
      <div className="check-field">
        <label>
          <input type="checkbox" {...form.checkbox('active')} /> {t('admin.areas.activeLabel')}
        </label>
        <p className="field__hint">{t('admin.areas.activeHint')}</p>
      </div>
    </EditFormView>
  );
}

function AreaPanel({ area, onChanged, onDeleted }: { area: Area; onChanged: (a: Area) => void; onDeleted: (a: Area) => void }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [code, setCode] = useState('');
  const [childName, setChildName] = useState('');
  const [addErrors, setAddErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState<string | null>(null);
  const childLevel = CHILD_LEVEL[area.level];
  const refresh = () => void qc.invalidateQueries({ queryKey: ['areas'] });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/areas', {
          body: { code: code.trim(), name: childName.trim(), level: childLevel!, parentId: area.id },
          headers: { 'Idempotency-Key': newIdempotencyKey() },
        }),
      ),
    onSuccess: (a) => {
      setAddErrors(NO_ERRORS);
      setDone(t('admin.areas.added', { name: a.name }));
      setCode('');
      setChildName('');
      refresh();
    },
    onError: (e) => setAddErrors(featureFormErrors(t, 'admin', e, ['code', 'name'])),
  });
  return (
    <section className="panel" aria-labelledby="area-panel">
      <h2 id="area-panel">{`${area.name} (${area.code})`}</h2>
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      <h3>{t('admin.areas.edit')}</h3>
      <AreaEditForm
        area={area}
        onSaved={(a) => {
          setDone(t('admin.areas.saved', { name: a.name }));
          void qc.invalidateQueries({ queryKey: ['area', a.id] });
          refresh();
          onChanged(a);
        }}
      />
      {childLevel ? (
        <form
          noValidate
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            const fields: Record<string, string> = {};
            if (!/^[0-9A-Za-z]{1,16}$/.test(code.trim())) fields.code = t('admin.areas.codeHint');
            if (!childName.trim()) fields.name = t('form.required');
            setAddErrors({ form: null, fields });
            if (Object.keys(fields).length === 0) add.mutate();
          }}
        >
          <h3>{t('admin.areas.addChild', { level: t(`admin.level.${childLevel}`) })}</h3>
          <FormError message={addErrors.form} />
          <Field
            label={t('admin.areas.childCode')}
            hint={t('admin.areas.codeHint')}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={addErrors.fields.code}
          />
          <Field
            label={t('admin.areas.childName')}
            value={childName}
            onChange={(e) => setChildName(e.target.value)}
            error={addErrors.fields.name}
          />
          <button type="submit" className="primary" disabled={add.isPending}>
            {t('admin.areas.addSubmit')}
          </button>
        </form>
      ) : null}
      <h3>{t('admin.areas.delete')}</h3>
      <p className="field__hint">{t('admin.areas.deleteNote')}</p>
      <ConfirmAction
        label={t('admin.areas.deleteNamed', { name: area.name })}
        question={t('admin.areas.deleteAsk', { name: `${area.name} (${area.code})` })}
        confirmLabel={t('admin.areas.deleteYes')}
        run={() => unwrap(api.DELETE('/api/v1/areas/{id}', { params: { path: { id: area.id } } }))}
        onDone={() => {
          refresh();
          onDeleted(area);
        }}
      />
    </section>
  );
}

export default function AreasSection() {
  const { t } = useI18n();
  const [selected, setSelected] = useState<Area | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.areas.title')}</PageTitle>
      <p>{t('admin.areas.intro')}</p>
      {deleted ? (
        <p className="success" role="status">
          {deleted}
        </p>
      ) : null}
      <div className="split">
        <nav aria-label={t('admin.areas.treeLabel')}>
          <Children
            parent={null}
            selected={selected}
            onSelect={(a) => {
              setDeleted(null);
              setSelected(a);
            }}
          />
        </nav>
        {selected ? (
          <AreaPanel
            key={selected.id}
            area={selected}
            onChanged={setSelected}
            onDeleted={(a) => {
              setSelected(null);
              setDeleted(t('admin.areas.deleted', { name: `${a.name} (${a.code})` }));
            }}
          />
        ) : null}
      </div>
    </main>
  );
}

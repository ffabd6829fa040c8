import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import type { FormErrors } from '../../ui/form-errors';
import { PageTitle } from '../../ui/page-title';
import { featureFormErrors, newIdempotencyKey } from './controls';
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

function AreaPanel({ area, onChanged }: { area: Area; onChanged: (a: Area | null) => void }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [name, setName] = useState(area.name);
  const [code, setCode] = useState('');
  const [childName, setChildName] = useState('');
  const [renameErrors, setRenameErrors] = useState<FormErrors>(NO_ERRORS);
  const [addErrors, setAddErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState<string | null>(null);
  const childLevel = CHILD_LEVEL[area.level];
  const refresh = () => void qc.invalidateQueries({ queryKey: ['areas'] });
  const rename = useMutation({
    mutationFn: () => unwrap(api.PATCH('/api/v1/areas/{id}', { params: { path: { id: area.id } }, body: { name: name.trim() } })),
    onSuccess: (a) => {
      setRenameErrors(NO_ERRORS);
      setDone(t('admin.areas.renamed', { name: a.name }));
      refresh();
      onChanged(a);
    },
    onError: (e) => setRenameErrors(featureFormErrors(t, 'admin', e, ['name'])),
  });
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
      <form
        noValidate
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          if (!name.trim()) setRenameErrors({ form: null, fields: { name: t('form.required') } });
          else rename.mutate();
        }}
      >
        <h3>{t('admin.areas.rename')}</h3>
        <FormError message={renameErrors.form} />
        <Field label={t('admin.areas.name')} value={name} onChange={(e) => setName(e.target.value)} error={renameErrors.fields.name} />
        <button type="submit" disabled={rename.isPending}>
          {t('admin.areas.renameSubmit')}
        </button>
      </form>
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
            label={t('admin.areas.code')}
            hint={t('admin.areas.codeHint')}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={addErrors.fields.code}
          />
          <Field
            label={t('admin.areas.name')}
            value={childName}
            onChange={(e) => setChildName(e.target.value)}
            error={addErrors.fields.name}
          />
          <button type="submit" className="primary" disabled={add.isPending}>
            {t('admin.areas.addSubmit')}
          </button>
        </form>
      ) : null}
    </section>
  );
}

export default function AreasSection() {
  const { t } = useI18n();
  const [selected, setSelected] = useState<Area | null>(null);
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.areas.title')}</PageTitle>
      <p>{t('admin.areas.intro')}</p>
      <div className="split">
        <nav aria-label={t('admin.areas.treeLabel')}>
          <Children parent={null} selected={selected} onSelect={setSelected} />
        </nav>
        {selected ? <AreaPanel key={selected.id} area={selected} onChanged={(a) => a && setSelected(a)} /> : null}
      </div>
    </main>
  );
}

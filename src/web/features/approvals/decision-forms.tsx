import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/errors';
import { useI18n } from '../../i18n/i18n';
import { Field, FormError } from '../../ui/field';
import { formatMoney } from '../../ui/format';
import { AmountInWords } from '../../ui/money';
import { approvalsApi, type Batch } from './approvals-api';
import { newIdempotencyKey, refusal } from './refusal';

const digits = (s: string) => s.replace(/\D/g, '');

interface Problems {
  form: string | null;
  fields: Record<string, string>;
}
const none: Problems = { form: null, fields: {} };

/**
 * What the officer decided, as the API confirmed it. Held by DecisionForms, not by the form that sent it: the refetch
 * after a decision shows the batch no longer submitted, which replaces the forms, and the confirmation must outlive them.
 */
type Decision = { kind: 'approved'; itemCount: number; totalAmount: number } | { kind: 'rejected' };

function ApproveForm({ batch, onDecided }: { batch: Batch; onDecided: (d: Decision) => void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [itemCount, setItemCount] = useState('');
  const [total, setTotal] = useState('');
  const [totp, setTotp] = useState('');
  const [note, setNote] = useState('');
  const [problems, setProblems] = useState<Problems>(none);
  const [key, setKey] = useState(newIdempotencyKey);
  const approve = useMutation({
    mutationFn: () =>
      approvalsApi.approve(
        batch.id,
        {
          itemCount: Number(itemCount),
          totalAmount: Number(total),
          version: batch.version,
          totp,
          ...(note.trim() ? { note: note.trim() } : {}),
        },
        key,
      ),
    onSuccess: async (approved) => {
      onDecided({ kind: 'approved', itemCount: approved.itemCount, totalAmount: approved.totalAmount });
      await queryClient.invalidateQueries({ queryKey: ['approvals'] });
    },
    onError: (e) => {
      setKey(newIdempotencyKey());
      setTotp('');
      if (e instanceof ApiError && (e.code === 'INVALID_TOTP' || e.code === 'TOTP_REQUIRED')) {
        setProblems({ form: null, fields: { totp: refusal(t, 'approvals', e) } });
      } else setProblems({ form: refusal(t, 'approvals', e), fields: {} });
      if (e instanceof ApiError && e.code === 'BATCH_CHANGED') void queryClient.invalidateQueries({ queryKey: ['approvals'] });
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const fields: Record<string, string> = {};
    if (!itemCount) fields.itemCount = t('form.required');
    else if (Number(itemCount) !== batch.itemCount) fields.itemCount = t('approvals.approve.countDiffers');
    if (!total) fields.totalAmount = t('form.required');
    else if (Number(total) !== batch.totalAmount) fields.totalAmount = t('approvals.approve.totalDiffers');
    if (!/^\d{6}$/.test(totp)) fields.totp = t('form.sixDigits');
    setProblems({ form: null, fields });
    if (Object.keys(fields).length === 0) approve.mutate();
  }

  const typed = total && Number.isSafeInteger(Number(total)) ? Number(total) : null;
  return (
    <form onSubmit={submit} noValidate aria-busy={approve.isPending} aria-labelledby="approve-title">
      <h3 id="approve-title">{t('approvals.approve.title')}</h3>
      <p>{t('approvals.approve.intro')}</p>
      <FormError message={problems.form} />
      <Field
        label={t('approvals.approve.itemCount')}
        name="itemCount"
        inputMode="numeric"
        autoComplete="off"
        value={itemCount}
        onChange={(e) => setItemCount(digits(e.target.value))}
        error={problems.fields.itemCount}
      />
      <Field
        label={t('approvals.approve.total')}
        name="totalAmount"
        inputMode="numeric"
        autoComplete="off"
        value={total}
        onChange={(e) => setTotal(digits(e.target.value))}
        error={problems.fields.totalAmount}
        hint={
          typed !== null ? (
            <>
              {formatMoney(typed)}: <AmountInWords amount={typed} />
            </>
          ) : (
            t('approvals.approve.totalHint')
          )
        }
      />
      <Field
        label={t('approvals.approve.totp')}
        name="totp"
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={6}
        value={totp}
        onChange={(e) => setTotp(digits(e.target.value))}
        error={problems.fields.totp}
        hint={t('approvals.approve.totpHint')}
      />
      <Field label={t('approvals.approve.note')} name="note" maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
      <div className="actions">
        <button type="submit" className="primary" disabled={approve.isPending}>
          {t('approvals.approve.submit')}
        </button>
      </div>
    </form>
  );
}

function RejectForm({ batch, onDecided }: { batch: Batch; onDecided: (d: Decision) => void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const id = useId();
  const [reason, setReason] = useState('');
  const [problems, setProblems] = useState<Problems>(none);
  const [key, setKey] = useState(newIdempotencyKey);
  const reject = useMutation({
    mutationFn: () => approvalsApi.reject(batch.id, reason.trim(), key),
    onSuccess: async () => {
      onDecided({ kind: 'rejected' });
      await queryClient.invalidateQueries({ queryKey: ['approvals'] });
    },
    onError: (e) => {
      setKey(newIdempotencyKey());
      setProblems({ form: refusal(t, 'approvals', e), fields: {} });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!reason.trim()) {
      setProblems({ form: null, fields: { reason: t('approvals.reject.reasonRequired') } });
      return;
    }
    reject.mutate();
  }
  const err = problems.fields.reason;
  return (
    <form onSubmit={submit} noValidate aria-busy={reject.isPending} aria-labelledby="reject-title">
      <h3 id="reject-title">{t('approvals.reject.title')}</h3>
      <FormError message={problems.form} />
      <div className={err ? 'field field--invalid' : 'field'}>
        <label htmlFor={id}>{t('approvals.reject.reason')}</label>
        <textarea
          id={id}
          name="reason"
          rows={3}
          maxLength={1000}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          aria-invalid={err ? true : undefined}
          aria-describedby={err ? `${id}-error` : undefined}
        />
        {err ? (
          <p className="field__error" id={`${id}-error`}>
            {err}
          </p>
        ) : null}
      </div>
      <div className="actions">
        <button type="submit" disabled={reject.isPending}>
          {t('approvals.reject.submit')}
        </button>
      </div>
    </form>
  );
}

/** Approve or reject, shown only when the officer may decide; otherwise why they may not. */
export function DecisionForms({ batch, involved }: { batch: Batch; involved: 'created' | 'submitted' | null }) {
  const { t } = useI18n();
  const [decided, setDecided] = useState<{ batchId: Batch['id']; decision: Decision } | null>(null);
  if (decided && decided.batchId === batch.id) {
    const d = decided.decision;
    return (
      <p className="success" role="status">
        {d.kind === 'approved'
          ? t('approvals.approve.done', { items: d.itemCount.toLocaleString('vi-VN'), total: formatMoney(d.totalAmount) })
          : t('approvals.reject.done')}
      </p>
    );
  }
  const onDecided = (decision: Decision) => setDecided({ batchId: batch.id, decision });
  if (batch.status !== 'submitted') {
    return (
      <p className="notice">
        {t('approvals.decision.notSubmitted', { status: t(`approvals.status.${batch.status}` as 'approvals.status.submitted') })}
      </p>
    );
  }
  if (involved) {
    return <p className="notice">{t(involved === 'created' ? 'approvals.decision.youCreated' : 'approvals.decision.youSubmitted')}</p>;
  }
  return (
    <>
      <ApproveForm batch={batch} onDecided={onDecided} />
      <RejectForm batch={batch} onDecided={onDecided} />
    </>
  );
}

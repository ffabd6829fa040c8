import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, csrfHeader, unwrap, type Schemas } from '../../api/client';
import { ApiError } from '../../api/errors';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { Money } from '../../ui/money';
import { idempotencyKey, keys, LIVE, type Batch } from './api';
import { batchError, canMake } from './parts';
import { PayPointScheduleForm, scheduleText } from './paypoint-schedule';
import { payPointProblemText, type PayPointProblem } from './reason-text';

type PayPoint = Schemas['BatchPayPoints']['paypoints'][number];
interface Results {
  paid: number;
  notCollected: number;
  unchanged: number;
}

const POLL_MS = 2000;

/** Sends the pay points' results file as the API's multipart upload, with the session's CSRF header. */
function uploadResults(batchId: string, file: File): Promise<Results> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/batches/${batchId}/paypoints/results`);
    for (const [name, value] of Object.entries(csrfHeader())) xhr.setRequestHeader(name, value);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText) as unknown;
      } catch {
        body = undefined;
      }
      if (xhr.status === 200) resolve(body as Results);
      else reject(ApiError.from(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'upload failed', undefined, undefined));
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}

function problemsOf(e: unknown): PayPointProblem[] {
  if (!(e instanceof ApiError)) return [];
  const d = e.details as { problems?: PayPointProblem[] } | undefined;
  return Array.isArray(d?.problems) ? d.problems : [];
}

/**
 * Cash pay points of a released batch: each commune's cash payments with their count and total, the printable
 * hand-over list, the hand-over itself, and the results file the pay points return (checked whole by the API).
 */
export function PayPointsPanel({ b }: { b: Batch }) {
  const { t } = useI18n();
  const me = useMe();
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [scheduling, setScheduling] = useState<number | null>(null);
  const processing = b.status === 'processing';
  const points = useQuery({
    queryKey: [...keys.batch(b.id), 'paypoints', b.status],
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/batches/{id}/paypoints', { params: { path: { id: b.id } }, signal })),
    refetchInterval: LIVE.includes(b.status) ? POLL_MS : false,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.batch(b.id) });
  const handOver = useMutation({
    mutationFn: (p: PayPoint | null) =>
      unwrap(
        api.POST('/api/v1/batches/{id}/paypoints/handover', {
          params: { path: { id: b.id }, header: idempotencyKey() },
          body: p ? { areaId: p.areaId } : {},
        }),
      ),
    onSuccess: (r) => setDone(t('batches.paypoints.handedOverDone', { count: r.handedOver })),
    onSettled: refresh,
  });
  const results = useMutation({
    mutationFn: (f: File) => uploadResults(b.id, f),
    onSettled: refresh,
  });
  const rows = points.data?.paypoints ?? [];
  if (!points.data || rows.length === 0) return null;
  const maker = canMake(me.roles);
  // setting a hand-over is staff's work (the API's rule); administrators only hand over
  const scheduler = me.roles.includes('staff');
  const editing = rows.find((r) => r.areaId === scheduling) ?? null;
  const pending = rows.reduce((n, r) => n + r.pending, 0);
  const problems = problemsOf(results.error);

  const onUpload = (e: FormEvent) => {
    e.preventDefault();
    if (file) results.mutate(file);
  };

  return (
    <section aria-labelledby="paypoints-title" className="panel">
      <h2 id="paypoints-title">{t('batches.paypoints.title')}</h2>
      <p>{t('batches.paypoints.intro')}</p>
      <FormError message={handOver.isError ? batchError(t, handOver.error) : null} />
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      <table>
        <caption>{t('batches.paypoints.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('batches.paypoints.col.point')}</th>
            <th scope="col" className="num">
              {t('batches.col.count')}
            </th>
            <th scope="col" className="num">
              {t('batches.col.amount')}
            </th>
            <th scope="col" className="num">
              {t('batches.paypoints.col.pending')}
            </th>
            <th scope="col" className="num">
              {t('batches.paypoints.col.handedOver')}
            </th>
            <th scope="col" className="num">
              {t('batches.paypoints.col.paid')}
            </th>
            <th scope="col" className="num">
              {t('batches.paypoints.col.notCollected')}
            </th>
            <th scope="col">{t('batches.paypoints.col.schedule')}</th>
            <th scope="col">{t('batches.paypoints.col.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const name = `${r.areaName} (${r.areaCode})`;
            return (
              <tr key={r.areaId}>
                <th scope="row">{name}</th>
                <td className="num">{r.count.toLocaleString('vi-VN')}</td>
                <td className="num">
                  <Money amount={r.amount} />
                </td>
                <td className="num">{r.pending.toLocaleString('vi-VN')}</td>
                <td className="num">{r.handedOver.toLocaleString('vi-VN')}</td>
                <td className="num">{r.paid.toLocaleString('vi-VN')}</td>
                <td className="num">{r.notCollected.toLocaleString('vi-VN')}</td>
                <td>{scheduleText(t, r.schedule)}</td>
                <td>
                  <a
                    href={`/api/v1/batches/${b.id}/items/export.xlsx?channel=CASH&areaId=${r.areaId}`}
                    download
                    aria-label={t('batches.paypoints.downloadFor', { name })}
                  >
                    {t('batches.paypoints.download')}
                  </a>
                  {maker && processing && r.pending > 0 ? (
                    <>
                      {' '}
                      <button
                        type="button"
                        disabled={handOver.isPending}
                        aria-label={t('batches.paypoints.handOverFor', { name })}
                        onClick={() => handOver.mutate(r)}
                      >
                        {t('batches.paypoints.handOver')}
                      </button>
                    </>
                  ) : null}
                  {scheduler && processing && r.pending + r.handedOver > 0 ? (
                    <>
                      {' '}
                      <button
                        type="button"
                        aria-expanded={scheduling === r.areaId}
                        aria-label={t(r.schedule ? 'batches.paypoints.schedule.changeFor' : 'batches.paypoints.schedule.setFor', { name })}
                        onClick={() => {
                          setDone(null);
                          setScheduling(scheduling === r.areaId ? null : r.areaId);
                        }}
                      >
                        {t(r.schedule ? 'batches.paypoints.schedule.change' : 'batches.paypoints.schedule.set')}
                      </button>
                    </>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {editing && processing ? (
        <PayPointScheduleForm
          key={`${editing.areaId}-${editing.schedule?.revision ?? 0}`}
          b={b}
          point={editing}
          onDone={(message) => {
            setScheduling(null);
            setDone(message);
          }}
        />
      ) : null}
      {maker && processing && pending > 0 && rows.length > 1 ? (
        <button type="button" disabled={handOver.isPending} onClick={() => handOver.mutate(null)}>
          {t('batches.paypoints.handOverAll', { count: pending })}
        </button>
      ) : null}
      {maker && processing ? (
        <form className="inline-form" onSubmit={onUpload} aria-labelledby="paypoints-upload-title">
          <h3 id="paypoints-upload-title">{t('batches.paypoints.upload.title')}</h3>
          <div className="field">
            <label htmlFor="paypoints-file">{t('batches.paypoints.upload.file')}</label>
            <p className="field__hint" id="paypoints-file-hint">
              {t('batches.paypoints.upload.hint')}
            </p>
            <input
              id="paypoints-file"
              type="file"
              accept=".csv,text/csv"
              aria-describedby="paypoints-file-hint"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                results.reset();
              }}
            />
          </div>
          <button type="submit" className="primary" disabled={!file || results.isPending}>
            {t('batches.paypoints.upload.button')}
          </button>
        </form>
      ) : null}
      {!processing ? <p>{t('batches.paypoints.notProcessing')}</p> : null}
      {results.isSuccess ? (
        <p className="success" role="status" data-testid="paypoints-outcome">
          {t('batches.paypoints.upload.done', {
            paid: results.data.paid,
            notCollected: results.data.notCollected,
            unchanged: results.data.unchanged,
          })}
        </p>
      ) : null}
      {results.isError ? (
        <div role="alert" className="form-error">
          <p>{problems.length ? t('batches.paypoints.upload.refused', { count: problems.length }) : batchError(t, results.error)}</p>
        </div>
      ) : null}
      {problems.length ? (
        <table>
          <caption>{t('batches.paypoints.problems.caption')}</caption>
          <thead>
            <tr>
              <th scope="col" className="num">
                {t('batches.paypoints.problems.line')}
              </th>
              <th scope="col">{t('batches.paypoints.problems.column')}</th>
              <th scope="col">{t('batches.paypoints.problems.reason')}</th>
            </tr>
          </thead>
          <tbody>
            {problems.map((p, i) => (
              <tr key={`${p.row}-${i}`}>
                <td className="num">{p.row}</td>
                <td>{p.column ?? ''}</td>
                <td>{payPointProblemText(t, p)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

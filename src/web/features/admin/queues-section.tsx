import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Switch, useParams } from 'wouter';
import { api, newIdempotencyKey, unwrap, type Schemas } from '../../api/client';
import { useI18n } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { formatDate, formatTime } from '../../ui/format';
import { PageTitle } from '../../ui/page-title';
import { refusal, SelectField } from './controls';
import { ConfirmAction } from './edit-form';
import './admin.css';

type Queue = Schemas['Queue'];
type Job = Schemas['QueueJob'];
type State = Job['state'];
const STATES: readonly State[] = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'];
/** Jobs per page of a queue's list. */
const PAGE = 50;
const POLL_MS = 10_000;

function useQueues() {
  return useQuery({
    queryKey: ['queues'],
    queryFn: () => unwrap(api.GET('/api/v1/admin/queues')),
    refetchInterval: POLL_MS,
  });
}

function QueueStatus({ q }: { q: Queue }) {
  const { t } = useI18n();
  return <>{q.paused ? t('admin.queues.paused') : q.providerPaused ? t('admin.queues.providerPaused') : t('admin.queues.running')}</>;
}

function When({ value }: { value: string | null }) {
  if (!value) return <>–</>;
  return <time dateTime={value}>{`${formatDate(value)} ${formatTime(value)}`}</time>;
}

/** Jobs per queue and state, read again every 10 seconds while the page is open. */
function QueueList() {
  const { t } = useI18n();
  const queues = useQueues();
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.queues.title')}</PageTitle>
      <p>{t('admin.queues.intro')}</p>
      {queues.error ? <FormError message={refusal(t, 'admin', queues.error)} /> : null}
      <div className="table-wrap">
        <table>
          <caption>{t('admin.queues.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.queues.name')}</th>
              <th scope="col">{t('admin.status')}</th>
              {STATES.map((s) => (
                <th key={s} scope="col" className="num">
                  {t(`admin.queues.state.${s}`)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody aria-busy={queues.isFetching}>
            {(queues.data?.items ?? []).map((q) => (
              <tr key={q.name}>
                <th scope="row">
                  <Link href={`/${encodeURIComponent(q.name)}`}>{q.name}</Link>
                  {q.providerName ? ` (${q.providerName})` : ''}
                </th>
                <td>
                  <QueueStatus q={q} />
                </td>
                {STATES.map((s) => (
                  <td key={s} className="num">
                    {q.counts[s]}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}

function JobData({ data }: { data: Job['data'] }) {
  const entries = Object.entries(data);
  if (entries.length === 0) return <>–</>;
  return <span className="job-data">{entries.map(([k, v]) => `${k}=${String(v)}`).join(', ')}</span>;
}

/**
 * One queue: its state, pause and resume with a confirmation, and its jobs of one state a page at a time (the API's
 * offset; the queue's count of that state says how many pages there are).
 */
function QueuePage() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const name = decodeURIComponent(useParams<{ name: string }>().name);
  const [state, setState] = useState<State>('failed');
  const [offset, setOffset] = useState(0);
  const [done, setDone] = useState<string | null>(null);
  const queues = useQueues();
  const q = queues.data?.items.find((x) => x.name === name);
  const jobs = useQuery({
    queryKey: ['queues', name, 'jobs', state, offset],
    queryFn: ({ signal }) =>
      unwrap(api.GET('/api/v1/admin/queues/{name}/jobs', { params: { path: { name }, query: { state, limit: PAGE, offset } }, signal })),
    placeholderData: keepPreviousData,
    refetchInterval: POLL_MS,
  });
  const total = q?.counts[state] ?? 0;
  const items = jobs.data?.items ?? [];
  const setPaused = (pause: boolean) => () =>
    unwrap(
      api.POST(pause ? '/api/v1/admin/queues/{name}/pause' : '/api/v1/admin/queues/{name}/resume', {
        params: { path: { name } },
        headers: { 'Idempotency-Key': newIdempotencyKey() },
      }),
    );
  return (
    <main id="main" className="page">
      <PageTitle>{t('admin.queues.queueTitle', { name })}</PageTitle>
      <p>
        <Link href="/">{t('admin.queues.back')}</Link>
      </p>
      {queues.error ? <FormError message={refusal(t, 'admin', queues.error)} /> : null}
      {done ? (
        <p className="success" role="status">
          {done}
        </p>
      ) : null}
      {q ? (
        <>
          <dl className="facts">
            <dt>{t('admin.status')}</dt>
            <dd>
              <QueueStatus q={q} />
            </dd>
            {q.providerName ? (
              <>
                <dt>{t('admin.queues.provider')}</dt>
                <dd>{q.providerName}</dd>
              </>
            ) : null}
          </dl>
          <ConfirmAction
            label={t(q.paused ? 'admin.queues.resume' : 'admin.queues.pause', { name })}
            question={t(
              q.paused ? 'admin.queues.resumeAsk' : q.kind === 'provider' ? 'admin.queues.pauseAskProvider' : 'admin.queues.pauseAsk',
              { name },
            )}
            confirmLabel={t(q.paused ? 'admin.queues.resumeYes' : 'admin.queues.pauseYes')}
            primary={q.paused}
            run={setPaused(!q.paused)}
            onDone={(after) => {
              setDone(t(after.paused ? 'admin.queues.pausedNow' : 'admin.queues.resumedNow', { name }));
              qc.setQueryData(['queues'], (old: { items: Queue[] } | undefined) =>
                old ? { items: old.items.map((x) => (x.name === after.name ? after : x)) } : old,
              );
              void qc.invalidateQueries({ queryKey: ['queues'] });
            }}
          />
        </>
      ) : null}
      <h2>{t('admin.queues.jobsTitle')}</h2>
      <form className="filters" role="search" aria-label={t('admin.filters')} onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label={t('admin.queues.stateFilter')}
          value={state}
          onChange={(e) => {
            setState(e.target.value as State);
            setOffset(0);
          }}
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {q ? t('admin.queues.stateCount', { state: t(`admin.queues.state.${s}`), count: q.counts[s] }) : t(`admin.queues.state.${s}`)}
            </option>
          ))}
        </SelectField>
      </form>
      {jobs.error ? <FormError message={refusal(t, 'admin', jobs.error)} /> : null}
      <div className="table-wrap">
        <table>
          <caption>{t('admin.queues.jobsCaption', { state: t(`admin.queues.state.${state}`), name })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.queues.jobId')}</th>
              <th scope="col">{t('admin.queues.jobName')}</th>
              <th scope="col">{t('admin.queues.jobData')}</th>
              <th scope="col" className="num">
                {t('admin.queues.attempts')}
              </th>
              <th scope="col">{t('admin.queues.createdAt')}</th>
              <th scope="col">{t(state === 'delayed' ? 'admin.queues.dueAt' : 'admin.queues.finishedAt')}</th>
              <th scope="col">{t('admin.queues.failedReason')}</th>
            </tr>
          </thead>
          <tbody aria-busy={jobs.isFetching}>
            {items.length === 0 && !jobs.isFetching ? (
              <tr>
                <td colSpan={7}>{t('admin.queues.noJobs')}</td>
              </tr>
            ) : null}
            {items.map((j) => (
              <tr key={j.id}>
                <td className="job-data">{j.id}</td>
                <td>{j.name}</td>
                <td>
                  <JobData data={j.data} />
                </td>
                <td className="num">{`${j.attemptsMade}/${j.attempts}`}</td>
                <td>
                  <When value={j.createdAt} />
                </td>
                <td>
                  <When value={state === 'delayed' ? j.dueAt : j.finishedAt} />
                </td>
                <td>{j.failedReason ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label={t('admin.queues.pages')}>
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          {t('admin.queues.previous')}
        </button>
        <span role="status">
          {items.length
            ? t('admin.queues.range', { from: offset + 1, to: offset + items.length, total: Math.max(total, offset + items.length) })
            : ''}
        </span>
        <button type="button" disabled={items.length < PAGE || offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          {t('admin.queues.next')}
        </button>
      </nav>
    </main>
  );
}

export default function QueuesSection() {
  return (
    <Switch>
      <Route path="/" component={QueueList} />
      <Route path="/:name" component={QueuePage} />
    </Switch>
  );
}

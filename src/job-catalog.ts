import type { JobOptions } from 'bull';
import type { QueueFactory, QueueSettings } from './platform/queue';
import type { ChunkJob } from './components/payments/payment-engine';

/**
 * Every queue and job of the service, with its payload type, schedule and retry policy; components queue work only
 * through the enqueue helpers below. The worker (jobs/worker.ts) refuses to start when a job here has no processor.
 */
export interface JobCatalog {
  /** Daily: disable accounts unused for longer than AUTH_INACTIVE_DAYS. */
  'users.disable-inactive': Record<string, never>;
  /** Run one uploaded roll import (read, check, merge). */
  'rolls.import': { importId: string };
  /** Every 5 minutes: queue again imports left queued or running without a job (Redis lost it, or queueing failed after the upload). */
  'rolls.sweep': Record<string, never>;
  /** Daily: delete Idempotency-Key records past their 24 hours. */
  'idempotency.purge': Record<string, never>;
  /** Look up the accounts of a batch's bank and wallet payments at their providers (contract section 7). */
  'batches.check-accounts': { batchId: string };
  /** Delayed until a scheduled batch's start: check floats and release it. `at` is the start (ms) it was queued for. */
  'batches.release': { batchId: string; at: number };
  /** A released batch: cut its payments into send jobs on each provider's queue (payments.p<providerId>). */
  'payments.dispatch': { batchId: string };
  /** Load a received statement's lines and match them against the payments. */
  'reconciliation.process': { statementId: string };
  /** Daily: fetch every API provider's statement of the day before; then queue again statements left unmatched. */
  'reconciliation.fetch': Record<string, never>;
  /** Every 5 minutes: queue again statements received but not matched (Redis lost the job, a worker died). */
  'reconciliation.sweep': Record<string, never>;
  /** Daily: delete export files older than EXPORT_RETENTION_DAYS (manifests stay, marked expired). */
  'exports.purge': Record<string, never>;
  /** Send due SMS messages (one dispatcher at a time across workers; queued by each worker every NOTIFY_DISPATCH_MS). */
  'notifications.dispatch': Record<string, never>;
  /** Collect new events into messages; lapsed claims to unknown, stale messages dropped (every 5 × NOTIFY_DISPATCH_MS). */
  'notifications.sweep': Record<string, never>;
  /** Every 15 minutes: append a signed checkpoint of the audit chain's end to AUDIT_CHECKPOINT_DIR and log it. */
  'audit.checkpoint': Record<string, never>;
}

export type JobName = keyof JobCatalog;

export const JOB_NAMES: readonly JobName[] = [
  'users.disable-inactive',
  'rolls.import',
  'rolls.sweep',
  'idempotency.purge',
  'batches.check-accounts',
  'batches.release',
  'payments.dispatch',
  'reconciliation.process',
  'reconciliation.fetch',
  'reconciliation.sweep',
  'exports.purge',
  'audit.checkpoint',
  'notifications.dispatch',
  'notifications.sweep',
];

/** Repeating jobs: cron in Asia/Ho_Chi_Minh. */
export const SCHEDULES: Partial<Record<JobName, string>> = {
  'users.disable-inactive': '15 1 * * *',
  'rolls.sweep': '*/5 * * * *',
  'idempotency.purge': '40 2 * * *',
  // providers close their business day at midnight; their statements are ready by morning
  'reconciliation.fetch': '30 6 * * *',
  'reconciliation.sweep': '*/5 * * * *',
  'exports.purge': '55 2 * * *',
  // a tail cut after the last checkpoint is seen only by the keyed head: keep that window short
  'audit.checkpoint': '*/15 * * * *',
};

export const SCHEDULE_TZ = 'Asia/Ho_Chi_Minh';

/** Attempts of a roll import that fails (throws) before it is marked failed. */
const ROLL_IMPORT_ATTEMPTS = 3;

/** Attempts of a batch release or account check before the sweeper takes over. */
const BATCH_JOB_ATTEMPTS = 5;

/** How often a queued job is tried and how long the first retry waits (doubling after): one line per kind of job. */
const RETRIES = {
  'rolls.import': { attempts: ROLL_IMPORT_ATTEMPTS, backoffMs: 5000 },
  'batches.check-accounts': { attempts: BATCH_JOB_ATTEMPTS, backoffMs: 5000 },
  'batches.release': { attempts: BATCH_JOB_ATTEMPTS, backoffMs: 5000 },
  'payments.dispatch': { attempts: BATCH_JOB_ATTEMPTS, backoffMs: 2000 },
  'reconciliation.process': { attempts: 5, backoffMs: 5000 },
  // the worker queues them again within seconds: a failure is not retried by Bull
  'notifications.dispatch': { attempts: 1, backoffMs: 1000 },
  'notifications.sweep': { attempts: 1, backoffMs: 1000 },
  /** a provider's send or inquiry chunk (payments.p<providerId>) */
  chunk: { attempts: 3, backoffMs: 1000 },
} as const satisfies Record<string, { attempts: number; backoffMs: number }>;

/**
 * The options of every job queued on demand. The id names the job's work, so the same work queued twice is one job.
 * Finished and failed jobs are removed: the database, not Bull, keeps the outcome and why, and a removed failed job
 * can be queued again by the sweepers under the same id.
 */
export function jobOptions(kind: keyof typeof RETRIES, jobId: string, delayMs?: number): JobOptions {
  const { attempts, backoffMs } = RETRIES[kind];
  return {
    jobId,
    ...(delayMs === undefined ? {} : { delay: delayMs }),
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** The options of a repeating job's schedule (SCHEDULES): one schedule per job, the last hundred runs kept for the queue view. */
export function scheduleOptions(name: JobName): JobOptions {
  const cron = SCHEDULES[name];
  if (!cron) throw new Error(`${name} has no schedule`);
  return { repeat: { cron, tz: SCHEDULE_TZ }, jobId: `${name}:schedule`, removeOnComplete: 100, removeOnFail: 100 };
}

/**
 * The job id is derived from the import: queued twice (upload, worker restart), it runs once. A job whose worker
 * died is given to the next worker once (Bull's stalled check), then failed by Bull; failed jobs are removed so that
 * the sweeper can queue the import again, and its next start fails it with WORKER_CRASHED (RollImportRunner.startRun)
 * rather than leaving it `running`. The database, not Bull, keeps an import's outcome and why.
 */
export async function enqueueRollImport(queues: QueueFactory, importId: string): Promise<void> {
  await queues.get<JobCatalog['rolls.import']>('rolls.import').add({ importId }, jobOptions('rolls.import', `roll-import-${importId}`));
}

/** One account check per batch at a time: queued twice, it runs once. */
export async function enqueueAccountCheck(queues: QueueFactory, batchId: string): Promise<void> {
  await queues
    .get<JobCatalog['batches.check-accounts']>('batches.check-accounts')
    .add({ batchId }, jobOptions('batches.check-accounts', `batch-check-${batchId}`));
}

/**
 * A Bull delayed job firing at the batch's start. The id names the batch and
 * the start, so a rescheduled batch gets a new job and the old one finds the
 * batch no longer scheduled for its moment; queued again by the sweeper after
 * a restart or a Redis flush, it is still one job.
 */
export async function enqueueBatchRelease(queues: QueueFactory, batchId: string, at: Date, now = Date.now()): Promise<void> {
  await queues
    .get<JobCatalog['batches.release']>('batches.release')
    .add({ batchId, at: at.getTime() }, jobOptions('batches.release', batchReleaseJobId(batchId, at), Math.max(0, at.getTime() - now)));
}

export function batchReleaseJobId(batchId: string, at: Date): string {
  return `batch-release-${batchId}-${at.getTime()}`;
}

/** Queued on release (and by the sweeper); one per batch at a time. */
export async function enqueueDispatch(queues: QueueFactory, batchId: string): Promise<void> {
  await queues
    .get<JobCatalog['payments.dispatch']>('payments.dispatch')
    .add({ batchId }, jobOptions('payments.dispatch', `dispatch-${batchId}`));
}

/**
 * Bull's settings for the payment queues (a batch's dispatch, each provider's chunks): a job whose worker died comes
 * back within seconds, not Bull's 30 s. Its lock lapses after `lockDuration` without renewal (renewed every half of
 * it) and the next check for stalled jobs (every `stalledInterval`, in every worker) gives it to another worker.
 * Running a payment job again is harmless (each claim is conditional), so a job may stall several times (workers
 * killed in a row) before Bull fails it. A worker whose event loop stalls past the lock has its job run elsewhere too.
 * After the Redis keys are deleted, each job running then fails to complete (its lock is gone) and Bull rests that
 * slot of the worker for `retryProcessDelay` (5 s by default) before taking the next job: half a second here.
 */
export const PAYMENT_QUEUE_SETTINGS = { lockDuration: 5000, stalledInterval: 1000, maxStalledCount: 5, retryProcessDelay: 500 } as const;

/**
 * The settings of a queue by name: the payment queues' short locks, and the same for the SMS dispatcher and sweep
 * (one fixed job id each: while a dead worker's job still counts as running, no other worker can queue the next, and
 * every message waits); Bull's defaults for the rest. Running an SMS job twice at once is harmless (claims are
 * conditional).
 */
export const queueSettings: QueueSettings = (name) =>
  name === 'payments.dispatch' || /^payments\.p\d+$/.test(name) || name.startsWith('notifications.')
    ? { ...PAYMENT_QUEUE_SETTINGS }
    : undefined;

/** The Bull queue of one provider's send and inquiry chunks: a slow provider holds up only its own queue. */
export function providerQueueName(providerId: number): string {
  return `payments.p${providerId}`;
}

/** A chunk job's id names its work, so the same chunk queued twice is one job. */
export async function enqueueChunk(queues: QueueFactory, providerId: number, job: ChunkJob): Promise<void> {
  await queues
    .get<ChunkJob>(providerQueueName(providerId))
    .add(job, jobOptions('chunk', `${job.kind}-${job.batchId}-${job.fromSeq}-${job.toSeq}`));
}

/**
 * True when a provider's queue holds no job waiting, running, delayed or paused: nothing queued will reach its
 * payments (the engine's stranded-work check). An unknown queue counts as busy, so that an error queues nothing.
 */
export async function providerQueueIdle(queues: QueueFactory, providerId: number): Promise<boolean> {
  const c = (await queues.get<ChunkJob>(providerQueueName(providerId)).getJobCounts()) as unknown as Record<string, number | undefined>;
  return ['waiting', 'active', 'delayed', 'paused'].every((state) => (c[state] ?? 0) === 0);
}

/** One job per statement: received twice (upload and sweeper), it is processed once at a time. */
export async function enqueueStatement(queues: QueueFactory, statementId: string): Promise<void> {
  await queues
    .get<JobCatalog['reconciliation.process']>('reconciliation.process')
    .add({ statementId }, jobOptions('reconciliation.process', `statement-${statementId}`));
}

/**
 * The SMS dispatcher and the notification sweep, queued by every worker on a timer: one fixed id each, so that while
 * one is queued or running the others add nothing, and a lost job (Redis flushed) is queued again at the next tick.
 */
export async function enqueueNotificationJob(queues: QueueFactory, name: 'notifications.dispatch' | 'notifications.sweep'): Promise<void> {
  await queues.get<Record<string, never>>(name).add({}, jobOptions(name, name));
}

import type { QueueFactory } from '../src/platform/queue';

/**
 * Every queue and job of the service, with its payload type. The worker
 * refuses to start when a job here has no processor.
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
}

export type JobName = keyof JobCatalog;

export const JOB_NAMES: readonly JobName[] = ['users.disable-inactive', 'rolls.import', 'rolls.sweep', 'idempotency.purge'];

/** Repeating jobs: cron in Asia/Ho_Chi_Minh. */
export const SCHEDULES: Partial<Record<JobName, string>> = {
  'users.disable-inactive': '15 1 * * *',
  'rolls.sweep': '*/5 * * * *',
  'idempotency.purge': '40 2 * * *',
};

export const SCHEDULE_TZ = 'Asia/Ho_Chi_Minh';

/** Attempts of a roll import before it is marked failed. */
export const ROLL_IMPORT_ATTEMPTS = 3;

/** The job id is derived from the import: queued twice (upload, worker restart), it runs once. */
export async function enqueueRollImport(queues: QueueFactory, importId: string): Promise<void> {
  await queues.get<JobCatalog['rolls.import']>('rolls.import').add(
    { importId },
    {
      jobId: `roll-import-${importId}`,
      attempts: ROLL_IMPORT_ATTEMPTS,
      backoff: { type: 'exponential', delay: 5000 },
      removeOnComplete: true,
      removeOnFail: 1000,
    },
  );
}

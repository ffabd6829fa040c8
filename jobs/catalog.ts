/**
 * Every queue and job of the service, with its payload type. The worker
 * refuses to start when a job here has no processor.
 */
export interface JobCatalog {
  /** Daily: disable accounts unused for longer than AUTH_INACTIVE_DAYS. */
  'users.disable-inactive': Record<string, never>;
}

export type JobName = keyof JobCatalog;

export const JOB_NAMES: readonly JobName[] = ['users.disable-inactive'];

/** Repeating jobs: cron in Asia/Ho_Chi_Minh. */
export const SCHEDULES: Partial<Record<JobName, string>> = {
  'users.disable-inactive': '15 1 * * *',
};

export const SCHEDULE_TZ = 'Asia/Ho_Chi_Minh';

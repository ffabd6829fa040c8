import type { Infra, Services } from '../src/container';
import { enqueueAccountCheck, enqueueBatchRelease, type JobCatalog } from '../src/job-catalog';

export function checkAccounts(services: Services) {
  return ({ batchId }: JobCatalog['batches.check-accounts']) => services.accountChecker.run(batchId);
}

export function releaseBatch(services: Services) {
  return async ({ batchId, at }: JobCatalog['batches.release']) => ({ outcome: await services.releaser.releaseDue(batchId, new Date(at)) });
}

/**
 * The database is the source of truth for what must happen to batches: every
 * scheduled batch (not held for funds) gets its delayed release job, every
 * unfinished account check its job. Jobs have ids derived from the batch, so
 * queueing one that exists changes nothing; this runs at worker start and
 * every BATCH_SWEEP_SECONDS in each worker, and so survives a Redis flush.
 */
export function sweepBatches(services: Services, infra: Infra) {
  return async (): Promise<{ releases: number; checks: number }> => {
    const scheduled = (await infra.ds.query(
      "SELECT id, scheduled_for FROM batches WHERE status = 'scheduled' AND funds_hold_reason IS NULL AND scheduled_for IS NOT NULL",
    )) as { id: string; scheduled_for: Date }[];
    for (const b of scheduled) await enqueueBatchRelease(infra.queues, String(b.id), b.scheduled_for);
    const checks = (await infra.ds.query(
      "SELECT id FROM batches WHERE check_status IN ('pending', 'running') AND status <> 'cancelled'",
    )) as { id: string }[];
    for (const b of checks) await enqueueAccountCheck(infra.queues, String(b.id));
    return { releases: scheduled.length, checks: checks.length };
  };
}

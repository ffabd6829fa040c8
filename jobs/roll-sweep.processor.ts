import type { Infra, Services } from '../src/container';
import { enqueueRollImport } from '../src/job-catalog';

/** Queues again every import the database says is pending; the job id makes an import that still has its job run once. */
export function sweepRollImports(services: Services, infra: Infra) {
  return async (): Promise<{ queued: number }> => {
    const pending = await services.rollImports.pending();
    for (const p of pending) await enqueueRollImport(infra.queues, p.id);
    return { queued: pending.length };
  };
}

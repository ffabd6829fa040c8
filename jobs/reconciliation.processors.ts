import type { Infra, Services } from '../src/container';
import { SYSTEM_ACTOR } from '../src/platform/security';
import { enqueueStatement, type JobCatalog } from '../src/job-catalog';

export function processStatement(services: Services) {
  return ({ statementId }: JobCatalog['reconciliation.process']) => services.reconciliation.process(statementId);
}

/** Statements received but not matched get their job again (ids derived from the statement: queueing one that exists changes nothing). */
export function sweepStatements(services: Services, infra: Infra) {
  return async (): Promise<{ queued: number }> => {
    const ids = await services.reconciliation.unfinished();
    for (const id of ids) await enqueueStatement(infra.queues, id);
    return { queued: ids.length };
  };
}

/** The morning job: yesterday's statement of every API provider, as the system (each statement records who took it in). */
export function fetchStatements(services: Services, infra: Infra) {
  return async (): Promise<unknown> => {
    const out = await services.reconciliation.fetchAll({ ...SYSTEM_ACTOR, source: 'schedule' });
    await sweepStatements(services, infra)();
    return out;
  };
}

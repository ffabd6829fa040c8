import type { Infra, Services } from '../src/container';

/**
 * Thin: AuditService.writeCheckpoint appends it to the checkpoint file; the
 * log line is a second copy outside the database, wherever the logs are kept.
 */
export function writeAuditCheckpoint(services: Services, infra: Infra) {
  return async () => {
    const checkpoint = await services.audit.writeCheckpoint();
    infra.log.info('audit checkpoint', { checkpoint });
    return checkpoint;
  };
}

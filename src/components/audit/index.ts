export { AuditService, type AuditEvent, type AuditInput, type VerifyResult } from './audit.service';
export { AuditCheckpoints } from './audit-checkpoints';
export type { Checkpoint } from './audit-hash';
export { registerAuditRoutes } from './audit.routes';

export { AuditService, type AuditEvent, type AuditInput } from './audit.service';
export { registerAuditRoutes } from './audit.routes';

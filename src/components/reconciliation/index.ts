export { ReconciliationService } from './reconciliation.service';
export { registerReconciliationRoutes } from './reconciliation.routes';

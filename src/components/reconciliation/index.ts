export { ReconciliationService } from './reconciliation.service';
export { coversWholeTree } from './reconciliation.service';
export { registerReconciliationRoutes } from './reconciliation.routes';

export { ReconciliationService } from './reconciliation.service';
export { coversWholeTree } from './recon-scope';
export { registerReconciliationRoutes } from './reconciliation.routes';

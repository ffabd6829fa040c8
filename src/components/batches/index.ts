export { BatchesService, type BatchHooks } from './batches.service';
export { BatchReleaser, type AdapterSource } from './batch-release';
export { AccountChecker } from './account-check';
export { registerBatchRoutes } from './batches.routes';

import type { Api } from '../../platform/http';
import type { ReconciliationService } from './reconciliation.service';

export interface ReconciliationRouteDeps {
  recon: ReconciliationService;
  upload: { dir: string; maxBytes: number };
}

export function registerReconciliationRoutes(_api: Api, _d: ReconciliationRouteDeps): void {}

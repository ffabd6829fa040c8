export { RollImportRunner } from './roll-import/runner';
export type { RollImportOptions, RollImportReport } from './roll-import/types';
export { RollImportsService } from './roll-imports.service';
export { registerRollImportRoutes } from './roll-imports.routes';
export { BeneficiariesService } from './beneficiaries.service';
export { registerBeneficiaryRoutes } from './beneficiaries.routes';

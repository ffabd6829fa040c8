export { RollImportRunner } from './roll-import.runner';
export { RollImportsService } from './roll-imports.service';
export { registerRollImportRoutes } from './roll-imports.routes';

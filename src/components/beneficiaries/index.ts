export { RollImportRunner } from './roll-import/runner';
export type { RollImportOptions, RollImportReport } from './roll-import/types';
export { RollImportsService } from './roll-imports.service';
export { registerRollImportRoutes } from './roll-imports.routes';
export { BeneficiariesService } from './beneficiaries.service';
export { registerBeneficiaryRoutes } from './beneficiaries.routes';
// the file reading of roll imports (CSV and XLSX within the workbook limits), for other registries imported from files
export {
  fileError,
  plainCell,
  readRollFile as readSheetFile,
  type FileRow,
  type RollFormat as SheetFormat,
} from './roll-import/file-reader';
export { headerNames, isBlank } from './roll-import/file-rows';

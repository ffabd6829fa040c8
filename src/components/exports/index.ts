export { ExportsService, type ExportExtraSources } from './exports.service';
export { registerExportRoutes } from './exports.routes';
export { sharePercent, monthPayments, COVERAGE_DEFINITION } from './coverage';
export { resolveArea, type AreaRef } from './export-scope';
export { streamQuery, type ExportSource } from './export-sources';
export type { Cell } from './export-file';

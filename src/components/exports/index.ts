export { ExportsService } from './exports.service';
export { registerExportRoutes } from './exports.routes';
export { sharePercent } from './coverage';

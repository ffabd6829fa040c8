export { ExportsService } from './exports.service';
export { registerExportRoutes } from './exports.routes';

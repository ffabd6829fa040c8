import type { Api } from '../../platform/http';
import type { ExportsService } from './exports.service';

export function registerExportRoutes(_api: Api, _exports: ExportsService): void {}

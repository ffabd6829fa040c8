import type { DataSource } from 'typeorm';
import type { Period } from '../../platform/period';
import type { Principal } from '../../platform/security';
import type { AuditService } from '../audit';
import { resolveArea, type AreaRef, type ExportSource } from '../exports';
import { AccessReports, type AccessReport } from './access-report';
import { PointImports } from './point-import';
import { PointsService } from './points.service';

/** The withdrawal network: the registry of cash-out points, its file imports, and the access report. */
export class NetworkService {
  readonly points: PointsService;
  readonly imports: PointImports;
  private readonly reports: AccessReports;

  constructor(
    private readonly ds: DataSource,
    audit: AuditService,
  ) {
    this.points = new PointsService(ds, audit);
    this.imports = new PointImports(ds, audit);
    this.reports = new AccessReports(ds);
  }

  /** The access report of a month for an area (default: the caller's scope). */
  async accessReport(p: Principal, q: { period: Period; areaId?: number | undefined }): Promise<AccessReport> {
    return this.reports.report(await resolveArea(this.ds, p, q.areaId), q.period);
  }

  /** The access report as an export source (the export centre has resolved the area already). */
  accessSource(area: AreaRef | null, period: Period): ExportSource {
    return this.reports.source(area, period);
  }
}

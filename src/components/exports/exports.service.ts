import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../../../config';
import type { DataCipher } from '../../platform/crypto';
import type { AuditService } from '../audit';

/** Auditor exports (reconciliation logs, audit trail) with manifests, and the cashless coverage report. */
export class ExportsService {
  constructor(
    readonly ds: DataSource,
    readonly cipher: DataCipher,
    readonly audit: AuditService,
    readonly cfg: Config,
    readonly log: winston.Logger,
  ) {}
}

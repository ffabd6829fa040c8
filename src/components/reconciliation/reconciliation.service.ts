import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../../../config';
import type { DataCipher } from '../../platform/crypto';
import type { AuditService } from '../audit';
import type { ProvidersService } from '../providers';

/** Statements in, matched line by line against the payments; runs, exceptions and the batch view out. */
export class ReconciliationService {
  constructor(
    readonly ds: DataSource,
    readonly cipher: DataCipher,
    readonly audit: AuditService,
    readonly providers: ProvidersService,
    readonly cfg: Config,
    readonly log: winston.Logger,
  ) {}
}

import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../../../config';
import type { ReceivedFile } from '../../platform/http/upload';
import type { Actor, Principal, StepUp } from '../../platform/security';
import type { AuditService } from '../audit';
import type { ProvidersService } from '../providers';
import { ExceptionWorkflow } from './exception-workflow';
import type { ExceptionView } from './recon-views';
import { ReconciliationReads } from './recon-reads';
import { StatementIntake, type Intake } from './statement-intake';
import { StatementProcessor, type PhaseTimer, type Processed } from './statement-processing';

/**
 * Reconciliation, in four parts: statements in (`intake`: fetched from the
 * provider on schedule or on demand, or uploaded by staff; a pay point's
 * results file for the cash provider), loaded and matched line by line against
 * the payments by the worker (`processor`), read as statements, runs, lines,
 * exceptions and the reconciliation view of a batch (`reads`), and the
 * exceptions worked by staff (`exceptions`). The routes use the parts; the
 * worker's jobs, scripts and tests call the entry points below.
 */
export class ReconciliationService {
  readonly reads: ReconciliationReads;
  readonly intake: StatementIntake;
  readonly processor: StatementProcessor;
  readonly exceptions: ExceptionWorkflow;

  constructor(
    ds: DataSource,
    audit: AuditService,
    providers: ProvidersService,
    cfg: Pick<Config, 'importDir'>,
    log: winston.Logger,
    /** queue the loading and matching of a received statement (the worker's sweep queues it again if this is lost) */
    queue: (statementId: string) => Promise<void>,
    /** spends a fresh TOTP code: confirming a write-off gives money up and needs the second factor again */
    private readonly stepUp: StepUp,
  ) {
    this.reads = new ReconciliationReads(ds);
    this.intake = new StatementIntake(ds, audit, providers, this.reads, cfg, log, queue);
    this.processor = new StatementProcessor(ds, audit, cfg, log);
    this.exceptions = new ExceptionWorkflow(ds, audit);
  }

  /** The second person of a write-off, with a fresh code, spent before the confirmation is judged. */
  async confirmWriteOff(
    actor: Actor,
    p: Principal,
    id: string,
    input: { totp: string; note: string; version?: number | undefined },
  ): Promise<ExceptionView> {
    await this.stepUp(p, actor, input.totp, 'confirming a write-off');
    return this.exceptions.confirmWriteOff(actor, p, id, input.note, input.version);
  }

  upload(actor: Actor, providerName: string, date: string, file: ReceivedFile): Promise<Intake> {
    return this.intake.upload(actor, providerName, date, file);
  }

  fetchAll(actor: Actor, now?: Date): Promise<{ fetched: number; failed: number; date: string }> {
    return this.intake.fetchAll(actor, now);
  }

  process(statementId: string, onPhase?: PhaseTimer): Promise<Processed> {
    return this.processor.process(statementId, onPhase);
  }

  unfinished(): Promise<string[]> {
    return this.processor.unfinished();
  }
}

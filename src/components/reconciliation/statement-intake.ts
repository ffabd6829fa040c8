import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../../../config';
import { AppError, conflict, invalid } from '../../platform/errors';
import type { ReceivedFile } from '../../platform/http/upload';
import type { Actor } from '../../platform/security';
import { isDuplicateKey } from '../../platform/db';
import type { AuditService } from '../audit';
import type { Provider, ProvidersService } from '../providers';
import { businessDateBefore, checkBusinessDate } from './business-date';
import type { ReconciliationReads } from './recon-reads';
import type { StatementSource, StatementStatus } from './recon-states';
import type { StatementView } from './recon-views';
import { checkHeader, type StatementFormat } from './statement-file';

/** Where received statements are kept until (and after) the worker loads them: one file per statement. */
export function statementsDir(cfg: Pick<Config, 'importDir'>): string {
  return path.join(cfg.importDir, 'statements');
}

export function statementPath(dir: string, statementId: string): string {
  return path.join(dir, `statement-${statementId}.csv`);
}

export interface Intake {
  statement: StatementView;
  /** false: the same content was received before for this provider and day; nothing changed */
  created: boolean;
}

/**
 * Statements in: fetched from the provider (on schedule or on demand) or
 * uploaded by staff (for the cash provider, a pay point's results file);
 * checked at the door, recorded, kept as a file, and queued for the worker.
 */
export class StatementIntake {
  private readonly dir: string;

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly providers: ProvidersService,
    private readonly reads: ReconciliationReads,
    cfg: Pick<Config, 'importDir'>,
    private readonly log: winston.Logger,
    /** queue the loading and matching of a received statement (the worker's sweep queues it again if this is lost) */
    private readonly queue: (statementId: string) => Promise<void>,
  ) {
    this.dir = statementsDir(cfg);
  }

  private async provider(name: string): Promise<Provider> {
    try {
      return await this.providers.getByName(name);
    } catch {
      throw invalid('PROVIDER_NOT_FOUND', `no provider named "${name}"`);
    }
  }

  /** An uploaded statement (or, for a `file` provider, a pay point results file). Identical content again: the same statement. */
  async upload(actor: Actor, providerName: string, date: string, file: ReceivedFile): Promise<Intake> {
    try {
      const provider = await this.provider(providerName);
      checkBusinessDate(date);
      const format: StatementFormat = provider.kind === 'file' ? 'paypoint' : 'provider';
      await checkHeader(file.path, format);
      return await this.receive(actor, provider, date, 'uploaded', file.path, file.fileName, file.sha256);
    } finally {
      await rm(file.path, { force: true });
    }
  }

  /** Asks the provider for its statement of `date` (signature checked by the adapter) and takes it in. */
  async fetch(actor: Actor, providerName: string, date: string): Promise<Intake> {
    const provider = await this.provider(providerName);
    checkBusinessDate(date);
    if (provider.kind === 'file') throw invalid('PROVIDER_HAS_NO_API', `${provider.name} is a pay point provider: upload its results file`);
    const adapter = await this.providers.adapterFor(provider.id);
    if (!adapter) throw conflict('PROVIDER_HAS_NO_API', `${provider.name} has no adapter to ask`);
    await mkdir(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `fetch-${provider.id}-${date}-${process.pid}-${Date.now()}.part`);
    try {
      // streamed to a file as it arrives, its signature checked on the way: a statement of any size, memory flat
      const { sha256 } = await adapter.statementTo(date, tmp);
      try {
        await checkHeader(tmp, 'provider');
      } catch (e) {
        throw new AppError(
          'internal',
          'PROVIDER_BAD_RESPONSE',
          `${provider.name}'s statement is outside the contract: ${(e as Error).message}`,
        );
      }
      return await this.receive(actor, provider, date, 'fetched', tmp, `${provider.name}-${date}.csv`, sha256);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Every active API provider's statement of the business date before `now`: the daily job. */
  async fetchAll(actor: Actor, now = new Date()): Promise<{ fetched: number; failed: number; date: string }> {
    const date = businessDateBefore(now);
    let fetched = 0;
    let failed = 0;
    for (const p of await this.providers.list({ active: true })) {
      if (p.kind === 'file') continue;
      try {
        await this.fetch(actor, p.name, date);
        fetched += 1;
      } catch (err) {
        failed += 1;
        this.log.warn('fetching a statement failed; the next run or staff will fetch it', { provider: p.name, date, err });
      }
    }
    return { fetched, failed, date };
  }

  /** The statement of this provider, day and content, if received before. */
  private async existing(providerId: number, date: string, sha256: string): Promise<string | null> {
    const [r] = (await this.ds.query('SELECT id FROM statements WHERE provider_id = ? AND business_date = ? AND sha256 = ?', [
      providerId,
      date,
      sha256,
    ])) as { id: string }[];
    return r ? String(r.id) : null;
  }

  private async receive(
    actor: Actor,
    provider: Provider,
    date: string,
    source: StatementSource,
    filePath: string,
    fileName: string,
    sha256: string,
  ): Promise<Intake> {
    const before = await this.existing(provider.id, date, sha256);
    if (before !== null) return { statement: await this.reads.statementById(before), created: false };
    await mkdir(this.dir, { recursive: true });
    let id: string;
    try {
      id = await this.ds.transaction(async (em) => {
        const res = (await em.query(
          `INSERT INTO statements (provider_id, business_date, source, sha256, file_name, status, received_by, received_by_name)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [provider.id, date, source, sha256, fileName.slice(0, 255), 'received' satisfies StatementStatus, actor.userId, actor.username],
        )) as { insertId: number };
        const sid = String(res.insertId);
        const kept = statementPath(this.dir, sid);
        // another file system: copy through a write
        await rename(filePath, kept).catch(() => copyFile(filePath, kept));
        await this.audit.record(em, actor, {
          action: 'reconciliation.statement_received',
          entityType: 'statement',
          entityId: sid,
          after: { provider: provider.name, businessDate: date, source, sha256, fileName },
        });
        return sid;
      });
    } catch (e) {
      // the same statement received at the same moment by another request: that one stands
      if (isDuplicateKey(e)) {
        const again = await this.existing(provider.id, date, sha256);
        return { statement: await this.reads.statementById(again!), created: false };
      }
      throw e;
    }
    await this.queue(id).catch((err: unknown) => this.log.warn('queueing a statement failed; the sweeper will', { statementId: id, err }));
    return { statement: await this.reads.statementById(id), created: true };
  }
}

import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import type { Actor, Principal, StepUp } from '../../platform/security';
import type { AuditService } from '../audit';
import { resetAccountCheck } from './account-check';
import { writeItemsCsv, writeItemsXlsx, type ExportFormat } from './batch-export';
import { BatchCreation, type NewBatch } from './batch-creation';
import { BatchLifecycle, type Approval } from './batch-lifecycle';
import { BatchReads, type BatchFilter, type ItemFilter } from './batch-reads';
import { BatchReview, type ReviewInput } from './batch-review';

export { MAX_ARREARS_MONTHS, type NewBatch } from './batch-creation';
export { MAX_SCHEDULE_DAYS, type Approval } from './batch-lifecycle';
export {
  itemConditions,
  subtreeIds,
  type BatchFilter,
  type ItemFilter,
  type LeftOutView,
  type Totals,
  type TransitionView,
} from './batch-reads';
export { MAX_REVIEW_ITEMS, type ReviewInput } from './batch-review';

/** What the service tells the worker: checks to run, releases to schedule. */
export interface BatchHooks {
  accountCheckNeeded(batchId: string): Promise<void>;
  /** Staff asked for the check again: unlike a new batch's check, a failure to queue it is theirs to hear. */
  accountCheckAgain(batchId: string): Promise<void>;
  releaseScheduled(batchId: string, at: Date): Promise<void>;
}

/** An export of a batch's items, audited when prepared: `write` streams the file to `out`. */
export interface ItemsExport {
  batchId: string;
  format: ExportFormat;
  write(out: Writable): Promise<void>;
}

/**
 * Payment batches, as the routes, the release path and the pay points use them: reads and views (batch-reads),
 * creation and generation (batch-creation), review of items (batch-review), and the maker-checker state machine with
 * scheduling (batch-lifecycle). Every change runs in one transaction with its transition record and audit event.
 */
export class BatchesService {
  private readonly reads: BatchReads;
  private readonly creation: BatchCreation;
  private readonly reviews: BatchReview;
  private readonly lifecycle: BatchLifecycle;

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly hooks: BatchHooks,
    /** spends the approver's fresh TOTP code: an approval is a money decision and needs the second factor again */
    private readonly stepUp: StepUp,
  ) {
    this.reads = new BatchReads(ds);
    this.creation = new BatchCreation(ds, audit, hooks, this.reads);
    this.reviews = new BatchReview(ds, audit, this.reads);
    this.lifecycle = new BatchLifecycle(ds, audit, hooks, this.reads);
  }

  // reads
  visibleRow(p: Principal, id: string) {
    return this.reads.visibleRow(p, id);
  }
  get(p: Principal, id: string) {
    return this.reads.get(p, id);
  }
  list(p: Principal, f: BatchFilter, page: { limit: number; cursor?: string | undefined }) {
    return this.reads.list(p, f, page);
  }
  items(p: Principal, id: string, f: ItemFilter, page: { limit: number; cursor?: string | undefined }) {
    return this.reads.items(p, id, f, page);
  }
  totals(p: Principal, id: string, signal?: AbortSignal) {
    return this.reads.totals(p, id, signal);
  }
  leftOut(p: Principal, id: string, page: { limit: number; cursor?: string | undefined }) {
    return this.reads.leftOut(p, id, page);
  }
  transitions(p: Principal, id: string) {
    return this.reads.transitions(p, id);
  }

  // creation
  create(actor: Actor, p: Principal, input: NewBatch) {
    return this.creation.create(actor, p, input);
  }
  createRetry(actor: Actor, p: Principal, originalId: string, title?: string | null) {
    return this.creation.createRetry(actor, p, originalId, title);
  }

  // review
  review(actor: Actor, p: Principal, id: string, input: ReviewInput) {
    return this.reviews.review(actor, p, id, input);
  }

  // lifecycle
  submit(actor: Actor, p: Principal, id: string, note?: string | null) {
    return this.lifecycle.submit(actor, p, id, note);
  }
  /** The code is spent before the approval is judged: a refused approval has used it all the same. */
  async approve(actor: Actor, p: Principal, id: string, seen: Approval, totp: string, note?: string | null) {
    await this.stepUp(p, actor, totp, 'approving a batch');
    return this.lifecycle.approve(actor, p, id, seen, note);
  }
  reject(actor: Actor, p: Principal, id: string, reason: string) {
    return this.lifecycle.reject(actor, p, id, reason);
  }
  cancel(actor: Actor, p: Principal, id: string, reason: string) {
    return this.lifecycle.cancel(actor, p, id, reason);
  }
  schedule(actor: Actor, p: Principal, id: string, at: Date, now?: Date, enqueue?: boolean) {
    return this.lifecycle.schedule(actor, p, id, at, now, enqueue);
  }
  rowForRelease(id: string) {
    return this.lifecycle.rowForRelease(id);
  }
  scheduleNow(actor: Actor, p: Principal, id: string) {
    return this.lifecycle.scheduleNow(actor, p, id);
  }

  /** The account check again, for a batch still editable: every lookup cleared and the check queued. */
  async recheckAccounts(actor: Actor, p: Principal, id: string) {
    await this.lifecycle.assertRecheckable(actor, p, id);
    await resetAccountCheck(this.ds, id);
    await this.hooks.accountCheckAgain(id);
    return this.reads.get(p, id);
  }

  // exports
  /** The items of a batch the caller may see, as CSV or the printable XLSX list; the export is audited before any byte is written. */
  async exportItems(actor: Actor, p: Principal, id: string, format: ExportFormat, filter: ItemFilter): Promise<ItemsExport> {
    const b = await this.reads.visibleRow(p, id);
    await this.audit.recordAlone(actor, {
      action: 'batch.export',
      entityType: 'batch',
      entityId: b.id,
      areaId: b.area_id,
      after: { format, filter },
    });
    return {
      batchId: b.id,
      format,
      write: (out) => (format === 'csv' ? writeItemsCsv(this.ds, b, filter, out) : writeItemsXlsx(this.ds, b, filter, out)),
    };
  }
}

import type { DataSource } from 'typeorm';
import type winston from 'winston';
import { notFound } from '../../platform/errors';
import { maskDigits } from '../../platform/logger';
import { gauge, setScrapeCollector } from '../../platform/metrics';
import type { Job, Queue, QueueFactory } from '../../platform/queue';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import type { ProvidersService } from '../providers';
import { JOB_NAMES, providerQueueName } from '../../job-catalog';

/** The Bull lists and sets of a queue. `paused` holds the waiting jobs of a paused queue. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueView {
  name: string;
  /** `job`: one of src/job-catalog.ts; `provider`: a provider's send and inquiry chunks (payments.p<providerId>). */
  kind: 'job' | 'provider';
  providerId: number | null;
  providerName: string | null;
  /** The provider's own pause flag (POST /providers/{id}/pause: no new sends), null for job queues. */
  providerPaused: boolean | null;
  /** The queue itself is paused (POST /admin/queues/{name}/pause): its workers take no job at all. */
  paused: boolean;
  counts: Record<JobState, number>;
}

export interface JobView {
  id: string;
  state: JobState;
  name: string;
  /** The payload's ids; any other key is shown as [hidden]. */
  data: Record<string, string | number | boolean | null>;
  failedReason: string | null;
  attemptsMade: number;
  attempts: number;
  createdAt: string;
  processedAt: string | null;
  finishedAt: string | null;
  /** Delayed jobs: when they become due. */
  dueAt: string | null;
}

interface KnownQueue {
  name: string;
  kind: 'job' | 'provider';
  providerId: number | null;
  providerName: string | null;
  providerPaused: boolean | null;
}

/** Job payloads carry ids only (src/job-catalog.ts); a key that does not look like one is never shown. */
const SHOWN_KEY = /^(kind|at|[a-z][A-Za-z]*(Id|Seq))$/;

function shownData(data: unknown): JobView['data'] {
  const out: JobView['data'] = {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return out;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    const scalar = v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 100);
    out[k] = SHOWN_KEY.test(k) && scalar ? (v as string | number | boolean | null) : '[hidden]';
  }
  return out;
}

const iso = (ms: number | undefined | null): string | null => (ms ? new Date(ms).toISOString() : null);

/**
 * What operators see of the Bull queues (the bull-board of this service, as
 * JSON through the API) and the gauges Prometheus scrapes from the database
 * and Redis.
 */
export class OperationsService {
  constructor(
    private readonly ds: DataSource,
    private readonly queues: QueueFactory,
    private readonly providers: ProvidersService,
    private readonly audit: AuditService,
    private readonly log: winston.Logger,
  ) {}

  /** Every job queue of the catalogue, then the queue of each active provider with a wire API. */
  async known(): Promise<KnownQueue[]> {
    const jobs: KnownQueue[] = JOB_NAMES.map((name) => ({ name, kind: 'job', providerId: null, providerName: null, providerPaused: null }));
    const providers = (await this.providers.list({ active: true }))
      .filter((p) => p.kind !== 'file')
      .map((p): KnownQueue => ({
        name: providerQueueName(p.id),
        kind: 'provider',
        providerId: p.id,
        providerName: p.name,
        providerPaused: p.paused,
      }));
    return [...jobs, ...providers];
  }

  private async find(name: string): Promise<KnownQueue> {
    const q = (await this.known()).find((k) => k.name === name);
    if (!q) throw notFound('QUEUE_NOT_FOUND', `no queue ${name}: see GET /admin/queues`);
    return q;
  }

  private queue(name: string): Queue {
    return this.queues.get(name);
  }

  private async counts(name: string): Promise<Record<JobState, number>> {
    const raw = (await this.queue(name).getJobCounts()) as unknown as Partial<Record<JobState, number>>;
    return Object.fromEntries(JOB_STATES.map((s) => [s, Number(raw[s] ?? 0)])) as Record<JobState, number>;
  }

  private async view(k: KnownQueue): Promise<QueueView> {
    const [counts, paused] = await Promise.all([this.counts(k.name), this.queue(k.name).isPaused()]);
    return { ...k, paused, counts };
  }

  async list(): Promise<QueueView[]> {
    return Promise.all((await this.known()).map((k) => this.view(k)));
  }

  async get(name: string): Promise<QueueView> {
    return this.view(await this.find(name));
  }

  /**
   * Pauses the queue for every worker (Bull's global pause: new and waiting
   * jobs wait in `paused`; active ones finish). Pausing a paused queue
   * changes nothing and records nothing.
   */
  pause(actor: Actor, name: string): Promise<QueueView> {
    return this.setPaused(actor, name, true);
  }

  resume(actor: Actor, name: string): Promise<QueueView> {
    return this.setPaused(actor, name, false);
  }

  private async setPaused(actor: Actor, name: string, paused: boolean): Promise<QueueView> {
    const k = await this.find(name);
    const queue = this.queue(name);
    if ((await queue.isPaused()) !== paused) {
      // the audit event commits only if Redis took the change; a failed pause leaves no record of one
      await this.ds.transaction(async (em) => {
        await this.audit.record(em, actor, {
          action: paused ? 'queue.pause' : 'queue.resume',
          entityType: 'queue',
          entityId: name,
          before: { paused: !paused },
          after: { paused },
        });
        if (paused) await queue.pause();
        else await queue.resume();
      });
      this.log.info(paused ? 'queue paused' : 'queue resumed', { queue: name, userId: actor.userId });
    }
    return this.view(k);
  }

  /** Jobs of one state: failed and completed newest first, the others in the order they will run; `offset` skips that many. */
  async jobs(name: string, state: JobState, limit: number, offset = 0): Promise<JobView[]> {
    await this.find(name);
    const newestFirst = state === 'failed' || state === 'completed';
    const jobs = (await this.queue(name).getJobs([state], offset, offset + limit - 1, !newestFirst)) as (Job | null)[];
    return jobs
      .filter((j): j is Job => j !== null && j !== undefined)
      .slice(0, limit)
      .map((j) => ({
        id: String(j.id),
        state,
        name: j.name,
        data: shownData(j.data),
        failedReason: j.failedReason ? maskDigits(String(j.failedReason)).slice(0, 1000) : null,
        attemptsMade: j.attemptsMade,
        attempts: j.opts.attempts ?? 1,
        createdAt: iso(j.timestamp) ?? new Date(0).toISOString(),
        processedAt: iso(j.processedOn),
        finishedAt: iso(j.finishedOn),
        dueAt: j.opts.delay ? iso(j.timestamp + j.opts.delay) : null,
      }));
  }

  /**
   * The scrape-time gauges of the API process: payments of processing
   * batches by provider and status (one grouped query for count and amount),
   * batches by status, and the job counts of every known queue.
   */
  registerCollectors(): void {
    const payments = gauge('welfare_payments', 'Payments of batches in status processing, by provider and payment status', [
      'provider',
      'status',
    ]);
    const amounts = gauge(
      'welfare_payments_amount_dong',
      'Amount (whole đồng) of the payments of processing batches, by provider and payment status',
      ['provider', 'status'],
    );
    const batches = gauge('welfare_batches', 'Batches by status', ['status']);
    const jobs = gauge('welfare_queue_jobs', 'Bull jobs by queue and state (paused: waiting in a paused queue)', ['queue', 'state']);
    const queuePaused = gauge('welfare_queue_paused', '1 when the queue is paused (its workers take no job)', ['queue']);

    const guarded = (what: string, fn: () => Promise<void>) => async () => {
      try {
        await fn();
      } catch (err) {
        this.log.warn('metrics collector failed', { collector: what, err });
        throw err;
      }
    };

    setScrapeCollector(
      'payments',
      guarded('payments', async () => {
        const rows = (await this.ds.query(
          `SELECT COALESCE(pv.name, 'none') AS provider, p.status, COUNT(*) AS n, COALESCE(SUM(p.amount), 0) AS amount
             FROM batches b
             JOIN payments p ON p.batch_id = b.id
             LEFT JOIN providers pv ON pv.id = p.provider_id
            WHERE b.status = 'processing'
            GROUP BY pv.name, p.status`,
        )) as { provider: string; status: string; n: string | number; amount: string | number }[];
        payments.reset();
        amounts.reset();
        for (const r of rows) {
          payments.set({ provider: r.provider, status: r.status }, Number(r.n));
          amounts.set({ provider: r.provider, status: r.status }, Number(r.amount));
        }
      }),
      [payments, amounts],
    );

    setScrapeCollector(
      'batches',
      guarded('batches', async () => {
        const rows = (await this.ds.query('SELECT status, COUNT(*) AS n FROM batches GROUP BY status')) as {
          status: string;
          n: string | number;
        }[];
        batches.reset();
        for (const r of rows) batches.set({ status: r.status }, Number(r.n));
      }),
      [batches],
    );

    setScrapeCollector(
      'queues',
      guarded('queues', async () => {
        const views = await this.list();
        jobs.reset();
        queuePaused.reset();
        for (const v of views) {
          for (const s of JOB_STATES) jobs.set({ queue: v.name, state: s }, v.counts[s]);
          queuePaused.set({ queue: v.name }, v.paused ? 1 : 0);
        }
      }),
      [jobs, queuePaused],
    );
  }
}

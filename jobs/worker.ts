import 'reflect-metadata';
import { closeInfra, configOrExit, holdSignalsDuringBoot, onShutdown, openInfra } from '../src/boot';
import { buildServices, type Infra, type Services } from '../src/container';
import { toAppError } from '../src/platform/errors';
import {
  JOB_NAMES,
  SCHEDULES,
  enqueueNotificationJob,
  providerQueueName,
  scheduleOptions,
  type JobCatalog,
  type JobName,
} from '../src/job-catalog';
import { QueueEpoch } from '../src/platform/queue';
import { redisKey } from '../src/platform/redis';
import { disableInactiveUsers } from './disable-inactive-users.processor';
import { runRollImport } from './roll-import.processor';
import { sweepRollImports } from './roll-sweep.processor';
import { checkAccounts, releaseBatch, sweepBatches } from './batch.processors';
import { fetchStatements, processStatement, sweepStatements } from './reconciliation.processors';
import { writeAuditCheckpoint } from './audit-checkpoint.processor';
import type { ChunkJob } from '../src/components/payments';
import { initMetrics, serveMetrics, type MetricsServer } from '../src/platform/metrics';
import type { Queue } from '../src/platform/queue';

/** A processor gets the payload and which attempt this is (1-based) of how many. */
type Processor<N extends JobName> = (payload: JobCatalog[N], attempt: { number: number; of: number }) => Promise<unknown>;

export function processors(services: Services, infra: Infra): { [N in JobName]: Processor<N> } {
  return {
    'users.disable-inactive': disableInactiveUsers(services),
    'rolls.import': runRollImport(services),
    'rolls.sweep': sweepRollImports(services, infra),
    'idempotency.purge': async () => ({ deleted: await services.idempotency.purgeExpired() }),
    'batches.check-accounts': checkAccounts(services),
    'batches.release': releaseBatch(services),
    'payments.dispatch': ({ batchId }) => services.engine.dispatch(batchId),
    'reconciliation.process': processStatement(services),
    'reconciliation.fetch': fetchStatements(services, infra),
    'reconciliation.sweep': sweepStatements(services, infra),
    'exports.purge': () => services.exports.purgeExpired(),
    'audit.checkpoint': writeAuditCheckpoint(services, infra),
    'notifications.dispatch': () => services.notifier.runOnce(),
    'notifications.sweep': () => services.notifier.sweep(),
  };
}

export interface RunningWorker {
  /** Stops the worker's own timers (the queues close with the infra). */
  stop(): void;
  /** The jobs this process is running now (`queue:jobId`). */
  running(): string[];
  /** Gives back the provider slots this process holds (after its queues stopped). */
  releaseSlots(): Promise<void>;
  /** Stops announcing this worker (after its queues stopped): its claims left over go to inquiries soon after. */
  stopHeartbeat(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Stops a worker's queues at shutdown within `waitMs`: no queue takes another
 * job from now on (a local pause), the jobs running are given until `waitMs`
 * to finish, then every queue closes without waiting for the rest. Bull's own
 * close waits for the running jobs however long they take: one account check
 * of a large batch (a provider lookup per payment) or a roll import held a
 * worker's SIGTERM past its grace period. A job left running loses its lock
 * with this process and runs again (Bull's stalled-job check, and the
 * sweepers that rebuild work from the database); every job here is written to
 * be run again. Resolves true when every job finished in time.
 */
export async function stopQueues(queues: Queue[], waitMs: number): Promise<boolean> {
  // pause locally first without waiting, all at once: no queue takes a job while another is being waited for
  await Promise.all(queues.map((q) => q.pause(true, true).catch(() => undefined)));
  const finished = Promise.all(queues.map((q) => q.pause(true).catch(() => undefined))).then(() => true);
  const inTime = await Promise.race([finished, sleep(waitMs).then(() => false)]);
  await Promise.all(queues.map((q) => q.close(true).catch(() => undefined)));
  return inTime;
}

/**
 * Registers a processor for every catalogued job and the repeating schedules; refuses to start on a gap. `services`
 * are built for the worker (buildServices(infra, 'worker')): the engine shares providers' limits through Redis.
 */
export async function startWorker(infra: Infra, services: Services): Promise<RunningWorker> {
  const table = processors(services, infra) as Record<string, Processor<JobName> | undefined>;
  const active = new Set<string>();
  const track = async <T>(name: string, id: unknown, run: () => Promise<T>): Promise<T> => {
    const key = `${name}:${String(id)}`;
    active.add(key);
    try {
      return await run();
    } finally {
      active.delete(key);
    }
  };
  const missing = JOB_NAMES.filter((n) => typeof table[n] !== 'function');
  if (missing.length) throw new Error(`no processor for job(s): ${missing.join(', ')}`);
  // announced before any job runs: every payment this process claims names it (see the payment sweep below)
  await services.engine.startHeartbeat();
  const addSchedules = async () => {
    for (const name of JOB_NAMES) if (SCHEDULES[name]) await infra.queues.get(name).add({}, scheduleOptions(name));
  };
  for (const name of JOB_NAMES) {
    // nothing queues the SMS jobs when their timer is off (NOTIFY_DISPATCH_MS=0): no queue, no Redis connections for them
    if (infra.cfg.notifyDispatchMs === 0 && name.startsWith('notifications.')) continue;
    const queue = infra.queues.get(name);
    void queue.process(async (job) => {
      try {
        return await track(name, job.id, () =>
          table[name]!(job.data as never, { number: job.attemptsMade + 1, of: job.opts.attempts ?? 1 }),
        );
      } catch (err) {
        const e = toAppError(err);
        infra.log.error('job failed', { queue: name, jobId: job.id, code: e.code, kind: e.kind, err: e.cause ?? e });
        // invalid / conflict cannot succeed on retry: fail for good
        if (e.kind === 'invalid' || e.kind === 'conflict') await job.discard();
        throw e;
      }
    });
  }
  await addSchedules();
  // a new deployment has its first checkpoint at once, not at the next quarter hour
  await writeAuditCheckpoint(services, infra)().catch((err: unknown) => infra.log.error('audit checkpoint failed', { err }));
  // the database is the source of truth: imports queued or interrupted before a restart (or a Redis flush) are queued again
  await sweepRollImports(services, infra)();
  // scheduled releases and account checks are rebuilt from the database now and every BATCH_SWEEP_SECONDS
  const batchSweep = sweepBatches(services, infra);
  await batchSweep();
  const timer = setInterval(() => {
    batchSweep().catch((err: unknown) => infra.log.warn('batch sweep failed; next round retries', { err }));
  }, infra.cfg.batchSweepSeconds * 1000);
  timer.unref();

  // one queue per provider, so that a slow provider holds up only its own payments; providers added later join at the next sweep
  const serving = new Set<number>();
  const serveProviders = async () => {
    for (const p of await services.providers.list({ active: true })) {
      if (p.kind === 'file' || serving.has(p.id)) continue;
      serving.add(p.id);
      // enough chunks at once that one chunk's database writes overlap others' requests; the engine's per-provider
      // semaphore keeps the requests in flight at the provider's concurrency whatever the number of chunks
      const concurrency = Math.max(4, 2 * Math.ceil(p.concurrency / infra.cfg.paymentChunkSize) + 2);
      const queue = providerQueueName(p.id);
      void infra.queues.get<ChunkJob>(queue).process(concurrency, async (job) => {
        try {
          return await track(queue, job.id, () => services.engine.runChunk(p.id, job.data));
        } catch (err) {
          // the engine has given back what the chunk claimed (pending if nothing left, an inquiry otherwise: never a
          // blind resend), or will at its next sweep if the database is out of reach
          infra.log.error('payment chunk failed', { providerId: p.id, jobId: job.id, err });
          throw err;
        }
      });
    }
  };
  // written when the queues are set up; found gone by a sweep, Redis lost the deployment's keys and every queued job
  const epoch = new QueueEpoch(infra.redis, redisKey(infra.cfg, 'queues', 'epoch'));
  // set when the loss is seen, cleared once a sweep has queued everything again (a failed round leaves it for the next)
  let requeueDue = false;
  let sweeping = false;
  const paymentSweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      await serveProviders();
      const lost = await epoch.lost().catch((err: unknown) => {
        infra.log.warn('queue epoch not read; next round retries', { err });
        return false;
      });
      if (lost) {
        infra.log.warn('the queues were lost (their Redis keys are gone): queueing every due payment and the schedules again');
        requeueDue = true;
      }
      if (requeueDue) await addSchedules();
      await services.engine.sweep(new Date(), { requeue: requeueDue });
      requeueDue = false;
    } catch (err) {
      infra.log.warn('payment sweep failed; next round retries', { err });
    } finally {
      sweeping = false;
    }
  };
  await paymentSweep();
  const paymentTimer = setInterval(() => void paymentSweep(), infra.cfg.paymentSweepMs);
  paymentTimer.unref();
  // the SMS dispatcher and sweep are rebuilt from the database on every tick: a lost job is only a tick late
  let notifyTick = 0;
  const notifyTimer =
    infra.cfg.notifyDispatchMs > 0
      ? setInterval(() => {
          const name = notifyTick++ % 5 === 0 ? 'notifications.sweep' : 'notifications.dispatch';
          enqueueNotificationJob(infra.queues, name).catch((err: unknown) =>
            infra.log.warn('queueing a notification job failed; next tick retries', { err }),
          );
        }, infra.cfg.notifyDispatchMs)
      : null;
  notifyTimer?.unref();
  return {
    stop: () => {
      clearInterval(timer);
      clearInterval(paymentTimer);
      if (notifyTimer) clearInterval(notifyTimer);
    },
    running: () => [...active],
    releaseSlots: () => services.engine.releaseSlots(),
    stopHeartbeat: () => services.engine.stopHeartbeat(),
  };
}

async function main(): Promise<void> {
  holdSignalsDuringBoot();
  const cfg = configOrExit();
  const infra = await openInfra('worker', cfg);
  initMetrics('worker');
  const services = buildServices(infra, 'worker');
  const worker = await startWorker(infra, services);
  infra.log.info(`worker started: ${JOB_NAMES.join(', ')}`);
  // the engine's provider latencies and transitions live here: Prometheus scrapes each worker on 127.0.0.1:WORKER_METRICS_PORT
  let metrics: MetricsServer | null = null;
  if (cfg.workerMetricsPort > 0) {
    // paying matters more than being watched: a taken port is logged, not fatal
    metrics = await serveMetrics({ host: '127.0.0.1', port: cfg.workerMetricsPort, token: cfg.metricsToken }).catch((err: unknown) => {
      infra.log.error('worker metrics server failed to start; running without it', { port: cfg.workerMetricsPort, err });
      return null;
    });
    if (metrics) infra.log.info(`worker metrics on http://127.0.0.1:${metrics.port}/metrics`);
  }
  onShutdown(cfg, infra.log, async () => {
    worker.stop();
    await metrics?.close();
    // the running jobs get the grace period but the last few seconds, which closing the connections needs
    if (!(await stopQueues(infra.queues.all(), Math.max(0, cfg.shutdownGraceMs - 3000)))) {
      infra.log.warn('shutdown: jobs still running are left to run again (their lock lapses; the sweepers requeue their work)', {
        jobs: worker.running(),
      });
    }
    await worker.releaseSlots();
    worker.stopHeartbeat();
    return closeInfra(infra);
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

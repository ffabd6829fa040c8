import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { Config } from '../config';
import { DataCipher } from './platform/crypto';
import { IdempotencyStore } from './platform/http/idempotency';
import type { QueueFactory } from './platform/queue';
import type { StepUp } from './platform/security';
import { AreasService } from './components/areas';
import { AuditCheckpoints, AuditService } from './components/audit';
import { AuthService, SessionStore, TokenService, UsersService } from './components/auth';
import { ProgrammesService } from './components/programmes';
import { ReferenceService } from './components/reference';
import { ProvidersService } from './components/providers';
import { BeneficiariesService, RollImportRunner, RollImportsService } from './components/beneficiaries';
import {
  enqueueAccountCheck,
  enqueueBatchRelease,
  enqueueChunk,
  providerQueueIdle,
  enqueueDispatch,
  enqueueRollImport,
  enqueueStatement,
} from './job-catalog';
import {
  PaymentEngine,
  PayPoints,
  BatchProgress,
  RedisConcurrencyLimiter,
  RedisDispatchMarks,
  RedisRateLimiter,
  type EngineSharing,
} from './components/payments';
import { AccountChecker, BatchReleaser, BatchesService } from './components/batches';
import { ReconciliationService } from './components/reconciliation';
import { ExportsService } from './components/exports';
import { OperationsService } from './components/operations';
import { DashboardService } from './components/dashboard';
import { redisKey } from './platform/redis';
import { NetworkService } from './components/network';
import {
  DISPATCHER_DEFAULTS,
  NotificationDispatcher,
  NotificationsService,
  SmsGatewaysService,
  Templates,
} from './components/notifications';

/** What a process has opened: configuration, database, Redis, queues, logger. */
export interface Infra {
  cfg: Config;
  ds: DataSource;
  redis: Redis;
  queues: QueueFactory;
  log: winston.Logger;
}

/** Every component's service, wired once per process; routes and job processors both call these. */
export interface Services {
  cipher: DataCipher;
  audit: AuditService;
  sessions: SessionStore;
  auth: AuthService;
  users: UsersService;
  areas: AreasService;
  programmes: ProgrammesService;
  reference: ReferenceService;
  rollImports: RollImportsService;
  rollImportRunner: RollImportRunner;
  beneficiaries: BeneficiariesService;
  idempotency: IdempotencyStore;
  providers: ProvidersService;
  batches: BatchesService;
  releaser: BatchReleaser;
  accountChecker: AccountChecker;
  engine: PaymentEngine;
  paypoints: PayPoints;
  progress: BatchProgress;
  reconciliation: ReconciliationService;
  exports: ExportsService;
  operations: OperationsService;
  dashboard: DashboardService;
  network: NetworkService;
  notifications: NotificationsService;
  notifier: NotificationDispatcher;
}

/**
 * Which process the services are for. A worker's payment engine shares providers' limits and its dispatch marks with
 * the other workers through Redis; elsewhere (the API, scripts) the engine sends nothing and keeps them per process.
 * The tests run the API and the worker in one process on one set of services: they build for the worker.
 */
export type ServicesFor = 'api' | 'worker';

/**
 * How long a worker's lease on provider slots lasts without renewal (renewed every third of it): the slots of a worker
 * that died (SIGKILL: it could not give them back) are free again after this. Far longer than a live worker's event
 * loop stalls at full load; the longer it is, the longer a dead worker's share stays unused (the fault test, which
 * kills workers every few seconds, slows down with longer leases).
 */
export const CONCURRENCY_LEASE_MS = 6_000;

/** What the worker processes of a deployment share through Redis (the engine's EngineSharing). */
function workerSharing(infra: Infra): EngineSharing {
  const { cfg, redis } = infra;
  return {
    // providers' rate limits hold across every worker process of the deployment: one token bucket per provider
    rate: new RedisRateLimiter(redis, (id) => redisKey(cfg, 'ratelimit', 'provider', id)),
    // providers' in-flight limits hold across every worker process too: slots leased, lapsing when a worker dies
    concurrency: new RedisConcurrencyLimiter(redis, (id) => redisKey(cfg, 'concurrency', 'provider', id), {
      leaseMs: CONCURRENCY_LEASE_MS,
    }),
    // a batch's never-tried sends are marked queued in Redis, beside their jobs, instead of one row update each
    marks: new RedisDispatchMarks(redis, (id) => redisKey(cfg, 'dispatch', 'batch', id)),
  };
}

export function buildServices(infra: Infra, role: ServicesFor = 'api'): Services {
  const { cfg, ds, redis } = infra;
  const cipher = DataCipher.fromConfig(cfg);
  const audit = new AuditService(ds, cfg.auditChainKey, new AuditCheckpoints(cfg.auditCheckpointDir, cfg.auditChainKey));
  const sessions = new SessionStore(redis, cfg, infra.log);
  const auth = new AuthService(ds, cfg, sessions, new TokenService(cfg), cipher, audit);
  const users = new UsersService(ds, audit, auth, sessions, cipher);
  const areas = new AreasService(ds, audit, async (userIds) => {
    for (const id of userIds) await sessions.revokeAll(id);
  });
  const programmes = new ProgrammesService(ds, audit);
  const reference = new ReferenceService(ds, audit);
  const rollImports = new RollImportsService(ds, audit, cfg.importDir, (id) =>
    // a queueing failure after the upload was recorded is not the client's problem: the worker's sweeper queues it
    enqueueRollImport(infra.queues, id).catch((err: unknown) => {
      infra.log.warn('queueing a roll import failed; the sweeper will', { importId: id, err });
    }),
  );
  const rollImportRunner = new RollImportRunner(ds, cipher, audit, infra.log);
  const beneficiaries = new BeneficiariesService(ds, cipher, audit);
  const idempotency = new IdempotencyStore(ds, cipher, infra.log);
  const providers = new ProvidersService(ds, cipher, audit, cfg);
  const stepUp: StepUp = (p, actor, code, purpose) => auth.stepUp(p, actor, code, purpose);
  const batches = new BatchesService(
    ds,
    audit,
    {
      // a queueing failure is not the client's problem: the worker's batch sweep queues what the database says is due
      accountCheckNeeded: (id) =>
        enqueueAccountCheck(infra.queues, id).catch((err: unknown) => {
          infra.log.warn('queueing an account check failed; the sweeper will', { batchId: id, err });
        }),
      // staff asked for it: they hear when it could not be queued
      accountCheckAgain: (id) => enqueueAccountCheck(infra.queues, id),
      releaseScheduled: (id, at) =>
        enqueueBatchRelease(infra.queues, id, at).catch((err: unknown) => {
          infra.log.warn('queueing a batch release failed; the sweeper will', { batchId: id, err });
        }),
    },
    stepUp,
  );
  const releaser = new BatchReleaser(ds, audit, batches, providers, infra.log, (id) =>
    // a lost dispatch is not lost work: the worker's payment sweeper queues what processing batches still owe
    enqueueDispatch(infra.queues, id).catch((err: unknown) => {
      infra.log.warn('queueing a dispatch failed; the sweeper will', { batchId: id, err });
    }),
  );
  const engine = new PaymentEngine(
    ds,
    cipher,
    providers,
    audit,
    {
      send: (providerId, job) => enqueueChunk(infra.queues, providerId, job),
      // only the worker sweeps, and only it reads the queues to find work left without a job
      ...(role === 'worker' ? { idle: (providerId: number) => providerQueueIdle(infra.queues, providerId) } : {}),
    },
    infra.log,
    {
      chunkSize: cfg.paymentChunkSize,
      sendingLeaseMs: cfg.paymentSendingLeaseSeconds * 1000,
      maxInquiries: cfg.paymentMaxInquiries,
      retryBaseMs: cfg.paymentRetryBaseMs,
      retryCapMs: cfg.paymentRetryCapMs,
      pollMs: cfg.paymentPollSeconds * 1000,
      queueLeaseMs: cfg.paymentQueueLeaseSeconds * 1000,
      heartbeatExpiryMs: cfg.workerHeartbeatExpiryMs,
    },
    role === 'worker' ? workerSharing(infra) : {},
  );
  const accountChecker = new AccountChecker(ds, cipher, providers, infra.log);
  const network = new NetworkService(ds, audit);
  const gateways = new SmsGatewaysService(ds, cipher, audit, cfg);
  const templates = new Templates(ds, audit);
  // gateways' rate limits hold across every worker process: one token bucket per gateway in Redis
  const smsRate = new RedisRateLimiter(redis, (id) => redisKey(cfg, 'ratelimit', 'sms', id));
  const notifications = new NotificationsService(ds, cipher, audit, gateways, templates, cfg.notifyHotline);
  const notifier = new NotificationDispatcher(ds, cipher, gateways, templates, smsRate, infra.log, {
    ...DISPATCHER_DEFAULTS,
    hotline: cfg.notifyHotline,
    quietHours: cfg.notifyQuietHours,
    leaseMs: cfg.notifySendingLeaseSeconds * 1000,
  });
  return {
    cipher,
    audit,
    sessions,
    auth,
    users,
    areas,
    programmes,
    reference,
    rollImports,
    rollImportRunner,
    beneficiaries,
    idempotency,
    providers,
    batches,
    releaser,
    accountChecker,
    engine,
    paypoints: new PayPoints(ds, audit, batches),
    progress: new BatchProgress(ds, batches),
    reconciliation: new ReconciliationService(ds, audit, providers, cfg, infra.log, (id) => enqueueStatement(infra.queues, id), stepUp),
    exports: new ExportsService(ds, cipher, audit, cfg, infra.log, {
      networkAccess: (area, period) => network.accessSource(area, period),
      smsUntold: (p, q) => notifications.untoldExport(p, q.batchId, q),
    }),
    operations: new OperationsService(ds, infra.queues, providers, audit, infra.log),
    dashboard: new DashboardService(ds, redis, cfg),
    network,
    notifications,
    notifier,
  };
}

import express, { type Request, type RequestHandler, type Response, type NextFunction } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import swaggerUi from 'swagger-ui-express';
import { AppError } from './platform/errors';
import {
  Api,
  consoleDir,
  consoleHandler,
  errorHandler,
  mountPlainHandlers,
  notFoundHandler,
  requestIdMiddleware,
  requestState,
  type PlainHandler,
} from './platform/http';
import { redisKey } from './platform/redis';
import type { Infra, Services } from './container';
import { registerAreaRoutes } from './components/areas';
import { registerAuditRoutes } from './components/audit';
import { CSRF_HEADER, registerAuthRoutes, registerUserRoutes } from './components/auth';
import { registerProgrammeRoutes } from './components/programmes';
import { registerReferenceRoutes } from './components/reference';
import { registerProviderRoutes } from './components/providers';
import { registerBatchRoutes } from './components/batches';
import { providerCallbackHandler, registerPaymentRoutes } from './components/payments';
import { registerBeneficiaryRoutes, registerRollImportRoutes } from './components/beneficiaries';
import { registerOperationsRoutes } from './components/operations';
import { initMetrics, metricsHandler } from './platform/metrics';
import { registerReconciliationRoutes } from './components/reconciliation';
import { registerExportRoutes } from './components/exports';
import { registerDashboardRoutes } from './components/dashboard';
import { registerNetworkRoutes } from './components/network';
import { registerNotificationRoutes, smsReportHandler } from './components/notifications';

export const API_INFO = {
  title: 'Welfare disbursement API',
  version: '1',
  description:
    'Cashless payment of social-assistance allowances: beneficiary rolls, payment batches with maker-checker approval, dispatch to bank and e-wallet providers, reconciliation and audit.',
};

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('timeout')), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The routes served on plain node:http: the provider callbacks and the SMS delivery reports, one request per status
 * change, signed over the exact bytes (platform/http/signed-callback.ts).
 */
export function plainHandlers(infra: Infra, services: Services): PlainHandler[] {
  return [providerCallbackHandler(services.engine, infra.log), smsReportHandler(services.notifier, infra.log)];
}

/** The Express application, without listen(): server.ts and the tests both start it. */
export function buildApp(infra: Infra, services: Services): express.Express {
  const { cfg, log, ds, redis } = infra;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', cfg.trustProxy);

  // signed callbacks first, before request ids, the request log, helmet and the JSON parser (the API server runs
  // them before the app; servers built around the app alone, as the tests', meet them here)
  mountPlainHandlers(app, plainHandlers(infra, services));
  app.use(requestIdMiddleware);
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => {
      const state = requestState(res);
      const ms = Number(process.hrtime.bigint() - state.startedAt) / 1e6;
      log.http('request', {
        requestId: state.requestId,
        method: req.method,
        route: req.route ? `${req.baseUrl}${String(req.route.path)}` : req.path,
        status: res.statusCode,
        durationMs: Math.round(ms * 10) / 10,
        userId: state.principal?.userId ?? null,
      });
    });
    next();
  });
  app.use('/api/docs', helmet({ contentSecurityPolicy: { directives: { 'img-src': ["'self'", 'data:'] } } }));
  app.use(/^(?!\/api\/docs)/, helmet());
  app.use(express.json({ limit: cfg.httpBodyLimit, strict: true }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all([
      withTimeout(ds.query('SELECT 1'), 2000).then(
        () => 'ok',
        () => 'down',
      ),
      withTimeout(redis.ping(), 2000).then(
        () => 'ok',
        () => 'down',
      ),
    ]);
    const body = { status: checks.every((c) => c === 'ok') ? 'ready' : 'not_ready', checks: { mariadb: checks[0], redis: checks[1] } };
    res.status(body.status === 'ready' ? 200 : 503).json(body);
  });

  // Prometheus: the API's own metrics and the gauges read at scrape time (payments, batches, queues), behind METRICS_TOKEN
  initMetrics('api');
  services.operations.registerCollectors();
  app.get('/metrics', metricsHandler(cfg.metricsToken));

  const api = new Api(
    (req) =>
      services.auth.authenticateRequest({
        authorization: req.header('authorization'),
        cookie: req.header('cookie'),
        method: req.method,
        csrfToken: req.header(CSRF_HEADER),
      }),
    services.idempotency,
  );
  const loginLimiter = rateLimit({
    windowMs: 60_000,
    limit: cfg.authLoginRatePerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: new RedisStore({
      prefix: `${redisKey(cfg, 'rl', 'login')}:`,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    }),
    handler: (_req, _res, next) =>
      next(new AppError('rate_limited', 'TOO_MANY_LOGIN_ATTEMPTS', 'too many login attempts from this address; wait a minute')),
  });

  registerApiRoutes(api, infra, services, loginLimiter);

  // every answer under /api/v1 is personal data, a secret (tokens, temporary passwords, TOTP secrets) or scoped to
  // the caller: no browser or proxy may keep a copy (the provider callbacks above answer nothing of the kind)
  app.use('/api/v1', (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  const doc = api.openapiDocument(API_INFO);
  if (cfg.apiDocs === 'public') {
    app.get('/api/v1/openapi.json', (_req, res) => {
      res.json(doc);
    });
    app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/api/v1/openapi.json' } }));
  }
  app.use('/api/v1', api.router);
  app.use(consoleHandler(consoleDir()));

  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}

/**
 * Declares every route of /api/v1 on `api`. Handlers only run on requests, so the OpenAPI document can also be
 * produced with placeholder services and no database (src/api-document.ts).
 */
export function registerApiRoutes(api: Api, infra: Infra, services: Services, loginLimiter: RequestHandler): void {
  const { cfg } = infra;
  registerAuthRoutes(api, services.auth, loginLimiter, cfg);
  registerUserRoutes(api, services.users);
  registerAreaRoutes(api, services.areas);
  registerAuditRoutes(api, services.audit);
  registerProgrammeRoutes(api, services.programmes);
  registerReferenceRoutes(api, services.reference);
  registerRollImportRoutes(api, services.rollImports, { dir: cfg.importDir, maxBytes: cfg.importMaxBytes });
  registerBeneficiaryRoutes(api, services.beneficiaries);
  registerProviderRoutes(api, services.providers);
  registerOperationsRoutes(api, services.operations);
  registerBatchRoutes(api, {
    batches: services.batches,
    releaser: services.releaser,
  });
  registerPaymentRoutes(api, services.progress, services.paypoints, { dir: cfg.importDir, maxBytes: 16 * 1024 * 1024 });
  registerReconciliationRoutes(api, {
    recon: services.reconciliation,
    upload: { dir: cfg.importDir, maxBytes: cfg.importMaxBytes },
  });
  registerExportRoutes(api, services.exports);
  registerNetworkRoutes(api, services.network, { dir: cfg.importDir });
  registerDashboardRoutes(api, services.dashboard);
  registerNotificationRoutes(api, services.notifications);
}

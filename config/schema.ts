import { z } from 'zod';

export type Mode = 'development' | 'test' | 'production';

/**
 * One configuration key. `defaults` may differ by mode; a key without a
 * default for the running mode is required. `secret` keys have defaults only
 * in development and test, and production refuses to boot without them.
 */
export interface KeySpec<T extends z.ZodType = z.ZodType> {
  env: string;
  doc: string;
  schema: T;
  defaults?: Partial<Record<Mode, string>>;
  secret?: boolean;
  /** May be left unset where it has no default: rules across keys (config/index.ts) decide when it is needed. */
  optional?: true;
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** A keyring entry: `id:base64` where the key decodes to 32 bytes (AES-256). */
const keyring = z
  .string()
  .min(1)
  .transform((raw, ctx) => {
    const keys = new Map<string, Buffer>();
    for (const part of raw
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const idx = part.indexOf(':');
      const id = idx > 0 ? part.slice(0, idx) : '';
      const key = Buffer.from(part.slice(idx + 1), 'base64');
      if (!/^[A-Za-z0-9_-]{1,16}$/.test(id) || key.length !== 32) {
        ctx.addIssue({ code: 'custom', message: 'each entry must be id:base64 of 32 bytes, id of 1-16 [A-Za-z0-9_-]' });
        return z.NEVER;
      }
      keys.set(id, key);
    }
    if (keys.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'at least one key is required' });
      return z.NEVER;
    }
    return keys;
  });

const secretString = z.string().min(32, 'must be at least 32 characters');

/** A Redis Sentinel address: `host:port`, an IPv6 host in brackets (`[fd00::1]:26379`). */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** Comma-separated Sentinel addresses, at least one, none twice. */
const sentinelList = z.string().transform((raw, ctx): SentinelAddress[] => {
  const out: SentinelAddress[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(part);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not host:port (or [ipv6]:port)` });
      return z.NEVER;
    }
    const host = (m[1] ?? m[2])!;
    if (out.some((a) => a.host === host && a.port === port)) {
      ctx.addIssue({ code: 'custom', message: `${part} is listed twice` });
      return z.NEVER;
    }
    out.push({ host, port });
  }
  return out;
});

/** Milliseconds, fixed (`800`) or a range (`200-1500`), as [min, max]. */
const msRange = z
  .string()
  .regex(/^\s*\d{1,8}\s*(-\s*\d{1,8}\s*)?$/, 'must be milliseconds, n or min-max')
  .transform((v): readonly [number, number] => {
    const [a, b] = v.split('-').map((p) => Number(p.trim()));
    return [a!, b ?? a!];
  })
  .refine(([a, b]) => a <= b, 'min must not exceed max');
const rangeOrManual = z.union([z.literal('manual').transform(() => null), msRange]);
const share = z.coerce.number().min(0).max(1);
const FAILURE_CODE = '(ACCOUNT_NOT_FOUND|ACCOUNT_CLOSED|NAME_MISMATCH|INVALID_DESTINATION|LIMIT_EXCEEDED|INSUFFICIENT_FUNDS|REJECTED)';
/** A share of failures: one number (all REJECTED) or `CODE:share,...`, adding up to at most 1. */
const failShares = z
  .string()
  .regex(
    new RegExp(`^(\\d*\\.?\\d+|${FAILURE_CODE}:\\d*\\.?\\d+(,${FAILURE_CODE}:\\d*\\.?\\d+)*)$`),
    'must be a share (0.02) or CODE:share,... with contract failure codes',
  )
  .transform((v): Record<string, number> => {
    if (!v.includes(':')) return Number(v) > 0 ? { REJECTED: Number(v) } : {};
    return Object.fromEntries(v.split(',').map((p) => [p.split(':')[0]!, Number(p.split(':')[1])]));
  })
  .refine(
    (m) => Object.values(m).every((x) => x <= 1) && Object.values(m).reduce((a, b) => a + b, 0) <= 1,
    'shares must add up to at most 1',
  );

const dev32 = (label: string): string => `dev-only-${label}-not-for-production-use-0000`.slice(0, 48);

export const schema = {
  mode: {
    env: 'NODE_ENV',
    doc: 'Run mode: development, test or production. Production requires every secret to be set.',
    schema: z.enum(['development', 'test', 'production']),
    defaults: { development: 'development', test: 'test', production: 'production' },
  },
  logLevel: {
    env: 'LOG_LEVEL',
    doc: 'winston level: error, warn, info, http, debug.',
    schema: z.enum(['error', 'warn', 'info', 'http', 'debug']),
    defaults: { development: 'info', test: 'error', production: 'info' },
  },
  httpHost: {
    env: 'HTTP_HOST',
    doc: 'Address the API listens on.',
    schema: z.string().min(1),
    defaults: { development: '127.0.0.1', test: '127.0.0.1', production: '0.0.0.0' },
  },
  httpPort: {
    env: 'HTTP_PORT',
    doc: 'Port the API listens on (0 picks a free port).',
    schema: port,
    defaults: { development: '3000', test: '0', production: '3000' },
  },
  httpBodyLimit: {
    env: 'HTTP_BODY_LIMIT',
    doc: 'Largest JSON body accepted, e.g. 1mb; larger bodies get 413 PAYLOAD_TOO_LARGE.',
    schema: z.string().regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb or 1mb'),
    defaults: { development: '1mb', test: '1mb', production: '1mb' },
  },
  trustProxy: {
    env: 'HTTP_TRUST_PROXY',
    doc: 'Number of reverse proxies in front of the API whose X-Forwarded-For is trusted (0 = none).',
    schema: z.coerce.number().int().min(0).max(10),
    defaults: { development: '0', test: '0', production: '0' },
  },
  apiDocs: {
    env: 'API_DOCS',
    doc: 'Serve the OpenAPI document and /api/docs without login (public), or not at all (off).',
    schema: z.enum(['public', 'off']),
    defaults: { development: 'public', test: 'public', production: 'off' },
  },
  publicBaseUrl: {
    env: 'PUBLIC_BASE_URL',
    doc: 'URL under which providers reach the API (used for callback URLs).',
    schema: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }),
    defaults: { development: 'http://127.0.0.1:3000', test: 'http://127.0.0.1:3000' },
  },
  dbHost: {
    env: 'DB_HOST',
    doc: 'MariaDB / MySQL host.',
    schema: z.string().min(1),
    defaults: { development: '127.0.0.1', test: '127.0.0.1' },
  },
  dbPort: {
    env: 'DB_PORT',
    doc: 'MariaDB / MySQL port.',
    schema: port,
    defaults: { development: '3306', test: '3306', production: '3306' },
  },
  dbUser: {
    env: 'DB_USER',
    doc: 'Database user.',
    schema: z.string().min(1),
    defaults: { development: 'root', test: 'root' },
  },
  dbPassword: {
    env: 'DB_PASSWORD',
    doc: 'Database password (empty for the local root user).',
    schema: z.string(),
    defaults: { development: '', test: '' },
  },
  dbName: {
    env: 'DB_NAME',
    doc: 'Database (schema) name; created on first start if missing. Tests use their own.',
    schema: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'letters, digits and _ only'),
    defaults: { development: 'welfare', test: 'welfare_test', production: 'welfare' },
  },
  dbPoolSize: {
    env: 'DB_POOL_SIZE',
    doc: 'Connections in each process pool.',
    schema: positiveInt.max(200),
    defaults: { development: '10', test: '10', production: '20' },
  },
  redisUrl: {
    env: 'REDIS_URL',
    doc: 'Redis URL (with its password, if any) for queues, sessions and rate limits, when Redis is a single node. Not together with REDIS_SENTINELS; production needs one of the two.',
    schema: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
    defaults: { development: 'redis://127.0.0.1:6379', test: 'redis://127.0.0.1:6379' },
    optional: true,
  },
  redisSentinels: {
    env: 'REDIS_SENTINELS',
    doc: 'Redis Sentinel instead of REDIS_URL: the Sentinels as comma-separated host:port (run at least three, on separate hosts). Every Redis connection and Bull queue asks them for the current primary and follows a failover.',
    schema: sentinelList,
    optional: true,
  },
  redisSentinelMaster: {
    env: 'REDIS_SENTINEL_MASTER',
    doc: 'With REDIS_SENTINELS: the name the Sentinels monitor the primary under (`sentinel monitor <name> ...`).',
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only, at most 64'),
    optional: true,
  },
  redisSentinelPassword: {
    env: 'REDIS_SENTINEL_PASSWORD',
    doc: 'With REDIS_SENTINELS: the password of the Sentinels themselves (their requirepass), if they have one. Secret.',
    schema: z.string().min(1),
    secret: true,
    optional: true,
  },
  redisPassword: {
    env: 'REDIS_PASSWORD',
    doc: 'With REDIS_SENTINELS: the password of the primary and its replicas (their requirepass), if they have one; with REDIS_URL the password is part of the URL. Secret.',
    schema: z.string().min(1),
    secret: true,
    optional: true,
  },
  redisPrefix: {
    env: 'REDIS_PREFIX',
    doc: 'Prefix of every Redis key and Bull queue of this deployment. Tests use their own.',
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'letters, digits, _ . - only'),
    defaults: { development: 'welfare', test: 'welfare-test', production: 'welfare' },
  },
  jwtSecret: {
    env: 'JWT_SECRET',
    doc: 'HMAC key signing access tokens (HS256), at least 32 characters. Secret.',
    schema: secretString,
    defaults: { development: dev32('jwt'), test: dev32('jwt') },
    secret: true,
  },
  jwtIssuer: {
    env: 'JWT_ISSUER',
    doc: 'iss claim of access tokens; checked on every request.',
    schema: z.string().min(1),
    defaults: { development: 'welfare-disbursement', test: 'welfare-disbursement', production: 'welfare-disbursement' },
  },
  jwtAudience: {
    env: 'JWT_AUDIENCE',
    doc: 'aud claim of access tokens; checked on every request.',
    schema: z.string().min(1),
    defaults: { development: 'welfare-api', test: 'welfare-api', production: 'welfare-api' },
  },
  jwtTtlSeconds: {
    env: 'JWT_TTL_SECONDS',
    doc: 'Lifetime of an access token; POST /auth/refresh issues a new one while the session is alive.',
    schema: positiveInt.max(3600),
    defaults: { development: '900', test: '900', production: '900' },
  },
  dataKeys: {
    env: 'DATA_KEYS',
    doc: 'Keyring encrypting personal data at rest (AES-256-GCM): comma-separated id:base64(32 bytes). Old keys stay to decrypt. Secret.',
    schema: keyring,
    defaults: {
      development: `dev1:${Buffer.alloc(32, 7).toString('base64')}`,
      test: `dev1:${Buffer.alloc(32, 7).toString('base64')}`,
    },
    secret: true,
  },
  dataActiveKeyId: {
    env: 'DATA_ACTIVE_KEY_ID',
    doc: 'Id of the keyring entry used to encrypt new values.',
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/),
    defaults: { development: 'dev1', test: 'dev1' },
  },
  dataHmacKey: {
    env: 'DATA_HMAC_KEY',
    doc: 'Key of the keyed hash (HMAC-SHA256) used to look up and deduplicate encrypted values. Secret.',
    schema: secretString,
    defaults: { development: dev32('hmac'), test: dev32('hmac') },
    secret: true,
  },
  auditChainKey: {
    env: 'AUDIT_CHAIN_KEY',
    doc: 'Key of the audit trail hash chain (HMAC-SHA256): without it, someone who can write to the database cannot forge a chain that verifies. Secret.',
    schema: secretString,
    defaults: { development: dev32('audit'), test: dev32('audit') },
    secret: true,
  },
  sandboxSecret: {
    env: 'SANDBOX_SECRET',
    doc: 'Shared secret with the built-in sandbox provider (request and callback signatures). Secret.',
    schema: secretString,
    defaults: { development: dev32('sandbox'), test: dev32('sandbox') },
    secret: true,
  },
  sandboxUrl: {
    env: 'SANDBOX_URL',
    doc: 'Where the built-in sandbox provider listens, for the providers of kind sandbox that set no base URL of their own (npm start runs it on SANDBOX_PORT). Tests point the sandbox provider at one of their own; the test default is a port nothing listens on.',
    schema: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }),
    defaults: { development: 'http://127.0.0.1:4010', test: 'http://127.0.0.1:9', production: 'http://127.0.0.1:4010' },
  },
  sandboxPort: {
    env: 'SANDBOX_PORT',
    doc: 'Port the sandbox provider process (src/sandbox-server.ts) listens on, on 127.0.0.1 (0 picks a free port).',
    schema: port,
    defaults: { development: '4010', test: '0', production: '4010' },
  },
  sandboxClientId: {
    env: 'SANDBOX_CLIENT_ID',
    doc: 'Client id (X-Client-Id) the service uses at the built-in sandbox provider, and the one client the sandbox accepts.',
    schema: z.string().regex(/^[\x21-\x7e]{1,100}$/, 'must be 1-100 printable ASCII characters without spaces'),
    defaults: { development: 'welfare-sandbox', test: 'welfare-sandbox', production: 'welfare-sandbox' },
  },
  sandboxSettleMs: {
    env: 'SANDBOX_SETTLE_MS',
    doc: 'Sandbox provider process: how long an accepted transfer stays PENDING before it settles by itself, ms, fixed (`800`) or a range (`200-1500`); `0` settles in the 201 answer itself; `manual` only through POST /_sandbox/transfers/{reference}/settle.',
    schema: rangeOrManual,
    defaults: { development: '200-1500', test: '200-1500', production: '200-1500' },
  },
  sandboxLatencyMs: {
    env: 'SANDBOX_LATENCY_MS',
    doc: 'Sandbox provider process: delay before each contract request is answered, ms, fixed or a range (`20-200`).',
    schema: msRange,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxFailShare: {
    env: 'SANDBOX_FAIL_SHARE',
    doc: 'Sandbox provider process: share of settling transfers that FAIL, either one number (REJECTED) or per failure code (`NAME_MISMATCH:0.01,REJECTED:0.02`). Accounts ending in 0000 always fail ACCOUNT_NOT_FOUND, 9999 ACCOUNT_CLOSED.',
    schema: failShares,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxReturnShare: {
    env: 'SANDBOX_RETURN_SHARE',
    doc: 'Sandbox provider process: share of SUCCEEDED transfers RETURNED (ACCOUNT_CLOSED) later, after SANDBOX_RETURN_MS.',
    schema: share,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxReturnMs: {
    env: 'SANDBOX_RETURN_MS',
    doc: 'Sandbox provider process: how long after it succeeded a transfer is returned, ms, fixed or a range.',
    schema: msRange,
    defaults: { development: '5000-60000', test: '5000-60000', production: '5000-60000' },
  },
  sandbox5xxShare: {
    env: 'SANDBOX_5XX_SHARE',
    doc: 'Sandbox provider process: share of transfer requests (create and inquiry) answered 503 UNAVAILABLE or 500, half each, before anything is recorded.',
    schema: share,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxTimeoutShare: {
    env: 'SANDBOX_TIMEOUT_SHARE',
    doc: 'Sandbox provider process: share of accepted transfer creates whose answer is never sent (the transfer is kept; the connection is dropped after SANDBOX_TIMEOUT_HOLD_MS).',
    schema: share,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxTimeoutHoldMs: {
    env: 'SANDBOX_TIMEOUT_HOLD_MS',
    doc: 'Sandbox provider process: how long an unanswered create holds its connection before dropping it.',
    schema: z.coerce.number().int().min(0).max(86400000),
    defaults: { development: '30000', test: '30000', production: '30000' },
  },
  sandboxMaxInFlight: {
    env: 'SANDBOX_MAX_IN_FLIGHT',
    doc: 'Sandbox provider process: contract requests in flight above which it answers 429 RATE_LIMITED with Retry-After (0 = no limit).',
    schema: z.coerce.number().int().min(0).max(1000000),
    defaults: { development: '500', test: '500', production: '500' },
  },
  sandboxDuplicateCallbackShare: {
    env: 'SANDBOX_DUPLICATE_CALLBACK_SHARE',
    doc: 'Sandbox provider process: share of delivered status callbacks delivered a second time.',
    schema: share,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxOutOfOrderShare: {
    env: 'SANDBOX_OUT_OF_ORDER_SHARE',
    doc: 'Sandbox provider process: share of returned transfers whose SUCCEEDED callback is held back until the RETURNED one was delivered.',
    schema: share,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxCallbackDelayMs: {
    env: 'SANDBOX_CALLBACK_DELAY_MS',
    doc: 'Sandbox provider process: delay before each callback is first delivered, ms, fixed or a range (jitter).',
    schema: msRange,
    defaults: { development: '0', test: '0', production: '0' },
  },
  sandboxFloat: {
    env: 'SANDBOX_FLOAT',
    doc: 'Sandbox provider process: whole đồng in the service float account at start.',
    schema: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    defaults: { development: '1000000000000', test: '1000000000000', production: '1000000000000' },
  },
  sandboxSeed: {
    env: 'SANDBOX_SEED',
    doc: 'Sandbox provider process: seed of its random choices (settlement fates, faults, jitter), so that a run can be repeated; `random` draws one and logs it.',
    schema: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters without spaces'),
    defaults: { development: 'random', test: 'random', production: 'random' },
  },
  authIdleMinutes: {
    env: 'AUTH_IDLE_MINUTES',
    doc: 'A session unused this long ends (at most 15 for a level-3 system).',
    schema: positiveInt.max(15),
    defaults: { development: '15', test: '15', production: '15' },
  },
  authAdminIdleMinutes: {
    env: 'AUTH_ADMIN_IDLE_MINUTES',
    doc: 'Idle limit for sessions of admins (at most 5).',
    schema: positiveInt.max(5),
    defaults: { development: '5', test: '5', production: '5' },
  },
  authSessionMaxHours: {
    env: 'AUTH_SESSION_MAX_HOURS',
    doc: 'A session ends this long after login however active it is (at most 12); POST /auth/refresh cannot extend it.',
    schema: positiveInt.max(12),
    defaults: { development: '12', test: '12', production: '12' },
  },
  authMaxFailedLogins: {
    env: 'AUTH_MAX_FAILED_LOGINS',
    doc: 'Consecutive failed logins that lock an account until an admin unlocks it (at most 5).',
    schema: positiveInt.max(5),
    defaults: { development: '5', test: '5', production: '5' },
  },
  authInactiveDays: {
    env: 'AUTH_INACTIVE_DAYS',
    doc: 'Accounts unused for longer than this are disabled (at most 45).',
    schema: positiveInt.max(45),
    defaults: { development: '45', test: '45', production: '45' },
  },
  authLoginRatePerMinute: {
    env: 'AUTH_LOGIN_RATE_PER_MINUTE',
    doc: 'Login attempts allowed per client address per minute (shared across API processes through Redis).',
    schema: positiveInt.max(1000),
    defaults: { development: '20', test: '1000', production: '10' },
  },
  totpIssuer: {
    env: 'TOTP_ISSUER',
    doc: 'Issuer shown in authenticator apps.',
    schema: z.string().min(1).max(40),
    defaults: { development: 'Welfare Disbursement', test: 'Welfare Disbursement', production: 'Welfare Disbursement' },
  },
  auditRetentionDays: {
    env: 'AUDIT_RETENTION_DAYS',
    doc: 'Audit events are kept at least this long (at least 90; nothing deletes them earlier).',
    schema: z.coerce.number().int().min(90),
    defaults: { development: '1825', test: '1825', production: '1825' },
  },
  importDir: {
    env: 'IMPORT_DIR',
    doc: 'Directory where uploaded roll files wait for the worker (shared by API and worker processes).',
    schema: z.string().min(1),
    defaults: { development: 'var/imports', test: 'var/test-imports', production: '/var/lib/welfare/imports' },
  },
  auditCheckpointDir: {
    env: 'AUDIT_CHECKPOINT_DIR',
    doc: 'Directory of the audit chain checkpoints (audit-checkpoints.jsonl: last event id, hash, count, time, signed with AUDIT_CHAIN_KEY), appended by the worker every 15 minutes and read by verify. Keep it where database users cannot write, shared by API and worker processes; delete it with the database when you reset a development database.',
    schema: z.string().min(1),
    defaults: {
      development: 'var/audit-checkpoints',
      test: 'var/test-audit-checkpoints',
      production: '/var/lib/welfare/audit-checkpoints',
    },
  },
  dashboardCacheSeconds: {
    env: 'DASHBOARD_CACHE_SECONDS',
    doc: "How long the home page's figures for one scope and month are kept in Redis: they read a month's payments and 12 months of the cashless share, too much to compute for every officer's page every minute (0: never kept).",
    schema: z.coerce.number().int().min(0).max(3600),
    defaults: { development: '60', test: '0', production: '60' },
  },
  exportRetentionDays: {
    env: 'EXPORT_RETENTION_DAYS',
    doc: 'Days an auditor export file is kept after it is written; then a daily job deletes the file (its manifest stays, marked expired).',
    schema: positiveInt,
    defaults: { development: '7', test: '7', production: '7' },
  },
  importMaxBytes: {
    env: 'IMPORT_MAX_BYTES',
    doc: 'Largest roll file accepted for upload, in bytes (a million-row CSV is about 200 MB).',
    schema: positiveInt,
    defaults: { development: '536870912', test: '536870912', production: '536870912' },
  },
  batchSweepSeconds: {
    env: 'BATCH_SWEEP_SECONDS',
    doc: 'How often each worker rebuilds, from the database, the Bull jobs of scheduled batch releases and pending account checks (after a restart or a Redis flush).',
    schema: positiveInt,
    defaults: { development: '30', test: '3600', production: '30' },
  },
  paymentChunkSize: {
    env: 'PAYMENT_CHUNK_SIZE',
    doc: 'Payments one send or inquiry job claims with one conditional UPDATE and writes back in one transaction.',
    schema: positiveInt.max(5000),
    defaults: { development: '200', test: '50', production: '200' },
  },
  paymentSendingLeaseSeconds: {
    env: 'PAYMENT_SENDING_LEASE_SECONDS',
    doc: "The backstop: a payment left sending longer than this becomes unknown (a status inquiry decides) even though its worker still announces itself; a gone worker's claims go after its provider's request timeout instead. Keep it above every provider timeout.",
    schema: positiveInt,
    defaults: { development: '120', test: '3', production: '120' },
  },
  paymentMaxInquiries: {
    env: 'PAYMENT_MAX_INQUIRIES',
    doc: 'Status inquiries of a payment whose outcome is unknown before it goes to manual review.',
    schema: positiveInt.max(100),
    defaults: { development: '10', test: '4', production: '10' },
  },
  paymentRetryBaseMs: {
    env: 'PAYMENT_RETRY_BASE_MS',
    doc: 'First wait before sending again after 429/503, or asking again after no answer; doubles each time, with jitter.',
    schema: positiveInt,
    defaults: { development: '2000', test: '50', production: '2000' },
  },
  paymentRetryCapMs: {
    env: 'PAYMENT_RETRY_CAP_MS',
    doc: 'Longest of those waits.',
    schema: positiveInt,
    defaults: { development: '300000', test: '500', production: '300000' },
  },
  paymentPollSeconds: {
    env: 'PAYMENT_POLL_SECONDS',
    doc: 'A payment the provider accepted but has not settled is asked about after this long without a callback.',
    schema: positiveInt,
    defaults: { development: '300', test: '1', production: '300' },
  },
  paymentQueueLeaseSeconds: {
    env: 'PAYMENT_QUEUE_LEASE_SECONDS',
    doc: 'Work put in a Bull job is not queued again before this long; after it the sweeper queues what a lost job (Redis flush) held.',
    schema: positiveInt,
    defaults: { development: '300', test: '3', production: '300' },
  },
  paymentSweepMs: {
    env: 'PAYMENT_SWEEP_MS',
    doc: 'How often each worker sweeps: claims of gone workers and expired sends to unknown, due work queued again (all of it when the queues were lost), finished batches completed. Cheap when nothing is due.',
    schema: positiveInt,
    defaults: { development: '1000', test: '300', production: '1000' },
  },
  notifyDispatchMs: {
    env: 'NOTIFY_DISPATCH_MS',
    doc: 'How often each worker queues the SMS dispatcher (one at a time across workers) and, five times as seldom, the collection of new events and the notification sweep; 0 turns both off (the tests drive them).',
    schema: z.coerce.number().int().min(0).max(60000),
    defaults: { development: '1000', test: '0', production: '1000' },
  },
  notifyQuietHours: {
    env: 'NOTIFY_QUIET_HOURS',
    doc: 'Send no SMS between 21:00 and 07:00 Asia/Ho_Chi_Minh (messages wait until 07:00). Off in development only, so that a demo batch paid at night shows its messages delivered; never off in production.',
    schema: bool,
    defaults: { development: 'false', test: 'true', production: 'true' },
  },
  notifySendingLeaseSeconds: {
    env: 'NOTIFY_SENDING_LEASE_SECONDS',
    doc: "An SMS claim left `sending` this long is from a dispatcher that died: its messages become `unknown` and are asked about before anything is sent again. It must be longer than a claim takes to be sent (its size at the gateway's rate, plus the gateway's timeout): a claim that lapses while it is being sent is asked about, and a message the gateway has not yet received is then sent again with the same reference (a repeat to the gateway, not a second message).",
    schema: positiveInt.min(1).max(3600),
    defaults: { development: '60', test: '60', production: '60' },
  },
  notifyHotline: {
    env: 'NOTIFY_HOTLINE',
    doc: "The department's hotline, as SMS templates print it ({hotline}).",
    schema: z.string().regex(/^[0-9 .+]{3,20}$/, 'must be 3-20 digits, spaces, dots or +'),
    defaults: { development: '1900 0000', test: '1900 0000', production: '1900 0000' },
  },
  workerHeartbeatExpiryMs: {
    env: 'WORKER_HEARTBEAT_EXPIRY_MS',
    doc: "A worker process announces itself in the database every fifth of this; one not heard from for this long is gone, and its claims go to status inquiries once its provider's request timeout has passed too. A worker starts no provider request while its own announcement is this old.",
    schema: positiveInt.min(1000).max(60000),
    defaults: { development: '5000', test: '5000', production: '5000' },
  },
  metricsToken: {
    env: 'METRICS_TOKEN',
    doc: 'Bearer token Prometheus sends (Authorization: Bearer …) to scrape GET /metrics on the API and the worker metrics port; compared in constant time. Secret.',
    schema: secretString,
    defaults: { development: dev32('metrics'), test: dev32('metrics') },
    secret: true,
  },
  workerMetricsPort: {
    env: 'WORKER_METRICS_PORT',
    doc: 'Port on 127.0.0.1 where each worker process serves its own Prometheus metrics (provider request latency, transitions) at /metrics, with METRICS_TOKEN; 0 turns it off. Give each worker on one host its own port.',
    schema: port,
    defaults: { development: '9464', test: '0', production: '9464' },
  },
  shutdownGraceMs: {
    env: 'SHUTDOWN_GRACE_MS',
    doc: 'How long a process waits for in-flight requests and jobs on SIGTERM before exiting anyway.',
    schema: positiveInt.max(600000),
    defaults: { development: '15000', test: '5000', production: '30000' },
  },
  demoSeed: {
    env: 'DEMO_SEED',
    doc: 'npm start only: seed the demo areas, programmes and users when there are no users, import the demo roll when the roll is empty, create a draft demo batch when there is none, and let the sandbox provider know the demo roll account holders. Never allowed in production.',
    schema: bool,
    defaults: { development: 'true', test: 'false', production: 'false' },
  },
} satisfies Record<string, KeySpec>;

export type Schema = typeof schema;
export type Config = {
  readonly [K in keyof Schema]: Schema[K] extends { optional: true }
    ? z.output<Schema[K]['schema']> | undefined
    : z.output<Schema[K]['schema']>;
};

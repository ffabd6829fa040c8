import winston from 'winston';
import { config, type Mode } from '../../../config';
import { maskDigits, redact } from './redact';

export { redact, maskDigits, PERSONAL_OR_SECRET_KEY } from './redact';

/**
 * Returns a new info rather than editing the given one: `logger.error(err)`
 * makes the application's Error the info, and its properties (a `code` that a
 * caller still checks) must survive logging. Of such an Error only name,
 * message, code, stack and cause are logged, not every enumerable property a
 * driver hung on it (TypeORM's `parameters` hold the row's values).
 */
const scrub = winston.format((info) => {
  const { level, message, ...rest } = info;
  const out = (info instanceof Error ? { error: redact(info) } : redact(rest)) as winston.Logform.TransformableInfo;
  for (const sym of Object.getOwnPropertySymbols(info)) (out as Record<symbol, unknown>)[sym] = (info as Record<symbol, unknown>)[sym];
  out.level = level;
  out.message = typeof message === 'string' ? maskDigits(message) : redact(message);
  return out;
});

/**
 * The format every log line goes through: personal data and secrets scrubbed
 * first, then JSON lines in production, one readable line elsewhere.
 */
export function logFormat(mode: Mode): winston.Logform.Format {
  if (mode === 'production') return winston.format.combine(scrub(), winston.format.timestamp(), winston.format.json());
  return winston.format.combine(
    scrub(),
    winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
    winston.format.colorize(),
    winston.format.printf(({ timestamp, level, message, service, ...rest }) => {
      const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      return `${String(timestamp)} ${level} [${String(service ?? '-')}] ${String(message)}${extra}`;
    }),
  );
}

/** A logger with the process's format; `transports` defaults to the console (tests pass a stream to read what is written). */
export function buildLogger(opts: { mode: Mode; level: string; transports?: winston.LoggerOptions['transports'] }): winston.Logger {
  return winston.createLogger({
    level: opts.level,
    format: logFormat(opts.mode),
    transports: opts.transports ?? [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}

let instance: winston.Logger | undefined;

export function logger(): winston.Logger {
  const cfg = config();
  instance ??= buildLogger({ mode: cfg.mode, level: cfg.logLevel });
  return instance;
}

/** A logger naming its process (api, worker, sandbox, script). */
export function processLogger(name: string): winston.Logger {
  return logger().child({ service: name });
}

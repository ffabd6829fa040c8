import winston from 'winston';
import { config } from '../../../config';
import { maskDigits, redact } from './redact';

export { redact, maskDigits } from './redact';

const scrub = winston.format((info) => {
  const { level, message, ...rest } = info;
  const cleaned = redact(rest) as Record<string, unknown>;
  for (const key of Object.keys(info)) {
    if (key !== 'level' && key !== 'message') delete (info as Record<string, unknown>)[key];
  }
  Object.assign(info, cleaned);
  info.level = level;
  info.message = typeof message === 'string' ? maskDigits(message) : message;
  return info;
});

function build(): winston.Logger {
  const cfg = config();
  const format =
    cfg.mode === 'production'
      ? winston.format.combine(scrub(), winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          scrub(),
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.colorize(),
          winston.format.printf(({ timestamp, level, message, service, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level} [${String(service ?? '-')}] ${String(message)}${extra}`;
          }),
        );
  return winston.createLogger({
    level: cfg.logLevel,
    format,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}

let instance: winston.Logger | undefined;

export function logger(): winston.Logger {
  instance ??= build();
  return instance;
}

/** A logger naming its process (api, worker, sandbox, script). */
export function processLogger(name: string): winston.Logger {
  return logger().child({ service: name });
}

import { config, ConfigError, type Config } from '../config';
import { openDatabase } from './platform/db';
import { processLogger } from './platform/logger';
import { QueueFactory } from './platform/queue';
import { createRedis } from './platform/redis';
import type { Infra } from './container';
import { queueSettings } from './job-catalog';

/** Opens what every process needs: validated config, migrated database, Redis, queues. */
export async function openInfra(name: string, cfg: Config = config()): Promise<Infra> {
  const log = processLogger(name);
  const ds = await openDatabase(cfg);
  const redis = createRedis(cfg, { name, log });
  const queues = new QueueFactory(cfg, queueSettings, log);
  return { cfg, ds, redis, queues, log };
}

export async function closeInfra(infra: Infra): Promise<void> {
  await infra.queues.close().catch((e: unknown) => infra.log.warn('closing queues failed', { err: e }));
  await infra.redis.quit().catch(() => infra.redis.disconnect());
  if (infra.ds.isInitialized) await infra.ds.destroy();
}

/** Reads the config or exits naming every invalid key. */
export function configOrExit(): Config {
  try {
    return config();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
}

/**
 * SIGTERM/SIGINT: run `stop` once (stop taking work, finish what is in flight,
 * close connections), exit 0; exit 1 anyway after the grace period.
 */
let signalDuringBoot: NodeJS.Signals | null = null;
const remember = (signal: NodeJS.Signals) => () => {
  signalDuringBoot ??= signal;
};
const earlyTerm = remember('SIGTERM');
const earlyInt = remember('SIGINT');

/**
 * Call first thing in a process: a SIGTERM that arrives while it is still
 * starting (connecting, migrating) is held instead of killing it half-way, and
 * acted on as soon as onShutdown is installed.
 */
export function holdSignalsDuringBoot(): void {
  process.on('SIGTERM', earlyTerm);
  process.on('SIGINT', earlyInt);
}

export function onShutdown(
  cfg: Config,
  log: { info: (m: string) => void; error: (m: string, meta?: object) => void },
  stop: () => Promise<void>,
): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received, shutting down`);
    const timer = setTimeout(() => {
      log.error('shutdown took too long, exiting');
      process.exit(1);
    }, cfg.shutdownGraceMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.off('SIGTERM', earlyTerm);
  process.off('SIGINT', earlyInt);
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
  if (signalDuringBoot) handler(`${signalDuringBoot} (received while starting)`);
}

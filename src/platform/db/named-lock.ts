import type { DataSource, QueryRunner } from 'typeorm';

export interface NamedLockOptions {
  /** How long to keep trying before giving up with `busy()`. */
  waitSeconds: number;
  /** The error thrown when the lock stayed taken for the whole wait (a 409/503 the caller can retry). */
  busy: () => Error;
  /** Pause between tries. */
  retryMs?: number;
}

const DEFAULT_RETRY_MS = 200;

/**
 * Runs `fn` while holding a MariaDB/MySQL named lock, on the connection that holds it (`fn` may run its work on
 * that runner, for example to keep a temporary table or a transaction with the lock).
 *
 * The name is scoped to the current database, so that two deployments (or test databases) on one server do not
 * exclude each other. Waiters try with a zero timeout and hand their connection back to the pool between tries:
 * waiters blocked inside GET_LOCK could take every connection of the pool and leave the holder none to finish with.
 * The lock is released when `fn` ends, and by the server if the connection dies.
 */
export async function withNamedLock<T>(
  ds: DataSource,
  name: string,
  opts: NamedLockOptions,
  fn: (runner: QueryRunner) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + opts.waitSeconds * 1000;
  for (;;) {
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      const [got] = (await runner.query("SELECT GET_LOCK(CONCAT(DATABASE(), '.', ?), 0) AS ok", [name])) as {
        ok: number | string | null;
      }[];
      if (Number(got?.ok) === 1) {
        try {
          return await fn(runner);
        } finally {
          await runner.query("SELECT RELEASE_LOCK(CONCAT(DATABASE(), '.', ?))", [name]);
        }
      }
    } finally {
      await runner.release();
    }
    if (Date.now() >= deadline) throw opts.busy();
    await new Promise((resolve) => setTimeout(resolve, opts.retryMs ?? DEFAULT_RETRY_MS));
  }
}

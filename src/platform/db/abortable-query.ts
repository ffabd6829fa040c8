import type { DataSource } from 'typeorm';
import { unavailable } from '../errors/app-error';

/**
 * Runs one read on a connection of its own and, when `signal` aborts before it answers, stops it on the server with
 * KILL QUERY (the same statement on MariaDB and MySQL). A connection that was sent a KILL is closed rather than
 * returned to the pool, so the kill can never reach the next request's statement.
 */
export async function abortableQuery<T>(ds: DataSource, signal: AbortSignal, sql: string, params: unknown[] = []): Promise<T[]> {
  if (signal.aborted) throw aborted();
  const runner = ds.createQueryRunner();
  await runner.connect();
  let threadId = 0;
  let kill: Promise<unknown> | undefined;
  const onAbort = () => {
    kill = ds.query(`KILL QUERY ${threadId}`).catch(() => undefined);
  };
  try {
    const [row] = (await runner.query('SELECT CONNECTION_ID() AS id')) as { id: number | string }[];
    threadId = Number(row!.id);
    if (signal.aborted) throw aborted();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return (await runner.query(sql, params)) as T[];
    } catch (e) {
      if (kill) throw aborted(e);
      throw e;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (kill) {
      await kill;
      (runner as unknown as { databaseConnection?: { destroy(): void } }).databaseConnection?.destroy();
    }
    await runner.release();
  }
}

function aborted(cause?: unknown) {
  return unavailable('REQUEST_ABORTED', 'the client left before the answer; the query was stopped', cause);
}

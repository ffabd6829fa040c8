import type { Response } from 'express';

/** Aborts when the client closes the connection before the answer is sent (a page left, a request cancelled). */
export function clientGoneSignal(res: Response): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}

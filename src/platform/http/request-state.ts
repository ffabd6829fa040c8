import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../security';

export interface RequestState {
  requestId: string;
  startedAt: bigint;
  principal?: Principal;
}

/** A caller's id is logged and stored with every audit event: a short token, nothing that could forge a log line. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestState(res: Response): RequestState {
  return res.locals.state as RequestState;
}

/** Accepts a caller's X-Request-Id when it is a safe token, otherwise makes one; echoes it on the response. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const given = req.header('x-request-id');
  const requestId = given && SAFE_ID.test(given) ? given : randomUUID();
  res.locals.state = { requestId, startedAt: process.hrtime.bigint() } satisfies RequestState;
  res.setHeader('X-Request-Id', requestId);
  next();
}

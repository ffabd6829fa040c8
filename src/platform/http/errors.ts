import type { NextFunction, Request, Response } from 'express';
import type winston from 'winston';
import { AppError, toAppError } from '../errors';
import { requestState } from './request-state';

export function notFoundHandler(req: Request, _res: Response, next: NextFunction): void {
  next(new AppError('not_found', 'ROUTE_NOT_FOUND', `no route ${req.method} ${req.path}`));
}

function fromBodyParser(err: { type?: string; status?: number }): AppError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new AppError('too_large', 'PAYLOAD_TOO_LARGE', 'the request body is larger than allowed');
    case 'entity.parse.failed':
      return new AppError('invalid', 'MALFORMED_JSON', 'the request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media', 'UNSUPPORTED_ENCODING', 'send the body as UTF-8 JSON');
    default:
      return undefined;
  }
}

/** The one error body: { error: { code, message, details?, requestId } }. Internal errors never leak their cause. */
export function errorHandler(log: winston.Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const appErr = fromBodyParser(err as { type?: string }) ?? toAppError(err);
    const state = requestState(res);
    if (appErr.code === 'REQUEST_ABORTED') {
      // the client left and its query was stopped on purpose: nothing failed, nobody is waiting for the answer
      log.info('request abandoned by the client', { requestId: state?.requestId });
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (appErr.kind === 'internal' || appErr.kind === 'unavailable') {
      log.error('request failed', { requestId: state?.requestId, code: appErr.code, err: appErr.cause ?? appErr });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(appErr.status).json({
      error: {
        code: appErr.code,
        message: appErr.message,
        ...(appErr.details !== undefined ? { details: appErr.details } : {}),
        requestId: state?.requestId ?? '',
      },
    });
  };
}

/** What went wrong, independent of transport; one table maps it to HTTP status and job behaviour. */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export const statusOfKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }

  get status(): number {
    return statusOfKind[this.kind];
  }
}

export const invalid = (code: string, message: string, details?: unknown) => new AppError('invalid', code, message, details);
export const unauthenticated = (code: string, message: string) => new AppError('unauthenticated', code, message);
export const forbidden = (code: string, message: string, details?: unknown) => new AppError('forbidden', code, message, details);
export const notFound = (code: string, message: string) => new AppError('not_found', code, message);
export const conflict = (code: string, message: string, details?: unknown) => new AppError('conflict', code, message, details);
export const unavailable = (code: string, message: string, cause?: unknown) =>
  new AppError('unavailable', code, message, undefined, { cause });

/** Turns any throwable into an AppError; unknown ones become `internal` and keep the original as cause. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; errno?: number } | undefined;
  if (e && typeof e.code === 'string') {
    if (['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'ETIMEDOUT', 'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK'].includes(e.code)) {
      return new AppError('unavailable', 'DEPENDENCY_UNAVAILABLE', 'a dependency is temporarily unavailable, try again', undefined, {
        cause: err,
      });
    }
  }
  return new AppError('internal', 'INTERNAL', 'internal error', undefined, { cause: err });
}

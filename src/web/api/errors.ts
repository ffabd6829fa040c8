/** The one error body of the API: `{ error: { code, message, details?, requestId } }`. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown; requestId?: string };
}

export interface FieldProblem {
  /** The request field the API names, e.g. `newPassword` or `items.3.amount`. */
  path: string;
  message: string;
  /** The problem's own code when the API gives one (the roll's validation rules do), for a message in the page's language. */
  code?: string;
}

/** A refusal of the API (or no answer at all: status 0, code NETWORK), with the problems it names per field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
    readonly requestId: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Problems that name a field (details `[{ path, message }]`), for showing beside that field. */
  get fieldProblems(): FieldProblem[] {
    if (!Array.isArray(this.details)) return [];
    return this.details.flatMap((d: unknown) => {
      const item = d as { path?: unknown; message?: unknown; code?: unknown };
      return typeof item.path === 'string' && item.path !== '' && typeof item.message === 'string'
        ? [{ path: item.path, message: item.message, ...(typeof item.code === 'string' ? { code: item.code } : {}) }]
        : [];
    });
  }

  static from(status: number, body: unknown): ApiError {
    const e = (body as Partial<ApiErrorBody> | undefined)?.error;
    if (e && typeof e.code === 'string') return new ApiError(status, e.code, e.message ?? e.code, e.details, e.requestId);
    return new ApiError(status, `HTTP_${status}`, `HTTP ${status}`, undefined, undefined);
  }
}

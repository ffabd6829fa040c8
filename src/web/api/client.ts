import createClient, { type Middleware } from 'openapi-fetch';
import { ApiError } from './errors';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

/**
 * What the browser session adds to the API's answers (cookie session): the CSRF token is sent back on every unsafe
 * request, the deadlines drive the idle warning. Declared here until the generated types carry them.
 */
export interface SessionInfo {
  idleSeconds: number;
  idleExpiresAt: string;
  expiresAt: string;
  csrfToken?: string;
}
export type Me = Schemas['Me'] & { session?: SessionInfo };
/** The answer to login, password change and TOTP confirmation in a cookie session: no token, a new CSRF token. */
export type CookieSessionAnswer = Omit<Schemas['AccessToken'], 'token'> & { csrfToken?: string };

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Answers a 401 is the normal outcome of, not a sign that the session ended. */
const LOGIN_PATH = '/api/v1/auth/login';

interface SessionHooks {
  /** Any authenticated answer: the server counted the request as activity. */
  activity: () => void;
  /** A 401 outside login: the session is over, whatever the code says. */
  ended: (code: string) => void;
}

/** Held in memory only: a script can read it, but it is worthless without the HttpOnly cookie it is bound to. */
let csrfToken: string | null = null;
let hooks: SessionHooks = { activity: () => {}, ended: () => {} };

export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

export function setSessionHooks(next: SessionHooks): void {
  hooks = next;
}

/** For the few requests made outside this client (an upload with progress events): the header it would send. */
export function csrfHeader(): Record<string, string> {
  return csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
}

const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    if (csrfToken && UNSAFE.has(request.method.toUpperCase())) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    const path = new URL(request.url).pathname;
    if (response.status === 401 && path !== LOGIN_PATH) {
      void response
        .clone()
        .json()
        .then(
          (body: unknown) => hooks.ended(ApiError.from(401, body).code),
          () => hooks.ended('HTTP_401'),
        );
    } else if (response.status < 500 && response.status !== 401 && path !== LOGIN_PATH) {
      hooks.activity();
    }
    return response;
  },
};

/** The one client of the API: typed from the service's OpenAPI document, same-origin cookies, CSRF on unsafe methods. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(sessionMiddleware);

/**
 * The data of an openapi-fetch answer, or an ApiError thrown: what TanStack Query's functions want.
 * A request that never got an answer becomes ApiError status 0, code NETWORK.
 */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (e) {
    // an aborted request (the page was left) is no network failure: TanStack Query knows the signal it gave
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', e instanceof Error ? e.message : String(e), undefined, undefined);
  }
  if (!result.response.ok) throw ApiError.from(result.response.status, result.error);
  return result.data as T;
}

/** A fresh Idempotency-Key per attempt: a double click or a retried request is done once. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

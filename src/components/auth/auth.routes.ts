import type { RequestHandler } from 'express';
import type { Config } from '../../../config';
import { issuedSchema, loginBody, meWithSessionSchema, passwordBody, tokenSchema, totpConfirmBody, totpSetupSchema } from './auth.schemas';
import type { Api, RouteContext } from '../../platform/http';
import type { AuthService, Issued } from './auth.service';
import { SESSION_COOKIE, sessionCookieOptions } from './session-cookie';

const SESSION_MODES = 'In a cookie session the new session replaces the cookie and the answer carries its csrfToken instead of a token.';

export function registerAuthRoutes(api: Api, auth: AuthService, loginLimiter: RequestHandler, cfg: Pick<Config, 'mode'>): void {
  const answer = (ctx: RouteContext, issued: Issued) => {
    if (issued.mode === 'cookie') ctx.res.cookie(SESSION_COOKIE, issued.cookie, sessionCookieOptions(cfg));
    return issued.body;
  };

  api.route({
    method: 'post',
    path: '/auth/login',
    summary: 'Log in with username, password and (when enrolled) a TOTP code',
    description:
      'Returns a short-lived JWT bound to a server-side session; with `session: "cookie"` (for the browser console) the session is set as the cookie `wd_session` (HttpOnly, SameSite=Strict, Secure in production) instead, and the answer carries no token but a `csrfToken`, which every POST, PUT, PATCH and DELETE of that session must repeat in the `X-CSRF-Token` header (403 `CSRF_TOKEN_INVALID` otherwise). A request with an Authorization header is authenticated by it alone. A `limited` session is returned while the password must be changed or a second factor enrolled. Five failures lock the account; a locked account answers 401 `ACCOUNT_LOCKED`, and a disabled one 401 `ACCOUNT_DISABLED`, whether the password is right or not. The session ends after the idle limit or `AUTH_SESSION_MAX_HOURS` after login, whichever comes first.',
    tags: ['auth'],
    access: 'public',
    before: [loginLimiter],
    body: loginBody,
    responses: {
      200: { description: 'Logged in: a bearer token, or (session: cookie) the CSRF token of the cookie session', schema: issuedSchema },
      429: { description: 'Too many attempts from this address' },
    },
    handler: async ({ body }, ctx) => answer(ctx, await auth.login(body, ctx.req.ip ?? null, ctx.requestId)),
  });

  api.route({
    method: 'get',
    path: '/auth/me',
    summary: 'The logged-in user and the deadlines of this session',
    description:
      'The console calls it on load to learn the idle limit and deadlines, and, in a cookie session, the CSRF token. It extends the idle deadline as every request does, no more.',
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    responses: { 200: { description: 'The user and the session', schema: meWithSessionSchema } },
    handler: (_in, ctx) => auth.me(ctx.principal),
  });

  api.route({
    method: 'post',
    path: '/auth/logout',
    summary: 'End this session; its tokens (or its cookie) stop working at once',
    description: 'A cookie session also has its cookie cleared (Max-Age=0).',
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    responses: { 204: { description: 'Logged out' } },
    handler: async (_in, ctx) => {
      await auth.logout(ctx.principal, ctx.actor);
      if (ctx.principal.cookieSession) ctx.res.cookie(SESSION_COOKIE, '', { ...sessionCookieOptions(cfg), maxAge: 0 });
    },
  });

  api.route({
    method: 'post',
    path: '/auth/refresh',
    summary: 'A new token for the same live session, until its absolute deadline',
    description: 'Not for a cookie session (403 BEARER_SESSION_REQUIRED): it stays alive while used and never hands its page a token.',
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    responses: { 200: { description: 'New token', schema: tokenSchema } },
    handler: (_in, ctx) => auth.refresh(ctx.principal),
  });

  api.route({
    method: 'post',
    path: '/auth/password',
    summary: 'Change your own password (ends every other session)',
    description: SESSION_MODES,
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    body: passwordBody,
    responses: { 200: { description: 'Changed; a new token (or cookie) for a new session', schema: issuedSchema } },
    handler: async ({ body }, ctx) => answer(ctx, await auth.changePassword(ctx.principal, ctx.actor, body)),
  });

  api.route({
    method: 'post',
    path: '/auth/totp/setup',
    summary: 'Start enrolling a TOTP second factor',
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    responses: { 200: { description: 'The secret, shown once', schema: totpSetupSchema }, 409: { description: 'Already enrolled' } },
    handler: (_in, ctx) => auth.totpSetup(ctx.principal, ctx.actor),
  });

  api.route({
    method: 'post',
    path: '/auth/totp/confirm',
    summary: 'Finish TOTP enrolment with a code from the app',
    description: `Every session of the user ends and a new one is issued. ${SESSION_MODES}`,
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    body: totpConfirmBody,
    responses: {
      200: { description: 'Enrolled; a new token (or cookie) for a new session', schema: issuedSchema },
      409: { description: 'Not set up or already enrolled' },
    },
    handler: async ({ body }, ctx) => answer(ctx, await auth.totpConfirm(ctx.principal, ctx.actor, body.code)),
  });
}

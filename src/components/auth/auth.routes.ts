import type { RequestHandler } from 'express';
import { meSchema, loginBody, passwordBody, tokenSchema, totpConfirmBody, totpSetupSchema } from './auth.schemas';
import type { Api } from '../../platform/http';
import type { AuthService } from './auth.service';

export function registerAuthRoutes(api: Api, auth: AuthService, loginLimiter: RequestHandler): void {
  api.route({
    method: 'post',
    path: '/auth/login',
    summary: 'Log in with username, password and (when enrolled) a TOTP code',
    description:
      'Returns a short-lived JWT bound to a server-side session. A `limited` token is returned while the password must be changed or a second factor enrolled. Five failures lock the account; a locked account answers 401 `ACCOUNT_LOCKED` whether the password is right or not. The session ends after the idle limit or `AUTH_SESSION_MAX_HOURS` after login, whichever comes first.',
    tags: ['auth'],
    access: 'public',
    before: [loginLimiter],
    body: loginBody,
    responses: { 200: { description: 'Logged in', schema: tokenSchema }, 429: { description: 'Too many attempts from this address' } },
    handler: ({ body }, ctx) => auth.login(body, ctx.req.ip ?? null, ctx.requestId),
  });

  api.route({
    method: 'get',
    path: '/auth/me',
    summary: 'The logged-in user',
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    responses: { 200: { description: 'The user', schema: meSchema } },
    handler: (_in, ctx) => auth.me(ctx.principal),
  });

  api.route({
    method: 'post',
    path: '/auth/logout',
    summary: 'End this session; its tokens stop working at once',
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    responses: { 204: { description: 'Logged out' } },
    handler: async (_in, ctx) => {
      await auth.logout(ctx.principal, ctx.actor);
    },
  });

  api.route({
    method: 'post',
    path: '/auth/refresh',
    summary: 'A new token for the same live session, until its absolute deadline',
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
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    body: passwordBody,
    responses: { 200: { description: 'Changed; a new token for a new session', schema: tokenSchema } },
    handler: ({ body }, ctx) => auth.changePassword(ctx.principal, ctx.actor, body),
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
    tags: ['auth'],
    access: 'authenticated',
    allowLimited: true,
    body: totpConfirmBody,
    responses: {
      200: { description: 'Enrolled; a new token', schema: tokenSchema },
      409: { description: 'Not set up or already enrolled' },
    },
    handler: ({ body }, ctx) => auth.totpConfirm(ctx.principal, ctx.actor, body.code),
  });
}

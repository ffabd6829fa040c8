import type { Api } from '../../platform/http';
import {
  createUserBody,
  idParams,
  listUsersQuery,
  resetPasswordBody,
  updateUserBody,
  userPage,
  userSchema,
  userWithPasswordSchema,
} from './auth.schemas';
import type { UsersService } from './users.service';

const ADMIN = ['admin'] as const;

export function registerUserRoutes(api: Api, users: UsersService): void {
  api.route({
    method: 'post',
    path: '/users',
    summary: 'Create a user (temporary password, changed at first login)',
    tags: ['users'],
    access: ADMIN,
    body: createUserBody,
    idempotent: true,
    responses: { 201: { description: 'Created', schema: userWithPasswordSchema }, 409: { description: 'USERNAME_TAKEN' } },
    handler: ({ body }, ctx) => users.create(ctx.principal, ctx.actor, body),
  });

  api.route({
    method: 'get',
    path: '/users',
    summary: 'List users inside your area scope',
    tags: ['users'],
    access: ADMIN,
    query: listUsersQuery,
    responses: { 200: { description: 'A page of users', schema: userPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return users.list(ctx.principal, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/users/:id',
    summary: 'One user',
    tags: ['users'],
    access: ADMIN,
    params: idParams,
    responses: { 200: { description: 'The user', schema: userSchema }, 404: { description: 'USER_NOT_FOUND' } },
    handler: ({ params }, ctx) => users.get(ctx.principal, params.id),
  });

  api.route({
    method: 'patch',
    path: '/users/:id',
    summary: "Change display name, roles or area scope (role and scope changes end the user's sessions)",
    tags: ['users'],
    access: ADMIN,
    params: idParams,
    body: updateUserBody,
    responses: { 200: { description: 'Updated', schema: userSchema }, 404: { description: 'USER_NOT_FOUND' } },
    handler: ({ params, body }, ctx) => users.update(ctx.principal, ctx.actor, params.id, body),
  });

  const action = (
    verb: string,
    summary: string,
    run: (id: number, ctx: Parameters<Parameters<Api['route']>[0]['handler']>[1]) => Promise<unknown>,
  ) =>
    api.route({
      method: 'post',
      path: `/users/:id/${verb}`,
      summary,
      tags: ['users'],
      access: ADMIN,
      params: idParams,
      responses: {
        200: { description: 'Done', schema: userSchema },
        404: { description: 'USER_NOT_FOUND' },
        409: { description: 'Already in that state' },
      },
      handler: ({ params }, ctx) => run(params.id, ctx),
    });

  action('deactivate', 'Deactivate a user and end their sessions', (id, ctx) => users.deactivate(ctx.principal, ctx.actor, id));
  action('activate', 'Reactivate a user', (id, ctx) => users.activate(ctx.principal, ctx.actor, id));
  action('unlock', 'Unlock a user locked by failed logins', (id, ctx) => users.unlock(ctx.principal, ctx.actor, id));
  action('reset-totp', 'Remove a lost second factor; the user enrols again', (id, ctx) => users.resetTotp(ctx.principal, ctx.actor, id));

  api.route({
    method: 'post',
    path: '/users/:id/reset-password',
    summary: "Set a temporary password (generated unless given); ends the user's sessions",
    tags: ['users'],
    access: ADMIN,
    params: idParams,
    body: resetPasswordBody,
    responses: { 200: { description: 'Reset', schema: userWithPasswordSchema }, 404: { description: 'USER_NOT_FOUND' } },
    handler: ({ params, body }, ctx) => users.resetPassword(ctx.principal, ctx.actor, params.id, body.password),
  });
}

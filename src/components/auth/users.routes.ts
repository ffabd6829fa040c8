import { intIdParams } from '../../platform/http/schemas';
import type { Api } from '../../platform/http';
import {
  createUserBody,
  listUsersQuery,
  resetPasswordBody,
  updateUserBody,
  userPage,
  userSchema,
  userWithPasswordSchema,
} from './auth.schemas';
import {
  confirmedRoleGrantSchema,
  createdUserSchema,
  issuedRoleGrantSchema,
  listGrantsQuery,
  proposeGrantBody,
  roleGrantPage,
  roleGrantSchema,
  updatedUserSchema,
} from './users.schemas';
import type { UsersService } from './users.service';

const ADMIN = ['admin'] as const;

export function registerUserRoutes(api: Api, users: UsersService): void {
  api.route({
    method: 'post',
    path: '/users',
    summary: 'Create a user (temporary password, changed at first login)',
    description:
      'admin cannot be combined with another role. Asked for approver or admin, the user is created with the other roles only and ' +
      'no usable password, and a grant of the roles asked for is proposed (roleGrant, with your half of the temporary password): ' +
      'another administrator confirms it (POST /role-grants/{id}/confirm), which gives the roles and sets the password.',
    tags: ['users'],
    access: ADMIN,
    body: createUserBody,
    idempotent: true,
    responses: {
      201: { description: 'Created', schema: createdUserSchema },
      400: { description: 'ROLE_COMBINATION, PASSWORD_NOT_ALLOWED (a chosen password for an approver or admin), WEAK_PASSWORD' },
      409: { description: 'USERNAME_TAKEN' },
    },
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
    params: intIdParams,
    responses: { 200: { description: 'The user', schema: userSchema }, 404: { description: 'USER_NOT_FOUND' } },
    handler: ({ params }, ctx) => users.get(ctx.principal, params.id),
  });

  api.route({
    method: 'patch',
    path: '/users/:id',
    summary: "Change display name, roles or area scope (role and scope changes end the user's sessions)",
    description:
      'Nobody changes their own roles. Roles that add approver or admin are not applied: they become a pending grant (roleGrant) ' +
      'that another administrator confirms; staff and auditor, and removals, apply at once.',
    tags: ['users'],
    access: ADMIN,
    params: intIdParams,
    body: updateUserBody,
    responses: {
      200: { description: 'Updated', schema: updatedUserSchema },
      400: { description: 'ROLE_COMBINATION' },
      403: { description: 'SELF_CHANGE_REFUSED, AREA_OUT_OF_SCOPE' },
      404: { description: 'USER_NOT_FOUND' },
      409: { description: 'ROLE_GRANT_PENDING' },
    },
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
      params: intIdParams,
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
    description:
      "Not for an approver or administrator (403 SECOND_ADMIN_REQUIRED): propose a grant of the user's current roles " +
      '(POST /users/{id}/role-grants), whose confirmation by another administrator sets a new temporary password in two halves.',
    tags: ['users'],
    access: ADMIN,
    params: intIdParams,
    body: resetPasswordBody,
    responses: {
      200: { description: 'Reset', schema: userWithPasswordSchema },
      403: { description: 'SECOND_ADMIN_REQUIRED, AREA_OUT_OF_SCOPE' },
      404: { description: 'USER_NOT_FOUND' },
    },
    handler: ({ params, body }, ctx) => users.resetPassword(ctx.principal, ctx.actor, params.id, body.password),
  });

  api.route({
    method: 'post',
    path: '/users/:id/role-grants',
    summary: 'Propose approver or admin for a user: another administrator confirms',
    description:
      "roles is the user's whole role set after the grant. The answer holds your half of the temporary password the confirmation " +
      "sets (the user's second factor is removed too), so that no single administrator can act as the account. Proposing the " +
      'current roles of an approver or administrator re-issues their password. Nobody proposes for themselves.',
    tags: ['users'],
    access: ADMIN,
    params: intIdParams,
    body: proposeGrantBody,
    idempotent: true,
    responses: {
      201: { description: 'Proposed', schema: issuedRoleGrantSchema },
      400: { description: 'ROLE_COMBINATION, ROLE_GRANT_NOT_NEEDED' },
      403: { description: 'SELF_CHANGE_REFUSED, AREA_OUT_OF_SCOPE' },
      404: { description: 'USER_NOT_FOUND' },
      409: { description: 'ROLE_GRANT_PENDING' },
    },
    handler: ({ params, body }, ctx) => users.proposeGrant(ctx.principal, ctx.actor, params.id, body),
  });

  api.route({
    method: 'get',
    path: '/role-grants',
    summary: 'Role grants of users inside your area scope, newest first',
    tags: ['users'],
    access: ADMIN,
    query: listGrantsQuery,
    responses: { 200: { description: 'A page of role grants', schema: roleGrantPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return users.listGrants(ctx.principal, filter, { limit, cursor });
    },
  });

  const grantErrors = {
    403: { description: 'AREA_OUT_OF_SCOPE' },
    404: { description: 'ROLE_GRANT_NOT_FOUND' },
    409: { description: 'ROLE_GRANT_NOT_PENDING' },
  };

  api.route({
    method: 'post',
    path: '/role-grants/:id/confirm',
    summary: 'Confirm a role grant: a second administrator, never the proposer nor the user',
    description:
      "Applies the roles, ends the user's sessions and sets a new temporary password: the proposer's half followed by yours " +
      '(in the answer, shown once); the user changes it and enrols a second factor at first login.',
    tags: ['users'],
    access: ADMIN,
    params: intIdParams,
    idempotent: true,
    responses: {
      200: { description: 'Confirmed', schema: confirmedRoleGrantSchema },
      ...grantErrors,
      403: { description: 'FOUR_EYES (you proposed it, or it is for you), AREA_OUT_OF_SCOPE' },
      409: { description: 'ROLE_GRANT_NOT_PENDING, ROLE_GRANT_STALE (the roles changed since the proposal)' },
    },
    handler: ({ params }, ctx) => users.confirmGrant(ctx.principal, ctx.actor, params.id),
  });

  api.route({
    method: 'post',
    path: '/role-grants/:id/reject',
    summary: 'Reject a role grant (the proposer may withdraw it); nothing changes for the user',
    tags: ['users'],
    access: ADMIN,
    params: intIdParams,
    idempotent: true,
    responses: { 200: { description: 'Rejected', schema: roleGrantSchema }, ...grantErrors },
    handler: ({ params }, ctx) => users.rejectGrant(ctx.principal, ctx.actor, params.id),
  });
}

import { intIdParams } from '../../platform/http/schemas';
import type { Api } from '../../platform/http';
import {
  connectionTestSchema,
  createProviderBody,
  listProvidersQuery,
  listRoutesQuery,
  providerList,
  providerRouteList,
  providerRouteSchema,
  providerSchema,
  routeParams,
  setRouteBody,
  updateProviderBody,
} from './providers.schemas';
import type { ProvidersService } from './providers.service';

const NOT_PAGINATED = 'The whole list in one reply, not paginated: it holds tens of entries at most.';
const READERS = ['admin', 'auditor'] as const;

export function registerProviderRoutes(api: Api, providers: ProvidersService): void {
  // declared before /providers/:id, which would otherwise take "routes" for an id
  api.route({
    method: 'get',
    path: '/providers/routes',
    summary: 'The routing rule: which provider pays which channel, bank BIN or wallet provider',
    description: `${NOT_PAGINATED} An enrolment is paid by the route of its exact bank BIN or wallet provider, else by its channel's * route.`,
    tags: ['providers'],
    access: READERS,
    query: listRoutesQuery,
    responses: { 200: { description: 'Every route, by channel, * last', schema: providerRouteList } },
    handler: async ({ query }) => ({ items: await providers.listRoutes(query) }),
  });

  api.route({
    method: 'put',
    path: '/providers/routes/:channel/:matchCode',
    summary: 'Route a channel, bank BIN or wallet provider to a provider',
    description:
      'matchCode is a 6-digit BIN from the bank list (channel bank), a code from the wallet provider list (channel wallet), or * for the rest of the channel (the only code of channel cash). 201 when the route is new, 200 when it existed (its provider replaced, or already that one).',
    tags: ['providers'],
    access: ['admin'],
    params: routeParams,
    body: setRouteBody,
    responses: {
      200: { description: 'The route existed; it now points at this provider', schema: providerRouteSchema },
      201: { description: 'A new route', schema: providerRouteSchema },
      400: { description: 'INVALID_MATCH_CODE, UNKNOWN_BANK or UNKNOWN_WALLET_PROVIDER' },
      404: { description: 'PROVIDER_NOT_FOUND' },
      409: { description: 'PROVIDER_INACTIVE' },
    },
    handler: async ({ params, body }, ctx) => {
      const { created, route } = await providers.setRoute(ctx.actor, params.channel, params.matchCode, body.providerId);
      if (!created) return route;
      ctx.res.status(201).json(route);
      return undefined;
    },
  });

  api.route({
    method: 'delete',
    path: '/providers/routes/:channel/:matchCode',
    summary: 'Remove a route',
    description: "What it matched falls back to its channel's * route, or to no provider when it was the * route.",
    tags: ['providers'],
    access: ['admin'],
    params: routeParams,
    responses: { 204: { description: 'Removed' }, 404: { description: 'ROUTE_NOT_FOUND' } },
    handler: async ({ params }, ctx) => {
      await providers.deleteRoute(ctx.actor, params.channel, params.matchCode);
      return undefined;
    },
  });

  api.route({
    method: 'get',
    path: '/providers',
    summary: 'List the payment providers',
    description: `${NOT_PAGINATED} Ordered by name. Secrets are never shown, only whether one is set.`,
    tags: ['providers'],
    access: READERS,
    query: listProvidersQuery,
    responses: { 200: { description: 'Every provider', schema: providerList } },
    handler: async ({ query }) => ({ items: await providers.list(query) }),
  });

  api.route({
    method: 'get',
    path: '/providers/:id',
    summary: 'One payment provider',
    tags: ['providers'],
    access: READERS,
    params: intIdParams,
    responses: { 200: { description: 'The provider', schema: providerSchema }, 404: { description: 'PROVIDER_NOT_FOUND' } },
    handler: ({ params }) => providers.get(params.id),
  });

  api.route({
    method: 'post',
    path: '/providers',
    summary: 'Add a payment provider',
    description:
      'kind http needs baseUrl, clientId and secret; kind sandbox may leave them out (SANDBOX_URL, SANDBOX_CLIENT_ID, SANDBOX_SECRET); kind file takes none. The secret is stored encrypted and never returned.',
    tags: ['providers'],
    access: ['admin'],
    body: createProviderBody,
    idempotent: true,
    responses: {
      201: { description: 'Added', schema: providerSchema },
      400: { description: 'PROVIDER_INCOMPLETE, PROVIDER_FIELD_NOT_FOR_KIND, INVALID_BASE_URL' },
      409: { description: 'PROVIDER_NAME_TAKEN' },
    },
    handler: ({ body }, ctx) => providers.create(ctx.actor, body),
  });

  api.route({
    method: 'patch',
    path: '/providers/:id',
    summary: 'Change a provider’s connection, secret, limits, or (de)activate it',
    description: 'name and kind are fixed. A new secret replaces the old one at once; null removes it (sandbox only).',
    tags: ['providers'],
    access: ['admin'],
    params: intIdParams,
    body: updateProviderBody,
    responses: {
      200: { description: 'Updated', schema: providerSchema },
      400: { description: 'PROVIDER_INCOMPLETE, PROVIDER_FIELD_NOT_FOR_KIND, INVALID_BASE_URL' },
      404: { description: 'PROVIDER_NOT_FOUND' },
      409: { description: 'PROVIDER_ROUTED: deactivating a provider a route still points at' },
    },
    handler: ({ params, body }, ctx) => providers.update(ctx.actor, params.id, body),
  });

  api.route({
    method: 'post',
    path: '/providers/:id/pause',
    summary: 'Pause a provider: dispatch sends nothing new to it until resumed',
    description: 'Inquiries and statements go on. Pausing a paused provider changes nothing.',
    tags: ['providers'],
    access: ['admin'],
    params: intIdParams,
    responses: { 200: { description: 'Paused', schema: providerSchema }, 404: { description: 'PROVIDER_NOT_FOUND' } },
    handler: ({ params }, ctx) => providers.pause(ctx.actor, params.id),
  });

  api.route({
    method: 'post',
    path: '/providers/:id/test',
    summary: 'Test the connection to a provider with a signed balance request',
    description:
      'Uses the stored address, client id and secret, so that an administrator knows before routing payments to the provider that it accepts our signature and clock. 200 whatever the provider answered: ok false names what it said (providerError: BAD_SIGNATURE, STALE_TIMESTAMP, ...) or how the exchange failed (transport). Audited.',
    tags: ['providers'],
    access: ['admin'],
    params: intIdParams,
    responses: {
      200: { description: 'The test ran', schema: connectionTestSchema },
      404: { description: 'PROVIDER_NOT_FOUND' },
      409: { description: 'PROVIDER_NOT_TESTABLE (a file provider), SANDBOX_IN_PRODUCTION' },
    },
    handler: ({ params }, ctx) => providers.testConnection(ctx.actor, params.id),
  });

  api.route({
    method: 'post',
    path: '/providers/:id/resume',
    summary: 'Resume a paused provider',
    tags: ['providers'],
    access: ['admin'],
    params: intIdParams,
    responses: { 200: { description: 'Resumed', schema: providerSchema }, 404: { description: 'PROVIDER_NOT_FOUND' } },
    handler: ({ params }, ctx) => providers.resume(ctx.actor, params.id),
  });
}

import { intIdParams } from '../../platform/http/schemas';
import type { Api } from '../../platform/http';
import {
  baseLevelParams,
  baseLevelSetSchema,
  createProgrammeBody,
  entitlementQuery,
  entitlementSchema,
  listProgrammesQuery,
  programmeDetailSchema,
  programmePage,
  setBaseLevelBody,
  updateProgrammeBody,
} from './programmes.schemas';
import type { ProgrammesService } from './programmes.service';

export function registerProgrammeRoutes(api: Api, programmes: ProgrammesService): void {
  api.route({
    method: 'get',
    path: '/programmes',
    summary: 'List allowance programmes',
    tags: ['programmes'],
    access: 'authenticated',
    query: listProgrammesQuery,
    responses: { 200: { description: 'A page of programmes', schema: programmePage } },
    handler: ({ query }) => {
      const { limit, cursor, ...filter } = query;
      return programmes.list(filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/programmes/:id',
    summary: 'One programme with its base levels, oldest first',
    tags: ['programmes'],
    access: 'authenticated',
    params: intIdParams,
    responses: { 200: { description: 'The programme', schema: programmeDetailSchema }, 404: { description: 'PROGRAMME_NOT_FOUND' } },
    handler: ({ params }) => programmes.get(params.id),
  });

  api.route({
    method: 'post',
    path: '/programmes',
    summary: 'Create a programme, optionally with its base levels',
    tags: ['programmes'],
    access: ['staff', 'admin'],
    body: createProgrammeBody,
    idempotent: true,
    responses: { 201: { description: 'Created', schema: programmeDetailSchema }, 409: { description: 'PROGRAMME_CODE_TAKEN' } },
    handler: ({ body }, ctx) => programmes.create(ctx.actor, body),
  });

  api.route({
    method: 'patch',
    path: '/programmes/:id',
    summary: 'Rename a programme, change its frequency, or (de)activate it',
    tags: ['programmes'],
    access: ['staff', 'admin'],
    params: intIdParams,
    body: updateProgrammeBody,
    responses: { 200: { description: 'Updated', schema: programmeDetailSchema }, 404: { description: 'PROGRAMME_NOT_FOUND' } },
    handler: ({ params, body }, ctx) => programmes.update(ctx.actor, params.id, body),
  });

  api.route({
    method: 'put',
    path: '/programmes/:id/base-levels/:effectiveFrom',
    summary: 'Set the base level in force from a month',
    description:
      'The level applies from effectiveFrom (YYYY-MM) until the month of the next level. 201 when the month had no level, 200 when an existing amount was replaced (or the same amount and reason sent again, which changes nothing).',
    tags: ['programmes'],
    access: ['staff', 'admin'],
    params: baseLevelParams,
    body: setBaseLevelBody,
    responses: {
      200: { description: 'Replaced the level of that month', schema: baseLevelSetSchema },
      201: { description: 'Added a level from that month', schema: baseLevelSetSchema },
      404: { description: 'PROGRAMME_NOT_FOUND' },
    },
    handler: async ({ params, body }, ctx) => {
      const { created, level } = await programmes.setBaseLevel(ctx.actor, params.id, params.effectiveFrom, body);
      if (!created) return level;
      ctx.res.status(201).json(level);
      return undefined;
    },
  });

  api.route({
    method: 'get',
    path: '/programmes/:id/entitlement',
    summary: 'The monthly amount for a coefficient in a month',
    description: 'Base level in force that month × coefficient, rounded half up to whole đồng.',
    tags: ['programmes'],
    access: 'authenticated',
    params: intIdParams,
    query: entitlementQuery,
    responses: {
      200: { description: 'The amount and how it was computed', schema: entitlementSchema },
      404: { description: 'PROGRAMME_NOT_FOUND, or NO_BASE_LEVEL when no level is in force that month' },
    },
    handler: ({ params, query }) => programmes.entitlement(params.id, query.period, query.coefficient),
  });
}

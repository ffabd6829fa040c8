import { intIdParams } from '../../platform/http/schemas';
import type { Api } from '../../platform/http';
import { areaDetailSchema, areaPage, createAreaBody, listAreasQuery, updateAreaBody } from './areas.schemas';
import type { AreasService } from './areas.service';

export function registerAreaRoutes(api: Api, areas: AreasService): void {
  api.route({
    method: 'get',
    path: '/areas',
    summary: 'List administrative units inside your scope',
    tags: ['areas'],
    access: 'authenticated',
    query: listAreasQuery,
    responses: { 200: { description: 'A page of areas', schema: areaPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return areas.list(ctx.principal, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/areas/:id',
    summary: 'One area with its ancestors',
    tags: ['areas'],
    access: 'authenticated',
    params: intIdParams,
    responses: { 200: { description: 'The area', schema: areaDetailSchema }, 404: { description: 'AREA_NOT_FOUND' } },
    handler: ({ params }, ctx) => areas.get(ctx.principal, params.id),
  });

  api.route({
    method: 'post',
    path: '/areas',
    summary: 'Create an area under a parent in your scope',
    tags: ['areas'],
    access: ['admin'],
    body: createAreaBody,
    idempotent: true,
    responses: { 201: { description: 'Created', schema: areaDetailSchema }, 409: { description: 'AREA_CODE_TAKEN' } },
    handler: ({ body }, ctx) => areas.create(ctx.principal, ctx.actor, body),
  });

  api.route({
    method: 'patch',
    path: '/areas/:id',
    summary: 'Rename, recode, (de)activate or move an area',
    tags: ['areas'],
    access: ['admin'],
    params: intIdParams,
    body: updateAreaBody,
    responses: {
      200: { description: 'Updated', schema: areaDetailSchema },
      404: { description: 'AREA_NOT_FOUND' },
      409: { description: 'AREA_CODE_TAKEN' },
    },
    handler: ({ params, body }, ctx) => areas.update(ctx.principal, ctx.actor, params.id, body),
  });

  api.route({
    method: 'delete',
    path: '/areas/:id',
    summary: 'Delete a leaf area nothing refers to',
    tags: ['areas'],
    access: ['admin'],
    params: intIdParams,
    responses: { 204: { description: 'Deleted' }, 409: { description: 'AREA_HAS_CHILDREN or AREA_IN_USE' } },
    handler: async ({ params }, ctx) => {
      await areas.remove(ctx.principal, ctx.actor, params.id);
    },
  });
}

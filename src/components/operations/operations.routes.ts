import type { Api } from '../../platform/http';
import { jobList, jobsQuery, queueList, queueParams, queueSchema } from './operations.schemas';
import type { OperationsService } from './operations.service';

const READERS = ['admin', 'auditor'] as const;

export function registerOperationsRoutes(api: Api, operations: OperationsService): void {
  api.route({
    method: 'get',
    path: '/admin/queues',
    summary: 'Every Bull queue: jobs per state and whether it is paused',
    description:
      'The job queues of src/job-catalog.ts, then one queue per active provider with a wire API (payments.p<providerId>). The whole list in one reply, not paginated.',
    tags: ['operations'],
    access: READERS,
    responses: { 200: { description: 'Every queue', schema: queueList } },
    handler: async () => ({ items: await operations.list() }),
  });

  api.route({
    method: 'get',
    path: '/admin/queues/:name/jobs',
    summary: 'Jobs of one queue in one state (failed by default), a page at a time',
    description:
      'Failed and completed newest first, waiting, delayed and paused in the order they will run; offset skips that many of them ' +
      '(a job that moves between two reads may be seen twice or missed). Payloads hold ids only; nothing personal is shown.',
    tags: ['operations'],
    access: READERS,
    params: queueParams,
    query: jobsQuery,
    responses: { 200: { description: 'Up to limit jobs', schema: jobList }, 404: { description: 'QUEUE_NOT_FOUND' } },
    handler: async ({ params, query }) => ({ items: await operations.jobs(params.name, query.state, query.limit, query.offset) }),
  });

  api.route({
    method: 'post',
    path: '/admin/queues/:name/pause',
    summary: 'Pause a queue for every worker',
    description:
      'No worker takes a job of this queue until it is resumed; jobs already running finish. On a provider queue this stops inquiries too: to stop only new sends to a provider, pause the provider (POST /providers/{id}/pause). Pausing a paused queue changes nothing. Audited.',
    tags: ['operations'],
    access: ['admin'],
    params: queueParams,
    idempotent: true,
    responses: { 200: { description: 'Paused', schema: queueSchema }, 404: { description: 'QUEUE_NOT_FOUND' } },
    handler: ({ params }, ctx) => operations.pause(ctx.actor, params.name),
  });

  api.route({
    method: 'post',
    path: '/admin/queues/:name/resume',
    summary: 'Resume a paused queue',
    description: 'Resuming a running queue changes nothing. Audited.',
    tags: ['operations'],
    access: ['admin'],
    params: queueParams,
    idempotent: true,
    responses: { 200: { description: 'Resumed', schema: queueSchema }, 404: { description: 'QUEUE_NOT_FOUND' } },
    handler: ({ params }, ctx) => operations.resume(ctx.actor, params.name),
  });
}

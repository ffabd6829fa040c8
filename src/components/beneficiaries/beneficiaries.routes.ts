import { bigIdParams } from '../../platform/http/schemas';
import type { Api } from '../../platform/http';
import {
  beneficiaryDetailSchema,
  beneficiaryPage,
  endBody,
  enrolmentSchema,
  historyPage,
  historyQuery,
  revealQuery,
  searchQuery,
  statusBody,
  updateBeneficiaryBody,
  updateEnrolmentBody,
} from './beneficiaries.schemas';
import type { BeneficiariesService } from './beneficiaries.service';

const READERS = ['staff', 'admin', 'approver', 'auditor'] as const;
const EDITORS = ['staff', 'admin'] as const;

export function registerBeneficiaryRoutes(api: Api, roll: BeneficiariesService): void {
  api.route({
    method: 'get',
    path: '/beneficiaries',
    summary: 'Search the roll of your area',
    description:
      'By national ID (exact), name or given name (prefix, diacritics optional), area subtree, programme, channel, enrolment status.',
    tags: ['roll'],
    access: READERS,
    query: searchQuery,
    responses: { 200: { description: 'A page of people, identifiers masked', schema: beneficiaryPage } },
    handler: ({ query }, ctx) => {
      const { limit, cursor, ...filter } = query;
      return roll.search(ctx.principal, filter, { limit, cursor });
    },
  });

  api.route({
    method: 'get',
    path: '/beneficiaries/:id',
    summary: 'One person with their enrolments',
    tags: ['roll'],
    access: READERS,
    params: bigIdParams,
    query: revealQuery,
    responses: { 200: { description: 'The person', schema: beneficiaryDetailSchema }, 404: { description: 'BENEFICIARY_NOT_FOUND' } },
    handler: ({ params, query }, ctx) => roll.get(ctx.principal, ctx.actor, params.id, query.reveal ? { reason: query.reason! } : false),
  });

  api.route({
    method: 'get',
    path: '/beneficiaries/:id/history',
    summary: 'Every change of the person and their enrolments, newest first',
    tags: ['roll'],
    access: READERS,
    params: bigIdParams,
    query: historyQuery,
    responses: { 200: { description: 'A page of changes', schema: historyPage } },
    handler: ({ params, query }, ctx) => roll.history(ctx.principal, params.id, query),
  });

  api.route({
    method: 'patch',
    path: '/beneficiaries/:id',
    summary: "Correct a person's data (name, birth date, gender, phone, commune) with a reason",
    tags: ['roll'],
    access: EDITORS,
    params: bigIdParams,
    body: updateBeneficiaryBody,
    responses: {
      200: { description: 'Updated', schema: beneficiaryDetailSchema },
      400: { description: 'VALIDATION_FAILED, UNKNOWN_AREA or AREA_NOT_COMMUNE (details name areaId)' },
      403: { description: 'AREA_OUT_OF_SCOPE: the commune given is outside your area' },
      404: { description: 'BENEFICIARY_NOT_FOUND' },
      409: { description: 'BENEFICIARY_CHANGED: someone changed the person since the updatedAt given' },
    },
    handler: ({ params, body }, ctx) => roll.updateBeneficiary(ctx.principal, ctx.actor, params.id, body),
  });

  api.route({
    method: 'patch',
    path: '/enrolments/:id',
    summary: 'Change an enrolment: coefficient, periods, payment channel and destination, with a reason',
    tags: ['roll'],
    access: EDITORS,
    params: bigIdParams,
    body: updateEnrolmentBody,
    responses: {
      200: { description: 'Updated', schema: enrolmentSchema },
      404: { description: 'ENROLMENT_NOT_FOUND' },
      409: { description: 'SHARED_ACCOUNT, ENROLMENT_ENDED, or ENROLMENT_CHANGED (someone changed it since the version given)' },
    },
    handler: ({ params, body }, ctx) => roll.updateEnrolment(ctx.principal, ctx.actor, params.id, body),
  });

  for (const action of ['suspend', 'resume'] as const) {
    api.route({
      method: 'post',
      path: `/enrolments/:id/${action}`,
      summary: action === 'suspend' ? 'Suspend payments of an active enrolment' : 'Resume a suspended enrolment',
      tags: ['roll'],
      access: EDITORS,
      params: bigIdParams,
      body: statusBody,
      responses: { 200: { description: 'Done', schema: enrolmentSchema }, 409: { description: 'ILLEGAL_STATUS_CHANGE' } },
      handler: ({ params, body }, ctx) => roll.setStatus(ctx.principal, ctx.actor, params.id, action, body),
    });
  }

  api.route({
    method: 'post',
    path: '/enrolments/:id/end',
    summary: 'End an enrolment (deceased, moved away, no longer eligible)',
    tags: ['roll'],
    access: EDITORS,
    params: bigIdParams,
    body: endBody,
    responses: { 200: { description: 'Ended', schema: enrolmentSchema }, 409: { description: 'ILLEGAL_STATUS_CHANGE' } },
    handler: ({ params, body }, ctx) => roll.setStatus(ctx.principal, ctx.actor, params.id, 'end', body),
  });
}

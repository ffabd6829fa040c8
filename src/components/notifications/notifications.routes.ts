import type winston from 'winston';
import { signedCallbackHandler, type Api, type PlainHandler } from '../../platform/http';
import { intIdParams } from '../../platform/http/schemas';
import type { NotificationDispatcher } from './dispatcher';
import { PLACEHOLDERS } from './notification-events';
import type { NotificationsService } from './notifications.service';
import {
  batchParams,
  beneficiaryParams,
  consentBody,
  consentSchema,
  costQuery,
  costSchema,
  createGatewayBody,
  gatewayList,
  gatewaySchema,
  gatewayTestSchema,
  messageList,
  previewBody,
  previewSchema,
  saveTemplateBody,
  templateList,
  templateParams,
  templatesQuery,
  templateSchema,
  templateVersions,
  untoldQuery,
  untoldSchema,
  updateGatewayBody,
} from './notifications.schemas';

const TAGS = ['notifications'];
const READ_ROLES = ['staff', 'approver', 'auditor'] as const;

export function registerNotificationRoutes(api: Api, n: NotificationsService): void {
  const gateways = n.gateways;
  api.route({
    method: 'get',
    path: '/notifications/gateways',
    summary: 'List the SMS gateways',
    description: 'The whole list, not paginated. Secrets are never shown, only whether one is set.',
    tags: TAGS,
    access: ['admin', 'auditor'],
    responses: { 200: { description: 'Every gateway', schema: gatewayList } },
    handler: async () => ({ items: await gateways.list() }),
  });
  api.route({
    method: 'get',
    path: '/notifications/gateways/:id',
    summary: 'One SMS gateway',
    tags: TAGS,
    access: ['admin', 'auditor'],
    params: intIdParams,
    responses: { 200: { description: 'The gateway', schema: gatewaySchema }, 404: { description: 'GATEWAY_NOT_FOUND' } },
    handler: ({ params }) => gateways.get(params.id),
  });
  api.route({
    method: 'post',
    path: '/notifications/gateways',
    summary: 'Add an SMS gateway',
    description:
      'kind http needs baseUrl, clientId and secret; kind sandbox may leave them out. The secret is stored encrypted and never returned.',
    tags: TAGS,
    access: ['admin'],
    body: createGatewayBody,
    idempotent: true,
    responses: {
      201: { description: 'Added', schema: gatewaySchema },
      400: { description: 'GATEWAY_INCOMPLETE, INVALID_SENDER, INVALID_BASE_URL, INVALID_GATEWAY_LIMIT' },
      409: { description: 'GATEWAY_NAME_TAKEN' },
    },
    handler: ({ body }, ctx) => gateways.create(ctx.actor, body),
  });
  api.route({
    method: 'patch',
    path: '/notifications/gateways/:id',
    summary: 'Change an SMS gateway’s connection, secret, sender, rate or price, or make it the default',
    tags: TAGS,
    access: ['admin'],
    params: intIdParams,
    body: updateGatewayBody,
    responses: {
      200: { description: 'Updated', schema: gatewaySchema },
      400: { description: 'GATEWAY_INCOMPLETE, ...' },
      404: { description: 'GATEWAY_NOT_FOUND' },
    },
    handler: ({ params, body }, ctx) => gateways.update(ctx.actor, params.id, body),
  });
  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    api.route({
      method: 'post',
      path: `/notifications/gateways/:id/${action}`,
      summary: paused ? 'Pause an SMS gateway: nothing new is sent through it' : 'Resume a paused SMS gateway',
      description: 'Questions about messages already sent and delivery reports go on. Doing it twice changes nothing.',
      tags: TAGS,
      access: ['admin'],
      params: intIdParams,
      responses: { 200: { description: 'Done', schema: gatewaySchema }, 404: { description: 'GATEWAY_NOT_FOUND' } },
      handler: ({ params }, ctx) => gateways.setPaused(ctx.actor, params.id, paused),
    });
  }
  api.route({
    method: 'post',
    path: '/notifications/gateways/:id/test',
    summary: 'Test the connection to an SMS gateway with a signed balance request',
    description:
      '200 whatever the gateway answered: ok false names what it said (providerError: BAD_SIGNATURE, STALE_TIMESTAMP, ...) or how the exchange failed (transport). Audited.',
    tags: TAGS,
    access: ['admin'],
    params: intIdParams,
    responses: { 200: { description: 'The test ran', schema: gatewayTestSchema }, 404: { description: 'GATEWAY_NOT_FOUND' } },
    handler: ({ params }, ctx) => gateways.testConnection(ctx.actor, params.id),
  });

  api.route({
    method: 'get',
    path: '/notifications/templates',
    summary: "A programme's SMS templates, one per event (the built-in text, version 0, until one is saved)",
    tags: TAGS,
    access: ['staff', 'approver', 'auditor', 'admin'],
    query: templatesQuery,
    responses: {
      200: { description: 'Every event’s template in force', schema: templateList },
      404: { description: 'PROGRAMME_NOT_FOUND' },
    },
    handler: async ({ query }) => ({ items: await n.templates.forProgramme(query.programmeId), placeholders: { ...PLACEHOLDERS } }),
  });
  api.route({
    method: 'get',
    path: '/notifications/templates/:programmeId/:event/versions',
    summary: 'Every version of one template, newest first',
    tags: TAGS,
    access: ['staff', 'approver', 'auditor', 'admin'],
    params: templateParams,
    responses: { 200: { description: 'The versions', schema: templateVersions }, 404: { description: 'PROGRAMME_NOT_FOUND' } },
    handler: async ({ params }) => ({ items: await n.templates.versions(params.programmeId, params.event) }),
  });
  api.route({
    method: 'put',
    path: '/notifications/templates/:programmeId/:event',
    summary: 'Save a new version of a template',
    description: 'Only the whitelisted placeholders, each a value of the recipient’s own (masked where personal). Audited.',
    tags: TAGS,
    access: ['staff'],
    params: templateParams,
    body: saveTemplateBody,
    responses: {
      200: { description: 'The version now in force', schema: templateSchema },
      400: { description: 'UNKNOWN_PLACEHOLDER (naming it), INVALID_TEMPLATE, TEMPLATE_LOOKS_PERSONAL' },
      404: { description: 'PROGRAMME_NOT_FOUND' },
      409: { description: 'TEMPLATE_CHANGED' },
    },
    handler: ({ params, body }, ctx) => n.templates.save(ctx.actor, params.programmeId, params.event, body),
  });
  api.route({
    method: 'post',
    path: '/notifications/templates/preview',
    summary: 'Render a template for a real recipient in your area: text, encoding, units, segments and cost',
    description: 'The cost is at the default gateway’s price per segment. Nothing is saved or sent.',
    tags: TAGS,
    access: ['staff'],
    body: previewBody,
    responses: {
      200: { description: 'The rendered text', schema: previewSchema },
      400: { description: 'UNKNOWN_PLACEHOLDER, ...' },
      404: { description: 'BENEFICIARY_NOT_FOUND' },
    },
    handler: (input, ctx) => n.preview(ctx.principal, input.body),
  });

  api.route({
    method: 'get',
    path: '/notifications/recipients/:beneficiaryId/consent',
    summary: 'Whether a recipient opted out of SMS, who recorded it, when and why',
    tags: TAGS,
    access: READ_ROLES,
    params: beneficiaryParams,
    responses: { 200: { description: 'The consent', schema: consentSchema }, 404: { description: 'BENEFICIARY_NOT_FOUND' } },
    handler: ({ params }, ctx) => n.consent(ctx.principal, params.beneficiaryId),
  });
  api.route({
    method: 'put',
    path: '/notifications/recipients/:beneficiaryId/consent',
    summary: 'Record that a recipient wants no SMS, or wants them again',
    tags: TAGS,
    access: ['staff'],
    params: beneficiaryParams,
    body: consentBody,
    responses: { 200: { description: 'Recorded', schema: consentSchema }, 404: { description: 'BENEFICIARY_NOT_FOUND' } },
    handler: ({ params, body }, ctx) => n.setConsent(ctx.actor, ctx.principal, params.beneficiaryId, body),
  });
  api.route({
    method: 'get',
    path: '/notifications/recipients/:beneficiaryId/messages',
    summary: "A recipient's SMS messages, newest first (the last 100)",
    tags: TAGS,
    access: READ_ROLES,
    params: beneficiaryParams,
    responses: { 200: { description: 'The messages', schema: messageList }, 404: { description: 'BENEFICIARY_NOT_FOUND' } },
    handler: async ({ params }, ctx) => ({ items: await n.history(ctx.principal, params.beneficiaryId) }),
  });
  api.route({
    method: 'get',
    path: '/notifications/batches/:batchId/untold',
    summary: 'In a batch, who could not be told by SMS and why, by reason and commune',
    description:
      'Names, communes and reasons only, never a number. reason and areaId narrow the list; byReason follows areaId only, communes neither. ' +
      'As a file: POST /exports with kind sms_untold and the same filters.',
    tags: TAGS,
    access: READ_ROLES,
    params: batchParams,
    query: untoldQuery,
    responses: {
      200: { description: 'A page, the counts by reason and the communes', schema: untoldSchema },
      400: { description: 'UNKNOWN_REASON (naming reason)' },
      404: { description: 'BATCH_NOT_FOUND, AREA_NOT_FOUND (also outside your scope)' },
    },
    handler: ({ params, query }, ctx) => n.untold(ctx.principal, params.batchId, query),
  });
  api.route({
    method: 'get',
    path: '/notifications/reports/costs',
    summary: 'SMS per month, area, programme and gateway: messages, segments, cost, delivered, failed by reason',
    tags: TAGS,
    access: READ_ROLES,
    query: costQuery,
    responses: { 200: { description: 'The report, in your area', schema: costSchema } },
    handler: ({ query }, ctx) => n.costReport(ctx.principal, query),
  });
}

const REPORT_PATH = /^\/api\/v1\/notifications\/gateways\/([^/?]+)\/callbacks(?:\?.*)?$/;

/**
 * `POST /api/v1/notifications/gateways/:name/callbacks`: a gateway's delivery reports (sms-api.md section 4),
 * authenticated by the gateway's signature over the exact bytes, not a session; on plain node:http, two a message
 * (signedCallbackHandler).
 */
export function smsReportHandler(dispatcher: NotificationDispatcher, log: winston.Logger): PlainHandler {
  return signedCallbackHandler(
    {
      path: REPORT_PATH,
      apply: async (name, headers, body, url) => ({ received: true, outcome: await dispatcher.applyReport(name, headers, body, url) }),
      refused: { message: 'SMS delivery report refused', field: 'gateway' },
    },
    log,
  );
}

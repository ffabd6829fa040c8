import { z } from 'zod';
import { bigId, intId, plainText } from '../../platform/http/schemas';
import { PROVIDER_CLIENT_ID, PROVIDER_SECRET } from '../providers';
import { MESSAGE_STATUSES } from './messages.sql';
import { NOTIFICATION_EVENTS, PLACEHOLDERS } from './notification-events';
import { GATEWAY_KINDS, GATEWAY_LIMITS, GATEWAY_NAME } from './sms-gateways.service';
import { SMS_SENDER } from './sms-wire';
import { REASON_CODE } from './untold';

const limit = (key: keyof typeof GATEWAY_LIMITS, what: string) =>
  z.number().int().min(GATEWAY_LIMITS[key].min).max(GATEWAY_LIMITS[key].max).describe(what);
const baseUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
  .max(500)
  .nullable()
  .describe('Where the SMS Gateway API lives (a path prefix is kept). Sandbox: null = SANDBOX_URL/sms. Required for http.');
const clientId = z
  .string()
  .regex(PROVIDER_CLIENT_ID, 'must be 1-100 printable ASCII characters without spaces')
  .nullable()
  .describe('X-Client-Id at the gateway');
const secret = z
  .string()
  .regex(PROVIDER_SECRET, 'must be 16-128 printable ASCII characters without spaces')
  .nullable()
  .describe('Shared HMAC secret; write-only, stored encrypted, never returned');
const sender = z.string().regex(SMS_SENDER, 'must be 1-11 of A-Z a-z 0-9 .').describe('The registered brand name');
const rate = limit('rateLimitPerSecond', 'Most requests a second sent to this gateway, across every worker');
const price = limit('pricePerSegment', 'What one segment costs, in đồng');
const timeoutMs = limit('timeoutMs', 'Longest wait for one exchange, ms (default 10000)');

export const eventSchema = z.enum(NOTIFICATION_EVENTS);

export const gatewaySchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    kind: z.enum(GATEWAY_KINDS),
    baseUrl: z.string().nullable(),
    clientId: z.string().nullable(),
    secretSet: z.boolean().describe('Whether the gateway has a secret of its own (the secret itself is never shown)'),
    sender: z.string(),
    rateLimitPerSecond: z.number().int(),
    pricePerSegment: z.number().int(),
    timeoutMs: z.number().int(),
    paused: z.boolean(),
    isDefault: z.boolean().describe('New messages go through the default gateway'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'SmsGateway' });
export const gatewayList = z.object({ items: z.array(gatewaySchema) }).meta({ id: 'SmsGatewayList' });

export const createGatewayBody = z.strictObject({
  name: z
    .string()
    .regex(GATEWAY_NAME, 'must be 2-40 of a-z 0-9 - starting with a letter or digit')
    .describe('Stable: part of the delivery report URL'),
  kind: z.enum(GATEWAY_KINDS),
  baseUrl: baseUrl.optional(),
  clientId: clientId.optional(),
  secret: secret.optional(),
  sender,
  rateLimitPerSecond: rate,
  pricePerSegment: price,
  timeoutMs: timeoutMs.optional(),
  isDefault: z.boolean().optional().describe('Make it the gateway new messages go through'),
});
export const updateGatewayBody = z
  .strictObject({
    baseUrl: baseUrl.optional(),
    clientId: clientId.optional(),
    secret: secret.optional(),
    sender: sender.optional(),
    rateLimitPerSecond: rate.optional(),
    pricePerSegment: price.optional(),
    timeoutMs: timeoutMs.optional(),
    isDefault: z.literal(true).optional().describe('Make it the default (another gateway stops being it)'),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

export const gatewayTestSchema = z
  .object({
    gatewayId: z.number().int(),
    ok: z.boolean(),
    balance: z.object({ segmentsLeft: z.number().int(), asOf: z.string() }).nullable().describe('null: billed monthly'),
    error: z
      .object({
        code: z.string(),
        providerError: z.string().nullable().describe("The gateway's own error code: BAD_SIGNATURE, STALE_TIMESTAMP, ..."),
        httpStatus: z.number().int().nullable(),
        transport: z.string().nullable(),
        message: z.string(),
      })
      .nullable(),
    latencyMs: z.number().int(),
    testedAt: z.string(),
  })
  .meta({ id: 'SmsGatewayTest' });

export const templateSchema = z
  .object({
    programmeId: z.number().int(),
    event: eventSchema,
    version: z.number().int().describe('0: the built-in text, never saved'),
    body: z.string(),
    plain: z.boolean().describe('Sent without diacritics (GSM-7)'),
    active: z.boolean().describe('false: no message of this event is created for the programme'),
    createdBy: z.number().int().nullable(),
    createdAt: z.string().nullable(),
  })
  .meta({ id: 'NotificationTemplate' });
export const templateList = z
  .object({
    items: z.array(templateSchema),
    placeholders: z.record(z.string(), z.string()).describe('Every placeholder a template may name'),
  })
  .meta({ id: 'NotificationTemplateList' });
export const templateVersions = z.object({ items: z.array(templateSchema) }).meta({ id: 'NotificationTemplateVersions' });
export const templatesQuery = z.strictObject({ programmeId: intId });
export const templateParams = z.strictObject({ programmeId: intId, event: eventSchema });
export const saveTemplateBody = z.strictObject({
  body: z
    .string()
    .min(1)
    .max(500)
    .describe(
      `Text with placeholders among ${Object.keys(PLACEHOLDERS)
        .map((k) => `{${k}}`)
        .join(' ')}`,
    ),
  plain: z.boolean(),
  active: z.boolean(),
  expectedVersion: z.number().int().min(0).optional().describe('The version you edited; 409 TEMPLATE_CHANGED when another was saved since'),
});
export const previewBody = z.strictObject({
  programmeId: intId,
  event: eventSchema,
  beneficiaryId: bigId,
  body: z.string().min(1).max(500).optional().describe('The text being edited; the saved one when absent'),
  plain: z.boolean().optional(),
});
export const previewSchema = z
  .object({
    text: z.string(),
    encoding: z.enum(['GSM7', 'UCS2']),
    units: z.number().int(),
    segments: z.number().int(),
    cost: z.number().int().nullable(),
    pricePerSegment: z.number().int().nullable(),
    tooLong: z.boolean(),
  })
  .meta({ id: 'NotificationPreview' });

export const beneficiaryParams = z.strictObject({ beneficiaryId: bigId });
export const consentSchema = z
  .object({
    beneficiaryId: z.string(),
    optedOut: z.boolean(),
    reason: z.string().nullable(),
    recordedBy: z.number().int().nullable(),
    recordedAt: z.string().nullable(),
  })
  .meta({ id: 'NotificationConsent' });
export const consentBody = z.strictObject({
  optedOut: z.boolean(),
  reason: plainText(500).describe('Why (what the recipient said, and how)'),
});

const messageView = {
  reference: z.string(),
  event: z.string(),
  status: z.enum(MESSAGE_STATUSES),
  reason: z.string().nullable(),
  programmeId: z.number().int(),
  batchId: z.string().nullable(),
  text: z.string().nullable(),
  encoding: z.string().nullable(),
  segments: z.number().int().nullable(),
  cost: z.number().int().nullable(),
  gatewayStatus: z.string().nullable(),
  errorCode: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  finalAt: z.string().nullable(),
};
export const messageList = z
  .object({ items: z.array(z.object(messageView).meta({ id: 'NotificationMessage' })) })
  .meta({ id: 'NotificationMessageList' });
export const untoldQuery = z.strictObject({
  after: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  reason: z
    .string()
    .regex(REASON_CODE, 'must be a reason code such as NO_MOBILE')
    .optional()
    .describe('Only the messages counted under this reason (a key of byReason); 400 UNKNOWN_REASON for a code that is no reason'),
  areaId: intId
    .optional()
    .describe(
      'Only the recipients in this area (a commune, or a district and its communes) inside your scope; 404 AREA_NOT_FOUND outside it',
    ),
});
export const batchParams = z.strictObject({ batchId: bigId });
export const untoldSchema = z
  .object({
    items: z.array(
      z.object({
        ...messageView,
        beneficiaryId: z.string(),
        fullName: z.string(),
        areaId: z.number().int().describe("The recipient's commune (the payment's area)"),
        areaName: z.string(),
      }),
    ),
    next: z.string().nullable(),
    byReason: z
      .record(z.string(), z.number().int())
      .describe(
        'Messages per reason (the status when a message has none) in your scope and the area asked for, whatever the reason asked for',
      ),
    communes: z
      .array(z.object({ areaId: z.number().int(), name: z.string(), count: z.number().int() }))
      .describe('The communes of the batch with untold messages in your scope, by name, whatever the filters'),
  })
  .meta({ id: 'NotificationUntold' });
export const costQuery = z.strictObject({ month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM') });
export const costSchema = z
  .object({
    month: z.string(),
    rows: z.array(
      z.object({
        areaId: z.number().int(),
        areaName: z.string(),
        programmeId: z.number().int(),
        gatewayId: z.number().int().nullable(),
        gatewayName: z.string().nullable(),
        messages: z.number().int(),
        segments: z.number().int(),
        cost: z.number().int(),
        delivered: z.number().int(),
        failed: z.number().int(),
        failedByReason: z.record(z.string(), z.number().int()),
      }),
    ),
  })
  .meta({ id: 'NotificationCostReport' });

import { z } from 'zod';
import { intId, boolQuery } from '../../platform/http/schemas';
import {
  ANY_CODE,
  PROVIDER_CLIENT_ID,
  PROVIDER_KINDS,
  PROVIDER_LIMITS,
  PROVIDER_NAME,
  PROVIDER_SECRET,
  ROUTE_CHANNELS,
} from './providers.service';

const id = intId;

export const providerKind = z
  .enum(PROVIDER_KINDS)
  .describe('sandbox: the built-in sandbox (Provider API v1); http: an external Provider API v1 implementation; file: no wire API');
export const routeChannel = z
  .string()
  .toUpperCase()
  .pipe(z.enum(ROUTE_CHANNELS))
  .describe('The enrolment channel: BANK, WALLET or CASH (any case)');

const name = z
  .string()
  .regex(PROVIDER_NAME, 'must be 2-40 of a-z 0-9 - starting with a letter or digit')
  .describe('Stable: it is part of the callback URL given to the provider');
const baseUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
  .max(500)
  .nullable()
  .describe('Where the provider API lives (a path prefix is kept). Sandbox: null = SANDBOX_URL. Required for http, none for file.');
const clientId = z
  .string()
  .regex(PROVIDER_CLIENT_ID, 'must be 1-100 printable ASCII characters without spaces')
  .nullable()
  .describe('X-Client-Id at the provider. Sandbox: null = SANDBOX_CLIENT_ID. Required for http, none for file.');
const secret = z
  .string()
  .regex(PROVIDER_SECRET, 'must be 16-128 printable ASCII characters without spaces')
  .nullable()
  .describe(
    'Shared HMAC secret; write-only, stored encrypted, never returned. Sandbox: null = SANDBOX_SECRET. Required for http, none for file.',
  );
const limit = (key: keyof typeof PROVIDER_LIMITS, what: string) =>
  z.number().int().min(PROVIDER_LIMITS[key].min).max(PROVIDER_LIMITS[key].max).describe(what);
const timeoutMs = limit('timeoutMs', 'Longest wait for one exchange with the provider, ms (default 10000)');
const rateLimitPerSecond = limit(
  'rateLimitPerSecond',
  'Most requests a second dispatch sends to this provider; null = no limit',
).nullable();
const concurrency = limit('concurrency', 'Most requests in flight at this provider at once (default 50)');

/** `*` or a bank BIN / wallet provider code; wallet codes are accepted in any case. */
const matchCode = z
  .string()
  .regex(/^(\*|[A-Za-z0-9]{2,20})$/, 'must be * or a bank BIN or wallet provider code')
  .transform((v) => (v === ANY_CODE ? v : v.toUpperCase()))
  .describe('A 6-digit bank BIN (channel bank), a wallet provider code (channel wallet), or * for any of the channel');

export const providerSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    kind: providerKind,
    baseUrl: z.string().nullable(),
    clientId: z.string().nullable(),
    secretSet: z.boolean().describe('Whether the provider has a secret of its own (the secret itself is never shown)'),
    timeoutMs: z.number().int(),
    rateLimitPerSecond: z.number().int().nullable(),
    concurrency: z.number().int(),
    paused: z.boolean().describe('Dispatch sends nothing new to a paused provider; inquiries go on'),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Provider' });

export const providerList = z.object({ items: z.array(providerSchema) }).meta({ id: 'ProviderList' });

export const providerRouteSchema = z
  .object({
    id: z.number().int(),
    channel: routeChannel,
    matchCode: z.string(),
    providerId: z.number().int(),
    providerName: z.string(),
  })
  .meta({ id: 'ProviderRoute' });

export const providerRouteList = z.object({ items: z.array(providerRouteSchema) }).meta({ id: 'ProviderRouteList' });

export const listProvidersQuery = z.strictObject({ active: boolQuery.optional() });

export const createProviderBody = z.strictObject({
  name,
  kind: providerKind,
  baseUrl: baseUrl.optional(),
  clientId: clientId.optional(),
  secret: secret.optional(),
  timeoutMs: timeoutMs.optional(),
  rateLimitPerSecond: rateLimitPerSecond.optional(),
  concurrency: concurrency.optional(),
  active: z.boolean().optional().describe('Defaults to true'),
});

export const updateProviderBody = z
  .strictObject({
    baseUrl: baseUrl.optional(),
    clientId: clientId.optional(),
    secret: secret.optional().describe('A new secret; null removes it (sandbox only: falls back to SANDBOX_SECRET)'),
    timeoutMs: timeoutMs.optional(),
    rateLimitPerSecond: rateLimitPerSecond.optional(),
    concurrency: concurrency.optional(),
    active: z.boolean().optional().describe('false retires the provider; refused with 409 PROVIDER_ROUTED while a route points at it'),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

export const listRoutesQuery = z.strictObject({ channel: routeChannel.optional(), providerId: id.optional() });

export const routeParams = z.strictObject({ channel: routeChannel, matchCode });

export const setRouteBody = z.strictObject({
  providerId: z.number().int().positive().describe('The provider that pays what this route matches'),
});

export const connectionTestSchema = z
  .object({
    providerId: z.number().int(),
    ok: z.boolean().describe('true when the provider answered the signed balance request as the contract says'),
    balance: z.object({ currency: z.literal('VND'), available: z.number().int() }).nullable(),
    error: z
      .object({
        code: z.string().describe('PROVIDER_UNAUTHORIZED, PROVIDER_UNAVAILABLE, PROVIDER_BAD_RESPONSE, SANDBOX_IN_PRODUCTION, ...'),
        providerError: z.string().nullable().describe("The provider's own error code: BAD_SIGNATURE, STALE_TIMESTAMP, ..."),
        httpStatus: z.number().int().nullable(),
        transport: z.string().nullable().describe('How the exchange failed when nothing came back: ECONNREFUSED, ETIMEDOUT, ...'),
        message: z.string(),
      })
      .nullable(),
    latencyMs: z.number().int(),
    testedAt: z.string(),
  })
  .meta({ id: 'ProviderConnectionTest' });

import type { EntityManager } from 'typeorm';
import { invalid, notFound } from '../../platform/errors';
import type { Balance } from './provider.port';
import type { TimedBalance } from './connection-test';

/**
 * How the service talks to a provider: `sandbox` is the built-in sandbox
 * (Provider API v1; URL, client id and secret from config unless the row sets
 * them), `http` an external Provider API v1 implementation, `file` a provider
 * without a wire API (payments leave as a file, e.g. cash pay points).
 */
export const PROVIDER_KINDS = ['sandbox', 'http', 'file'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** The enrolment channels (enrolments.channel) a route can match. */
export const ROUTE_CHANNELS = ['BANK', 'WALLET', 'CASH'] as const;
export type RouteChannel = (typeof ROUTE_CHANNELS)[number];

/** The match code of a route that matches any bank, wallet provider or cash enrolment of its channel. */
export const ANY_CODE = '*';

export const PROVIDER_NAME = /^[a-z0-9][a-z0-9-]{1,39}$/;
/** Printable ASCII without spaces: it is an HMAC key shared with the provider. */
export const PROVIDER_SECRET = /^[\x21-\x7e]{16,128}$/;
export const PROVIDER_CLIENT_ID = /^[\x21-\x7e]{1,100}$/;
export const PROVIDER_LIMITS = {
  timeoutMs: { min: 100, max: 120_000 },
  rateLimitPerSecond: { min: 1, max: 100_000 },
  concurrency: { min: 1, max: 1_000 },
} as const;

/** A configured provider. The secret is write-only: only whether one is set is shown. */
export interface Provider {
  id: number;
  /** Stable (it is part of the callback URL given to the provider): lower case, digits and dashes. */
  name: string;
  kind: ProviderKind;
  /** null for a sandbox provider: SANDBOX_URL; always null for a file provider. */
  baseUrl: string | null;
  /** null for a sandbox provider: SANDBOX_CLIENT_ID; always null for a file provider. */
  clientId: string | null;
  /** Whether the row holds a secret (a sandbox provider without one uses SANDBOX_SECRET). */
  secretSet: boolean;
  timeoutMs: number;
  /** Most requests a second dispatch may send to this provider; null = no limit. */
  rateLimitPerSecond: number | null;
  /** Most requests dispatch may have in flight at this provider at once. */
  concurrency: number;
  /** Set by pause: dispatch sends nothing new to this provider until resume (inquiries go on). */
  paused: boolean;
  /** false: retired; no route may point at it. Its adapter stays available for inquiries and statements. */
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What a signed test request to a provider found. */
export interface ConnectionTest extends TimedBalance<Balance> {
  providerId: number;
}

export interface ProviderRoute {
  id: number;
  channel: RouteChannel;
  /** A bank BIN (channel bank), a wallet provider code (channel wallet), or `*` for any. */
  matchCode: string;
  providerId: number;
  providerName: string;
}

export interface NewProvider {
  name: string;
  kind: ProviderKind;
  baseUrl?: string | null | undefined;
  clientId?: string | null | undefined;
  secret?: string | null | undefined;
  timeoutMs?: number | undefined;
  rateLimitPerSecond?: number | null | undefined;
  concurrency?: number | undefined;
  active?: boolean | undefined;
}

/** What an update may change; name and kind are fixed. `secret: null` removes the row's secret. */
export type ProviderChange = Partial<Omit<NewProvider, 'name' | 'kind'>>;

export interface Row {
  id: number;
  name: string;
  kind: ProviderKind;
  base_url: string | null;
  client_id: string | null;
  secret_enc: Buffer | null;
  timeout_ms: number;
  rate_limit_per_second: number | null;
  concurrency: number;
  paused: number;
  active: number;
  created_at: Date;
  updated_at: Date;
}

export interface RouteRow {
  id: number;
  channel: RouteChannel;
  match_code: string;
  provider_id: number;
  provider_name: string;
}

export const COLUMNS =
  'id, name, kind, base_url, client_id, secret_enc, timeout_ms, rate_limit_per_second, concurrency, paused, active, created_at, updated_at';

export const toProvider = (r: Row): Provider => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  baseUrl: r.base_url,
  clientId: r.client_id,
  secretSet: r.secret_enc !== null,
  timeoutMs: Number(r.timeout_ms),
  rateLimitPerSecond: r.rate_limit_per_second === null ? null : Number(r.rate_limit_per_second),
  concurrency: Number(r.concurrency),
  paused: Number(r.paused) === 1,
  active: Number(r.active) === 1,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export const toRoute = (r: RouteRow): ProviderRoute => ({
  id: r.id,
  channel: r.channel,
  matchCode: r.match_code,
  providerId: r.provider_id,
  providerName: r.provider_name,
});

/* Audit summaries: never the secret, only whether it is set or changed; names under keys the redaction leaves alone. */
export const providerAudit = (p: Provider) => ({
  providerName: p.name,
  kind: p.kind,
  baseUrl: p.baseUrl,
  clientId: p.clientId,
  secretSet: p.secretSet,
  timeoutMs: p.timeoutMs,
  rateLimitPerSecond: p.rateLimitPerSecond,
  concurrency: p.concurrency,
  paused: p.paused,
  active: p.active,
});
export const routeAudit = (r: ProviderRoute) => ({
  channel: r.channel,
  matchCode: r.matchCode,
  providerId: r.providerId,
  providerName: r.providerName,
});

export const secretAad = (id: number): string => `provider:${id}`;

/** `http://h:1/x/` → `http://h:1/x`: one spelling per URL, the adapter signs the path prefix as kept. */
export function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('INVALID_BASE_URL', 'baseUrl must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('INVALID_BASE_URL', 'baseUrl must be an http:// or https:// URL');
  if (url.username || url.password || url.search || url.hash) {
    throw invalid('INVALID_BASE_URL', 'baseUrl must not carry credentials, a query or a fragment');
  }
  const href = url.href.replace(/\/+$/, '');
  if (href.length > 500) throw invalid('INVALID_BASE_URL', 'baseUrl must be at most 500 characters');
  return href;
}

/**
 * SQL expression giving the id of the provider routed to pay an enrolment
 * (table alias `alias`, with channel, bank_bin and wallet_provider), or NULL
 * when no route matches: the route of its exact bank BIN or wallet provider
 * wins over its channel's `*` route. For set-based work (INSERT … SELECT).
 */
export function routedProviderIdSql(alias = 'e'): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(alias)) throw new Error(`bad table alias: ${alias}`);
  return `(SELECT pr.provider_id FROM provider_routes pr
    WHERE pr.channel = ${alias}.channel
      AND pr.match_code IN (CASE ${alias}.channel WHEN 'BANK' THEN ${alias}.bank_bin WHEN 'WALLET' THEN ${alias}.wallet_provider ELSE '*' END, '*')
    ORDER BY pr.match_code = '*' LIMIT 1)`;
}

/** An adapter is rebuilt when any of these change; the ciphertext changes with every new secret. */
export const fingerprint = (r: Row): string =>
  [
    r.kind,
    r.name,
    r.base_url ?? '',
    r.client_id ?? '',
    r.secret_enc?.toString('base64') ?? '',
    String(r.timeout_ms),
    String(r.concurrency),
  ].join('\n');

/** One provider's row, locked for update when asked; PROVIDER_NOT_FOUND when there is none. */
export async function providerRow(em: EntityManager, id: number, lock = false): Promise<Row> {
  const [r] = (await em.query(`SELECT ${COLUMNS} FROM providers WHERE id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as Row[];
  if (!r) throw notFound('PROVIDER_NOT_FOUND', `no provider with id ${id}`);
  return r;
}

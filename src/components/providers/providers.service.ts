import type { DataSource, EntityManager } from 'typeorm';
import type { Config } from '../../../config';
import type { DataCipher } from '../../platform/crypto';
import { AppError, conflict, invalid, notFound, toAppError } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import { HttpProviderAdapter } from './http.adapter';
import type { Balance, ProviderPort } from './provider.port';
import { isDuplicateKey } from '../../platform/db';

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
export interface ConnectionTest {
  providerId: number;
  ok: boolean;
  /** The provider's answer to the balance request, when it answered as the contract says. */
  balance: Balance | null;
  error: {
    /** Ours: PROVIDER_UNAUTHORIZED, PROVIDER_UNAVAILABLE, PROVIDER_BAD_RESPONSE, ... */
    code: string;
    /** The provider's own error code, when it sent one (BAD_SIGNATURE, STALE_TIMESTAMP, ...). */
    providerError: string | null;
    httpStatus: number | null;
    /** How the exchange failed when no answer came (ECONNREFUSED, ETIMEDOUT, ...). */
    transport: string | null;
    message: string;
  } | null;
  latencyMs: number;
  testedAt: string;
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

interface Row {
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

interface RouteRow {
  id: number;
  channel: RouteChannel;
  match_code: string;
  provider_id: number;
  provider_name: string;
}

const COLUMNS =
  'id, name, kind, base_url, client_id, secret_enc, timeout_ms, rate_limit_per_second, concurrency, paused, active, created_at, updated_at';

const toProvider = (r: Row): Provider => ({
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

const toRoute = (r: RouteRow): ProviderRoute => ({
  id: r.id,
  channel: r.channel,
  matchCode: r.match_code,
  providerId: r.provider_id,
  providerName: r.provider_name,
});

/* Audit summaries: never the secret, only whether it is set or changed; names under keys the redaction leaves alone. */
const providerAudit = (p: Provider) => ({
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
const routeAudit = (r: ProviderRoute) => ({
  channel: r.channel,
  matchCode: r.matchCode,
  providerId: r.providerId,
  providerName: r.providerName,
});

const secretAad = (id: number): string => `provider:${id}`;

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
const fingerprint = (r: Row): string =>
  [
    r.kind,
    r.name,
    r.base_url ?? '',
    r.client_id ?? '',
    r.secret_enc?.toString('base64') ?? '',
    String(r.timeout_ms),
    String(r.concurrency),
  ].join('\n');

export type ProvidersConfig = Pick<Config, 'mode' | 'sandboxUrl' | 'sandboxClientId' | 'sandboxSecret' | 'publicBaseUrl'>;

/**
 * Payment providers and the routing rule, kept as data and edited by
 * administrators; and the adapter that speaks to each provider.
 */
export class ProvidersService {
  private readonly adapters = new Map<number, { fingerprint: string; adapter: HttpProviderAdapter }>();

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    private readonly cfg: ProvidersConfig,
  ) {}

  async list(f: { active?: boolean | undefined } = {}): Promise<Provider[]> {
    const rows = (await this.ds.query(
      `SELECT ${COLUMNS} FROM providers ${f.active === undefined ? '' : 'WHERE active = ?'} ORDER BY name`,
      f.active === undefined ? [] : [f.active ? 1 : 0],
    )) as Row[];
    return rows.map(toProvider);
  }

  private async row(em: EntityManager, id: number, lock = false): Promise<Row> {
    const [r] = (await em.query(`SELECT ${COLUMNS} FROM providers WHERE id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as Row[];
    if (!r) throw notFound('PROVIDER_NOT_FOUND', `no provider with id ${id}`);
    return r;
  }

  async get(id: number): Promise<Provider> {
    return toProvider(await this.row(this.ds.manager, id));
  }

  async getByName(name: string): Promise<Provider> {
    const [r] = (await this.ds.query(`SELECT ${COLUMNS} FROM providers WHERE name = ?`, [name])) as Row[];
    if (!r) throw notFound('PROVIDER_NOT_FOUND', `no provider named ${name}`);
    return toProvider(r);
  }

  async create(actor: Actor, input: NewProvider): Promise<Provider> {
    if (!PROVIDER_NAME.test(input.name))
      throw invalid('INVALID_PROVIDER_NAME', 'name must be 2-40 of a-z 0-9 - starting with a letter or digit');
    if (!PROVIDER_KINDS.includes(input.kind)) throw invalid('INVALID_PROVIDER_KIND', `kind must be one of ${PROVIDER_KINDS.join(', ')}`);
    const fields = this.checked(input.kind, {
      baseUrl: input.baseUrl ?? null,
      clientId: input.clientId ?? null,
      secret: input.secret ?? null,
      timeoutMs: input.timeoutMs ?? 10_000,
      rateLimitPerSecond: input.rateLimitPerSecond ?? null,
      concurrency: input.concurrency ?? 50,
    });
    const id = await this.ds.transaction(async (em) => {
      const res = (await em
        .query(
          `INSERT INTO providers (name, kind, base_url, client_id, timeout_ms, rate_limit_per_second, concurrency, active, created_by, updated_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            input.name,
            input.kind,
            fields.baseUrl,
            fields.clientId,
            fields.timeoutMs,
            fields.rateLimitPerSecond,
            fields.concurrency,
            input.active === false ? 0 : 1,
            actor.userId,
            actor.userId,
          ],
        )
        .catch((e: unknown) => {
          throw isDuplicateKey(e) ? conflict('PROVIDER_NAME_TAKEN', `name: a provider named ${input.name} exists`) : e;
        })) as { insertId: number };
      const newId = Number(res.insertId);
      // sealed once the id is known: the associated data binds the ciphertext to its row
      if (fields.secret !== null) {
        await em.query('UPDATE providers SET secret_enc = ? WHERE id = ?', [this.cipher.encrypt(fields.secret, secretAad(newId)), newId]);
      }
      const created = toProvider(await this.row(em, newId));
      await this.audit.record(em, actor, {
        action: 'provider.create',
        entityType: 'provider',
        entityId: newId,
        after: providerAudit(created),
      });
      return newId;
    });
    return this.get(id);
  }

  async update(actor: Actor, id: number, input: ProviderChange): Promise<Provider> {
    await this.ds.transaction(async (em) => {
      const beforeRow = await this.row(em, id, true);
      const before = toProvider(beforeRow);
      const fields = this.checked(before.kind, {
        baseUrl: input.baseUrl === undefined ? before.baseUrl : input.baseUrl,
        clientId: input.clientId === undefined ? before.clientId : input.clientId,
        // undefined: keep the stored one (checked as present without decrypting it)
        secret: input.secret === undefined ? (before.secretSet ? undefined : null) : input.secret,
        timeoutMs: input.timeoutMs ?? before.timeoutMs,
        rateLimitPerSecond: input.rateLimitPerSecond === undefined ? before.rateLimitPerSecond : input.rateLimitPerSecond,
        concurrency: input.concurrency ?? before.concurrency,
      });
      const active = input.active ?? before.active;
      if (before.active && !active) await this.refuseIfRouted(em, before);
      const secretEnc =
        input.secret === undefined ? beforeRow.secret_enc : input.secret === null ? null : this.cipher.encrypt(input.secret, secretAad(id));
      await em.query(
        `UPDATE providers SET base_url = ?, client_id = ?, secret_enc = ?, timeout_ms = ?, rate_limit_per_second = ?, concurrency = ?,
           active = ?, updated_by = ? WHERE id = ?`,
        [
          fields.baseUrl,
          fields.clientId,
          secretEnc,
          fields.timeoutMs,
          fields.rateLimitPerSecond,
          fields.concurrency,
          active ? 1 : 0,
          actor.userId,
          id,
        ],
      );
      const after = toProvider(await this.row(em, id));
      await this.audit.record(em, actor, {
        action: 'provider.update',
        entityType: 'provider',
        entityId: id,
        before: providerAudit(before),
        after: { ...providerAudit(after), ...(input.secret !== undefined ? { secretChanged: true } : {}) },
      });
    });
    this.invalidate(id);
    return this.get(id);
  }

  /**
   * A signed balance request with the provider's stored connection, so that an administrator learns before any
   * payment is routed to it whether the address, client id, secret and clocks agree. The answer says what the
   * provider said (its error code, e.g. BAD_SIGNATURE or STALE_TIMESTAMP) or how the exchange failed. Audited:
   * it uses the provider's credentials on someone's behalf.
   */
  async testConnection(actor: Actor, id: number): Promise<ConnectionTest> {
    const provider = await this.get(id);
    const adapter = await this.adapterFor(id);
    if (!adapter)
      throw conflict(
        'PROVIDER_NOT_TESTABLE',
        `provider ${provider.name} is paid by file (cash pay points): there is no connection to test`,
      );
    const started = process.hrtime.bigint();
    let result: Pick<ConnectionTest, 'ok' | 'balance' | 'error'>;
    try {
      result = { ok: true, balance: await adapter.balance(), error: null };
    } catch (e) {
      const err = toAppError(e);
      const d = (err.details ?? {}) as { status?: number; providerError?: string | null; transport?: string };
      result = {
        ok: false,
        balance: null,
        error: {
          code: err.code,
          providerError: d.providerError ?? null,
          httpStatus: d.status ?? null,
          transport: d.transport ?? null,
          message: err.message,
        },
      };
    }
    const test: ConnectionTest = {
      providerId: id,
      ...result,
      latencyMs: Number((process.hrtime.bigint() - started) / 1_000_000n),
      testedAt: new Date().toISOString(),
    };
    await this.ds.transaction((em) =>
      this.audit.record(em, actor, {
        action: 'provider.test',
        entityType: 'provider',
        entityId: id,
        after: { providerName: provider.name, ok: test.ok, error: test.error?.providerError ?? test.error?.code ?? null },
      }),
    );
    return test;
  }

  /** Dispatch sends nothing new to a paused provider; pausing a paused one changes nothing. */
  pause(actor: Actor, id: number): Promise<Provider> {
    return this.setPaused(actor, id, true);
  }

  resume(actor: Actor, id: number): Promise<Provider> {
    return this.setPaused(actor, id, false);
  }

  private async setPaused(actor: Actor, id: number, paused: boolean): Promise<Provider> {
    await this.ds.transaction(async (em) => {
      const before = toProvider(await this.row(em, id, true));
      if (before.paused === paused) return;
      await em.query('UPDATE providers SET paused = ?, updated_by = ? WHERE id = ?', [paused ? 1 : 0, actor.userId, id]);
      await this.audit.record(em, actor, {
        action: paused ? 'provider.pause' : 'provider.resume',
        entityType: 'provider',
        entityId: id,
        before: { providerName: before.name, paused: before.paused },
        after: { providerName: before.name, paused },
      });
    });
    return this.get(id);
  }

  async listRoutes(f: { channel?: RouteChannel | undefined; providerId?: number | undefined } = {}): Promise<ProviderRoute[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.channel !== undefined) {
      where.push('r.channel = ?');
      params.push(f.channel);
    }
    if (f.providerId !== undefined) {
      where.push('r.provider_id = ?');
      params.push(f.providerId);
    }
    const rows = (await this.ds.query(
      `SELECT r.id, r.channel, r.match_code, r.provider_id, p.name AS provider_name
       FROM provider_routes r JOIN providers p ON p.id = r.provider_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY r.channel, r.match_code = '*', r.match_code`,
      params,
    )) as RouteRow[];
    return rows.map(toRoute);
  }

  private async routeRow(em: EntityManager, channel: RouteChannel, matchCode: string, lock = false): Promise<RouteRow | undefined> {
    const [r] = (await em.query(
      `SELECT r.id, r.channel, r.match_code, r.provider_id, p.name AS provider_name
       FROM provider_routes r JOIN providers p ON p.id = r.provider_id
       WHERE r.channel = ? AND r.match_code = ?${lock ? ' FOR UPDATE' : ''}`,
      [channel, matchCode],
    )) as RouteRow[];
    return r;
  }

  /**
   * Routes a channel's bank BIN or wallet provider code (or `*`: the rest of
   * the channel) to a provider, replacing the provider it had. `created` is
   * false when the route existed (also when it already pointed there: nothing changes then).
   */
  async setRoute(
    actor: Actor,
    channel: RouteChannel,
    matchCode: string,
    providerId: number,
  ): Promise<{ created: boolean; route: ProviderRoute }> {
    const code = await this.checkedMatchCode(channel, matchCode);
    const created = await this.ds.transaction(async (em) => {
      // the provider row is locked: a concurrent deactivation cannot slip between this check and the insert
      const provider = toProvider(await this.row(em, providerId, true));
      if (!provider.active) throw conflict('PROVIDER_INACTIVE', `provider ${provider.name} is inactive; activate it before routing to it`);
      const existing = await this.routeRow(em, channel, code, true);
      if (existing && existing.provider_id === providerId) return false;
      if (existing) {
        await em.query('UPDATE provider_routes SET provider_id = ?, updated_by = ? WHERE id = ?', [providerId, actor.userId, existing.id]);
      } else {
        await em
          .query('INSERT INTO provider_routes (channel, match_code, provider_id, created_by, updated_by) VALUES (?, ?, ?, ?, ?)', [
            channel,
            code,
            providerId,
            actor.userId,
            actor.userId,
          ])
          .catch((e: unknown) => {
            throw isDuplicateKey(e) ? conflict('ROUTE_CHANGED_CONCURRENTLY', 'the route was set by someone else meanwhile; try again') : e;
          });
      }
      const after = toRoute((await this.routeRow(em, channel, code))!);
      await this.audit.record(em, actor, {
        action: 'provider_route.set',
        entityType: 'provider_route',
        entityId: `${channel}:${code}`,
        ...(existing ? { before: routeAudit(toRoute(existing)) } : {}),
        after: routeAudit(after),
      });
      return !existing;
    });
    const route = await this.routeRow(this.ds.manager, channel, code);
    if (!route) throw conflict('ROUTE_CHANGED_CONCURRENTLY', 'the route was deleted by someone else meanwhile');
    return { created, route: toRoute(route) };
  }

  /** Removes a route; enrolments it matched fall back to their channel's `*` route, or to none. */
  async deleteRoute(actor: Actor, channel: RouteChannel, matchCode: string): Promise<void> {
    const code = matchCode === ANY_CODE ? ANY_CODE : matchCode.toUpperCase();
    await this.ds.transaction(async (em) => {
      const existing = await this.routeRow(em, channel, code, true);
      if (!existing) throw notFound('ROUTE_NOT_FOUND', `no route for ${channel} ${code}`);
      await em.query('DELETE FROM provider_routes WHERE id = ?', [existing.id]);
      await this.audit.record(em, actor, {
        action: 'provider_route.delete',
        entityType: 'provider_route',
        entityId: `${channel}:${code}`,
        before: routeAudit(toRoute(existing)),
      });
    });
  }

  /**
   * The provider that pays an enrolment of `channel` with this bank BIN or
   * wallet provider code (null or ignored for cash): its exact route, else
   * the channel's `*` route; null when neither exists.
   */
  async routeFor(channel: RouteChannel, code: string | null): Promise<Provider | null> {
    const [r] = (await this.ds.query(
      `SELECT ${COLUMNS.split(', ')
        .map((c) => `p.${c}`)
        .join(', ')}
       FROM provider_routes r JOIN providers p ON p.id = r.provider_id
       WHERE r.channel = ? AND r.match_code IN (?, '*')
       ORDER BY r.match_code = '*' LIMIT 1`,
      [channel, channel === 'CASH' || code === null ? ANY_CODE : code],
    )) as Row[];
    return r ? toProvider(r) : null;
  }

  /**
   * The adapter speaking to a provider: an HttpProviderAdapter for kinds
   * sandbox and http, null for kind file (no wire API). Also for a paused or
   * inactive provider: inquiries and statements of transfers already sent go on.
   * Cached per provider and rebuilt when its row changes (in this process or
   * another: the row is read on every call). Throws PROVIDER_NOT_FOUND, and
   * SANDBOX_IN_PRODUCTION for a sandbox provider in production: real
   * allowances must not be "paid" into a sandbox.
   */
  async adapterFor(providerId: number): Promise<ProviderPort | null> {
    const row = await this.row(this.ds.manager, providerId);
    if (row.kind === 'file') return null;
    if (row.kind === 'sandbox' && this.cfg.mode === 'production') {
      throw conflict(
        'SANDBOX_IN_PRODUCTION',
        `provider ${row.name} is the sandbox, which is not used in production; route its channels elsewhere`,
      );
    }
    const fp = fingerprint(row);
    const cached = this.adapters.get(providerId);
    if (cached?.fingerprint === fp) return cached.adapter;
    let secret: string;
    try {
      secret = row.secret_enc ? this.cipher.decrypt(row.secret_enc, secretAad(row.id)) : this.cfg.sandboxSecret;
    } catch {
      throw new AppError('internal', 'PROVIDER_SECRET_UNREADABLE', `the secret of provider ${row.name} cannot be decrypted`);
    }
    const adapter = new HttpProviderAdapter({
      baseUrl: row.base_url ?? this.cfg.sandboxUrl,
      clientId: row.client_id ?? this.cfg.sandboxClientId,
      secret,
      timeoutMs: Number(row.timeout_ms),
      callbackUrl: this.callbackUrl(row.name),
      // as many connections as requests the engine keeps in flight to this provider
      maxSockets: Math.max(1, Number(row.concurrency)),
    });
    this.adapters.set(providerId, { fingerprint: fp, adapter });
    if (cached) this.retire(cached.adapter, Number(row.timeout_ms));
    return adapter;
  }

  /** Where a provider posts status events of the transfers sent to it (contract section 4). */
  callbackUrl(providerName: string): string {
    return `${this.cfg.publicBaseUrl.replace(/\/+$/, '')}/api/v1/providers/${providerName}/callbacks`;
  }

  /** Drops the cached adapter of a provider; the next adapterFor builds a new one. */
  invalidate(providerId: number): void {
    const cached = this.adapters.get(providerId);
    if (!cached) return;
    this.adapters.delete(providerId);
    this.retire(cached.adapter, 120_000);
  }

  /** Closes every cached adapter's connections (process shutdown, tests). */
  close(): void {
    for (const { adapter } of this.adapters.values()) adapter.close();
    this.adapters.clear();
  }

  // requests still in flight on a replaced adapter finish first: closing its sockets now would turn sends into unknowns
  private retire(adapter: HttpProviderAdapter, afterMs: number): void {
    setTimeout(() => adapter.close(), afterMs + 1000).unref();
  }

  private async refuseIfRouted(em: EntityManager, p: Provider): Promise<void> {
    const [r] = (await em.query('SELECT COUNT(*) AS n FROM provider_routes WHERE provider_id = ?', [p.id])) as { n: string }[];
    if (Number(r!.n) > 0) {
      throw conflict('PROVIDER_ROUTED', `provider ${p.name} still pays ${r!.n} route(s); route them elsewhere before deactivating it`, {
        routes: Number(r!.n),
      });
    }
  }

  private async checkedMatchCode(channel: RouteChannel, matchCode: string): Promise<string> {
    if (!ROUTE_CHANNELS.includes(channel)) throw invalid('INVALID_CHANNEL', `channel must be one of ${ROUTE_CHANNELS.join(', ')}`);
    if (matchCode === ANY_CODE) return ANY_CODE;
    if (channel === 'CASH') throw invalid('INVALID_MATCH_CODE', 'a cash route matches every cash enrolment: its match code is *');
    if (channel === 'BANK') {
      if (!/^\d{6}$/.test(matchCode)) throw invalid('INVALID_MATCH_CODE', 'a bank route matches a 6-digit bank BIN, or *');
      const [bank] = (await this.ds.query('SELECT bin FROM banks WHERE bin = ?', [matchCode])) as unknown[];
      if (!bank) throw invalid('UNKNOWN_BANK', `no bank with BIN ${matchCode} in the bank list`);
      return matchCode;
    }
    const code = matchCode.toUpperCase();
    if (!/^[A-Z0-9]{2,20}$/.test(code)) throw invalid('INVALID_MATCH_CODE', 'a wallet route matches a wallet provider code, or *');
    const [wallet] = (await this.ds.query('SELECT code FROM wallet_providers WHERE code = ?', [code])) as unknown[];
    if (!wallet) throw invalid('UNKNOWN_WALLET_PROVIDER', `no wallet provider ${code} in the list`);
    return code;
  }

  /** The connection fields a kind needs or forbids, and the limits; `secret: undefined` means "the stored one, present". */
  private checked(
    kind: ProviderKind,
    f: {
      baseUrl: string | null;
      clientId: string | null;
      secret: string | null | undefined;
      timeoutMs: number;
      rateLimitPerSecond: number | null;
      concurrency: number;
    },
  ): {
    baseUrl: string | null;
    clientId: string | null;
    secret: string | null;
    timeoutMs: number;
    rateLimitPerSecond: number | null;
    concurrency: number;
  } {
    const present = { baseUrl: f.baseUrl !== null, clientId: f.clientId !== null, secret: f.secret !== null };
    if (kind === 'http') {
      const missing = Object.entries(present)
        .filter(([, p]) => !p)
        .map(([k]) => k);
      if (missing.length) throw invalid('PROVIDER_INCOMPLETE', `an http provider needs ${missing.join(', ')}`, { missing });
    }
    if (kind === 'file') {
      const extra = Object.entries(present)
        .filter(([, p]) => p)
        .map(([k]) => k);
      if (extra.length)
        throw invalid('PROVIDER_FIELD_NOT_FOR_KIND', `a file provider has no wire API: no ${extra.join(', ')}`, { fields: extra });
    }
    if (f.clientId !== null && !PROVIDER_CLIENT_ID.test(f.clientId)) {
      throw invalid('INVALID_CLIENT_ID', 'clientId must be 1-100 printable ASCII characters without spaces');
    }
    if (typeof f.secret === 'string' && !PROVIDER_SECRET.test(f.secret)) {
      throw invalid('INVALID_SECRET', 'secret must be 16-128 printable ASCII characters without spaces');
    }
    for (const key of ['timeoutMs', 'rateLimitPerSecond', 'concurrency'] as const) {
      const v = f[key];
      const { min, max } = PROVIDER_LIMITS[key];
      if (v !== null && (!Number.isInteger(v) || v < min || v > max))
        throw invalid('INVALID_PROVIDER_LIMIT', `${key} must be a whole number from ${min} to ${max}`);
    }
    return {
      baseUrl: f.baseUrl === null ? null : normaliseBaseUrl(f.baseUrl),
      clientId: f.clientId,
      secret: f.secret ?? null,
      timeoutMs: f.timeoutMs,
      rateLimitPerSecond: f.rateLimitPerSecond,
      concurrency: f.concurrency,
    };
  }
}

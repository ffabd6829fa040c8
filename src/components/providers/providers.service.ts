import type { DataSource } from 'typeorm';
import type { Config } from '../../../config';
import type { DataCipher } from '../../platform/crypto';
import { AppError, conflict, invalid, notFound } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import { HttpProviderAdapter } from './http.adapter';
import type { ProviderPort } from './provider.port';
import { isDuplicateKey } from '../../platform/db';
import {
  COLUMNS,
  fingerprint,
  normaliseBaseUrl,
  PROVIDER_CLIENT_ID,
  PROVIDER_KINDS,
  PROVIDER_LIMITS,
  PROVIDER_NAME,
  PROVIDER_SECRET,
  providerAudit,
  providerRow,
  secretAad,
  toProvider,
  type ConnectionTest,
  type NewProvider,
  type Provider,
  type ProviderChange,
  type ProviderKind,
  type ProviderRoute,
  type RouteChannel,
  type Row,
} from './provider-model';
import { RoutingRule } from './routing-rule';
import { timedBalance } from './connection-test';

export {
  ANY_CODE,
  normaliseBaseUrl,
  PROVIDER_CLIENT_ID,
  PROVIDER_KINDS,
  PROVIDER_LIMITS,
  PROVIDER_NAME,
  PROVIDER_SECRET,
  ROUTE_CHANNELS,
  routedProviderIdSql,
  type ConnectionTest,
  type NewProvider,
  type Provider,
  type ProviderChange,
  type ProviderKind,
  type ProviderRoute,
  type RouteChannel,
} from './provider-model';

export type ProvidersConfig = Pick<Config, 'mode' | 'sandboxUrl' | 'sandboxClientId' | 'sandboxSecret' | 'publicBaseUrl'>;

/**
 * Payment providers and the routing rule (routing-rule.ts), kept as data and edited by administrators; and the
 * adapter that speaks to each provider, cached per provider.
 */
export class ProvidersService {
  private readonly adapters = new Map<number, { fingerprint: string; adapter: HttpProviderAdapter }>();
  private readonly routing: RoutingRule;

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    private readonly cfg: ProvidersConfig,
  ) {
    this.routing = new RoutingRule(ds, audit);
  }

  async list(f: { active?: boolean | undefined } = {}): Promise<Provider[]> {
    const rows = (await this.ds.query(
      `SELECT ${COLUMNS} FROM providers ${f.active === undefined ? '' : 'WHERE active = ?'} ORDER BY name`,
      f.active === undefined ? [] : [f.active ? 1 : 0],
    )) as Row[];
    return rows.map(toProvider);
  }

  async get(id: number): Promise<Provider> {
    return toProvider(await providerRow(this.ds.manager, id));
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
      const created = toProvider(await providerRow(em, newId));
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
      const beforeRow = await providerRow(em, id, true);
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
      if (before.active && !active) await this.routing.refuseIfRouted(em, before);
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
      const after = toProvider(await providerRow(em, id));
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
    const test: ConnectionTest = { providerId: id, ...(await timedBalance(() => adapter.balance())) };
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
      const before = toProvider(await providerRow(em, id, true));
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

  listRoutes(f: { channel?: RouteChannel | undefined; providerId?: number | undefined } = {}): Promise<ProviderRoute[]> {
    return this.routing.listRoutes(f);
  }

  setRoute(
    actor: Actor,
    channel: RouteChannel,
    matchCode: string,
    providerId: number,
  ): Promise<{ created: boolean; route: ProviderRoute }> {
    return this.routing.setRoute(actor, channel, matchCode, providerId);
  }

  deleteRoute(actor: Actor, channel: RouteChannel, matchCode: string): Promise<void> {
    return this.routing.deleteRoute(actor, channel, matchCode);
  }

  routeFor(channel: RouteChannel, code: string | null): Promise<Provider | null> {
    return this.routing.routeFor(channel, code);
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
    const row = await providerRow(this.ds.manager, providerId);
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

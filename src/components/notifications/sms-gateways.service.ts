import type { DataSource, EntityManager } from 'typeorm';
import type { Config } from '../../../config';
import type { DataCipher } from '../../platform/crypto';
import { isDuplicateKey } from '../../platform/db';
import { AppError, conflict, invalid, notFound } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import { normaliseBaseUrl, PROVIDER_CLIENT_ID, PROVIDER_SECRET, timedBalance, type TimedBalance } from '../providers';
import { SmsGatewayClient } from './sms-gateway.client';
import { SMS_SENDER, type SmsBalance } from './sms-wire';

/** sandbox: the built-in sandbox gateway (SANDBOX_URL/sms with the sandbox's client id and secret unless set); http: an external SMS Gateway API v1. */
export const GATEWAY_KINDS = ['sandbox', 'http'] as const;
export type GatewayKind = (typeof GATEWAY_KINDS)[number];
export const GATEWAY_NAME = /^[a-z0-9][a-z0-9-]{1,39}$/;
export const GATEWAY_LIMITS = {
  rateLimitPerSecond: { min: 1, max: 10_000 },
  pricePerSegment: { min: 0, max: 100_000 },
  timeoutMs: { min: 100, max: 60_000 },
} as const;
/** Where the sandbox process serves the SMS sandbox, under SANDBOX_URL. */
export const SANDBOX_SMS_PREFIX = '/sms';

/** A configured SMS gateway. The secret is write-only: only whether one is set is shown. */
export interface SmsGateway {
  id: number;
  name: string;
  kind: GatewayKind;
  baseUrl: string | null;
  clientId: string | null;
  secretSet: boolean;
  /** The registered brand name messages are sent under. */
  sender: string;
  rateLimitPerSecond: number;
  /** What one segment costs, in đồng. */
  pricePerSegment: number;
  timeoutMs: number;
  /** Nothing new is sent through a paused gateway; reports and questions about sent messages go on. */
  paused: boolean;
  /** New messages go through the default gateway. */
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewGateway {
  name: string;
  kind: GatewayKind;
  baseUrl?: string | null | undefined;
  clientId?: string | null | undefined;
  secret?: string | null | undefined;
  sender: string;
  rateLimitPerSecond: number;
  pricePerSegment: number;
  timeoutMs?: number | undefined;
  isDefault?: boolean | undefined;
}
export type GatewayChange = Partial<Omit<NewGateway, 'name' | 'kind' | 'isDefault'>> & { isDefault?: true | undefined };

export interface GatewayTest extends TimedBalance<SmsBalance> {
  gatewayId: number;
}

interface Row {
  id: number;
  name: string;
  kind: GatewayKind;
  base_url: string | null;
  client_id: string | null;
  secret_enc: Buffer | null;
  sender: string;
  rate_limit_per_second: number;
  price_per_segment: number | string;
  timeout_ms: number;
  paused: number;
  is_default: number | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, name, kind, base_url, client_id, secret_enc, sender, rate_limit_per_second, price_per_segment, timeout_ms, paused, is_default, created_at, updated_at';

const toGateway = (r: Row): SmsGateway => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  baseUrl: r.base_url,
  clientId: r.client_id,
  secretSet: r.secret_enc !== null,
  sender: r.sender,
  rateLimitPerSecond: Number(r.rate_limit_per_second),
  pricePerSegment: Number(r.price_per_segment),
  timeoutMs: Number(r.timeout_ms),
  paused: Number(r.paused) === 1,
  isDefault: Number(r.is_default) === 1,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

// never the secret in the trail: only whether it is set or changed
const gatewayAudit = (g: SmsGateway) => {
  const { id: _id, createdAt: _c, updatedAt: _u, name, ...rest } = g;
  return { gatewayName: name, ...rest };
};

export const secretAad = (id: number): string => `sms-gateway:${id}`;

export type GatewaysConfig = Pick<Config, 'mode' | 'sandboxUrl' | 'sandboxClientId' | 'sandboxSecret' | 'publicBaseUrl'>;

async function gatewayRow(em: EntityManager | DataSource, id: number, lock = false): Promise<Row> {
  const [r] = (await em.query(`SELECT ${COLUMNS} FROM sms_gateways WHERE id = ?${lock ? ' FOR UPDATE' : ''}`, [id])) as Row[];
  if (!r) throw notFound('GATEWAY_NOT_FOUND', `no SMS gateway with id ${id}`);
  return r;
}

/** SMS gateways as data, edited by administrators, and the client speaking to each (cached, rebuilt when its row changes). */
export class SmsGatewaysService {
  private readonly clients = new Map<number, { fingerprint: string; client: SmsGatewayClient }>();

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    private readonly cfg: GatewaysConfig,
  ) {}

  async list(): Promise<SmsGateway[]> {
    return ((await this.ds.query(`SELECT ${COLUMNS} FROM sms_gateways ORDER BY name`)) as Row[]).map(toGateway);
  }

  async get(id: number): Promise<SmsGateway> {
    return toGateway(await gatewayRow(this.ds, id));
  }

  async getByName(name: string): Promise<SmsGateway | null> {
    const [r] = (await this.ds.query(`SELECT ${COLUMNS} FROM sms_gateways WHERE name = ?`, [name])) as Row[];
    return r ? toGateway(r) : null;
  }

  /** The gateway new messages go through, or null when none is the default. */
  async defaultGateway(em: EntityManager | DataSource = this.ds): Promise<SmsGateway | null> {
    const [r] = (await em.query(`SELECT ${COLUMNS} FROM sms_gateways WHERE is_default = 1`)) as Row[];
    return r ? toGateway(r) : null;
  }

  async create(actor: Actor, input: NewGateway): Promise<SmsGateway> {
    if (!GATEWAY_NAME.test(input.name))
      throw invalid('INVALID_GATEWAY_NAME', 'name must be 2-40 of a-z 0-9 - starting with a letter or digit');
    if (!GATEWAY_KINDS.includes(input.kind)) throw invalid('INVALID_GATEWAY_KIND', `kind must be one of ${GATEWAY_KINDS.join(', ')}`);
    const f = this.checked(input.kind, {
      baseUrl: input.baseUrl ?? null,
      clientId: input.clientId ?? null,
      secret: input.secret ?? null,
      sender: input.sender,
      rateLimitPerSecond: input.rateLimitPerSecond,
      pricePerSegment: input.pricePerSegment,
      timeoutMs: input.timeoutMs ?? 10_000,
    });
    const id = await this.ds.transaction(async (em) => {
      if (input.isDefault) await em.query('UPDATE sms_gateways SET is_default = NULL WHERE is_default = 1');
      const res = (await em
        .query(
          `INSERT INTO sms_gateways (name, kind, base_url, client_id, sender, rate_limit_per_second, price_per_segment, timeout_ms, is_default, created_by, updated_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            input.name,
            input.kind,
            f.baseUrl,
            f.clientId,
            f.sender,
            f.rateLimitPerSecond,
            f.pricePerSegment,
            f.timeoutMs,
            input.isDefault ? 1 : null,
            actor.userId,
            actor.userId,
          ],
        )
        .catch((e: unknown) => {
          throw isDuplicateKey(e) ? conflict('GATEWAY_NAME_TAKEN', `name: a gateway named ${input.name} exists`) : e;
        })) as { insertId: number };
      const newId = Number(res.insertId);
      // sealed once the id is known: the associated data binds the ciphertext to its row
      if (f.secret !== null)
        await em.query('UPDATE sms_gateways SET secret_enc = ? WHERE id = ?', [this.cipher.encrypt(f.secret, secretAad(newId)), newId]);
      const created = toGateway(await gatewayRow(em, newId));
      await this.audit.record(em, actor, {
        action: 'sms_gateway.create',
        entityType: 'sms_gateway',
        entityId: newId,
        after: gatewayAudit(created),
      });
      return newId;
    });
    return this.get(id);
  }

  async update(actor: Actor, id: number, input: GatewayChange): Promise<SmsGateway> {
    await this.ds.transaction(async (em) => {
      const beforeRow = await gatewayRow(em, id, true);
      const before = toGateway(beforeRow);
      const f = this.checked(before.kind, {
        baseUrl: input.baseUrl === undefined ? before.baseUrl : input.baseUrl,
        clientId: input.clientId === undefined ? before.clientId : input.clientId,
        secret: input.secret === undefined ? (before.secretSet ? undefined : null) : input.secret,
        sender: input.sender ?? before.sender,
        rateLimitPerSecond: input.rateLimitPerSecond ?? before.rateLimitPerSecond,
        pricePerSegment: input.pricePerSegment ?? before.pricePerSegment,
        timeoutMs: input.timeoutMs ?? before.timeoutMs,
      });
      const secretEnc =
        input.secret === undefined ? beforeRow.secret_enc : input.secret === null ? null : this.cipher.encrypt(input.secret, secretAad(id));
      if (input.isDefault && !before.isDefault) await em.query('UPDATE sms_gateways SET is_default = NULL WHERE is_default = 1');
      await em.query(
        `UPDATE sms_gateways SET base_url = ?, client_id = ?, secret_enc = ?, sender = ?, rate_limit_per_second = ?, price_per_segment = ?,
           timeout_ms = ?, is_default = ?, updated_by = ? WHERE id = ?`,
        [
          f.baseUrl,
          f.clientId,
          secretEnc,
          f.sender,
          f.rateLimitPerSecond,
          f.pricePerSegment,
          f.timeoutMs,
          input.isDefault || before.isDefault ? 1 : null,
          actor.userId,
          id,
        ],
      );
      const after = toGateway(await gatewayRow(em, id));
      await this.audit.record(em, actor, {
        action: 'sms_gateway.update',
        entityType: 'sms_gateway',
        entityId: id,
        before: gatewayAudit(before),
        after: { ...gatewayAudit(after), ...(input.secret !== undefined ? { secretChanged: true } : {}) },
      });
    });
    this.invalidate(id);
    return this.get(id);
  }

  /** Nothing new is sent through a paused gateway; pausing a paused one changes nothing. */
  async setPaused(actor: Actor, id: number, paused: boolean): Promise<SmsGateway> {
    await this.ds.transaction(async (em) => {
      const before = toGateway(await gatewayRow(em, id, true));
      if (before.paused === paused) return;
      await em.query('UPDATE sms_gateways SET paused = ?, updated_by = ? WHERE id = ?', [paused ? 1 : 0, actor.userId, id]);
      await this.audit.record(em, actor, {
        action: paused ? 'sms_gateway.pause' : 'sms_gateway.resume',
        entityType: 'sms_gateway',
        entityId: id,
        before: { gatewayName: before.name, paused: before.paused },
        after: { gatewayName: before.name, paused },
      });
    });
    return this.get(id);
  }

  /** A signed balance request with the stored connection, naming what the gateway said (BAD_SIGNATURE, STALE_TIMESTAMP, ...). Audited. */
  async testConnection(actor: Actor, id: number): Promise<GatewayTest> {
    const gateway = await this.get(id);
    const test: GatewayTest = {
      gatewayId: id,
      ...(await timedBalance(async () => {
        const client = await this.clientFor(id);
        return client.balance();
      })),
    };
    await this.ds.transaction((em) =>
      this.audit.record(em, actor, {
        action: 'sms_gateway.test',
        entityType: 'sms_gateway',
        entityId: id,
        after: { gatewayName: gateway.name, ok: test.ok, error: test.error?.providerError ?? test.error?.code ?? null },
      }),
    );
    return test;
  }

  /** The client speaking to a gateway; SANDBOX_IN_PRODUCTION for the sandbox in production. */
  async clientFor(id: number): Promise<SmsGatewayClient> {
    const row = await gatewayRow(this.ds, id);
    if (row.kind === 'sandbox' && this.cfg.mode === 'production') {
      throw conflict('SANDBOX_IN_PRODUCTION', `gateway ${row.name} is the sandbox, which is not used in production`);
    }
    const fp = [row.kind, row.base_url ?? '', row.client_id ?? '', row.secret_enc?.toString('base64') ?? '', String(row.timeout_ms)].join(
      '\n',
    );
    const cached = this.clients.get(id);
    if (cached?.fingerprint === fp) return cached.client;
    let secret: string;
    try {
      secret = row.secret_enc ? this.cipher.decrypt(row.secret_enc, secretAad(row.id)) : this.cfg.sandboxSecret;
    } catch {
      throw new AppError('internal', 'GATEWAY_SECRET_UNREADABLE', `the secret of gateway ${row.name} cannot be decrypted`);
    }
    const client = new SmsGatewayClient({
      baseUrl: row.base_url ?? `${this.cfg.sandboxUrl.replace(/\/+$/, '')}${SANDBOX_SMS_PREFIX}`,
      clientId: row.client_id ?? this.cfg.sandboxClientId,
      secret,
      timeoutMs: Number(row.timeout_ms),
    });
    this.clients.set(id, { fingerprint: fp, client });
    // requests still in flight on a replaced client finish first
    if (cached) setTimeout(() => cached.client.close(), Number(row.timeout_ms) + 1000).unref();
    return client;
  }

  /** Where a gateway posts its delivery reports (contract section 4). */
  callbackUrl(gatewayName: string): string {
    return `${this.cfg.publicBaseUrl.replace(/\/+$/, '')}/api/v1/notifications/gateways/${gatewayName}/callbacks`;
  }

  invalidate(id: number): void {
    const cached = this.clients.get(id);
    if (!cached) return;
    this.clients.delete(id);
    setTimeout(() => cached.client.close(), 120_000).unref();
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  private checked(
    kind: GatewayKind,
    f: {
      baseUrl: string | null;
      clientId: string | null;
      secret: string | null | undefined;
      sender: string;
      rateLimitPerSecond: number;
      pricePerSegment: number;
      timeoutMs: number;
    },
  ) {
    if (kind === 'http') {
      const missing = (['baseUrl', 'clientId', 'secret'] as const).filter((k) => f[k] === null);
      if (missing.length) throw invalid('GATEWAY_INCOMPLETE', `an http gateway needs ${missing.join(', ')}`, { missing });
    }
    if (f.clientId !== null && !PROVIDER_CLIENT_ID.test(f.clientId))
      throw invalid('INVALID_CLIENT_ID', 'clientId must be 1-100 printable ASCII characters without spaces');
    if (typeof f.secret === 'string' && !PROVIDER_SECRET.test(f.secret))
      throw invalid('INVALID_SECRET', 'secret must be 16-128 printable ASCII characters without spaces');
    if (!SMS_SENDER.test(f.sender)) throw invalid('INVALID_SENDER', 'sender must be 1-11 of A-Z a-z 0-9 .');
    for (const key of ['rateLimitPerSecond', 'pricePerSegment', 'timeoutMs'] as const) {
      const { min, max } = GATEWAY_LIMITS[key];
      const v = f[key];
      if (!Number.isInteger(v) || v < min || v > max)
        throw invalid('INVALID_GATEWAY_LIMIT', `${key} must be a whole number from ${min} to ${max}`);
    }
    return { ...f, baseUrl: f.baseUrl === null ? null : normaliseBaseUrl(f.baseUrl), secret: f.secret ?? null };
  }
}

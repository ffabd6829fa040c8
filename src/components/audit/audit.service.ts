import type { Readable } from 'node:stream';
import type { DataSource, EntityManager } from 'typeorm';
import { redact } from '../../platform/logger';
import { decodeCursor, finishPage, keysetWhere, type Page } from '../../platform/http/pagination';
import { areaScopeSql, inAreaScope, type Actor, type Principal } from '../../platform/security';
import { canonicalJson, eventHash, GENESIS_HASH } from './audit-hash';

export interface AuditInput {
  /** dotted verb, e.g. `user.create`, `auth.login_failed` */
  action: string;
  entityType: string;
  entityId?: string | number | null;
  /** area the entity belongs to, so that regional auditors see it */
  areaId?: number | null;
  /** before/after summaries; personal-data keys are masked before storing */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  note?: string;
}

export interface AuditEvent {
  id: string;
  occurredAt: string;
  actorUserId: number | null;
  actorUsername: string;
  actorRoles: string[];
  action: string;
  entityType: string;
  entityId: string | null;
  areaId: number | null;
  requestId: string | null;
  source: string | null;
  summary: unknown;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  from?: Date | undefined;
  to?: Date | undefined;
  actorUserId?: number | undefined;
  action?: string | undefined;
  entityType?: string | undefined;
  entityId?: string | undefined;
  areaId?: number | undefined;
  requestId?: string | undefined;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  lastId: string | null;
  firstBroken: { id: string | null; reason: string } | null;
}

interface Row {
  id: string;
  occurred_at: Date;
  actor_user_id: number | null;
  actor_username: string;
  actor_roles: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  area_id: number | null;
  request_id: string | null;
  source: string | null;
  summary: string;
  prev_hash: string;
  hash: string;
}

function toEvent(r: Row): AuditEvent {
  let summary: unknown = r.summary;
  try {
    summary = JSON.parse(r.summary);
  } catch {
    /* keep the raw text */
  }
  return {
    id: String(r.id),
    occurredAt: r.occurred_at.toISOString(),
    actorUserId: r.actor_user_id,
    actorUsername: r.actor_username,
    actorRoles: r.actor_roles ? r.actor_roles.split(',') : [],
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    areaId: r.area_id,
    requestId: r.request_id,
    source: r.source,
    summary,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function hashedFieldsOf(r: Row) {
  return {
    id: String(r.id),
    occurredAt: r.occurred_at,
    actorUserId: r.actor_user_id,
    actorUsername: r.actor_username,
    actorRoles: r.actor_roles,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    areaId: r.area_id,
    requestId: r.request_id,
    source: r.source,
    summary: r.summary,
  };
}

export class AuditService {
  constructor(
    private readonly ds: DataSource,
    private readonly chainKey: string,
  ) {}

  /**
   * Appends one event inside the caller's transaction, so it commits or rolls
   * back with the change it describes. Call it last in the transaction: the
   * chain head's row lock is held until commit.
   */
  async record(em: EntityManager, actor: Actor, input: AuditInput): Promise<AuditEvent> {
    if (!em.queryRunner?.isTransactionActive) throw new Error('audit events must be written inside the transaction of the change');
    const [head] = (await em.query('SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE')) as {
      last_id: string;
      last_hash: string;
    }[];
    if (!head) throw new Error('audit_chain_head is missing');
    const summaryValue = redact({ before: input.before ?? null, after: input.after ?? null, ...(input.note ? { note: input.note } : {}) });
    const row: Row = {
      id: (BigInt(head.last_id) + 1n).toString(),
      occurred_at: new Date(),
      actor_user_id: actor.userId,
      actor_username: actor.username,
      actor_roles: actor.roles.join(','),
      action: input.action,
      entity_type: input.entityType,
      entity_id: input.entityId === undefined || input.entityId === null ? null : String(input.entityId).slice(0, 64),
      area_id: input.areaId ?? null,
      request_id: actor.requestId,
      // ASCII column: an OS user name or address with other characters must not fail the change it records
      source: actor.source ? actor.source.replace(/[^\x20-\x7e]/g, '?').slice(0, 64) : null,
      summary: canonicalJson(summaryValue),
      prev_hash: head.last_hash,
      hash: '',
    };
    row.hash = eventHash(this.chainKey, row.prev_hash, hashedFieldsOf(row));
    await em.query(
      `INSERT INTO audit_events (id, occurred_at, actor_user_id, actor_username, actor_roles, action, entity_type, entity_id,
        area_id, request_id, source, summary, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [
        row.id,
        row.occurred_at,
        row.actor_user_id,
        row.actor_username,
        row.actor_roles,
        row.action,
        row.entity_type,
        row.entity_id,
        row.area_id,
        row.request_id,
        row.source,
        row.summary,
        row.prev_hash,
        row.hash,
      ],
    );
    await em.query('UPDATE audit_chain_head SET last_id = ?, last_hash = ? WHERE id = 1', [row.id, row.hash]);
    return toEvent(row);
  }

  /** Records an event in a transaction of its own (for events that accompany no other write, e.g. an export). */
  recordAlone(actor: Actor, input: AuditInput): Promise<AuditEvent> {
    return this.ds.transaction((em) => this.record(em, actor, input));
  }

  private where(p: Principal, f: AuditFilter): { sql: string; params: unknown[] } {
    const conds: string[] = [];
    const params: unknown[] = [];
    const scope = areaScopeSql(p, 'e.area_id');
    if (p.areaPath) {
      conds.push(scope.sql);
      params.push(...scope.params);
    }
    const add = (sql: string, value: unknown) => {
      conds.push(sql);
      params.push(value);
    };
    if (f.from) add('e.occurred_at >= ?', f.from);
    if (f.to) add('e.occurred_at < ?', f.to);
    if (f.actorUserId !== undefined) add('e.actor_user_id = ?', f.actorUserId);
    if (f.action) add('e.action = ?', f.action);
    if (f.entityType) add('e.entity_type = ?', f.entityType);
    if (f.entityId) add('e.entity_id = ?', f.entityId);
    if (f.requestId) add('e.request_id = ?', f.requestId);
    if (f.areaId !== undefined) {
      conds.push(
        "e.area_id IN (SELECT fa.id FROM areas fa WHERE fa.path LIKE CONCAT((SELECT pa.path FROM areas pa WHERE pa.id = ?), '%'))",
      );
      params.push(f.areaId);
    }
    return { sql: conds.length ? conds.join(' AND ') : '1=1', params };
  }

  /** Newest first, keyset-paginated, limited to the caller's area scope. */
  async list(p: Principal, f: AuditFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<AuditEvent>> {
    const w = this.where(p, f);
    const cur = decodeCursor(page.cursor, 1);
    const ks = keysetWhere([{ expr: 'e.id', dir: 'DESC' }], cur);
    const rows = (await this.ds.query(`SELECT e.* FROM audit_events e WHERE ${w.sql} AND ${ks.sql} ORDER BY e.id DESC LIMIT ?`, [
      ...w.params,
      ...ks.params,
      page.limit + 1,
    ])) as Row[];
    return finishPage(rows, page.limit, (r) => [String(r.id)], toEvent);
  }

  /** Streams matching events oldest first, for CSV export. Caller must release the runner. */
  async stream(p: Principal, f: AuditFilter): Promise<{ rows: AsyncIterable<AuditEvent>; release: () => Promise<void> }> {
    const w = this.where(p, f);
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    let raw: Readable;
    try {
      raw = await runner.stream(`SELECT e.* FROM audit_events e WHERE ${w.sql} ORDER BY e.id ASC`, w.params);
    } catch (e) {
      await runner.release();
      throw e;
    }
    async function* rows(): AsyncIterable<AuditEvent> {
      for await (const r of raw) yield toEvent(r as Row);
    }
    return {
      rows: rows(),
      release: async () => {
        raw.destroy();
        await runner.release();
      },
    };
  }

  /**
   * The chain is one for the whole deployment and is always verified whole; a
   * caller limited to an area learns that it is broken, but which event broke
   * it only when that event belongs to their area.
   */
  async verifyFor(p: Principal): Promise<VerifyResult> {
    const result = await this.verify();
    if (!result.firstBroken || !p.areaPath) return result;
    const [row] = (await this.ds.query('SELECT a.path FROM audit_events e LEFT JOIN areas a ON a.id = e.area_id WHERE e.id = ?', [
      result.firstBroken.id,
    ])) as { path: string | null }[];
    if (row?.path && inAreaScope(p, row.path)) return result;
    return {
      ...result,
      lastId: null,
      firstBroken: { id: null, reason: 'the chain is broken at an event outside your area; ask an auditor of the whole province' },
    };
  }

  /**
   * Walks the whole chain in id order and reports the first broken link: a gap
   * in the ids (a deleted row), a prev_hash that is not its predecessor's hash,
   * a hash that does not match the row's fields (an edited row), or a chain
   * head that does not match the last row (a removed tail).
   */
  async verify(): Promise<VerifyResult> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    let checked = 0;
    let prevHash = GENESIS_HASH;
    let expectId = 1n;
    let lastId: string | null = null;
    try {
      // the head is read first: events committed while we walk are past it and not judged
      const [head] = (await runner.query('SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1')) as {
        last_id: string;
        last_hash: string;
      }[];
      if (!head) return { ok: false, checked, lastId, firstBroken: { id: '0', reason: 'the chain head is missing' } };
      const stream: Readable = await runner.stream('SELECT * FROM audit_events WHERE id <= ? ORDER BY id ASC', [head.last_id]);
      try {
        for await (const raw of stream) {
          const r = raw as Row;
          const id = String(r.id);
          const broken = (reason: string, at = id): VerifyResult => ({ ok: false, checked, lastId, firstBroken: { id: at, reason } });
          // a gap names the first missing id, as a removed tail does below
          if (BigInt(id) !== expectId) {
            return broken(`expected event ${expectId} next, found ${id}: events are missing`, String(expectId));
          }
          if (r.prev_hash !== prevHash) return broken('prev_hash does not match the hash of the event before it');
          if (eventHash(this.chainKey, r.prev_hash, hashedFieldsOf(r)) !== r.hash)
            return broken('the event was altered: its hash does not match its contents');
          prevHash = r.hash;
          expectId += 1n;
          lastId = id;
          checked += 1;
        }
      } finally {
        stream.destroy();
      }
      if (String(head.last_id) !== (lastId ?? '0') || head.last_hash !== prevHash) {
        return {
          ok: false,
          checked,
          lastId,
          firstBroken: { id: String(expectId), reason: 'the chain head records later events that are missing' },
        };
      }
      return { ok: true, checked, lastId, firstBroken: null };
    } finally {
      await runner.release();
    }
  }
}

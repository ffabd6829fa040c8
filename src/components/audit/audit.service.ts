import type { Readable } from 'node:stream';
import type { DataSource, EntityManager } from 'typeorm';
import { AppError } from '../../platform/errors';
import { decodeCursor, finishPage, keysetWhere, type Page } from '../../platform/http/pagination';
import { areaScopeSql, inAreaScope, type Actor, type Principal } from '../../platform/security';
import type { AuditCheckpoints } from './audit-checkpoints';
import { canonicalJson, checkpointMac, eventHash, GENESIS_HASH, headMac, macMatches, type ChainEnd, type Checkpoint } from './audit-hash';
import { auditCsv } from './audit-export';
import { storedSummary } from './audit-summary';

export interface AuditInput {
  /** dotted verb, e.g. `user.create`, `auth.login_failed` */
  action: string;
  entityType: string;
  entityId?: string | number | null;
  /** area the entity belongs to, so that regional auditors see it */
  areaId?: number | null;
  /**
   * before/after summaries of fields that are not personal data (ids, codes, counts, amounts, states, hashes),
   * stored exactly; a value under a key named like personal data or a secret is replaced by `[redacted]` all the same
   */
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

/** Why a verification failed; stable codes for the console and for alerts. */
export type BrokenCode =
  | 'HEAD_MISSING'
  | 'EVENTS_MISSING'
  | 'LINK_BROKEN'
  | 'EVENT_ALTERED'
  | 'HEAD_MISMATCH'
  | 'HEAD_INVALID'
  | 'TRUNCATED'
  | 'CHECKPOINT_MISMATCH'
  | 'CHECKPOINT_INVALID';

export interface VerifyResult {
  ok: boolean;
  checked: number;
  lastId: string | null;
  firstBroken: { id: string | null; code: BrokenCode; reason: string } | null;
  /** the latest checkpoint the chain was held against; null when none was taken yet */
  checkpoint: { lastId: string; count: number; at: string } | null;
  note: string | null;
}

interface HeadRow {
  last_id: string;
  last_hash: string;
  event_count: string;
  mac: string | null;
}

const endOf = (h: HeadRow): ChainEnd => ({ lastId: String(h.last_id), lastHash: h.last_hash, count: Number(h.event_count) });

const NO_CHECKPOINT = 'no checkpoint yet: the end of the chain is held only by its keyed head until the worker writes one';

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
    /** where checkpoints are written and read (AUDIT_CHECKPOINT_DIR); without it, verify notes that none was taken */
    private readonly checkpoints: AuditCheckpoints | null = null,
  ) {}

  private headIsGenuine(h: HeadRow): boolean {
    return macMatches(headMac(this.chainKey, endOf(h)), h.mac);
  }

  private headInvalid(): AppError {
    return new AppError(
      'internal',
      'AUDIT_CHAIN_HEAD_INVALID',
      'the audit chain head fails its key check: it was changed outside the service; verify the audit trail',
    );
  }

  /**
   * Appends one event inside the caller's transaction, so it commits or rolls
   * back with the change it describes. Call it last in the transaction: the
   * chain head's row lock is held until commit.
   */
  async record(em: EntityManager, actor: Actor, input: AuditInput): Promise<AuditEvent> {
    if (!em.queryRunner?.isTransactionActive) throw new Error('audit events must be written inside the transaction of the change');
    const [head] = (await em.query(
      'SELECT last_id, last_hash, event_count, mac FROM audit_chain_head WHERE id = 1 FOR UPDATE',
    )) as HeadRow[];
    if (!head) throw new Error('audit_chain_head is missing');
    // extending a head moved by someone without the key would make the removal it hides verify
    if (!this.headIsGenuine(head)) throw this.headInvalid();
    const summaryValue = storedSummary({
      before: input.before ?? null,
      after: input.after ?? null,
      ...(input.note ? { note: input.note } : {}),
    });
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
    const end: ChainEnd = { lastId: row.id, lastHash: row.hash, count: Number(head.event_count) + 1 };
    await em.query('UPDATE audit_chain_head SET last_id = ?, last_hash = ?, event_count = ?, mac = ? WHERE id = 1', [
      end.lastId,
      end.lastHash,
      end.count,
      headMac(this.chainKey, end),
    ]);
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

  /**
   * The matching events as CSV, oldest first, streamed from the database; the export is audited (in its own
   * transaction) before the read starts. The caller must release the connection once the file is sent.
   */
  async exportCsv(actor: Actor, p: Principal, f: AuditFilter): Promise<{ csv: Readable; release: () => Promise<void> }> {
    await this.recordAlone(actor, {
      action: 'audit.export',
      entityType: 'audit_event',
      areaId: p.areaId,
      after: { format: 'csv', filter: { ...f, from: f.from?.toISOString(), to: f.to?.toISOString() } },
    });
    const { rows, release } = await this.stream(p, f);
    return { csv: auditCsv(rows), release };
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
      firstBroken: {
        id: null,
        code: result.firstBroken.code,
        reason: 'the chain is broken at an event outside your area; ask an auditor of the whole province',
      },
    };
  }

  /** The chain's end now, signed; a head that fails its key check is refused rather than signed. */
  async checkpoint(): Promise<Checkpoint> {
    const [head] = (await this.ds.query('SELECT last_id, last_hash, event_count, mac FROM audit_chain_head WHERE id = 1')) as HeadRow[];
    if (!head) throw new Error('audit_chain_head is missing');
    if (!this.headIsGenuine(head)) throw this.headInvalid();
    const signed = { ...endOf(head), at: new Date().toISOString() };
    return { ...signed, mac: checkpointMac(this.chainKey, signed) };
  }

  /**
   * Appends a checkpoint to the checkpoint file, once the chain is seen to
   * still hold the previous one: a chain cut back and grown again must not get
   * a new checkpoint that hides the old one from verify.
   */
  async writeCheckpoint(): Promise<Checkpoint> {
    if (!this.checkpoints) throw new Error('no checkpoint directory configured');
    const previous = await this.checkpoints.latest();
    if (previous.problem) throw new AppError('internal', 'AUDIT_CHECKPOINT_INVALID', previous.problem);
    const next = await this.checkpoint();
    if (previous.checkpoint) {
      const contradiction = await this.contradicts(previous.checkpoint, next);
      if (contradiction) throw new AppError('internal', 'AUDIT_CHECKPOINT_CONTRADICTED', contradiction);
    }
    await this.checkpoints.append(next);
    return next;
  }

  private async contradicts(prev: Checkpoint, now: ChainEnd): Promise<string | null> {
    if (now.count < prev.count) {
      return `the checkpoint of ${prev.at} records ${prev.count} events, the chain head now ${now.count}: events were removed`;
    }
    if (prev.lastId === '0') return null;
    const [row] = (await this.ds.query('SELECT hash FROM audit_events WHERE id = ?', [prev.lastId])) as { hash: string }[];
    if (row?.hash !== prev.lastHash) {
      return `the checkpoint of ${prev.at} records event ${prev.lastId} with another hash than the chain holds: the chain was rewritten`;
    }
    return null;
  }

  /**
   * Walks the whole chain in id order and reports the first broken link: a gap
   * in the ids (a deleted row), a prev_hash that is not its predecessor's hash,
   * a hash that does not match the row's fields (an edited row), a chain head
   * that does not match the last row or fails its key check (a removed tail),
   * or a chain that does not hold the latest checkpoint (a removed tail whose
   * earlier head was put back).
   */
  async verify(): Promise<VerifyResult> {
    // the checkpoint is read before the head: a checkpoint taken meanwhile would be ahead of the head read
    const latest: Awaited<ReturnType<AuditCheckpoints['latest']>> = this.checkpoints
      ? await this.checkpoints.latest()
      : { checkpoint: null, problem: null };
    const cp = latest.checkpoint;
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    let checked = 0;
    let prevHash = GENESIS_HASH;
    let expectId = 1n;
    let lastId: string | null = null;
    const result = (firstBroken: VerifyResult['firstBroken']): VerifyResult => ({
      ok: firstBroken === null,
      checked,
      lastId,
      firstBroken,
      checkpoint: cp ? { lastId: cp.lastId, count: cp.count, at: cp.at } : null,
      note: cp || latest.problem ? null : NO_CHECKPOINT,
    });
    try {
      // the head is read first: events committed while we walk are past it and not judged
      const [head] = (await runner.query('SELECT last_id, last_hash, event_count, mac FROM audit_chain_head WHERE id = 1')) as HeadRow[];
      if (!head) return result({ id: '0', code: 'HEAD_MISSING', reason: 'the chain head is missing' });
      const stream: Readable = await runner.stream('SELECT * FROM audit_events WHERE id <= ? ORDER BY id ASC', [head.last_id]);
      try {
        for await (const raw of stream) {
          const r = raw as Row;
          const id = String(r.id);
          const broken = (code: BrokenCode, reason: string, at = id) => result({ id: at, code, reason });
          // a gap names the first missing id, as a removed tail does below
          if (BigInt(id) !== expectId) {
            return broken('EVENTS_MISSING', `expected event ${expectId} next, found ${id}: events are missing`, String(expectId));
          }
          if (r.prev_hash !== prevHash) return broken('LINK_BROKEN', 'prev_hash does not match the hash of the event before it');
          if (eventHash(this.chainKey, r.prev_hash, hashedFieldsOf(r)) !== r.hash)
            return broken('EVENT_ALTERED', 'the event was altered: its hash does not match its contents');
          if (cp && id === cp.lastId && r.hash !== cp.lastHash) {
            return broken(
              'CHECKPOINT_MISMATCH',
              `the checkpoint of ${cp.at} records this event with another hash: the chain was rewritten from here or before`,
            );
          }
          prevHash = r.hash;
          expectId += 1n;
          lastId = id;
          checked += 1;
        }
      } finally {
        stream.destroy();
      }
      const next = String(expectId);
      const end = endOf(head);
      if (end.lastId !== (lastId ?? '0') || end.lastHash !== prevHash || end.count !== checked) {
        return result({ id: next, code: 'HEAD_MISMATCH', reason: 'the chain head records later events that are missing' });
      }
      if (!this.headIsGenuine(head)) {
        return result({
          id: next,
          code: 'HEAD_INVALID',
          reason: 'the chain head fails its key check: it was rewritten without the chain key, so events after it may have been removed',
        });
      }
      if (cp && checked < cp.count) {
        return result({
          id: next,
          code: 'TRUNCATED',
          reason: `the checkpoint of ${cp.at} records ${cp.count} events up to event ${cp.lastId}; the chain holds ${checked}: events were removed from its end`,
        });
      }
      if (latest.problem) return result({ id: null, code: 'CHECKPOINT_INVALID', reason: latest.problem });
      return result(null);
    } finally {
      await runner.release();
    }
  }
}

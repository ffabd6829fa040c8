import { expect } from 'chai';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { checkpointMac, eventHash, headMac } from '../../src/components/audit/audit-hash';
import { AuditCheckpoints, AuditService, type AuditEvent, type AuditInput } from '../../src/components/audit';
import { writeAuditCheckpoint } from '../../jobs/audit-checkpoint.processor';
import { SCHEDULES } from '../../src/job-catalog';
import { buildLogger } from '../../src/platform/logger';
import type { Actor } from '../../src/platform/security';
import { testApp } from '../helpers/app';
import { areaId, auditCount, lastAudit, makeUser, uniq, type TestUser } from '../helpers/factories';
import { call, get, patch, post } from '../helpers/http';

/** Same SQL as migrations/1764000000000-create-foundation.ts. */
const TRIGGERS = [
  `CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_events is append-only'`,
  `CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_events is append-only'`,
];

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

const COLUMNS = [
  'id',
  'occurred_at',
  'actor_user_id',
  'actor_username',
  'actor_roles',
  'action',
  'entity_type',
  'entity_id',
  'area_id',
  'request_id',
  'source',
  'summary',
  'prev_hash',
  'hash',
] as const;

async function sql<T = any>(query: string, params: unknown[] = []): Promise<T> {
  const { infra } = await testApp();
  return (await infra.ds.query(query, params)) as T;
}

async function rowOf(id: string): Promise<Row> {
  const [row] = await sql<Row[]>('SELECT * FROM audit_events WHERE id = ?', [id]);
  expect(row, `audit event ${id}`).to.exist;
  return row!;
}

async function reinsert(row: Row): Promise<void> {
  await sql(
    `INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
    COLUMNS.map((c) => row[c]),
  );
}

/**
 * Runs fn with the append-only triggers dropped, and puts them back whatever
 * happens: the other test files of the run share this database.
 */
async function withoutTriggers(fn: () => Promise<void>): Promise<void> {
  const before = await triggers();
  expect(Object.keys(before), 'both triggers in place before tampering').to.have.members([
    'audit_events_no_update',
    'audit_events_no_delete',
  ]);
  await sql('DROP TRIGGER IF EXISTS audit_events_no_update');
  await sql('DROP TRIGGER IF EXISTS audit_events_no_delete');
  try {
    await fn();
  } finally {
    for (const t of TRIGGERS) await sql(t);
  }
  expect(await triggers(), 'triggers restored exactly').to.deep.equal(before);
}

/** The append-only triggers on audit_events: name → timing, event and statement. */
async function triggers(): Promise<Record<string, string>> {
  const rows = await sql<{ TRIGGER_NAME: string; ACTION_TIMING: string; EVENT_MANIPULATION: string; ACTION_STATEMENT: string }[]>(
    `SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT FROM information_schema.TRIGGERS
      WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'audit_events'`,
  );
  return Object.fromEntries(rows.map((r) => [r.TRIGGER_NAME, `${r.ACTION_TIMING} ${r.EVENT_MANIPULATION}: ${r.ACTION_STATEMENT}`]));
}

function actorFor(u: TestUser, requestId: string | null = null): Actor {
  return { userId: u.id, username: u.username, roles: [...u.roles], requestId, source: '127.0.0.1' };
}

async function record(actor: Actor, input: AuditInput): Promise<AuditEvent> {
  const { services } = await testApp();
  return services.audit.recordAlone(actor, input);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Minimal RFC 4180 reader: quoted fields may hold commas, quotes and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((field += '"'), i++);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (row.push(field), (field = ''));
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      (row.push(field), rows.push(row), (row = []), (field = ''));
    } else field += c;
  }
  if (field !== '' || row.length) (row.push(field), rows.push(row));
  return rows;
}

async function walk(path: string, token: string, limit: number): Promise<{ pages: AuditEvent[][]; ids: string[] }> {
  const pages: AuditEvent[][] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r: { status: number; body: { items: AuditEvent[]; nextCursor: string | null } } = await get(
      `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      token,
    );
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    pages.push(r.body.items);
    cursor = r.body.nextCursor;
    expect(pages.length, 'pages walked').to.be.below(500);
  } while (cursor);
  return { pages, ids: pages.flat().map((e) => e.id) };
}

describe('Audit trail', () => {
  let auditor: TestUser;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let tag: string;
  /** five events of one entity type: [commune of 001, district 002, district 001, no area, commune of 002] */
  let fx: AuditEvent[];
  let between: { t1: Date; t2: Date };

  before(async () => {
    auditor = await makeUser(['auditor'], { area: null });
    admin = await makeUser(['admin'], { area: null });
    alice = await makeUser(['staff'], { area: '001' });
    bob = await makeUser(['staff'], { area: '002' });
    tag = uniq('probe');
    const [commune001, d001, d002, commune002] = await Promise.all([areaId('00001'), areaId('001'), areaId('002'), areaId('00037')]);
    fx = [];
    fx.push(
      await record(actorFor(alice, `${tag}-r1`), {
        action: `t.${tag}.a`,
        entityType: tag,
        entityId: `${tag}-1`,
        areaId: commune001,
        after: { n: 1 },
      }),
    );
    await pause(15);
    const t1 = new Date();
    await pause(15);
    fx.push(
      await record(actorFor(bob, `${tag}-r2`), {
        action: `t.${tag}.a`,
        entityType: tag,
        entityId: `${tag}-2`,
        areaId: d002,
        after: { n: 2 },
      }),
    );
    fx.push(
      await record(actorFor(alice, `${tag}-r3`), {
        action: `t.${tag}.b`,
        entityType: tag,
        entityId: `${tag}-1`,
        areaId: d001,
        after: { n: 3 },
      }),
    );
    await pause(15);
    const t2 = new Date();
    await pause(15);
    fx.push(
      await record(actorFor(bob, `${tag}-r4`), {
        action: `t.${tag}.b`,
        entityType: tag,
        entityId: `${tag}-4`,
        areaId: null,
        after: { n: 4 },
      }),
    );
    fx.push(
      await record(actorFor(bob, `${tag}-r5`), {
        action: `t.${tag}.a`,
        entityType: tag,
        entityId: `${tag}-5`,
        areaId: commune002,
        after: { n: 5 },
      }),
    );
    between = { t1, t2 };
  });

  describe('GET /api/v1/audit-events', () => {
    it('lets auditors and admins read the trail', async () => {
      for (const u of [auditor, admin]) {
        const r = await get(`/audit-events?entityType=${tag}`, u.token);
        expect(r.status, u.roles.join()).to.equal(200);
        expect(r.body.items.map((e: AuditEvent) => e.id)).to.deep.equal(fx.map((e) => e.id).reverse());
      }
    });

    it('refuses staff and approvers with 403 ROLE_REQUIRED', async () => {
      const approver = await makeUser(['approver'], { area: '001' });
      for (const u of [alice, approver]) {
        const r = await get('/audit-events', u.token);
        expect(r.status, u.roles.join()).to.equal(403);
        expect(r.body.error.code).to.equal('ROLE_REQUIRED');
      }
    });

    it('refuses a request without a token with 401', async () => {
      const r = await get('/audit-events');
      expect(r.status).to.equal(401);
      expect(r.body.error.code).to.equal('TOKEN_MISSING');
    });

    it('returns every stored field, with the summary as JSON and the roles as a list', async () => {
      const r = await get(`/audit-events?entityType=${tag}&entityId=${tag}-2`, auditor.token);
      expect(r.body.items).to.have.length(1);
      const e = r.body.items[0] as AuditEvent;
      const row = await rowOf(fx[1]!.id);
      expect(e).to.deep.equal({
        id: fx[1]!.id,
        occurredAt: row.occurred_at.toISOString(),
        actorUserId: bob.id,
        actorUsername: bob.username,
        actorRoles: ['staff'],
        action: `t.${tag}.a`,
        entityType: tag,
        entityId: `${tag}-2`,
        areaId: await areaId('002'),
        requestId: `${tag}-r2`,
        source: '127.0.0.1',
        summary: { before: null, after: { n: 2 } },
        prevHash: row.prev_hash,
        hash: row.hash,
      });
      const [prev] = await sql<Row[]>('SELECT hash FROM audit_events WHERE id = ?', [String(BigInt(e.id) - 1n)]);
      expect(e.prevHash, 'prev_hash links to the event before').to.equal(prev!.hash);
    });

    it('filters by time: from is inclusive, to is exclusive', async () => {
      const r = await get(`/audit-events?entityType=${tag}&from=${between.t1.toISOString()}&to=${between.t2.toISOString()}`, auditor.token);
      expect(r.status).to.equal(200);
      expect(r.body.items.map((e: AuditEvent) => e.id)).to.deep.equal([fx[2]!.id, fx[1]!.id]);
      const exact = await get(`/audit-events?entityType=${tag}&from=${fx[1]!.occurredAt}&to=${fx[4]!.occurredAt}`, auditor.token);
      const ids = exact.body.items.map((e: AuditEvent) => e.id);
      expect(ids).to.include(fx[1]!.id);
      expect(ids).not.to.include(fx[0]!.id);
      expect(ids, 'to is exclusive').not.to.include(fx[4]!.id);
    });

    it('refuses a time filter that is not ISO 8601 with 400 VALIDATION_FAILED', async () => {
      const r = await get('/audit-events?from=yesterday', auditor.token);
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal('VALIDATION_FAILED');
      expect(r.body.error.details[0].path).to.equal('from');
    });

    it('filters by actor, action, entity and request id', async () => {
      const ids = async (q: string) =>
        (await get(`/audit-events?entityType=${tag}&${q}`, auditor.token)).body.items.map((e: AuditEvent) => e.id);
      expect(await ids(`actorUserId=${alice.id}`)).to.deep.equal([fx[2]!.id, fx[0]!.id]);
      expect(await ids(`action=t.${tag}.b`)).to.deep.equal([fx[3]!.id, fx[2]!.id]);
      expect(await ids(`entityId=${tag}-1`)).to.deep.equal([fx[2]!.id, fx[0]!.id]);
      expect(await ids(`requestId=${tag}-r4`)).to.deep.equal([fx[3]!.id]);
      expect(await ids(`action=t.${tag}.a&actorUserId=${bob.id}`)).to.deep.equal([fx[4]!.id, fx[1]!.id]);
      const other = await get(`/audit-events?entityType=${tag}-none`, auditor.token);
      expect(other.body.items).to.deep.equal([]);
    });

    it('filters by area: the area and its whole subtree', async () => {
      const ids = async (code: string) =>
        (await get(`/audit-events?entityType=${tag}&areaId=${await areaId(code)}`, auditor.token)).body.items.map((e: AuditEvent) => e.id);
      expect(await ids('001')).to.deep.equal([fx[2]!.id, fx[0]!.id]);
      expect(await ids('002')).to.deep.equal([fx[4]!.id, fx[1]!.id]);
      expect(await ids('00001')).to.deep.equal([fx[0]!.id]);
      expect(await ids('01')).to.deep.equal([fx[4]!.id, fx[2]!.id, fx[1]!.id, fx[0]!.id]);
    });

    it('pages newest first with keyset cursors, each event exactly once', async () => {
      const { pages, ids } = await walk(`/audit-events?entityType=${tag}`, auditor.token, 2);
      expect(pages.map((p) => p.length)).to.deep.equal([2, 2, 1]);
      expect(ids).to.deep.equal(fx.map((e) => e.id).reverse());
    });

    it('pages through the whole trail newest first without repeats or gaps', async () => {
      const before = await auditCount();
      const { ids } = await walk('/audit-events', auditor.token, 200);
      expect(ids.length).to.equal(before);
      expect(new Set(ids).size).to.equal(ids.length);
      const numbers = ids.map((id) => Number(id));
      expect(numbers).to.deep.equal([...numbers].sort((a, b) => b - a));
      expect(numbers[numbers.length - 1]).to.equal(1);
      expect(numbers[0]! - numbers[numbers.length - 1]! + 1, 'gapless ids').to.equal(numbers.length);
    });

    it('refuses a cursor it did not issue with 400 INVALID_CURSOR', async () => {
      const r = await get('/audit-events?cursor=not-a-cursor', auditor.token);
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal('INVALID_CURSOR');
    });

    it('shows an auditor scoped to district 001 only the events of that subtree', async () => {
      const scoped = await makeUser(['auditor'], { area: '001' });
      const r = await get(`/audit-events?entityType=${tag}`, scoped.token);
      expect(r.status).to.equal(200);
      expect(r.body.items.map((e: AuditEvent) => e.id)).to.deep.equal([fx[2]!.id, fx[0]!.id]);
      const outside = await get(`/audit-events?entityType=${tag}&areaId=${await areaId('002')}`, scoped.token);
      expect(outside.body.items, 'an area filter does not widen the scope').to.deep.equal([]);
      const { pages } = await walk('/audit-events', scoped.token, 200);
      const allowed = new Set(
        (await sql<{ id: number }[]>("SELECT id FROM areas WHERE path LIKE CONCAT((SELECT path FROM areas WHERE code = '001'), '%')")).map(
          (a) => a.id,
        ),
      );
      for (const e of pages.flat()) expect(allowed.has(e.areaId as number), `event ${e.id} in area ${e.areaId}`).to.equal(true);
    });
  });

  describe('GET /api/v1/audit-events/verify', () => {
    it('reports an intact chain as ok, having checked every event', async () => {
      const r = await get('/audit-events/verify', auditor.token);
      expect(r.status).to.equal(200);
      const [count] = await sql<{ n: string; last: string }[]>('SELECT COUNT(*) AS n, MAX(id) AS last FROM audit_events');
      expect(r.body).to.deep.include({ ok: true, checked: Number(count!.n), lastId: String(count!.last), firstBroken: null });
      // before the first checkpoint (a worker writes one when it starts) verify says so
      if (r.body.checkpoint === null) expect(r.body.note).to.match(/^no checkpoint yet/);
      else expect(r.body.note).to.equal(null);
    });

    it('refuses staff with 403 ROLE_REQUIRED', async () => {
      const r = await get('/audit-events/verify', alice.token);
      expect(r.status).to.equal(403);
      expect(r.body.error.code).to.equal('ROLE_REQUIRED');
    });

    it('names the altered event when a field was changed in the database', async () => {
      const target = fx[1]!.id;
      const original = await rowOf(target);
      await withoutTriggers(async () => {
        try {
          await sql('UPDATE audit_events SET area_id = ? WHERE id = ?', [await areaId('001'), target]);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken.id).to.equal(target);
          expect(r.body.firstBroken.reason).to.match(/altered/);
          expect(r.body.lastId).to.equal(String(BigInt(target) - 1n));
          expect(r.body.checked).to.equal(Number(target) - 1);
        } finally {
          await sql('UPDATE audit_events SET area_id = ? WHERE id = ?', [original.area_id, target]);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('tells a district auditor the chain is broken, and which event only when it is in their district', async () => {
      const districtAuditor = await makeUser(['auditor'], { area: '001' });
      for (const [target, visible] of [
        [fx[0]!.id, true],
        [fx[1]!.id, false],
      ] as const) {
        const original = await rowOf(target);
        await withoutTriggers(async () => {
          try {
            await sql('UPDATE audit_events SET summary = ? WHERE id = ?', [`${original.summary} `, target]);
            const r = await get('/audit-events/verify', districtAuditor.token);
            expect(r.body.ok).to.equal(false);
            expect(r.body.firstBroken.id).to.equal(visible ? target : null);
            if (!visible) expect(r.body.firstBroken.reason).to.match(/outside your area/);
            expect((await get('/audit-events/verify', auditor.token)).body.firstBroken.id, 'the province auditor sees it').to.equal(target);
          } finally {
            await sql('UPDATE audit_events SET summary = ? WHERE id = ?', [original.summary, target]);
          }
        });
      }
      expect((await get('/audit-events/verify', districtAuditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('names the altered event when only its summary text was changed', async () => {
      const target = fx[0]!.id;
      const original = await rowOf(target);
      await withoutTriggers(async () => {
        try {
          await sql('UPDATE audit_events SET summary = ? WHERE id = ?', [original.summary.replace('"n":1', '"n":100'), target]);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken.id).to.equal(target);
        } finally {
          await sql('UPDATE audit_events SET summary = ? WHERE id = ?', [original.summary, target]);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('catches a rewritten event whose hash was recomputed without the chain key, at that event', async () => {
      const target = fx[2]!.id;
      const original = await rowOf(target);
      const summary = '{"after":{"n":34},"before":null}';
      const guessed = eventHash('not-the-chain-key-of-this-deployment', original.prev_hash, {
        id: String(original.id),
        occurredAt: original.occurred_at,
        actorUserId: original.actor_user_id,
        actorUsername: original.actor_username,
        actorRoles: original.actor_roles,
        action: original.action,
        entityType: original.entity_type,
        entityId: original.entity_id,
        areaId: original.area_id,
        requestId: original.request_id,
        source: original.source,
        summary,
      });
      await withoutTriggers(async () => {
        try {
          await sql('UPDATE audit_events SET summary = ?, hash = ? WHERE id = ?', [summary, guessed, target]);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken.id).to.equal(target);
        } finally {
          await sql('UPDATE audit_events SET summary = ?, hash = ? WHERE id = ?', [original.summary, original.hash, target]);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('catches a rewritten event whose own hash was recomputed with the key, at the event after it', async () => {
      const target = fx[2]!.id;
      const original = await rowOf(target);
      const forged = { ...original, summary: '{"after":{"n":33},"before":null}' };
      const forgedHash = eventHash((await testApp()).infra.cfg.auditChainKey, forged.prev_hash, {
        id: String(forged.id),
        occurredAt: forged.occurred_at,
        actorUserId: forged.actor_user_id,
        actorUsername: forged.actor_username,
        actorRoles: forged.actor_roles,
        action: forged.action,
        entityType: forged.entity_type,
        entityId: forged.entity_id,
        areaId: forged.area_id,
        requestId: forged.request_id,
        source: forged.source,
        summary: forged.summary,
      });
      await withoutTriggers(async () => {
        try {
          await sql('UPDATE audit_events SET summary = ?, hash = ? WHERE id = ?', [forged.summary, forgedHash, target]);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken.id).to.equal(String(BigInt(target) + 1n));
          expect(r.body.firstBroken.reason).to.match(/prev_hash/);
          expect(r.body.lastId).to.equal(target);
        } finally {
          await sql('UPDATE audit_events SET summary = ?, hash = ? WHERE id = ?', [original.summary, original.hash, target]);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('names the missing event when a row was deleted from the middle', async () => {
      const target = fx[1]!.id;
      const original = await rowOf(target);
      await withoutTriggers(async () => {
        try {
          await sql('DELETE FROM audit_events WHERE id = ?', [target]);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken.id).to.equal(target);
          expect(r.body.firstBroken.reason).to.match(/missing/);
          expect(r.body.lastId).to.equal(String(BigInt(target) - 1n));
        } finally {
          await reinsert(original);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('names the missing event when the tail row was deleted (the chain head no longer matches)', async () => {
      const tail = await record(actorFor(alice), { action: `t.${tag}.tail`, entityType: `${tag}-tail` });
      const original = await rowOf(tail.id);
      await withoutTriggers(async () => {
        try {
          await sql('DELETE FROM audit_events WHERE id = ?', [tail.id]);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken.id).to.equal(tail.id);
          expect(r.body.firstBroken.reason).to.match(/head/);
          expect(r.body.lastId).to.equal(String(BigInt(tail.id) - 1n));
        } finally {
          await reinsert(original);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('reports a chain head that was rewound past existing events as broken', async () => {
      const [head] = await sql<{ last_id: string; last_hash: string }[]>('SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1');
      const prev = await rowOf(String(BigInt(head!.last_id) - 1n));
      try {
        await sql('UPDATE audit_chain_head SET last_id = ?, last_hash = ? WHERE id = 1', [prev.id, 'f'.repeat(64)]);
        const r = await get('/audit-events/verify', auditor.token);
        expect(r.body.ok).to.equal(false);
        expect(r.body.firstBroken.reason).to.match(/head/);
      } finally {
        await sql('UPDATE audit_chain_head SET last_id = ?, last_hash = ? WHERE id = 1', [head!.last_id, head!.last_hash]);
      }
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });
  });

  describe('keyed chain head and checkpoints', () => {
    interface Head {
      last_id: string;
      last_hash: string;
      event_count: string;
      mac: string;
    }
    const headRow = async () => (await sql<Head[]>('SELECT last_id, last_hash, event_count, mac FROM audit_chain_head WHERE id = 1'))[0]!;
    const putHead = (h: Head) =>
      sql('UPDATE audit_chain_head SET last_id = ?, last_hash = ?, event_count = ?, mac = ? WHERE id = 1', [
        h.last_id,
        h.last_hash,
        h.event_count,
        h.mac,
      ]);
    /** The same database and key, but checkpoints in a directory of its own (empty unless a test writes there). */
    const serviceWithCheckpointsIn = async (dir: string) => {
      const { infra } = await testApp();
      return new AuditService(infra.ds, infra.cfg.auditChainKey, new AuditCheckpoints(dir, infra.cfg.auditChainKey));
    };
    const emptyDir = () => mkdtemp(path.join(os.tmpdir(), 'audit-checkpoints-'));
    /** Records n events at the end of the chain and returns their rows, oldest first. */
    const tailOf = async (n: number) => {
      const rows: Row[] = [];
      for (let i = 0; i < n; i++)
        rows.push(await rowOf((await record(actorFor(alice), { action: `t.${tag}.tail`, entityType: `${tag}-anchor` })).id));
      return rows;
    };
    /** Puts the removed events and the head back exactly, triggers restored. */
    const restore = async (rows: Row[], head: Head) => {
      await sql('DELETE FROM audit_events WHERE id >= ?', [rows[0]!.id]);
      for (const r of rows) await reinsert(r);
      await putHead(head);
    };

    it('keeps a MAC under the chain key over last id, last hash and count in the head, updated with every event', async () => {
      const e = await record(actorFor(alice), { action: `t.${tag}.mac`, entityType: `${tag}-anchor` });
      const h = await headRow();
      expect(h.last_id).to.equal(e.id);
      expect(h.last_hash).to.equal(e.hash);
      const [{ n }] = (await sql<{ n: string }[]>('SELECT COUNT(*) AS n FROM audit_events')) as [{ n: string }];
      expect(h.event_count).to.equal(n);
      const key = (await testApp()).infra.cfg.auditChainKey;
      expect(h.mac).to.equal(headMac(key, { lastId: e.id, lastHash: e.hash, count: Number(n) }));
    });

    it('reports a cut tail whose head was rewritten with the new last id, hash and count as HEAD_INVALID, even with no checkpoint', async () => {
      const tail = await tailOf(3);
      const genuine = await headRow();
      const keep = await rowOf(String(BigInt(tail[0]!.id) - 1n));
      const noCheckpoints = await serviceWithCheckpointsIn(await emptyDir());
      await withoutTriggers(async () => {
        try {
          await sql('DELETE FROM audit_events WHERE id >= ?', [tail[0]!.id]);
          await sql('UPDATE audit_chain_head SET last_id = ?, last_hash = ?, event_count = event_count - 3 WHERE id = 1', [
            keep.id,
            keep.hash,
          ]);
          const alone = await noCheckpoints.verify();
          expect(alone.ok, JSON.stringify(alone)).to.equal(false);
          expect(alone.firstBroken).to.deep.include({ id: tail[0]!.id, code: 'HEAD_INVALID' });
          expect(alone.note).to.match(/no checkpoint yet/);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.status).to.equal(200);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken.code).to.equal('HEAD_INVALID');
          // nothing is recorded on top of the forged head: the next event would make the cut verify
          let err: any;
          await record(actorFor(alice), { action: `t.${tag}.after-cut`, entityType: `${tag}-anchor` }).catch((e: unknown) => (err = e));
          expect(err?.code).to.equal('AUDIT_CHAIN_HEAD_INVALID');
          expect((await headRow()).last_id).to.equal(keep.id);
        } finally {
          await restore(tail, genuine);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body.ok, 'restored').to.equal(true);
    });

    it('reports a cut tail whose earlier genuine head was put back as TRUNCATED against a checkpoint taken before the cut', async () => {
      const { services } = await testApp();
      const earlier = await headRow();
      const tail = await tailOf(3);
      const genuine = await headRow();
      const cp = await services.audit.writeCheckpoint();
      expect(cp).to.deep.include({ lastId: genuine.last_id, lastHash: genuine.last_hash, count: Number(genuine.event_count) });
      const noCheckpoints = await serviceWithCheckpointsIn(await emptyDir());
      await withoutTriggers(async () => {
        try {
          await sql('DELETE FROM audit_events WHERE id >= ?', [tail[0]!.id]);
          await putHead(earlier);
          expect((await noCheckpoints.verify()).ok, 'the keyed head alone cannot tell an earlier genuine head').to.equal(true);
          const r = await get('/audit-events/verify', auditor.token);
          expect(r.body.ok).to.equal(false);
          expect(r.body.firstBroken).to.deep.include({ id: tail[0]!.id, code: 'TRUNCATED' });
          expect(r.body.firstBroken.reason).to.contain(`${cp.count} events up to event ${cp.lastId}`);
          expect(r.body.checkpoint).to.deep.equal({ lastId: cp.lastId, count: cp.count, at: cp.at });
          let err: any;
          await services.audit.writeCheckpoint().catch((e: unknown) => (err = e));
          expect(err?.code, 'no new checkpoint over a cut chain').to.equal('AUDIT_CHECKPOINT_CONTRADICTED');

          // the chain grown again to the same length by the service itself: the checkpointed event now differs
          await tailOf(3);
          const grown = await get('/audit-events/verify', auditor.token);
          expect(grown.body.ok).to.equal(false);
          expect(grown.body.firstBroken).to.deep.include({ id: cp.lastId, code: 'CHECKPOINT_MISMATCH' });
          err = undefined;
          await services.audit.writeCheckpoint().catch((e: unknown) => (err = e));
          expect(err?.code).to.equal('AUDIT_CHECKPOINT_CONTRADICTED');
        } finally {
          await restore(tail, genuine);
        }
      });
      expect((await get('/audit-events/verify', auditor.token)).body, 'restored').to.deep.include({ ok: true, note: null });
    });

    it('reports a checkpoint line written without the key as CHECKPOINT_INVALID, and skips a line cut short by a crash', async () => {
      const { infra } = await testApp();
      const dir = await emptyDir();
      const svc = await serviceWithCheckpointsIn(dir);
      const good = await svc.writeCheckpoint();
      const file = path.join(dir, 'audit-checkpoints.jsonl');
      await writeFile(file, `${await readFile(file, 'utf8')}{"at":"2030-01-01T00:00:00.000Z","count":1,"lastHa`);
      const torn = await svc.verify();
      expect(torn.ok, JSON.stringify(torn)).to.equal(true);
      expect(torn.checkpoint).to.deep.equal({ lastId: good.lastId, count: good.count, at: good.at });
      const forged = { ...good, count: good.count + 5 };
      forged.mac = checkpointMac('not-the-chain-key-of-this-deployment', forged);
      await writeFile(file, `${JSON.stringify(good)}\n${JSON.stringify(forged)}\n`);
      const r = await svc.verify();
      expect(r.ok).to.equal(false);
      expect(r.firstBroken).to.deep.include({ id: null, code: 'CHECKPOINT_INVALID' });
      expect(infra.cfg.auditChainKey).not.to.equal('not-the-chain-key-of-this-deployment');
    });

    it('the worker job appends a signed checkpoint line that verify holds the chain against, and logs it unmasked', async () => {
      const { infra, services } = await testApp();
      expect(SCHEDULES['audit.checkpoint'], 'a repeating job, at least hourly').to.match(/^(\*\/(15|30)|\d+) \* \* \* \*$/);
      const lines: string[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      });
      const log = buildLogger({ mode: 'production', level: 'info', transports: [new winston.transports.Stream({ stream })] });
      await record(actorFor(alice), { action: `t.${tag}.before-checkpoint`, entityType: `${tag}-anchor` });
      const head = await headRow();
      const cp = await writeAuditCheckpoint(services, { ...infra, log })();
      await new Promise((res) => setImmediate(res));

      const text = await readFile(path.join(infra.cfg.auditCheckpointDir, 'audit-checkpoints.jsonl'), 'utf8');
      expect(text.endsWith('\n')).to.equal(true);
      const last = JSON.parse(text.trimEnd().split('\n').pop()!);
      expect(last).to.deep.equal(cp);
      expect(last).to.deep.include({ lastId: head.last_id, lastHash: head.last_hash, count: Number(head.event_count) });
      const { mac, ...signed } = last;
      expect(mac).to.equal(checkpointMac(infra.cfg.auditChainKey, signed));

      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'audit checkpoint');
      expect(logged?.checkpoint, 'hash and MAC readable in the log').to.deep.equal(cp);

      const r = await get('/audit-events/verify', auditor.token);
      expect(r.body).to.deep.include({ ok: true, note: null, checkpoint: { lastId: cp.lastId, count: cp.count, at: cp.at } });
    });

    it("puts the chain's signed end in every export's manifest", async () => {
      const { infra } = await testApp();
      const today = new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 10);
      const created = await post('/exports', { kind: 'audit_trail', format: 'csv', from: today, to: today }, auditor.token);
      expect(created.status, JSON.stringify(created.body)).to.equal(202);
      expect(created.body.auditCheckpoint).to.equal(null);
      let m = created.body;
      for (let i = 0; i < 200 && m.status === 'running'; i++) {
        await pause(50);
        m = (await get(`/exports/${created.body.id}`, auditor.token)).body;
      }
      expect(m.status, m.error).to.equal('done');
      const cp = m.auditCheckpoint;
      const { mac, ...signed } = cp;
      expect(mac).to.equal(checkpointMac(infra.cfg.auditChainKey, signed));
      const [requested] = await sql<{ id: string }[]>("SELECT id FROM audit_events WHERE action = 'export.requested' AND entity_id = ?", [
        m.id,
      ]);
      expect(BigInt(cp.lastId) >= BigInt(requested!.id), 'the export request is before the checkpoint').to.equal(true);
      expect((await rowOf(cp.lastId)).hash).to.equal(cp.lastHash);
      expect(cp.count).to.equal(Number(cp.lastId));
    });
  });

  describe('append-only triggers', () => {
    it('are in place: BEFORE UPDATE and BEFORE DELETE on audit_events', async () => {
      const t = await triggers();
      expect(t.audit_events_no_update).to.match(/^BEFORE UPDATE: .*append-only/s);
      expect(t.audit_events_no_delete).to.match(/^BEFORE DELETE: .*append-only/s);
    });

    it('refuse an UPDATE of an audit event and leave it unchanged', async () => {
      const victim = await record(actorFor(alice), { action: `t.${tag}.victim`, entityType: `${tag}-victim` });
      const before = await rowOf(victim.id);
      let err: unknown;
      await sql('UPDATE audit_events SET summary = ? WHERE id = ?', ['{}', victim.id]).catch((e: unknown) => (err = e));
      expect(String(err)).to.match(/append-only/);
      expect(await rowOf(victim.id)).to.deep.equal(before);
    });

    it('refuse a DELETE of audit events and keep them', async () => {
      const victim = await record(actorFor(alice), { action: `t.${tag}.victim`, entityType: `${tag}-victim` });
      let err: unknown;
      await sql('DELETE FROM audit_events WHERE id = ?', [victim.id]).catch((e: unknown) => (err = e));
      expect(String(err)).to.match(/append-only/);
      await rowOf(victim.id);
      let many: unknown;
      await sql('DELETE FROM audit_events WHERE entity_type = ?', [tag]).catch((e: unknown) => (many = e));
      expect(String(many)).to.match(/append-only/);
      const [{ n }] = (await sql<{ n: string }[]>('SELECT COUNT(*) AS n FROM audit_events WHERE entity_type = ?', [tag])) as [
        { n: string },
      ];
      expect(Number(n)).to.equal(fx.length);
      expect((await get('/audit-events/verify', auditor.token)).body.ok).to.equal(true);
    });
  });

  describe('GET /api/v1/audit-events/export.csv', () => {
    it('streams the matching events oldest first with a header row, and matches the list', async () => {
      const r = await call('GET', `/api/v1/audit-events/export.csv?entityType=${tag}`, { token: auditor.token });
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^text\/csv/);
      expect(r.headers.get('content-disposition')).to.match(/^attachment; filename="audit-events-\d{4}-\d{2}-\d{2}\.csv"$/);
      const rows = parseCsv(r.text.replace(/^\uFEFF/, ''));
      expect(rows[0]).to.deep.equal([
        'id',
        'occurredAt',
        'actorUserId',
        'actorUsername',
        'actorRoles',
        'action',
        'entityType',
        'entityId',
        'areaId',
        'requestId',
        'source',
        'summary',
        'prevHash',
        'hash',
      ]);
      const listed = ((await get(`/audit-events?entityType=${tag}`, auditor.token)).body.items as AuditEvent[]).reverse();
      const body = rows.slice(1);
      expect(body.map((c) => c[0])).to.deep.equal(fx.map((e) => e.id));
      body.forEach((c, i) => {
        const e = listed[i]!;
        expect(c).to.deep.equal([
          e.id,
          e.occurredAt,
          e.actorUserId === null ? '' : String(e.actorUserId),
          e.actorUsername,
          e.actorRoles.join(' '),
          e.action,
          e.entityType,
          e.entityId ?? '',
          e.areaId === null ? '' : String(e.areaId),
          e.requestId ?? '',
          e.source ?? '',
          JSON.stringify(e.summary),
          e.prevHash,
          e.hash,
        ]);
      });
    });

    it('carries everything needed to recompute each exported hash offline with the chain key', async () => {
      const chainKey = (await testApp()).infra.cfg.auditChainKey;
      const r = await call('GET', `/api/v1/audit-events/export.csv?entityType=${tag}`, { token: auditor.token });
      const [header, ...rows] = parseCsv(r.text.replace(/^\uFEFF/, ''));
      expect(rows).to.have.length(fx.length);
      for (const cells of rows) {
        const c = Object.fromEntries(header!.map((h, i) => [h, cells[i]!]));
        const recomputed = eventHash(chainKey, c.prevHash!, {
          id: c.id!,
          occurredAt: new Date(c.occurredAt!),
          actorUserId: c.actorUserId ? Number(c.actorUserId) : null,
          actorUsername: c.actorUsername!,
          actorRoles: c.actorRoles!.split(' ').join(','),
          action: c.action!,
          entityType: c.entityType!,
          entityId: c.entityId || null,
          areaId: c.areaId ? Number(c.areaId) : null,
          requestId: c.requestId || null,
          source: c.source || null,
          summary: c.summary!,
        });
        expect(recomputed, `event ${c.id}`).to.equal(c.hash);
      }
    });

    it("applies the filters and the caller's area scope", async () => {
      const filtered = await call('GET', `/api/v1/audit-events/export.csv?entityType=${tag}&action=t.${tag}.b`, { token: auditor.token });
      expect(
        parseCsv(filtered.text.replace(/^\uFEFF/, ''))
          .slice(1)
          .map((c) => c[0]),
      ).to.deep.equal([fx[2]!.id, fx[3]!.id]);
      const scoped = await makeUser(['auditor'], { area: '001' });
      const mine = await call('GET', `/api/v1/audit-events/export.csv?entityType=${tag}`, { token: scoped.token });
      expect(
        parseCsv(mine.text.replace(/^\uFEFF/, ''))
          .slice(1)
          .map((c) => c[0]),
      ).to.deep.equal([fx[0]!.id, fx[2]!.id]);
    });

    it('records the export itself as an audit.export event naming the exporter and the filter', async () => {
      const r = await call('GET', `/api/v1/audit-events/export.csv?entityType=${tag}&from=${between.t1.toISOString()}`, {
        token: admin.token,
        headers: { 'x-request-id': `${tag}-export` },
      });
      expect(r.status).to.equal(200);
      const e = await lastAudit('audit.export');
      expect(e.action).to.equal('audit.export');
      expect(e.entity_type).to.equal('audit_event');
      expect(e.actor_user_id).to.equal(admin.id);
      expect(e.request_id).to.equal(`${tag}-export`);
      expect(JSON.parse(e.summary).after).to.deep.equal({ format: 'csv', filter: { entityType: tag, from: between.t1.toISOString() } });
    });

    it('refuses staff with 403 ROLE_REQUIRED and records nothing', async () => {
      const before = await auditCount();
      const r = await call('GET', '/api/v1/audit-events/export.csv', { token: bob.token });
      expect(r.status).to.equal(403);
      expect(r.body.error.code).to.equal('ROLE_REQUIRED');
      expect(await auditCount()).to.equal(before);
    });
  });

  describe('writing events', () => {
    it('writes the event in the same transaction as the change: a refused duplicate user adds no event', async () => {
      const username = uniq('dup');
      const first = await post(
        '/users',
        { username, displayName: 'First Person', roles: ['staff'], areaId: await areaId('001') },
        admin.token,
      );
      expect(first.status).to.equal(201);
      const created = await lastAudit('user.create');
      expect(created.action).to.equal('user.create');
      expect(created.entity_id).to.equal(String(first.body.user.id));
      const before = await auditCount();
      const [head] = await sql<{ last_id: string }[]>('SELECT last_id FROM audit_chain_head WHERE id = 1');
      const again = await post(
        '/users',
        { username, displayName: 'Second Person', roles: ['staff'], areaId: await areaId('001') },
        admin.token,
      );
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal('USERNAME_TAKEN');
      expect(await auditCount()).to.equal(before);
      const [after] = await sql<{ last_id: string }[]>('SELECT last_id FROM audit_chain_head WHERE id = 1');
      expect(after!.last_id).to.equal(head!.last_id);
    });

    it('rolls the event back with a transaction that fails after recording it, leaving no gap in the ids', async () => {
      const { infra, services } = await testApp();
      const before = await auditCount();
      const [head] = await sql<{ last_id: string }[]>('SELECT last_id FROM audit_chain_head WHERE id = 1');
      let err: unknown;
      await infra.ds
        .transaction(async (em) => {
          await services.audit.record(em, actorFor(alice), { action: `t.${tag}.rollback`, entityType: tag });
          throw new Error('the change failed');
        })
        .catch((e: unknown) => (err = e));
      expect(String(err)).to.contain('the change failed');
      expect(await auditCount()).to.equal(before);
      expect((await sql<unknown[]>('SELECT id FROM audit_events WHERE action = ?', [`t.${tag}.rollback`])).length).to.equal(0);
      const next = await record(actorFor(alice), { action: `t.${tag}.after`, entityType: `${tag}-x` });
      expect(next.id).to.equal(String(BigInt(head!.last_id) + 1n));
    });

    it('refuses to record outside a transaction', async () => {
      const { infra, services } = await testApp();
      let err: unknown;
      await services.audit
        .record(infra.ds.manager, actorFor(alice), { action: `t.${tag}.loose`, entityType: tag })
        .catch((e: unknown) => (err = e));
      expect(String(err)).to.match(/inside the transaction/);
    });

    it('keeps ids gapless and the chain intact under concurrent writers', async () => {
      const [head] = await sql<{ last_id: string }[]>('SELECT last_id FROM audit_chain_head WHERE id = 1');
      const events = await Promise.all(
        Array.from({ length: 12 }, (_, i) => record(actorFor(bob), { action: `t.${tag}.burst`, entityType: `${tag}-burst`, entityId: i })),
      );
      const ids = events.map((e) => BigInt(e.id)).sort((a, b) => (a < b ? -1 : 1));
      expect(ids.map(String)).to.deep.equal(Array.from({ length: 12 }, (_, i) => String(BigInt(head!.last_id) + BigInt(i) + 1n)));
      expect((await get('/audit-events/verify', auditor.token)).body.ok).to.equal(true);
    });

    it('keeps personal data out of summaries: no display name on create or rename, only that it changed', async () => {
      const name = 'Nguyễn Thị Bảo Ngọc';
      const created = await post(
        '/users',
        { username: uniq('pii'), displayName: name, roles: ['staff'], areaId: await areaId('001') },
        admin.token,
      );
      expect(created.status).to.equal(201);
      const onCreate = await lastAudit('user.create');
      expect(onCreate.action).to.equal('user.create');
      expect(onCreate.summary).not.to.contain(name);
      expect(onCreate.summary).not.to.contain('Ngọc');
      const renamed = await patch(`/users/${created.body.user.id}`, { displayName: 'Trần Văn Khải' }, admin.token);
      expect(renamed.status).to.equal(200);
      const onRename = await lastAudit('user.update');
      expect(onRename.action).to.equal('user.update');
      expect(onRename.summary).not.to.contain('Trần');
      expect(onRename.summary).not.to.contain(name);
      expect(JSON.parse(onRename.summary).after.displayNameChanged).to.equal(true);
    });

    it('drops values under personal-data keys in summaries, keeping flags, amounts and other text exactly', async () => {
      const e = await record(actorFor(alice), {
        action: `t.${tag}.pii`,
        entityType: tag,
        before: { nationalId: '001099012345', totpEnabled: true },
        after: {
          phone: '0912345678',
          fullName: 'Lê Văn Tám',
          note: 'account 0123456789 confirmed',
          amount: 1500000n,
          at: new Date('2026-01-02T03:04:05.000Z'),
        },
      });
      const stored = (await rowOf(e.id)).summary;
      for (const secret of ['001099012345', '0912345678', 'Lê Văn Tám']) expect(stored).not.to.contain(secret);
      const s = JSON.parse(stored);
      expect(s.before).to.deep.equal({ nationalId: '[redacted]', totpEnabled: true });
      expect(s.after.phone).to.equal('[redacted]');
      expect(s.after.fullName).to.equal('[redacted]');
      expect(s.after.note, 'text is not run through the log masking').to.equal('account 0123456789 confirmed');
      expect(s.after.amount, 'a BigInt amount is kept exactly').to.equal('1500000');
      expect(s.after.at, 'a date is kept as ISO text').to.equal('2026-01-02T03:04:05.000Z');
      expect((await get('/audit-events/verify', auditor.token)).body.ok).to.equal(true);
    });
  });
});

describe('audit summaries', () => {
  it('stores a summary exactly: a SHA-256 with long digit runs, a reference and a period with six digits in a row', async () => {
    const { infra } = await testApp();
    const after = {
      sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      reference: 'PAY-000123456',
      period: '202612',
      amount: 1_500_000,
    };
    expect(after.sha256).to.match(/\d{6,}/);
    const e = await record(
      { userId: null, username: 'system', roles: ['system'], requestId: null, source: null },
      { action: 'test.exact', entityType: 'test', after, note: 'statement of 202612, file PAY-000123456' },
    );
    const [row] = (await infra.ds.query('SELECT summary FROM audit_events WHERE id = ?', [e.id])) as { summary: string }[];
    expect(JSON.parse(row!.summary)).to.deep.equal({ before: null, after, note: 'statement of 202612, file PAY-000123456' });
    expect(e.summary).to.deep.equal({ before: null, after, note: 'statement of 202612, file PAY-000123456' });
  });
});

describe('audit record edge cases', () => {
  it('keeps a change whose actor source has non-ASCII characters, storing them as ?', async () => {
    const { services } = await testApp();
    const ev = await services.audit.recordAlone(
      { userId: null, username: 'system', roles: ['system'], requestId: null, source: 'cli:nguyễn' },
      { action: 'test.source', entityType: 'test', entityId: 'x'.repeat(80) },
    );
    expect(ev.source).to.equal('cli:nguy?n');
    expect(ev.entityId).to.have.length(64);
  });
});

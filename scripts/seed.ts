import 'reflect-metadata';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { generateRoll } from '../bench/roll-generator';
import { BatchesService } from '../src/components/batches';
import { RollImportRunner } from '../src/components/beneficiaries';
import { processLogger } from '../src/platform/logger';
import type { Config } from '../config';
import { configOrExit } from '../src/boot';
import { AuditService } from '../src/components/audit';
import { hashPassword } from '../src/components/auth/password';
import { DataCipher } from '../src/platform/crypto';
import { openDatabase } from '../src/platform/db';
import { NO_STEP_UP, type Actor } from '../src/platform/security';
import { DEMO_AREAS, DEMO_PASSWORD, DEMO_POINTS, DEMO_PROGRAMMES, DEMO_ROLL, DEMO_TOTP_SECRET, DEMO_USERS } from './demo-data';

const SEED_ACTOR: Actor = { userId: null, username: 'system', roles: ['system'], requestId: null, source: 'seed' };

/**
 * Seeds the demo province and users into an empty database (no users yet).
 * Refuses outside development. Returns false when there was nothing to do.
 */
export async function seedDemo(ds: DataSource, cfg: Config): Promise<boolean> {
  if (cfg.mode === 'production') throw new Error('the demo seed never runs in production');
  const [{ n }] = (await ds.query('SELECT COUNT(*) AS n FROM users')) as [{ n: string }];
  if (Number(n) > 0) return false;
  const audit = new AuditService(ds, cfg.auditChainKey);
  const cipher = DataCipher.fromConfig(cfg);
  const hash = await hashPassword(DEMO_PASSWORD);
  await ds.transaction(async (em) => {
    const ids = new Map<string, number>();
    const insert = async (code: string, name: string, level: string, parent: { id: number; path: string; depth: number } | null) => {
      const res = (await em.query('INSERT INTO areas (code, name, level, parent_id, path, depth) VALUES (?, ?, ?, ?, ?, ?)', [
        code,
        name,
        level,
        parent?.id ?? null,
        '/?',
        parent ? parent.depth + 1 : 0,
      ])) as { insertId: number };
      const path = `${parent?.path ?? '/'}${res.insertId}/`;
      await em.query('UPDATE areas SET path = ? WHERE id = ?', [path, res.insertId]);
      ids.set(code, res.insertId);
      return { id: res.insertId, path, depth: parent ? parent.depth + 1 : 0 };
    };
    const root = await insert(DEMO_AREAS.code, DEMO_AREAS.name, DEMO_AREAS.level, null);
    for (const d of DEMO_AREAS.children) {
      const district = await insert(d.code, d.name, d.level, root);
      for (const [code, name] of d.children) await insert(code, name, 'commune', district);
    }
    for (const u of DEMO_USERS) {
      const res = (await em.query(
        `INSERT INTO users (username, display_name, password_hash, roles, area_id, must_change_password, totp_enabled)
         VALUES (?, ?, ?, ?, ?, 0, ?)`,
        [u.username, u.displayName, hash, u.roles.join(','), u.area ? ids.get(u.area)! : null, u.totp ? 1 : 0],
      )) as { insertId: number };
      if (u.totp)
        await em.query('UPDATE users SET totp_secret = ? WHERE id = ?', [
          cipher.encrypt(DEMO_TOTP_SECRET, `totp:${res.insertId}`),
          res.insertId,
        ]);
    }
    for (const p of DEMO_PROGRAMMES) {
      const res = (await em.query('INSERT INTO programmes (code, name, frequency) VALUES (?, ?, ?)', [p.code, p.name, p.frequency])) as {
        insertId: number;
      };
      for (const l of p.baseLevels)
        await em.query('INSERT INTO programme_base_levels (programme_id, effective_from, amount, reason) VALUES (?, ?, ?, ?)', [
          res.insertId,
          l.effectiveFrom,
          l.amount,
          l.reason,
        ]);
    }
    await audit.record(em, SEED_ACTOR, {
      action: 'seed.demo',
      entityType: 'system',
      after: { areas: ids.size, users: DEMO_USERS.map((u) => u.username), programmes: DEMO_PROGRAMMES.map((p) => p.code) },
    });
  });
  return true;
}

/**
 * A small demo roll (development only), imported through the real import runner from a generated file, so that the
 * quick start shows people, enrolments and a few rows with problems. Runs only when the roll is empty.
 */
export async function seedDemoRoll(ds: DataSource, cfg: Config): Promise<number> {
  if (cfg.mode === 'production') throw new Error('the demo seed never runs in production');
  const [{ n }] = (await ds.query('SELECT COUNT(*) AS n FROM beneficiaries')) as [{ n: string }];
  const [staff] = (await ds.query("SELECT id, area_id FROM users WHERE username = 'staff'")) as { id: number; area_id: number | null }[];
  if (Number(n) > 0 || !staff) return 0;
  const file = path.join(os.tmpdir(), `welfare-demo-roll-${process.pid}.csv`);
  await generateRoll(file, DEMO_ROLL);
  try {
    const res = (await ds.query(
      "INSERT INTO roll_imports (file_name, format, file_sha256, file_size, status, uploaded_by, scope_area_id) VALUES ('demo-roll.csv', 'csv', REPEAT('0', 64), 0, 'queued', ?, ?)",
      [staff.id, staff.area_id],
    )) as { insertId: number };
    const runner = new RollImportRunner(ds, DataCipher.fromConfig(cfg), new AuditService(ds, cfg.auditChainKey), processLogger('seed'));
    await runner.run(String(res.insertId), file);
  } finally {
    await rm(file, { force: true });
  }
  return DEMO_ROLL.rows;
}

/**
 * A draft batch of the demo roll for Quận Ba Đình, this month (development only), created by the demo staff user so
 * that approver.badinh can review and approve it. Its account check is run by the worker's sweep when it starts.
 */
export async function seedDemoBatch(ds: DataSource, cfg: Config, now = new Date()): Promise<{ id: string; items: number } | null> {
  if (cfg.mode === 'production') throw new Error('the demo seed never runs in production');
  const [{ n }] = (await ds.query('SELECT COUNT(*) AS n FROM batches')) as [{ n: string }];
  const [staff] = (await ds.query("SELECT id, username FROM users WHERE username = 'staff'")) as { id: number; username: string }[];
  const [prog] = (await ds.query("SELECT id FROM programmes WHERE code = 'TCXH-NCT80'")) as { id: number }[];
  const [area] = (await ds.query("SELECT id FROM areas WHERE code = '001'")) as { id: number }[];
  if (Number(n) > 0 || !staff || !prog || !area) return null;
  const vn = new Date(now.getTime() + 7 * 3600_000);
  const period = vn.getUTCFullYear() * 100 + vn.getUTCMonth() + 1;
  const batches = new BatchesService(
    ds,
    new AuditService(ds, cfg.auditChainKey),
    {
      accountCheckNeeded: async () => undefined,
      accountCheckAgain: async () => undefined,
      releaseScheduled: async () => undefined,
    },
    NO_STEP_UP,
  );
  const actor = { userId: staff.id, username: staff.username, roles: ['staff'], requestId: null, source: 'seed' };
  const principal = {
    userId: staff.id,
    username: staff.username,
    roles: ['staff' as const],
    areaId: null,
    areaPath: null,
    sessionId: 'seed',
    stage: 'full' as const,
  };
  const b = await batches.create(actor, principal, { programmeId: prog.id, kind: 'regular', period, areaId: area.id, title: 'Demo' });
  return { id: b.id, items: b.itemCount };
}

/**
 * A few demo cash-out points (development only), so that the network registry and its access report are not empty.
 * Runs only when the registry is empty; one audit event names what it added.
 */
export async function seedDemoNetwork(ds: DataSource, cfg: Config): Promise<number> {
  if (cfg.mode === 'production') throw new Error('the demo seed never runs in production');
  const [{ n }] = (await ds.query('SELECT COUNT(*) AS n FROM cash_out_points')) as [{ n: string }];
  if (Number(n) > 0) return 0;
  const audit = new AuditService(ds, cfg.auditChainKey);
  const operatorType = (kind: string) => (kind === 'post_office' ? 'post' : kind === 'mobile_money_agent' ? 'wallet' : 'bank');
  await ds.transaction(async (em) => {
    for (const [code, kind, operator, name, ward, address, hours] of DEMO_POINTS) {
      await em.query(
        `INSERT INTO cash_out_points (kind, operator_type, operator_code, point_code, name, area_id, address, opening_hours)
         SELECT ?, ?, ?, ?, ?, id, ?, ? FROM areas WHERE code = ?`,
        [kind, operatorType(kind), operator, code, name, address, hours, ward],
      );
    }
    await audit.record(em, SEED_ACTOR, { action: 'seed.network', entityType: 'system', after: { points: DEMO_POINTS.length } });
  });
  return DEMO_POINTS.length;
}

async function main(): Promise<void> {
  const cfg = configOrExit();
  const ds = await openDatabase(cfg);
  const done = await seedDemo(ds, cfg);
  process.stdout.write(done ? 'demo data seeded\n' : 'users exist already; nothing seeded\n');
  await ds.destroy();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`seed failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

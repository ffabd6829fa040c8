import { expect } from 'chai';
import { hashPassword } from '../../src/components/auth/password';
import { currentTotp, TokenService } from '../../src/components/auth';
import type { Role } from '../../src/platform/security';
import { testApp } from './app';

/** Satisfies the strictest password policy. */
export const TEST_PASSWORD = 'Test-Password-2026!';
export const TEST_TOTP_SECRET = 'KRSXG5CTMVRXEZLUKRSXG5CT';

let seq = 0;
export function uniq(prefix: string): string {
  seq += 1;
  return `${prefix}${process.pid}x${seq}`.toLowerCase();
}

let hashOnce: Promise<string> | undefined;

export interface TestUser {
  id: number;
  username: string;
  roles: Role[];
  areaId: number | null;
  token: string;
}

export async function areaId(code: string): Promise<number> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT id FROM areas WHERE code = ?', [code])) as { id: number }[];
  if (!row) throw new Error(`no area ${code}`);
  return row.id;
}

/**
 * A ready user (password set, TOTP enrolled where the role needs it) and a
 * real token for a live session, signed exactly as login signs it.
 */
export async function makeUser(
  roles: Role[],
  opts: { area?: string | null; mustChangePassword?: boolean; totp?: boolean; active?: boolean } = {},
): Promise<TestUser> {
  const { infra, services } = await testApp();
  hashOnce ??= hashPassword(TEST_PASSWORD);
  const username = uniq(roles.join('-').replace(/[^a-z]/g, ''));
  const area = opts.area === undefined ? '01' : opts.area;
  const aId = area === null ? null : await areaId(area);
  const totp = opts.totp ?? roles.some((r) => r === 'admin' || r === 'approver');
  const res = (await infra.ds.query(
    `INSERT INTO users (username, display_name, password_hash, roles, area_id, must_change_password, totp_enabled, totp_secret, active)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      username,
      `Test ${username}`,
      await hashOnce,
      roles.join(','),
      aId,
      opts.mustChangePassword ? 1 : 0,
      totp ? 1 : 0,
      null,
      opts.active === false ? 0 : 1,
    ],
  )) as { insertId: number };
  const id = res.insertId;
  if (totp) {
    await infra.ds.query('UPDATE users SET totp_secret = ? WHERE id = ?', [services.cipher.encrypt(TEST_TOTP_SECRET, `totp:${id}`), id]);
  }
  const token = await tokenFor(
    { id, username, roles, areaId: aId },
    opts.mustChangePassword || (roles.some((r) => r === 'admin' || r === 'approver') && !totp) ? 'limited' : 'full',
  );
  return { id, username, roles, areaId: aId, token };
}

/** Enrols TEST_TOTP_SECRET as the second factor of an existing test user (staff have none by default). */
export async function enrolTotp(u: Pick<TestUser, 'id'>): Promise<void> {
  const { infra, services } = await testApp();
  await infra.ds.query('UPDATE users SET totp_enabled = 1, totp_secret = ?, totp_last_step = NULL WHERE id = ?', [
    services.cipher.encrypt(TEST_TOTP_SECRET, `totp:${u.id}`),
    u.id,
  ]);
}

/**
 * Test only: a code the API will accept now from this user (enrolled with TEST_TOTP_SECRET). A code is good once per
 * 30-second step, so a test that steps up twice within one step forgets the user's last accepted step first.
 */
export async function freshTotp(u: Pick<TestUser, 'id'>): Promise<string> {
  const { infra } = await testApp();
  await infra.ds.query('UPDATE users SET totp_last_step = NULL WHERE id = ?', [u.id]);
  return currentTotp(TEST_TOTP_SECRET);
}

export async function tokenFor(
  u: { id: number; username: string; roles: Role[]; areaId: number | null },
  stage: 'full' | 'limited' = 'full',
): Promise<string> {
  const { infra, services } = await testApp();
  const sid = await services.sessions.create({ userId: u.id, roles: u.roles, areaId: u.areaId, stage });
  let apath: string | null = null;
  if (u.areaId !== null) {
    const [row] = (await infra.ds.query('SELECT path FROM areas WHERE id = ?', [u.areaId])) as { path: string }[];
    apath = row!.path;
  }
  return new TokenService(infra.cfg).sign({ sub: String(u.id), sid, usr: u.username, roles: u.roles, area: u.areaId, apath, stage }).token;
}

/**
 * The newest audit event of one action, for asserting that a change was recorded. Always by action: the worker and
 * the API's background work (batch sweeps, statements, exports) write events of their own while a test runs.
 */
export async function lastAudit(action: string): Promise<{
  id: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  actor_user_id: number | null;
  summary: string;
  area_id: number | null;
  request_id: string | null;
}> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT * FROM audit_events WHERE action = ? ORDER BY id DESC LIMIT 1', [action])) as never[];
  expect(row, 'an audit event').to.exist;
  return row!;
}

/**
 * How many audit events there are, of the given entity types only when named: the worker and the API's background
 * work (statements, exports, sweeps) write events of their own while a test runs, so a test asserting "nothing was
 * written" counts the kinds of event it could have caused.
 */
export async function auditCount(...entityTypes: string[]): Promise<number> {
  const { infra } = await testApp();
  const where = entityTypes.length ? `WHERE entity_type IN (${entityTypes.map(() => '?').join(', ')})` : '';
  const [row] = (await infra.ds.query(`SELECT COUNT(*) AS n FROM audit_events ${where}`, entityTypes)) as { n: string }[];
  return Number(row!.n);
}

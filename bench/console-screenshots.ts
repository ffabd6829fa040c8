/**
 * Screenshots of the console's main pages (issue #14, point 15): the real service in this process against a database
 * of its own with the demo seed, the demo roll (an import with problems) and two demo batches (one submitted for
 * approval, one draft), the sandbox provider and the worker in this process for the account check; Debian's Chromium
 * at 1366×768 in Vietnamese, logged in through the login page with the cookie session as the demo users. Writes
 * docs/screenshots/*.png.
 *
 *   npx tsx bench/console-screenshots.ts
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_console';
process.env.REDIS_PREFIX ??= 'welfare-bench-console';
process.env.LOG_LEVEL ??= 'warn';
process.env.AUDIT_CHECKPOINT_DIR ??= 'var/bench-console-checkpoints';
process.env.IMPORT_DIR ??= 'var/bench-console-imports';

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { authenticator } from 'otplib';
import { launchChromium } from './chromium';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
const PASSWORD = 'Demo-Password-2026!';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXP';

async function main(): Promise<void> {
  const { config } = await import('../config');
  const cfg = config();
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  await conn.end();
  await rm(cfg.auditCheckpointDir, { recursive: true, force: true });

  const { buildWebIfStale } = await import('../scripts/web');
  await buildWebIfStale();
  const { openInfra, closeInfra } = await import('../src/boot');
  const { buildServices } = await import('../src/container');
  const { buildApp } = await import('../src/app');
  const { seedDemo, seedDemoBatch, seedDemoRoll } = await import('../scripts/seed');
  const { demoRollAccounts } = await import('../scripts/demo-data');
  const { startTestSandbox, useSandboxFor } = await import('../test/helpers/sandbox');
  const { startWorker } = await import('../jobs/worker');

  const infra = await openInfra('bench', cfg);
  const keys = await infra.redis.keys(`${cfg.redisPrefix}:*`);
  if (keys.length) await infra.redis.del(...keys);
  const ds = infra.ds;
  await seedDemo(ds, cfg);
  await seedDemoRoll(ds, cfg);
  const demoBatch = await seedDemoBatch(ds, cfg);
  if (!demoBatch) throw new Error('the demo batch was not created');

  // the sandbox provider knows the demo roll's account holders, so the account check finds their names
  const sandbox = await startTestSandbox();
  for (const a of demoRollAccounts()) sandbox.ledger.registerAccount(a.destination, a.accountName);
  await useSandboxFor(ds, sandbox.url);
  // the API and the worker in this one process, on one set of services
  const services = buildServices(infra, 'worker');
  const server = buildApp(infra, services).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const worker = await startWorker(infra, services);

  // staff, through the API: a second batch (Hoàn Kiếm) left as a draft for the review page; the demo batch submitted
  const call = async (method: string, p: string, token: string | null, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' ? { 'idempotency-key': `shots-${Date.now()}-${Math.random().toString(36).slice(2)}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
    return json!;
  };
  const staffToken = (await call('POST', '/auth/login', null, { username: 'staff', password: PASSWORD })).token as string;
  const [prog] = (await ds.query("SELECT id FROM programmes WHERE code = 'TCXH-NCT80'")) as { id: number }[];
  const [hoanKiem] = (await ds.query("SELECT id FROM areas WHERE code = '002'")) as { id: number }[];
  const vn = new Date(Date.now() + 7 * 3600_000);
  const period = `${vn.getUTCFullYear()}-${String(vn.getUTCMonth() + 1).padStart(2, '0')}`;
  const draft = await call('POST', '/batches', staffToken, {
    programmeId: prog!.id,
    period,
    areaId: hoanKiem!.id,
    title: `Tháng ${period.slice(5)}/${period.slice(0, 4)} Hoàn Kiếm`,
  });
  const checked = async (id: string) => {
    for (let i = 0; i < 120; i++) {
      const [b] = (await ds.query('SELECT check_status FROM batches WHERE id = ?', [id])) as { check_status: string }[];
      if (b && b.check_status !== 'pending' && b.check_status !== 'running') return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the account check of batch ${id} did not finish`);
  };
  await checked(demoBatch.id);
  await checked(String(draft.id));
  await call('POST', `/batches/${demoBatch.id}/submit`, staffToken, {});

  const [problemImport] = (await ds.query('SELECT id FROM roll_imports ORDER BY id LIMIT 1')) as { id: string }[];
  const [person] = (await ds.query('SELECT id FROM beneficiaries ORDER BY id LIMIT 1')) as { id: string }[];

  await mkdir(OUT, { recursive: true });
  const profile = await mkdtemp(path.join(os.tmpdir(), 'welfare-shots-'));
  const context = await launchChromium(profile);
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    // the login page's session probe and its TOTP_REQUIRED answer are 401s by design
    if (m.type() === 'error' && !(page.url().endsWith('/login') && m.text().includes('401')))
      problems.push(`console error on ${page.url()}: ${m.text()}`);
  });

  /** Lets the page's requests finish and its busy markers go, then saves it. */
  const shot = async (name: string) => {
    await page.waitForLoadState('networkidle').catch(() => undefined);
    await page
      .waitForFunction(() => !(globalThis as any).document.querySelector('[aria-busy="true"], .loading'), undefined, { timeout: 10_000 })
      .catch(() => problems.push(`${name}: still busy after 10 s`));
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(OUT, `${name}.png`) });
    console.log(`docs/screenshots/${name}.png  ${page.url().replace(url, '')}`);
  };
  /** Opens a page; `scrollTo` brings the part the picture is about to the top of the window. */
  const open = async (p: string, name: string, scrollTo?: string) => {
    await page.goto(`${url}${p}`);
    await page.locator('h1').first().waitFor();
    if (scrollTo) {
      const target = page.getByText(scrollTo, { exact: true }).first();
      await target.waitFor();
      await target.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    }
    await shot(name);
  };
  const login = async (username: string) => {
    await context.clearCookies();
    await page.goto(`${url}/login`);
    await page.getByLabel('Tên đăng nhập').fill(username);
    await page.getByLabel('Mật khẩu', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    const totp = page.getByLabel('Mã xác thực (6 chữ số)');
    const home = page.getByRole('heading', { name: 'Trang chủ', level: 1 });
    await Promise.race([totp.waitFor(), home.waitFor()]);
    if (await totp.isVisible()) {
      // a code is accepted once per 30-second step: forget the step a previous login used
      await ds.query('UPDATE users SET totp_last_step = NULL WHERE username = ?', [username]);
      await totp.fill(authenticator.generate(TOTP_SECRET));
      await page.getByRole('button', { name: 'Đăng nhập' }).click();
    }
    await home.waitFor();
  };

  try {
    await page.goto(`${url}/login`);
    await page.getByLabel('Tên đăng nhập').waitFor();
    await shot('01-login');

    await login('staff');
    await shot('02-home');
    await open('/imports', '03-imports');
    await open(`/imports/${problemImport!.id}`, '04-import-problems', 'Lỗi trong tệp');
    await page.goto(`${url}/beneficiaries`);
    await page.getByLabel('Họ và tên hoặc số CCCD').fill('nguyen');
    await page.getByRole('button', { name: 'Tìm kiếm' }).click();
    await page.locator('table tbody tr').first().waitFor();
    await shot('05-beneficiaries-search');
    await open(`/beneficiaries/${person!.id}`, '06-beneficiary');
    await open('/batches', '07-batches');
    await open(`/batches/${String(draft.id)}`, '08-batch-review', 'Danh sách khoản chi');
    await open('/reconciliation/exceptions', '15-reconciliation-exceptions');

    await login('approver.badinh');
    await open('/approvals', '09-approvals-inbox');
    await open(`/approvals/${demoBatch.id}`, '10-approval-batch');

    await login('auditor');
    await page.goto(`${url}/audit`);
    await page.getByRole('button', { name: 'Kiểm tra chuỗi nhật ký' }).click();
    await page.getByText('Chuỗi nhật ký nguyên vẹn', { exact: false }).first().waitFor();
    await shot('11-audit-verified');
    await open('/exports', '12-exports');
    await open('/coverage', '13-coverage');

    await login('admin');
    await open('/users', '14-users');
  } finally {
    for (const p of problems) console.error(p);
    await context.close();
    await rm(profile, { recursive: true, force: true });
    worker.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await sandbox.close();
    await closeInfra(infra);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

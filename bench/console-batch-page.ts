/**
 * The console's batch review page for a batch of N items (issue #14, point 16): a database of its own filled by
 * bench/generate-batch.ts's code (a roll of N people, one batch for the whole province), the real API in this process,
 * Debian's Chromium logged in as the demo staff user through the login page (cookie session). Measures:
 *
 *   (a) navigation to /batches/:id until usable: its heading and the first page of items shown, the next-page button
 *       enabled (performance.now() in the page, checked every frame), cold (HTTP cache cleared) and warm;
 *   (b) a click on "Trang sau" until the next page of items is shown (keyset cursor), 20 times;
 *   (c) the console's first-load bytes: what the browser transferred for JS and CSS, and those files gzip -9;
 *
 * and, as a floor in the same run, the API's own time for the same item pages (fetch from Node, bearer token).
 *
 *   npx tsx bench/console-batch-page.ts --rows 1000000            # generates (a couple of minutes), then measures
 *   npx tsx bench/console-batch-page.ts --rows 1000000 --reuse    # measures the batch a previous run left
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_console_batch';
process.env.REDIS_PREFIX ??= 'welfare-bench-console-batch';
process.env.LOG_LEVEL ??= 'warn';
process.env.AUDIT_CHECKPOINT_DIR ??= 'var/bench-console-batch-checkpoints';

import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { launchChromium } from './chromium';

const PASSWORD = 'Demo-Password-2026!';
const ITEMS_CAPTION = 'Các khoản chi của đợt (theo số thứ tự)';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (n: number) => `${n.toFixed(0)} ms`;
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, p50: pct(s, 50), p95: pct(s, 95), max: s[s.length - 1]! };
};
const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/^.*load average:/, 'load average:');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      reuse: { type: 'boolean', default: false },
      runs: { type: 'string', default: '5' },
      pages: { type: 'string', default: '20' },
    },
  });
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  const pages = Number(values.pages);
  const { config } = await import('../config');
  const cfg = config();
  const { openInfra, closeInfra } = await import('../src/boot');
  const { buildServices } = await import('../src/container');
  const { buildApp } = await import('../src/app');
  const { buildWebIfStale, WEB_DIST } = await import('../scripts/web');
  await buildWebIfStale();

  let batchId: string;
  if (values.reuse) {
    const infra = await openInfra('bench', cfg);
    const [b] = (await infra.ds.query('SELECT id, item_count FROM batches ORDER BY id LIMIT 1')) as { id: string; item_count: number }[];
    await closeInfra(infra);
    if (!b || Number(b.item_count) !== rows) throw new Error(`no batch of ${rows} items in ${cfg.dbName}: run without --reuse`);
    batchId = String(b.id);
  } else {
    const mysql = (await import('mysql2/promise')).default;
    const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
    await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
    await conn.end();
    await rm(cfg.auditCheckpointDir, { recursive: true, force: true });
    const infra = await openInfra('bench', cfg);
    const { generateProvinceBatch } = await import('./generate-batch');
    const { batch } = await generateProvinceBatch(infra.ds, cfg, rows);
    await closeInfra(infra);
    batchId = batch.id;
  }

  const infra = await openInfra('bench', cfg);
  const keys = await infra.redis.keys(`${cfg.redisPrefix}:*`);
  if (keys.length) await infra.redis.del(...keys);
  const server = buildApp(infra, buildServices(infra)).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const [{ n }] = (await infra.ds.query('SELECT item_count AS n FROM batches WHERE id = ?', [batchId])) as [{ n: string }];
  console.log(`batch ${batchId}: ${Number(n).toLocaleString('en')} items; ${load()}; ${os.cpus().length} cores`);

  const profile = await mkdtemp(path.join(os.tmpdir(), 'welfare-bench-chromium-'));
  const context = await launchChromium(profile);
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  try {
    // ---- log in through the login page: the cookie session
    await page.goto(`${url}/login`);
    await page.getByLabel('Tên đăng nhập').fill('staff');
    await page.getByLabel('Mật khẩu', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();

    /** In the page: ms since navigation start when the heading and a first page of items show and "next" is enabled. */
    const usableAt = () =>
      page.waitForFunction(
        (caption) => {
          const doc = (globalThis as any).document;
          const h1 = doc.querySelector('h1');
          const table = [...doc.querySelectorAll('table')].find((t: any) => t.caption?.textContent === caption) as any;
          const body = table?.tBodies[0];
          const next = table?.parentElement.querySelector('nav.pager button:last-of-type');
          const ready =
            h1?.textContent.startsWith('Đợt chi trả') &&
            body?.getAttribute('aria-busy') === 'false' &&
            body.rows.length > 1 &&
            body.rows[0].querySelector('input[type=checkbox]') &&
            next &&
            !next.disabled;
          return ready ? (globalThis as any).performance.now() : false;
        },
        ITEMS_CAPTION,
        { polling: 'raf' },
      );

    // ---- (a) navigation to the review page until usable
    const cold: number[] = [];
    const warm: number[] = [];
    let firstLoad: { name: string; transfer: number; encoded: number }[] = [];
    for (let i = 0; i < runs * 2; i++) {
      const isCold = i < runs;
      await page.goto(`${url}/`);
      await page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
      // cold: nothing of the console in the HTTP cache (the session cookie stays), as on a first visit
      if (isCold) await cdp.send('Network.clearBrowserCache');
      const [handle] = await Promise.all([usableAt(), page.goto(`${url}/batches/${batchId}`)]);
      const t = (await handle.jsonValue()) as number;
      (isCold ? cold : warm).push(t);
      if (i === 0) {
        firstLoad = (await page.evaluate(() =>
          (globalThis as any).performance
            .getEntriesByType('resource')
            .concat((globalThis as any).performance.getEntriesByType('navigation'))
            .map((e: any) => ({ name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize })),
        )) as typeof firstLoad;
      }
      if (i === runs * 2 - 1) {
        // the batch's totals (one grouped scan of the whole batch) come later: the page does not wait for them
        await page
          .waitForFunction(() => (globalThis as any).performance.getEntriesByType('resource').some((e: any) => e.name.includes('/totals')))
          .catch(() => console.log('  (no totals request within 30 s)'));
        const api = (await page.evaluate(() =>
          (globalThis as any).performance
            .getEntriesByType('resource')
            .filter((e: any) => e.name.includes('/api/'))
            .map((e: any) => ({ name: e.name, start: e.startTime, end: e.responseEnd })),
        )) as { name: string; start: number; end: number }[];
        console.log(`API requests of the last (warm) load, ms since navigation start (usable at ${ms(t)}):`);
        for (const r of api)
          console.log(`  ${r.start.toFixed(0).padStart(5)} → ${r.end.toFixed(0).padStart(5)}  ${r.name.replace(url, '')}`);
      }
    }
    const c = summary(cold);
    const w = summary(warm);
    console.log(`(a) to usable, cold cache (${runs}): min ${ms(c.min)}, median ${ms(c.p50)}, max ${ms(c.max)}`);
    console.log(`(a) to usable, warm cache (${runs}): min ${ms(w.min)}, median ${ms(w.p50)}, max ${ms(w.max)}; ${load()}`);

    // ---- (b) next page of items: click until the new rows are painted
    const next: number[] = [];
    for (let i = 0; i < pages; i++) {
      // no named function inside: tsx would wrap it in a helper (__name) that the page does not have
      const t = (await page.evaluate(async (caption) => {
        const g = globalThis as any;
        const table = [...g.document.querySelectorAll('table')].find((x: any) => x.caption?.textContent === caption) as any;
        const body = table.tBodies[0];
        const button = table.parentElement.querySelector('nav.pager button:last-of-type');
        const first = body.rows[0].textContent;
        const t0 = g.performance.now();
        button.click();
        while (!(body.getAttribute('aria-busy') === 'false' && body.rows[0]?.textContent !== first && !button.disabled)) {
          await new Promise((r) => g.requestAnimationFrame(r));
        }
        return g.performance.now() - t0;
      }, ITEMS_CAPTION)) as number;
      next.push(t);
    }
    const nx = summary(next);
    console.log(`(b) next page of items (${pages}): p50 ${ms(nx.p50)}, p95 ${ms(nx.p95)}, max ${ms(nx.max)}; ${load()}`);

    // ---- (c) first-load bytes
    const assets = firstLoad.filter((r) => /\.(js|css)(\?|$)/.test(r.name));
    const transfer = assets.reduce((s, r) => s + r.transfer, 0);
    const encoded = assets.reduce((s, r) => s + r.encoded, 0);
    const gzip = assets.reduce((s, r) => s + gzipSync(readFileSync(path.join(WEB_DIST, new URL(r.name).pathname))).length, 0);
    const enc = (await fetch(`${url}${new URL(assets[0]!.name).pathname}`, { headers: { 'accept-encoding': 'gzip' } })).headers.get(
      'content-encoding',
    );
    console.log(
      `(c) JS+CSS of the first load of /batches/:id (cold): ${assets.length} files, ${(transfer / 1024).toFixed(1)} KB transferred ` +
        `(body ${(encoded / 1024).toFixed(1)} KB, content-encoding ${enc ?? 'none'}); gzip of those files: ${(gzip / 1024).toFixed(1)} KB`,
    );
    for (const r of assets) console.log(`  ${(r.encoded / 1024).toFixed(1).padStart(7)} KB  ${new URL(r.name).pathname}`);

    // ---- floor: the API's own time for the same item pages, from Node with a bearer token
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'staff', password: PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const get = async (p: string) => {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/v1${p}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { nextCursor?: string | null };
      if (!res.ok) throw new Error(`GET ${p}: ${res.status}`);
      return { t: performance.now() - t0, body };
    };
    const floor: number[] = [];
    let cursor: string | null | undefined;
    for (let i = 0; i <= pages; i++) {
      const r = await get(`/batches/${batchId}/items?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      floor.push(r.t);
      cursor = r.body.nextCursor;
    }
    const f = summary(floor.slice(1));
    console.log(
      `floor: GET /batches/:id/items?limit=50 from Node: first ${ms(floor[0]!)}, next ${pages}: p50 ${ms(f.p50)}, p95 ${ms(f.p95)}, max ${ms(f.max)}; ${load()}`,
    );
    for (const p of [
      `/batches/${batchId}`,
      `/batches/${batchId}/transitions`,
      `/batches/${batchId}/left-out?limit=20`,
      `/batches/${batchId}/totals`,
    ]) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) times.push((await get(p).catch(() => ({ t: NaN }))).t);
      console.log(`floor: GET ${p.replace(batchId, ':id')}: ${times.map(ms).join(', ')}`);
    }
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
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

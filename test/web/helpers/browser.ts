import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import axe from 'axe-core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildWebIfStale } from '../../../scripts/web';
import { testApp } from '../../helpers/app';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
const rnd = () => Math.floor(Math.random() * 250) + 1;

export interface Browser {
  url: string;
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy refusals the page reported: the console must cause none. */
  cspViolations: string[];
  close: () => Promise<void>;
}

/**
 * The real service (test/helpers/app.ts, which serves dist/web: built first when stale) and Debian's Chromium,
 * headless, with a fresh profile: no cookie or storage from another journey. Each browser comes from its own client
 * address, since the login rate limit is per address.
 */
export async function openBrowser(): Promise<Browser> {
  await buildWebIfStale();
  const { url } = await testApp();
  const profile = await mkdtemp(path.join(os.tmpdir(), 'welfare-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    viewport: { width: 1366, height: 768 },
    extraHTTPHeaders: { 'x-forwarded-for': `10.${rnd()}.${rnd()}.${rnd()}` },
  });
  context.setDefaultTimeout(10_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return {
    url,
    context,
    page,
    cspViolations,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A new browser in which `username` has logged in through the login page (cookie session), on the home page. */
export async function openLoggedIn(username: string, password: string): Promise<Browser> {
  const browser = await openBrowser();
  const { page } = browser;
  await page.goto(`${browser.url}/login`);
  await page.getByLabel('Tên đăng nhập').fill(username);
  await page.getByLabel('Mật khẩu', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByRole('heading', { name: 'Trang chủ', level: 1 }).waitFor();
  return browser;
}

/**
 * Runs axe-core in the page and fails on any serious or critical violation. axe's source goes in through the
 * DevTools protocol (page.evaluate), which the page's CSP does not govern: a <script> tag with it inline would be
 * refused, as it should be.
 */
export async function expectAccessible(page: Page): Promise<void> {
  // the page's globals, seen from Node's types
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axe.source);
  const result = await page.evaluate(() =>
    (globalThis as unknown as { axe: typeof axe }).axe.run((globalThis as any).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }),
  );
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    throw new Error(`axe-core found ${bad.length} serious or critical violation(s) on ${page.url()}:\n  ${lines.join('\n  ')}`);
  }
}

/** Keeps a screenshot of a failed journey in test/web/artifacts/ (not committed) for the developer. */
export async function screenshotIfFailed(test: Mocha.Test | undefined, page: Page | undefined): Promise<void> {
  if (!test || test.state !== 'failed' || !page) return;
  await mkdir(ARTIFACTS, { recursive: true });
  const name = test
    .fullTitle()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .slice(0, 120);
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
  console.error(`    screenshot of the failure: ${path.relative(process.cwd(), file)}`);
}

/**
 * Keyboard-only use of the page as it stands: from the top, Tab alone reaches every visible control (a radio group
 * once, as browsers do), in document order (no positive tabindex pulling focus around), and each control shows a
 * focus indicator when reached (an outline or a box shadow). Returns how many controls were reached.
 */
export async function expectKeyboardReachable(page: Page): Promise<number> {
  const controls = await page.evaluate(() => {
    const doc = (globalThis as any).document;
    const selector =
      'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
    const seenGroups = new Set<string>();
    const out: { key: string; label: string }[] = [];
    let i = 0;
    for (const el of Array.from(doc.querySelectorAll(selector)) as any[]) {
      el.setAttribute('data-kb', String(i++));
      // the skip link is visible only once focused: it is a control all the same
      const visible = el.classList.contains('skip-link') || el.getClientRects().length > 0;
      if (!visible || el.closest('[inert], [aria-hidden="true"]')) continue;
      const group = el.type === 'radio' && el.name ? `radio:${el.form?.id ?? ''}:${el.name}` : null;
      if (group) {
        if (seenGroups.has(group)) continue;
        seenGroups.add(group);
      }
      out.push({
        key: group ?? el.getAttribute('data-kb'),
        label: (el.getAttribute('aria-label') ?? el.textContent ?? el.name ?? '').trim().slice(0, 60),
      });
    }
    return out;
  });
  // each focus the Tab key moves is logged in the page as it happens (one round trip a key press, not two)
  await page.evaluate(() => {
    const g = globalThis as any;
    g.__focusLog = [];
    g.document.addEventListener('focusin', (e: any) => {
      const el = e.target;
      const style = g.getComputedStyle(el);
      const indicated = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
      const key = el.type === 'radio' && el.name ? `radio:${el.form?.id ?? ''}:${el.name}` : el.getAttribute('data-kb');
      g.__focusLog.push({ key, order: Number(el.getAttribute('data-kb') ?? -1), indicated });
    });
  });
  for (let n = 0; n < controls.length + 2; n++) await page.keyboard.press('Tab');
  const log = (await page.evaluate(() => (globalThis as any).__focusLog)) as { key: string | null; order: number; indicated: boolean }[];
  const reached: { key: string; order: number; indicated: boolean }[] = [];
  for (const at of log) {
    if (at.key === null) continue;
    if (reached.some((r) => r.key === at.key)) break; // wrapped around to the start
    reached.push(at as { key: string; order: number; indicated: boolean });
  }
  const keys = new Set(reached.map((r) => r.key));
  const missed = controls.filter((c) => !keys.has(c.key)).map((c) => c.label || c.key);
  if (missed.length) throw new Error(`Tab does not reach ${missed.length} control(s) on ${page.url()}: ${missed.join(' | ')}`);
  const unmarked = reached.filter((r) => !r.indicated).map((r) => controls.find((c) => c.key === r.key)?.label ?? r.key);
  if (unmarked.length) throw new Error(`no focus indicator on ${unmarked.join(' | ')} (${page.url()})`);
  // the walk starts after wherever the page put the focus (a new page focuses its heading) and wraps from the end of
  // the document to its start: in order means a rotation of document order
  const orders = reached.map((r) => r.order);
  const start = orders.indexOf(Math.min(...orders));
  const rotated = [...orders.slice(start), ...orders.slice(0, start)];
  if (rotated.some((o, i) => i > 0 && o < rotated[i - 1]!))
    throw new Error(`focus leaves document order on ${page.url()}: ${orders.join(', ')}`);
  return reached.length;
}

import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Debian's Chromium, headless, with a fresh profile in `profile`, 1366×768 in Vietnamese: the launch flags of
 * test/web/helpers/browser.ts, which work on this closed network.
 */
export function launchChromium(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
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
  });
}

// Test helper (excluded from the build): Debian's Chromium driven by playwright-core, and a test Hono
// app served on a real port, under the CSP the dashboard will have (no inline script or style).
import { Hono } from 'hono';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Sql } from 'postgres';
import type { AppConfig } from '../config.ts';
import { listen } from '../http-server.ts';
import { createTestApp, listenTestApp, type TestApp, testConfig } from '../test-helpers.ts';
import { TEST_PASSWORD } from '../test-seed.ts';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const TEST_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'";

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: FLAGS });
}

/** Serves `app` on 127.0.0.1 (a free port) with the dashboard's CSP on every response. */
export async function serveWithCsp(app: Hono): Promise<{ url: string; close(): Promise<void> }> {
  // A wrapping app, so the header is set whatever order `app` registered its routes in.
  const outer = new Hono();
  outer.use(async (c, next) => {
    await next();
    c.res.headers.set('Content-Security-Policy', TEST_CSP);
  });
  outer.route('/', app);
  const server = await listen({ app: outer, host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${server.port}`, close: () => server.close() };
}

/**
 * Signs `email` in through the sign-in page in a page of `context` (whose cookies the test's later pages
 * then carry), waits for the home page and closes that page.
 */
export async function signInThroughPage(
  context: BrowserContext,
  url: string,
  email: string,
  password = TEST_PASSWORD,
): Promise<void> {
  const page = await context.newPage();
  await page.goto(`${url}/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/`);
  await page.close();
}

/** Records CSP violations and page errors so a test can assert there were none. */
export async function watchPage(page: Page): Promise<{ problems(): Promise<string[]> }> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} ${m.location().url}`);
  });
  // Page-side code as strings: the server's TypeScript has no DOM types.
  await page.addInitScript(
    "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));",
  );
  return {
    async problems() {
      const csp = (await page.evaluate('window.__csp')) as string[];
      return [...errors, ...csp.map((v) => `csp: ${v}`)];
    },
  };
}

export type BrowserApp = {
  app: TestApp;
  server: Awaited<ReturnType<typeof listenTestApp>>;
  browser: Browser;
  close(): Promise<void>;
};

/**
 * The app on `sql` with `overrides`, served on a real port, and Chromium: what the browser tests
 * share. `close()` stops all three.
 *
 * @example const { server, browser, close } = await startBrowserApp(db.sql, { web: { mapTileUrl } });
 */
export async function startBrowserApp(sql: Sql, overrides: Partial<AppConfig> = {}): Promise<BrowserApp> {
  const app = createTestApp(sql, overrides);
  const server = await listenTestApp(app);
  const browser = await launchBrowser();
  return {
    app,
    server,
    browser,
    async close() {
      await browser.close();
      await server.close();
      await app.closeStreams();
      await app.close();
    },
  };
}

/**
 * The dashboard on a seeded database in Chromium (startBrowserApp) with presigning local, so thumbnails
 * point at a store that is not there: what the page-layout tests share.
 */
export function startDashboardBrowser(sql: Sql): Promise<BrowserApp> {
  process.env.AWS_ACCESS_KEY_ID ??= 'pages';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'pages';
  return startBrowserApp(sql, {
    api: {
      ...testConfig().api,
      s3: { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true },
    },
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, serveWithCsp, watchPage } from './test-browser.ts';
import { createTestPages } from './test-pages.tsx';
import type { ScanRow } from './view-types.ts';

// The layout, stylesheet and overlay toggle in Chromium: with and without JavaScript, on a phone,
// with the keyboard, and printed.
const rows: ScanRow[] = [
  {
    id: 'a',
    captureId: 'cap_1757423584',
    capturedAt: '2025-09-09T14:18:32Z',
    farmTz: 'America/Toronto',
    status: 'graded',
    grade: 'A',
    gradeReasons: [],
    reaCm2: 81.4,
    fatMm: 6.2,
    thumbUrl: '/img/scan.png',
    farmName: 'North Farm',
    animalTag: '1042',
  },
  {
    id: 'b',
    captureId: 'cap_1757423999',
    capturedAt: '2025-09-09T13:00:00Z',
    farmTz: 'America/Toronto',
    status: 'ingested',
    grade: null,
    reaCm2: null,
    fatMm: null,
    thumbUrl: null,
    farmName: 'North Farm',
  },
  {
    id: 'c',
    captureId: 'cap_20250909T120000Z_7k3m9q2x4v8b6n1p',
    capturedAt: '2025-09-09T12:00:00Z',
    farmTz: 'America/Toronto',
    status: 'graded',
    grade: 'M',
    gradeReasons: ['no_spacing'],
    reaCm2: null,
    fatMm: null,
    missingReason: 'no pixel spacing',
    thumbUrl: '/img/scan.png',
    farmName: 'Saskatchewan River Ranch',
    animalTag: 'A-2231',
  },
];
// What a technician opens the list for: these stay in view on a tablet.
const PRIORITY_HEADERS = ['Image', 'Captured', 'Farm', 'Animal', 'Status', 'Grade', 'Ribeye area', 'Fat'];

describe('layout and pages in Chromium', () => {
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  before(async () => {
    server = await serveWithCsp((await createTestPages({ rows })).app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('toggles the overlay without JavaScript (a checkbox and CSS)', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.url}/scan`);
    assert.equal(await page.locator('.scan-overlay').isVisible(), true);
    await page.getByLabel('Show outline and measurements').uncheck();
    assert.equal(await page.locator('.scan-overlay').isVisible(), false);
    assert.equal(await page.locator('.scan-base').isVisible(), true);
    await page.getByLabel('Show outline and measurements').check();
    assert.equal(await page.locator('.scan-overlay').isVisible(), true);
    await context.close();
  });

  it('toggles the overlay with the "o" key and remembers the choice', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const watch = await watchPage(page);
    await page.goto(`${server.url}/scan`);
    await page.keyboard.press('o');
    assert.equal(await page.locator('.scan-overlay').isVisible(), false);
    await page.reload();
    await page.waitForLoadState('networkidle');
    assert.equal(await page.locator('.scan-overlay').isVisible(), false, 'remembered after reload');
    await page.keyboard.press('o');
    assert.equal(await page.locator('.scan-overlay').isVisible(), true);
    assert.deepEqual(await watch.problems(), []);
    await context.close();
  });

  it('turns table rows into labelled cards on a phone, without sideways scrolling', async () => {
    const context = await browser.newContext({
      viewport: { width: 375, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/scans`);
    // The header row is visually hidden (1 px, clipped) but stays for screen readers.
    assert.ok((await page.locator('#scans thead').boundingBox())!.height <= 1);
    const label = await page
      .locator('#scans tbody tr:first-child td.cell-primary')
      .evaluate((td) => td.ownerDocument.defaultView!.getComputedStyle(td, '::before').content);
    assert.equal(label, '"Captured"');
    assert.equal(await page.locator('#scans tbody tr:first-child td.wide-only').isVisible(), false);
    const [scrollWidth, clientWidth] = (await page.evaluate(
      '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
    )) as number[];
    assert.ok(scrollWidth! <= clientWidth!, `page ${scrollWidth}px wide in a ${clientWidth}px viewport`);
    // Touch targets in the navigation are at least 44 px tall.
    const heights = await page
      .locator('.site-nav a')
      .evaluateAll((as) => as.map((a) => a.getBoundingClientRect().height));
    assert.ok(heights.length > 0 && heights.every((h) => h >= 44), String(heights));
    await context.close();
  });

  for (const width of [768, 1024]) {
    it(`keeps the columns that matter in view on a ${width} px tablet, without sideways scrolling`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 900 }, hasTouch: true });
      const page = await context.newPage();
      await page.goto(`${server.url}/scans`);
      const boxes = (await page.evaluate(
        "[document.documentElement, document.querySelector('#scans').parentElement].map((e) => [e.scrollWidth, e.clientWidth])",
      )) as [number, number][];
      for (const [name, [scrollWidth, clientWidth]] of [
        ['page', boxes[0]!] as const,
        ['table box', boxes[1]!] as const,
      ]) {
        assert.ok(scrollWidth <= clientWidth, `${name}: ${scrollWidth}px of content in ${clientWidth}px`);
      }
      for (const header of PRIORITY_HEADERS) {
        const box = await page.locator(`#scans thead th:text-is("${header}")`).boundingBox();
        assert.ok(box && box.width > 0 && box.height > 0, `${header}: shown`);
        assert.ok(
          box.x >= 0 && box.x + box.width <= width,
          `${header}: ${box.x}–${box.x + box.width}px, in view`,
        );
      }
      // The capture id is hidden by the stylesheet, not left out: the markup is the same at every width.
      assert.equal(await page.locator('#scans thead th:text-is("Capture")').count(), 1);
      assert.equal(await page.locator('#scans thead th:text-is("Capture")').isVisible(), false);
      await context.close();
    });
  }

  it('shows every column on a desktop', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/scans`);
    for (const header of [...PRIORITY_HEADERS, 'Capture']) {
      assert.equal(await page.locator(`#scans thead th:text-is("${header}")`).isVisible(), true, header);
    }
    await page.close();
  });

  it('starts keyboard users at a visible skip link that moves focus to main; focus is always visible', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/scans`);
    await page.keyboard.press('Tab');
    const skip = page.locator('.skip-link');
    assert.equal(await skip.evaluate((a) => a === a.ownerDocument.activeElement), true);
    const box = (await skip.boundingBox())!;
    assert.ok(box.y >= 0, 'the focused skip link is on screen');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement.id'), 'main');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none');
    await page.close();
  });

  it('prints the content only: no header, navigation, footer or buttons', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/scans`);
    await page.emulateMedia({ media: 'print' });
    for (const hidden of ['.site-header', '.site-footer', '.skip-link']) {
      assert.equal(await page.locator(hidden).isVisible(), false, hidden);
    }
    assert.equal(await page.locator('#scans thead').isVisible(), true, 'printed as a real table');
    assert.equal(await page.locator('h1').isVisible(), true);
    const pdf = await page.pdf({ format: 'A4' });
    assert.ok(pdf.subarray(0, 5).toString() === '%PDF-');
    await page.close();
  });
});

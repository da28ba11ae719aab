import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { listenTestApp, useTestApp } from '../../test-helpers.ts';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { launchBrowser, watchPage } from '../../web/test-browser.ts';
import { type ReportSeed, seedReportFarm } from '../test-report-seed.ts';

// Headless Chromium (Debian's) against the real app on a real port, with its real CSP: a farmer signs
// in, opens the reports page, chooses their farm in the GET form, downloads the CSV through the browser
// (it parses and holds exactly their farm's scans), opens the printable day report and prints it to
// PDF without any navigation chrome.

let seed: ReportSeed;
let browser: Browser;
let server: Awaited<ReturnType<typeof listenTestApp>>;
const ctx = useTestApp(
  {},
  {
    async seed({ db, server: app }) {
      seed = await seedReportFarm(db.sql);
      server = await listenTestApp(app);
      browser = await launchBrowser();
    },
  },
);
after(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(page: Page, email: string, next: string) {
  await page.goto(`${server.url}${next}`);
  await page.waitForURL(/\/sign-in\?next=/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}${next}`);
}

test('a farmer downloads their farm’s CSV from the reports page and prints a day report to PDF', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  try {
    await signIn(page, 'farmer@example.com', '/reports');
    // From here on (the sign-in page is phase 1's minimal page, without an icon link).
    const watch = await watchPage(page);
    await page.reload();
    await page.getByRole('combobox', { name: /^Farm/ }).selectOption({ label: 'Report Farm' });
    await page.getByRole('button', { name: 'Show report' }).click();
    await page.waitForURL(new RegExp(`/reports\\?farm_id=${seed.farm}`));
    assert.match((await page.locator('#report-title').textContent()) ?? '', /Report Farm: every scan/);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^cti-scans-report-farm-\d{8}T\d{6}Z\.csv$/);
    const file = await readFile((await download.path())!);
    // The page's link asks for the byte order mark, so Excel reads the file as UTF-8.
    assert.deepEqual([...file.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the downloaded CSV starts with a BOM');
    const rows = parse(file.toString('utf8'), { columns: true, bom: true }) as Record<string, string>[];
    const own = await ctx.db.sql<{ id: string }[]>`SELECT id FROM scans WHERE farm_id = ${seed.farm}`;
    assert.equal(rows.length, own.length);
    assert.deepEqual(new Set(rows.map((r) => r.scan_id)), new Set(own.map((r) => r.id)));
    assert.ok(!rows.some((r) => r.scan_id === seed.otherScan), 'nothing of the other farm');
    assert.ok(rows.every((r) => r.farm_name === 'Report Farm'));

    // The printable report of 2025-09-09, from the report's list of days.
    await page.getByRole('link', { name: '2025-09-09' }).click();
    await page.waitForURL(new RegExp(`/reports/farms/${seed.farm}/print\\?day=2025-09-09$`));
    assert.equal(
      await page.locator('.site-header, .site-nav, nav').count(),
      0,
      'no navigation in the document',
    );
    const printButton = page.getByRole('button', { name: 'Print or save as PDF' });
    assert.equal(await printButton.isVisible(), true, 'the print button is shown by its script');
    assert.equal(await page.locator('svg.chart-svg').count(), 4);
    assert.equal(
      await page.locator('table.data-table').count(),
      3 + 1 + 1,
      'three groups, the devices, the scans',
    );
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.print-toolbar').isVisible(), false, 'no toolbar on paper');
    assert.equal(await printButton.isVisible(), false);
    assert.equal(await page.locator('h1').isVisible(), true);
    assert.equal(
      await page.locator('#print-group-2 thead').isVisible(),
      true,
      'ratios printed as a real table',
    );
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page\b/g)?.length ?? 0;
    assert.ok(pages >= 2 && pages <= 8, `a few A4 pages, not ${pages}`);
    assert.deepEqual(await watch.problems(), [], 'no script error or CSP violation');
  } finally {
    await context.close();
  }
});

test('a farmer cannot open another farm’s report or download its CSV in the browser', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  try {
    await signIn(page, 'farmer@example.com', '/reports');
    const report = await page.goto(`${server.url}/reports?farm_id=${seed.other}`);
    assert.equal(report!.status(), 404);
    const print = await page.goto(`${server.url}/reports/farms/${seed.other}/print?day=2025-09-09`);
    assert.equal(print!.status(), 404);
    const csv = await page.evaluate(
      `fetch('/api/v1/exports/scans.csv?farm_id=${seed.other}').then((r) => r.status)`,
    );
    assert.equal(csv, 404);
  } finally {
    await context.close();
  }
});

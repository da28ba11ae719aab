import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@cti/testkit';
import type { Browser, Page } from 'playwright-core';
import { type SseSend, sseStream } from '../sse.ts';
import { launchBrowser, serveWithCsp, watchPage } from '../test-browser.ts';
import { createTestPages } from '../test-pages.tsx';
import type { ScanRow } from '../view-types.ts';
import { scanRowEvent } from './scans-table.tsx';

// live-scans.js in Chromium against the real sseStream helper: rows rendered by the server arrive as
// events and are put in place; the stream drops and fails, and the page reconnects.
const row = (id: string, capturedAt: string, extra: Partial<ScanRow> = {}): ScanRow => ({
  id,
  captureId: `cap_${id}`,
  capturedAt,
  farmTz: 'America/Toronto',
  status: 'ingested',
  grade: null,
  reaCm2: null,
  fatMm: null,
  thumbUrl: null,
  farmName: 'North Farm',
  ...extra,
});

describe('live scans list in Chromium', () => {
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  const senders = new Set<SseSend>();
  let connections = 0;
  let failNext = 0;
  let dropNext = false;
  const killers = new Set<AbortController>();
  const endStreams = () => {
    for (const k of killers) k.abort();
  };

  before(async () => {
    const pages = await createTestPages({
      rows: [
        row('b', '2025-09-09T14:00:00Z', { status: 'graded', grade: 'A', reaCm2: 80.2, fatMm: 5.1 }),
        row('c', '2025-09-09T13:00:00Z'),
      ],
    });
    pages.app.get('/live', (c) => {
      connections++;
      if (failNext > 0) {
        failNext--;
        return c.text('unavailable', 503);
      }
      const kill = new AbortController();
      killers.add(kill);
      if (dropNext) {
        dropNext = false;
        setTimeout(() => kill.abort(), 50); // the server ends this stream: the browser reconnects after `retry`
      }
      return sseStream(c, {
        heartbeatMs: 1000,
        retryMs: 200,
        shutdown: kill.signal,
        subscribe: (send) => {
          senders.add(send);
          return () => {
            senders.delete(send);
            killers.delete(kill);
          };
        },
      });
    });
    server = await serveWithCsp(pages.app);
    browser = await launchBrowser();
  });
  after(async () => {
    endStreams();
    await browser?.close();
    await server?.close();
  });

  const ids = (page: Page) =>
    page.locator('#scans tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-scan-id')));
  // waitFor's 15 s, not 200 polls of 25 ms: Chromium on a loaded machine can take longer than 5 s.
  const until = (check: () => boolean | Promise<boolean>, what: string) => waitFor(check, { what });
  const broadcast = async (r: ScanRow) => Promise.all([...senders].map((send) => send(scanRowEvent(r))));

  it('inserts new scans in captured-time order, updates listed ones in place, leaves older ones to older pages', async () => {
    const page = await browser.newPage();
    const watch = await watchPage(page);
    await page.goto(`${server.url}/scans`);
    await until(
      async () => senders.size === 1 && (await page.locator('#scans[data-live="open"]').count()) === 1,
      'stream open',
    );
    assert.deepEqual(await ids(page), ['b', 'c']);

    await broadcast(row('a', '2025-09-09T15:00:00Z'));
    await until(async () => (await ids(page)).length === 3, 'new row');
    assert.deepEqual(await ids(page), ['a', 'b', 'c']);
    assert.equal(await page.locator('[data-live-status]').textContent(), 'Scan cap_a arrived');

    await broadcast(row('bc', '2025-09-09T13:30:00Z'));
    await until(async () => (await ids(page)).length === 4, 'row between');
    assert.deepEqual(await ids(page), ['a', 'b', 'bc', 'c']);

    await broadcast(
      row('a', '2025-09-09T15:00:00Z', {
        status: 'graded',
        grade: 'R',
        gradeReasons: ['too_dark'],
        reaCm2: null,
        missingReason: 'not a ribeye view',
      }),
    );
    await until(
      async () => (await page.locator('tr[data-scan-id="a"] .grade-r').count()) === 1,
      'row updated',
    );
    assert.deepEqual(await ids(page), ['a', 'b', 'bc', 'c']);
    assert.match(
      (await page.locator('tr[data-scan-id="a"]').textContent()) ?? '',
      /reject.*\(not a ribeye view\)/,
    );

    await broadcast(row('old', '2025-09-01T00:00:00Z'));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await ids(page), ['a', 'b', 'bc', 'c'], 'a scan older than the page is not appended');
    assert.deepEqual(await watch.problems(), []);
    await page.close();
    await until(() => senders.size === 0, 'server cleaned up after the page closed');
  });

  it('reconnects when the stream ends, and after the server refused it', async () => {
    const page = await browser.newPage();
    dropNext = true;
    const before = connections;
    await page.goto(`${server.url}/scans`);
    // First stream ends at once → EventSource reconnects after `retry` (200 ms).
    await until(() => connections >= before + 2 && senders.size === 1, 'reconnected after the stream ended');
    // Now the server refuses the next attempt (503 → the browser gives up): the script retries with backoff.
    failNext = 1;
    endStreams();
    await until(() => connections >= before + 4 && senders.size === 1, 'reconnected after a refused attempt');
    await broadcast(row('z', '2025-09-10T00:00:00Z'));
    await until(async () => (await ids(page))[0] === 'z', 'events flow again');
    await page.close();
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { launchBrowser, serveWithCsp, TEST_CSP, watchPage } from '../test-browser.ts';
import { createTestPages, IMAGE_H, IMAGE_W, type Submission, TEST_CSRF } from '../test-pages.tsx';

// The mask editor in headless Chromium, driven by real mouse, keyboard and touch input, under
// `script-src 'self'` with no inline styles. Every expected mask is computed here independently: a
// stroke covers exactly the pixels whose centre is within the brush radius (6 px) of its path.
const R = 6;
type Pt = readonly [number, number];

function paintPath(mask: Uint8Array, path: readonly Pt[], value = 1) {
  const segs = path.length === 1 ? [[path[0]!, path[0]!]] : path.slice(1).map((p, i) => [path[i]!, p]);
  for (const [a, b] of segs as [Pt, Pt][]) {
    for (let y = 0; y < IMAGE_H; y++) {
      for (let x = 0; x < IMAGE_W; x++) {
        const [px, py] = [x + 0.5, y + 0.5];
        const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
        const len2 = dx * dx + dy * dy;
        const t = len2 ? Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len2)) : 0;
        if ((a[0] + t * dx - px) ** 2 + (a[1] + t * dy - py) ** 2 <= R * R) mask[y * IMAGE_W + x] = value;
      }
    }
  }
}

async function decodeMask(sub: Submission): Promise<Uint8Array> {
  const { data, info } = await sharp(sub.mask).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [IMAGE_W, IMAGE_H], 'the PNG has the size of the image');
  const mask = new Uint8Array(IMAGE_W * IMAGE_H);
  for (let i = 0; i < mask.length; i++) {
    const [r, g, b, a] = [data[i * 4]!, data[i * 4 + 1]!, data[i * 4 + 2]!, data[i * 4 + 3]!];
    assert.ok(a === 255 && r === g && g === b && (r === 0 || r === 255), `pixel ${i} is pure black or white`);
    mask[i] = r === 255 ? 1 : 0;
  }
  return mask;
}

function assertSameMask(actual: Uint8Array, expected: Uint8Array) {
  const wrong: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) wrong.push(`${i % IMAGE_W},${Math.floor(i / IMAGE_W)}=${actual[i]}`);
  }
  assert.equal(
    wrong.length,
    0,
    `${wrong.length} pixels differ (of ${expected.reduce((a, b) => a + b, 0)} expected on), e.g. ${wrong.slice(0, 8).join(' ')}`,
  );
}

describe('mask editor in Chromium', () => {
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  let pages: Awaited<ReturnType<typeof createTestPages>>;
  before(async () => {
    pages = await createTestPages();
    server = await serveWithCsp(pages.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  // A fresh editor page at 2× device pixels; the stage is exactly 640 CSS px wide (fit scale 1).
  async function open(options: { hasTouch?: boolean } = {}) {
    const context: BrowserContext = await browser.newContext({
      viewport: { width: 678, height: 1000 },
      deviceScaleFactor: 2,
      ...options,
    });
    const page = await context.newPage();
    const watch = await watchPage(page);
    // Log every pointer position the page receives (coalesced ones too), in CSS px relative to the canvas.
    await page.addInitScript(`
      window.__ptr = [];
      for (const type of ['pointerdown', 'pointermove']) addEventListener(type, (e) => {
        const c = document.querySelector('.mask-stage canvas'); if (!c || e.target !== c) return;
        const r = c.getBoundingClientRect();
        for (const ev of (type === 'pointermove' && e.getCoalescedEvents ? e.getCoalescedEvents() : [e]))
          window.__ptr.push([type, ev.clientX - r.left, ev.clientY - r.top]);
      }, true);`);
    const response = await page.goto(`${server.url}/editor`);
    assert.equal(response?.headers()['content-security-policy'], TEST_CSP);
    await page.waitForSelector('[data-mask-editor][data-ready="true"]');
    const box = (await page.locator('.mask-stage canvas').boundingBox())!;
    assert.equal(box.width, IMAGE_W);
    assert.equal(box.height, IMAGE_H);
    const takeLog = async () => (await page.evaluate('window.__ptr.splice(0)')) as [string, number, number][];
    return { context, page, box, watch, takeLog };
  }

  async function mouseStroke(page: Page, box: { x: number; y: number }, points: Pt[]) {
    await page.mouse.move(box.x + points[0]![0], box.y + points[0]![1]);
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(box.x + p[0], box.y + p[1], { steps: 4 });
    await page.mouse.up();
  }

  async function save(page: Page): Promise<Submission> {
    const before = pages.submissions.length;
    await page.getByRole('button', { name: 'Save correction' }).click();
    await page.locator('.mask-status', { hasText: 'Saved.' }).waitFor();
    assert.equal(pages.submissions.length, before + 1);
    return pages.submissions.at(-1)!;
  }

  it('a mouse stroke is submitted as a PNG with exactly the stroke pixels, the CSRF header and the line', async () => {
    const { context, page, box, watch, takeLog } = await open();
    await mouseStroke(page, box, [
      [100.25, 100.25],
      [220.25, 140.25],
      [300.25, 90.25],
    ]);
    const path = (await takeLog()).map(([, x, y]) => [x, y] as const);
    assert.ok(path.length >= 3);
    const sub = await save(page);
    assert.equal(sub.csrf, TEST_CSRF);
    assert.equal(sub.type, 'image/png');
    assert.equal(sub.fatLine, '');
    const expected = new Uint8Array(IMAGE_W * IMAGE_H);
    paintPath(expected, path); // fit scale 1: canvas CSS px are image px
    assertSameMask(await decodeMask(sub), expected);
    assert.deepEqual(await watch.problems(), []);
    await context.close();
  });

  it('zooming and panning do not move what is drawn; strokes drawn zoomed land where they were aimed; undo takes the last one back', async () => {
    const { context, page, box, takeLog } = await open();
    await mouseStroke(page, box, [
      [50, 60],
      [150, 60],
    ]);
    const first = (await takeLog()).map(([, x, y]) => [x, y] as const);
    // Keyboard: "+" zooms 2× about the centre (320, 240), → and ↓ move the view 50 CSS px.
    await page.focus('.mask-stage');
    await page.keyboard.press('+');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const toImage = ([sx, sy]: Pt): Pt => [(sx + 370) / 2, (sy + 290) / 2];
    // The first stroke is still shown where it was drawn: its image point (100, 60) is at screen (-170, -170)
    // now, outside; image point (250, 300) carries no mask. Aim a second stroke at image (200, 200)–(260, 230).
    await mouseStroke(page, box, [
      [200 * 2 - 370, 200 * 2 - 290],
      [260 * 2 - 370, 230 * 2 - 290],
    ]);
    const second = (await takeLog()).map(([, x, y]) => toImage([x, y]));
    assert.ok(
      Math.abs(second[0]![0] - 200) < 1e-9 && Math.abs(second[0]![1] - 200) < 1e-9,
      JSON.stringify(second[0]),
    );
    // On screen, the mask is drawn under the pointer: the display canvas is tinted at (200,200) of the image.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const pixel = async ([ix, iy]: Pt) =>
      (await page.evaluate(
        `Array.from(document.querySelector('.mask-stage canvas').getContext('2d').getImageData(${(ix * 2 - 370) * 2}, ${(iy * 2 - 290) * 2}, 1, 1).data)`,
      )) as number[];
    const onMask = await pixel([230, 215]);
    const offMask = await pixel([230, 260]);
    assert.ok(onMask[2]! > 120 && offMask[2]! < 70, `mask tint ${onMask}, plain image ${offMask}`);
    // A third stroke, then Ctrl+Z: gone again.
    await mouseStroke(page, box, [
      [400, 400],
      [500, 420],
    ]);
    await takeLog();
    await page.keyboard.press('Control+z');
    const sub = await save(page);
    const expected = new Uint8Array(IMAGE_W * IMAGE_H);
    paintPath(expected, first);
    paintPath(expected, second);
    assertSameMask(await decodeMask(sub), expected);
    await context.close();
  });

  it('erasing removes exactly the erased pixels; fill fills inside a closed outline only', async () => {
    const { context, page, box, takeLog } = await open();
    const corners: Pt[] = [
      [100, 100],
      [300, 100],
      [300, 250],
      [100, 250],
      [100, 100],
    ];
    await mouseStroke(page, box, corners);
    const outline = (await takeLog()).map(([, x, y]) => [x, y] as const);
    await page.getByRole('button', { name: 'Fill inside outline' }).click();
    await page.locator('.mask-status', { hasText: 'Filled' }).waitFor();
    await page.getByRole('button', { name: /^Erase/ }).click();
    await mouseStroke(page, box, [
      [150, 80],
      [150, 270],
    ]);
    const erased = (await takeLog()).map(([, x, y]) => [x, y] as const);
    const sub = await save(page);
    const expected = new Uint8Array(IMAGE_W * IMAGE_H);
    paintPath(expected, outline);
    // The inside of the outline's outer edge: pixel centres inside the rectangle.
    for (let y = 100; y < 250; y++) for (let x = 100; x < 300; x++) expected[y * IMAGE_W + x] = 1;
    paintPath(expected, erased, 0);
    assertSameMask(await decodeMask(sub), expected);
    await context.close();
  });

  it('draws the fat-thickness line by dragging and moves an end with the keyboard', async () => {
    const { context, page, box } = await open();
    await page.getByRole('button', { name: /^Fat line/ }).click();
    await mouseStroke(page, box, [
      [120, 80],
      [125, 140],
    ]);
    await page.focus('.mask-stage');
    await page.keyboard.press('1');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+ArrowDown');
    const sub = await save(page);
    assert.deepEqual(JSON.parse(sub.fatLine), { x1: 123, y1: 90, x2: 125, y2: 140 });
    const mask = await decodeMask(sub);
    assert.equal(
      mask.reduce((a, b) => a + b, 0),
      0,
      'the line tool paints nothing',
    );
    await context.close();
  });

  it('a finger draws; a two-finger pinch zooms without painting', async () => {
    const { context, page, box, takeLog } = await open({ hasTouch: true });
    const cdp = await context.newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: Pt[]) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        touchPoints: points.map(([x, y], id) => ({ x: box.x + x, y: box.y + y, id })),
      });
    await touch('touchStart', [[60, 300]]);
    for (const x of [90, 120, 150]) await touch('touchMove', [[x, 310]]);
    await touch('touchEnd', []);
    const path = (await takeLog()).map(([, x, y]) => [x, y] as const);
    assert.ok(path.length >= 2, JSON.stringify(path));
    // Pinch: both fingers down, then apart.
    await touch('touchStart', [
      [400, 200],
      [440, 200],
    ]);
    for (const d of [60, 100, 140]) {
      await touch('touchMove', [
        [420 - d / 2, 200],
        [420 + d / 2, 200],
      ]);
    }
    await touch('touchEnd', []);
    const sub = await save(page);
    const expected = new Uint8Array(IMAGE_W * IMAGE_H);
    paintPath(expected, path);
    assertSameMask(await decodeMask(sub), expected);
    await context.close();
  });
});

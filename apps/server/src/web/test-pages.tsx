// Test helper (excluded from the build): static pages built from the real layout and components, served
// by a test Hono app for the browser tests. Not mounted in the product's app.
import { Hono } from 'hono';
import sharp from 'sharp';
import { MaskEditor } from './components/mask-editor.tsx';
import { ScanImage } from './components/scan-image.tsx';
import { ScansTable } from './components/scans-table.tsx';
import { renderPage } from './layout.tsx';
import { createStaticAssets } from './static-routes.ts';
import type { ScanRow, Viewer } from './view-types.ts';

export const TEST_CSRF = 'csrf-test-token-123';
export const IMAGE_W = 640;
export const IMAGE_H = 480;
const viewer: Viewer = { name: 'Tess Tech', email: 'tess@example.com', roles: ['technician'] };

export type Submission = { csrf: string | undefined; mask: Buffer; fatLine: string; type: string };

/** A test app: static files, a grey test image, the editor page, a scans page, and a corrections sink. */
export async function createTestPages({ rows = [] as ScanRow[], liveSrc = '/live' } = {}) {
  const assets = createStaticAssets();
  const app = new Hono();
  const submissions: Submission[] = [];
  const image = await sharp({
    create: { width: IMAGE_W, height: IMAGE_H, channels: 3, background: { r: 60, g: 60, b: 60 } },
  })
    .png()
    .toBuffer();
  const overlay = await sharp({
    create: { width: IMAGE_W, height: IMAGE_H, channels: 3, background: { r: 250, g: 200, b: 0 } },
  })
    .png()
    .toBuffer();
  app.route('/', assets.routes);
  app.get('/img/scan.png', (c) => c.body(new Uint8Array(image), 200, { 'Content-Type': 'image/png' }));
  app.get('/img/overlay.png', (c) => c.body(new Uint8Array(overlay), 200, { 'Content-Type': 'image/png' }));
  app.get('/editor', (c) =>
    c.html(
      renderPage({
        title: 'Correct scan cap_1',
        assets,
        currentPath: '/scans/1',
        viewer,
        csrfToken: TEST_CSRF,
        scripts: ['js/mask-editor.js'],
        children: MaskEditor({
          id: 'editor',
          imageUrl: '/img/scan.png',
          width: IMAGE_W,
          height: IMAGE_H,
          submitUrl: '/corrections',
          fatLine: null,
        }),
      }),
    ),
  );
  app.get('/scan', (c) =>
    c.html(
      renderPage({
        title: 'Scan cap_1',
        assets,
        currentPath: '/scans/1',
        viewer,
        csrfToken: TEST_CSRF,
        scripts: ['js/overlay-toggle.js'],
        children: ScanImage({
          id: 'scan',
          imageUrl: '/img/scan.png',
          overlayUrl: '/img/overlay.png',
          alt: 'Scan cap_1',
          width: IMAGE_W,
          height: IMAGE_H,
        }),
      }),
    ),
  );
  app.get('/scans', (c) =>
    c.html(
      renderPage({
        title: 'Scans',
        assets,
        currentPath: '/scans',
        viewer,
        csrfToken: TEST_CSRF,
        scripts: ['js/live-scans.js'],
        children: ScansTable({ rows, liveSrc }),
      }),
    ),
  );
  app.post('/corrections', async (c) => {
    const form = await c.req.formData();
    const mask = form.get('mask');
    if (!(mask instanceof File)) return c.json({ message: 'mask missing' }, 422);
    submissions.push({
      csrf: c.req.header('X-CSRF-Token'),
      mask: Buffer.from(await mask.arrayBuffer()),
      type: mask.type,
      fatLine: String(form.get('fat_line') ?? ''),
    });
    return c.json({ ok: true }, 201);
  });
  return { app, submissions, assets };
}

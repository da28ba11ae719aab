import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listen } from '../http-server.ts';
import { createStaticAssets } from './static-routes.ts';

const dir = mkdtempSync(join(tmpdir(), 'cti-static-'));
const outside = mkdtempSync(join(tmpdir(), 'cti-outside-'));
writeFileSync(join(dir, 'app.css'), 'body { color: #111; }\n');
mkdirSync(join(dir, 'js'));
writeFileSync(join(dir, 'js', 'live.js'), 'console.log(1);\n');
writeFileSync(join(dir, '.env'), 'SECRET=1\n');
writeFileSync(join(dir, 'notes.md'), '# unknown type\n');
writeFileSync(join(outside, 'secret.css'), 'secret\n');
symlinkSync(join(outside, 'secret.css'), join(dir, 'link.css'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('static routes', () => {
  const assets = createStaticAssets({ dir });
  const get = (path: string, headers: Record<string, string> = {}) =>
    assets.routes.request(path, { headers });

  it('serves files with their content type, a strong ETag, nosniff and short caching', async () => {
    const res = await get('/static/app.css');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
    assert.match(res.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{43}"$/);
    assert.equal(await res.text(), 'body { color: #111; }\n');
    const js = await get('/static/js/live.js');
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  });

  it('answers If-None-Match with 304 and a versioned URL with immutable caching', async () => {
    const etag = (await get('/static/app.css')).headers.get('etag')!;
    const again = await get('/static/app.css', { 'If-None-Match': `"other", W/${etag}` });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const url = assets.url('app.css');
    assert.match(url, /^\/static\/app\.css\?v=[A-Za-z0-9_-]{12}$/);
    assert.equal((await get(url)).headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await get('/static/app.css?v=stale')).headers.get('cache-control'), 'public, max-age=300');
    assert.throws(() => assets.url('missing.css'));
  });

  it('serves HEAD without a body', async () => {
    const res = await assets.routes.request('/static/app.css', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  it('refuses hidden files, unknown types, directories and anything outside the folder', async () => {
    for (const path of [
      '/static/.env',
      '/static/notes.md',
      '/static/js',
      '/static/js/',
      '/static/',
      '/static/link.css',
    ]) {
      assert.equal((await get(path)).status, 404, path);
    }
  });

  it('refuses traversal over a real socket (raw paths the client does not normalise)', async () => {
    const server = await listen({ app: assets.routes, host: '127.0.0.1', port: 0 });
    try {
      const { request } = await import('node:http');
      const status = (path: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: server.port, path }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      for (const path of [
        '/static/../static-routes.ts',
        '/static/%2e%2e/%2e%2e/package.json',
        '/static/..%2f..%2fpackage.json',
        '/static/js/../../app.ts',
        '/static/%2fetc%2fpasswd',
        '/static/....//app.css',
      ]) {
        assert.equal(await status(path), 404, path);
      }
      assert.equal(await status('/static/js/live.js'), 200);
    } finally {
      await server.close();
    }
  });
});

describe('the dashboard static folder', () => {
  it('holds the stylesheet and the page scripts, all served', async () => {
    const assets = createStaticAssets();
    for (const path of ['app.css', 'js/live-scans.js', 'js/overlay-toggle.js', 'js/mask-editor.js']) {
      const res = await assets.routes.request(assets.url(path));
      assert.equal(res.status, 200, path);
    }
  });
});

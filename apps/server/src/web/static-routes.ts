import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/** Where the stylesheet and page scripts live: beside this module in src/, copied to dist/ by the build. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

type Asset = { body: Uint8Array<ArrayBuffer>; type: string; etag: string; version: string };

export type StaticAssets = {
  /** Hono routes for `GET/HEAD /static/*`; mount with `app.route('/', assets.routes)`. */
  routes: Hono;
  /** `/static/app.css?v=<hash>`: the URL pages link to; a new file content is a new URL. */
  url(path: string): string;
};

/**
 * The dashboard's static files (one stylesheet, the page scripts), read once into memory at start-up.
 * Only files found there at start-up are served — a request path is a key in that table, never a path
 * joined onto the disk, so `..`, encoded slashes or symlinks cannot reach anything else. Hidden files
 * and unknown types are not served. Strong ETags (sha256) answer `If-None-Match` with 304; a URL with
 * the current `?v=` is cacheable for a year (immutable), any other for five minutes.
 *
 * @example const assets = createStaticAssets(); app.route('/', assets.routes); <link href={assets.url('app.css')}>
 */
export function createStaticAssets({ dir = DEFAULT_STATIC_DIR }: { dir?: string } = {}): StaticAssets {
  const files = new Map<string, Asset>();
  for (const path of walk(dir)) {
    const type = CONTENT_TYPES[extname(path)];
    const name = relative(dir, path).split(sep).join('/');
    if (!type || name.split('/').some((part) => part.startsWith('.'))) continue;
    const body = new Uint8Array(readFileSync(path));
    const hash = createHash('sha256').update(body).digest('base64url');
    files.set(name, { body, type, etag: `"${hash}"`, version: hash.slice(0, 12) });
  }
  const routes = new Hono();
  routes.get('/static/*', (c) => {
    const asset = files.get(c.req.path.slice('/static/'.length));
    if (!asset) return c.text('not found', 404, { 'Cache-Control': 'no-store' });
    const versioned = c.req.query('v') === asset.version;
    const headers = {
      'Content-Type': asset.type,
      ETag: asset.etag,
      'Cache-Control': versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
      'X-Content-Type-Options': 'nosniff',
    };
    const match = c.req.header('If-None-Match');
    if (match?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
      return c.body(null, 304, headers);
    }
    return c.body(asset.body, 200, headers);
  });
  return {
    routes,
    url(path) {
      const asset = files.get(path);
      if (!asset) throw new Error(`no static file ${path} in ${dir}`);
      return `/static/${path}?v=${asset.version}`;
    },
  };
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

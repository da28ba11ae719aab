import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono, type MiddlewareHandler } from 'hono';
import { except } from 'hono/combine';
import { exceptPaths } from './except-paths.ts';

const PATTERNS = ['/ingest/*', '/devices/*', '/healthz', '/readyz', '/metrics', '/static/*', '/api/*'];
const PATHS = [
  '/',
  '/ingest',
  '/ingest/',
  '/ingestx',
  '/ingest/webhook',
  '/ingest/a/b/c',
  '/static',
  '/static/app.css',
  '/healthz',
  '/healthz/',
  '/HEALTHZ',
  '/readyz',
  '/metrics',
  '/metrics/x',
  '/api',
  '/api/',
  '/api/v1/scans',
  '/apix',
  '//ingest/x',
  '/devices',
  '/devices/heartbeat',
  '/a/ingest/x',
  '/scans',
  '/scans/api/x',
  '/%2Fingest/x',
  '/ingest%2Fx',
];

async function ranOn(use: (mw: MiddlewareHandler) => MiddlewareHandler): Promise<string[]> {
  const app = new Hono();
  app.use(
    use(async (c, next) => {
      await next();
      c.res.headers.set('x-ran', '1');
    }),
  );
  app.all('*', (c) => c.text('ok'));
  const ran: string[] = [];
  for (const path of PATHS) if ((await app.request(path)).headers.get('x-ran')) ran.push(path);
  return ran;
}

test("exceptPaths skips exactly the paths hono/combine's except() skips", async () => {
  const ours = await ranOn((mw) => exceptPaths(PATTERNS, mw));
  assert.deepEqual(ours, await ranOn((mw) => except(PATTERNS, mw)));
  assert.deepEqual(ours, [
    '/',
    '/ingestx',
    '/healthz/',
    '/HEALTHZ',
    '/metrics/x',
    '/apix',
    '//ingest/x',
    '/a/ingest/x',
    '/scans',
    '/scans/api/x',
    '/%2Fingest/x',
    '/ingest%2Fx',
  ]);
});

test('a pattern it does not match like Hono is refused when built, not silently different', () => {
  assert.throws(() => exceptPaths(['/scans/:id'], async (_c, next) => next()), /only exact paths/);
  assert.throws(() => exceptPaths(['/a/*/b'], async (_c, next) => next()), /only exact paths/);
});

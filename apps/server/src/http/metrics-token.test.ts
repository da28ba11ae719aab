import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-parsers.ts';
import { createWorkerHealthApp } from '../grading/worker-health.ts';
import { createWorkerMetrics } from '../grading/worker-metrics.ts';
import { useTestApp } from '../test-helpers.ts';
import { METRICS_TOKEN_MIN_LENGTH, metricsToken } from './metrics-token.ts';

// CTI_METRICS_TOKEN: /metrics names every device and agent version; with a token set, the server's and
// the worker's /metrics answer only a scrape that bears it (Prometheus `authorization: credentials`).

const TOKEN = 'scrape-token-0123456789abcdef';
const ctx = useTestApp({ metricsToken: TOKEN });

/** GET /metrics with an Authorization header (or none) on any Hono-like app. */
async function scrape(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  auth?: string,
) {
  const res = await app.request('/metrics', auth === undefined ? {} : { headers: { authorization: auth } });
  return { status: res.status, text: await res.text(), challenge: res.headers.get('www-authenticate') };
}

test('the setting: unset is open, a short token is refused naming the setting', () => {
  assert.equal(metricsToken({}), undefined);
  assert.equal(metricsToken({ CTI_METRICS_TOKEN: TOKEN }), TOKEN);
  assert.throws(
    () => metricsToken({ CTI_METRICS_TOKEN: 'short' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.setting === 'CTI_METRICS_TOKEN' &&
      err.message.includes(String(METRICS_TOKEN_MIN_LENGTH)),
  );
});

test("the server's /metrics with a token: 401 without it or with another, the series with it", async () => {
  const app = ctx.server.app;
  for (const auth of [undefined, 'Bearer wrong-token-0123456789abcdefgh', `Basic ${TOKEN}`, 'Bearer']) {
    const res = await scrape(app, auth);
    assert.equal(res.status, 401, String(auth));
    assert.match(res.challenge ?? '', /^Bearer/);
    assert.doesNotMatch(res.text, /cti_/, 'no series leak');
  }
  const ok = await scrape(app, `Bearer ${TOKEN}`);
  assert.equal(ok.status, 200);
  assert.match(ok.text, /cti_http_requests_total|cti_/);
  assert.equal((await app.request('/healthz')).status, 200, 'liveness needs no token');
});

test("the worker's /metrics with a token, and open without one", async () => {
  const metrics = createWorkerMetrics();
  const health = (token?: string) =>
    createWorkerHealthApp({ metrics, lastActivity: Date.now, staleAfterMs: 60_000, metricsToken: token });
  const guarded = health(TOKEN);
  assert.equal((await scrape(guarded)).status, 401);
  assert.equal((await scrape(guarded, 'Bearer not-the-token-0123456789abcdef')).status, 401);
  const ok = await scrape(guarded, `Bearer ${TOKEN}`);
  assert.equal(ok.status, 200);
  assert.match(ok.text, /cti_worker_/);
  assert.equal((await guarded.request('/healthz')).status, 200, 'liveness needs no token');
  assert.equal((await scrape(health())).status, 200, 'no token set: open, as before');
});

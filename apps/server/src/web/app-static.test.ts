import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTestApp } from '../test-helpers.ts';

describe('the app serves the dashboard static files', () => {
  const ctx = useTestApp();

  it('GET /static/app.css through createApp, and unknown static paths are 404', async () => {
    const { app, staticAssets } = ctx.server;
    const css = await app.request(staticAssets.url('app.css'));
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.match(await css.text(), /--brand:/);
    assert.equal((await app.request('/static/../app.ts')).status, 404);
    assert.equal((await app.request('/static/nothing.js')).status, 404);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { requestBodyLimit } from './request-body-limit.ts';

function app() {
  const a = new Hono();
  a.use(requestBodyLimit({ maxSize: 8, onError: (c) => c.text('too large', 413) }));
  a.on(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'], '/x', async (c) =>
    c.text(`read ${(await c.req.text()).length}`),
  );
  return a;
}

test('a body over the limit is refused for every method that can carry one', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await app().request('/x', { method, body: '0123456789' });
    assert.equal(res.status, 413, method);
    assert.equal(await res.text(), 'too large');
  }
});

test('a body within the limit reaches the handler whole', async () => {
  const res = await app().request('/x', { method: 'POST', body: '01234567' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'read 8');
});

test('GET and HEAD go straight on', async () => {
  assert.equal(await (await app().request('/x')).text(), 'read 0');
  assert.equal((await app().request('/x', { method: 'HEAD' })).status, 200);
});

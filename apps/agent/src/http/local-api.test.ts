import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMetricsRegistry } from '@cti/runtime';
import { serve } from '@hono/node-server';
import { createAgent } from '../agent.ts';
import { resolveConfig } from '../config/agent-config.ts';
import { createSimulatedSource } from '../frames/simulated-source.ts';
import { createOutbox } from '../outbox/index.ts';
import { createLocalApi } from './local-api.ts';

test('local API: session override reaches the next capture, bad input is a 400, refusals are 409, metrics count both', {
  timeout: 90_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-api-'));
  const config = resolveConfig({
    device_code: 'dev-0001',
    operator_id: 'tech-config',
    data_dir: dir,
    source: { kind: 'simulated', fps: 1, width: 128, height: 96, pattern: 'synthetic' },
    upload: { bucket: 'cti-test' },
  });
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    minFreeBytes: 0,
  });
  const source = createSimulatedSource({ width: 128, height: 96, fps: 0 });
  const metrics = createMetricsRegistry({ prefix: 'cti_agent_', defaults: false });
  const agent = createAgent({
    config,
    source,
    outbox,
    metrics,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  const app = createLocalApi({ agent, metrics });
  const json = (body: unknown) => ({
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  try {
    await agent.start();
    assert.equal((await app.request('/capture', { method: 'POST' })).status, 409, 'no frames yet: refused');
    assert.equal((await app.request('/session', json({ farm_id: 'north-barn' }))).status, 400);
    assert.equal((await app.request('/session', json({ operator_id: 'tech\u0000x' }))).status, 400);
    assert.equal((await app.request('/session', json({ operator_id: 'x'.repeat(129) }))).status, 400);
    assert.equal((await app.request('/session', json({ operator_id: '' }))).status, 400);
    const blank = await app.request('/session', json({ operator_id: '   ' }));
    assert.equal(blank.status, 400, 'an operator id of only spaces is no operator');
    assert.match(((await blank.json()) as { error: string }).error, /not only spaces/);
    const session = await app.request(
      '/session',
      json({ operator_id: 'tech-night', farm_id: '6f1c2a3e-5b7d-4c8e-9f01-23456789abcd' }),
    );
    assert.deepEqual(await session.json(), {
      operatorId: 'tech-night',
      farmId: '6f1c2a3e-5b7d-4c8e-9f01-23456789abcd',
    });
    source.tick();
    const res = await app.request('/capture', { method: 'POST' });
    assert.equal(res.status, 201);
    const body = (await res.json()) as {
      captureId: string;
      meta?: unknown;
      stagesMs: Record<string, number>;
    };
    assert.equal(body.meta, undefined, 'meta stays on the device');
    assert.deepEqual(Object.keys(body.stagesMs), ['select', 'encode', 'meta', 'commit']);
    const meta = JSON.parse(readFileSync(outbox.spoolPath(body.captureId, 'meta.json'), 'utf8'));
    assert.equal(meta.operator_id, 'tech-night');
    assert.equal(meta.farm_id, '6f1c2a3e-5b7d-4c8e-9f01-23456789abcd');
    const text = await (await app.request('/metrics')).text();
    assert.match(text, /cti_agent_captures_total\{result="captured"\} 1/);
    assert.match(text, /cti_agent_captures_total\{result="no_frames"\} 1/);
    assert.match(text, /cti_agent_capture_latency_seconds_count 1/);
    const status = (await (await app.request('/status')).json()) as { session: unknown; captures: unknown };
    assert.deepEqual(status.captures, {
      captured: 1,
      refused: 1,
      failed: 0,
      busy: 0,
      pending: 0,
      by_result: { no_frames: 1, captured: 1 },
    });
  } finally {
    await agent.stop();
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('local API: the capture queue is bounded (capture.max_pending): past it a 429 naming the limit with Retry-After, counted; the queued ones all complete', {
  timeout: 90_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-api-busy-'));
  const config = resolveConfig({
    device_code: 'dev-0002',
    data_dir: dir,
    source: { kind: 'simulated', fps: 1, width: 128, height: 96, pattern: 'synthetic' },
    capture: { max_pending: 2, quality_gate: { enabled: false } },
    upload: { bucket: 'cti-test' },
  });
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    minFreeBytes: 0,
  });
  // The outbox commit is held until the test opens the gate: captures pile up as behind a slow SD card.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let committing!: () => void;
  const firstCommit = new Promise<void>((resolve) => (committing = resolve));
  const slowOutbox: typeof outbox = {
    ...outbox,
    async commitCapture(input) {
      committing();
      await gate;
      return outbox.commitCapture(input);
    },
  };
  const source = createSimulatedSource({ width: 128, height: 96, fps: 0 });
  const metrics = createMetricsRegistry({ prefix: 'cti_agent_', defaults: false });
  const agent = createAgent({
    config,
    source,
    outbox: slowOutbox,
    metrics,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  const server = serve({ fetch: createLocalApi({ agent, metrics }).fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = () => fetch(`${base}/capture`, { method: 'POST' });
  try {
    await agent.start();
    for (let i = 0; i < 4; i++) source.tick();
    const first = post();
    await firstCommit; // the first capture is running (held in its commit)
    source.tick();
    const second = post(); // waits its turn: 2 pending, the limit
    // Until `second` is counted the next POST could still be accepted: ask the status for it.
    while (
      ((await (await fetch(`${base}/status`)).json()) as { captures: { pending: number } }).captures.pending <
      2
    );
    const refused = await Promise.all([post(), post(), post()]);
    for (const res of refused) {
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '1');
      const body = (await res.json()) as { error: string; limit: number };
      assert.equal(body.limit, 2);
      assert.match(body.error, /capture\.max_pending/);
      assert.match(body.error, /2 captures/);
    }
    open();
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual([a.status, b.status], [201, 201]);
    const status = (await (await fetch(`${base}/status`)).json()) as { captures: unknown };
    assert.deepEqual(status.captures, {
      captured: 2,
      refused: 0,
      failed: 0,
      busy: 3,
      pending: 0,
      by_result: { busy: 3, captured: 2 },
    });
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /cti_agent_captures_total\{result="busy"\} 3/);
    // The queue drained: a capture is accepted again.
    source.tick();
    assert.equal((await post()).status, 201);
  } finally {
    open();
    server.close();
    await agent.stop();
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

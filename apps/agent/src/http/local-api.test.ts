import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMetricsRegistry } from '@cti/runtime';
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
    assert.deepEqual(status.captures, { captured: 1, refused: 1, failed: 0 });
  } finally {
    await agent.stop();
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startS3rver, waitFor } from '@cti/testkit';
import { fakeCapture, outboxIn } from './test-support/outbox-fixtures.ts';
import { metaCount, startAgentRun, writeAgentConfig } from './test-support/spawned-agent.ts';

// The data volume going away under a running agent (review r20 F11): a USB SSD unmounted, an
// automount cleaned up. A directory renamed away and back does to the spool root what an unmount
// does (its path no longer resolves) and needs no privileges. A real `cti-agent run`, real s3rver.

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

type OutboxStatus = { pendingCaptures: number; quarantined: number; lastError: { message: string } | null };

const startAgent = (config: string) => startAgentRun(config, cleanups);

test('the data volume away for a moment (renamed, unmounted): uploads wait for it, saying so, and nothing is quarantined; the backlog drains when it is back', {
  timeout: 120_000,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), 'cti-volume-away-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  const outbox = outboxIn(dataDir, { minFreeBytes: 0 });
  for (let n = 1; n <= 3; n++) await outbox.commitCapture(fakeCapture(n));
  outbox.close();

  // S3 down at first, so the backlog is still pending when the volume goes away.
  const probe = await startS3rver();
  const { port, endpoint, bucket } = probe;
  await probe.close();
  const config = writeAgentConfig(join(root, 'agent.json'), { dataDir, bucket, endpoint, minFreeMb: 0 });
  const agent = startAgent(config);
  await waitFor(() => agent.output().includes('upload failed; will retry'), {
    what: 'a first failed upload',
    timeoutMs: 30_000,
  });
  const api = `http://127.0.0.1:${JSON.parse(readFileSync(join(dataDir, 'agent-http.json'), 'utf8')).port}`;
  const outboxStatus = async () =>
    ((await (await fetch(`${api}/status`)).json()) as { outbox: OutboxStatus }).outbox;

  renameSync(dataDir, join(root, 'away'));
  const s3 = await startS3rver({ port });
  cleanups.push(s3.close);
  await fetch(`${api}/uploads/retry`, { method: 'POST' });
  const seen = await waitFor(
    async () => {
      const status = await outboxStatus();
      return /spool/.test(status.lastError?.message ?? '') && status;
    },
    { what: 'an upload failing on the missing spool', timeoutMs: 30_000, intervalMs: 200 },
  );
  // Before the fix: "quarantined: image.png: IntegrityError: spool file …/image.png is missing", all 3.
  assert.match(
    seen.lastError?.message ?? '',
    new RegExp(`the data volume is not mounted: ${dataDir}/spool is missing; uploads wait for it`),
  );
  await new Promise((resolve) => setTimeout(resolve, 3000)); // a poll or two while it is away
  const away = await outboxStatus();
  assert.equal(away.quarantined, 0, JSON.stringify(away));
  // A capture read into memory just before the rename may still go out: its bytes were checked.
  assert.equal(away.pendingCaptures + (await metaCount(s3)), 3, JSON.stringify(away));
  assert.ok(away.pendingCaptures > 0, JSON.stringify(away));

  renameSync(join(root, 'away'), dataDir);
  await waitFor(async () => (await metaCount(s3)) === 3, {
    what: 'the 3 captures in the bucket once the volume is back',
    timeoutMs: 30_000,
    intervalMs: 250,
  }).catch((err) => {
    throw new Error(`${(err as Error).message}; agent output:\n${agent.output().slice(-3000)}`);
  });
  const back = await waitFor(
    async () => {
      const status = await outboxStatus();
      return status.pendingCaptures === 0 && status;
    },
    { what: 'nothing pending' },
  );
  assert.equal(back.quarantined, 0);
  assert.doesNotMatch(agent.output(), /capture quarantined/);
  assert.match(agent.output(), /data volume away; uploads wait for it/);
  assert.match(agent.output(), /the data volume is back: waking the backlog/);
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
});

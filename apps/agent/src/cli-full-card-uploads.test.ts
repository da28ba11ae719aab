import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import { createOutbox } from './outbox/outbox.ts';
import { fakeCapture, outboxIn, spendSpaceReserve } from './test-support/outbox-fixtures.ts';
import { startAgentRun, waitForUploads, writeAgentConfig } from './test-support/spawned-agent.ts';
import { mountSmallVolume, type SmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

// A card that something else filled while the agent held a backlog (review r20 F1–F3): real small
// volumes (tmpfs), a real `cti-agent run` process, a real S3 peer (s3rver).

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** The agent's config for `dataDir`, uploading to `s3` (floor 1 MB); returns the file. */
function writeConfig(dataDir: string, s3: LocalS3): string {
  const dir = mkdtempSync(join(tmpdir(), 'cti-full-card-cfg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return writeAgentConfig(join(dir, 'agent.json'), {
    dataDir,
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    minFreeMb: 1,
  });
}

const startAgent = (config: string) => startAgentRun(config, cleanups);

/** Fills `volume` up to `leaveBytes` free with one foreign file (a journal, a copied video…). */
function fillLeaving(volume: SmallVolume, leaveBytes: number): void {
  writeFileSync(join(volume.dir, 'foreign-file'), Buffer.alloc(Math.max(0, volume.free() - leaveBytes)));
}

/** An outbox in `dir` with `count` pending captures of ~112 KB, made by a process now stopped. */
async function backlogIn(dir: string, count: number): Promise<void> {
  const outbox = outboxIn(dir, { minFreeBytes: 0 });
  for (let n = 1; n <= count; n++) await outbox.commitCapture(fakeCapture(n, { imageBytes: 100_000 }));
  outbox.close();
}

/** An 8 MB card (tmpfs, unmounted after this file) holding an outbox with `count` pending captures. */
async function cardWithBacklog(count: number): Promise<SmallVolume> {
  const volume = mountSmallVolume('8m');
  cleanups.push(volume.unmount);
  await backlogIn(volume.dir, count);
  return volume;
}

/** A local S3 peer (s3rver), closed after this file. */
async function localS3(): Promise<LocalS3> {
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  return s3;
}

/** `run` stops with 0 (its output's tail otherwise) and nothing is left pending on the card. */
async function stopsWithNothingPending(agent: ReturnType<typeof startAgent>, volume: SmallVolume) {
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
  assert.equal(pendingIn(volume.dir), 0);
}

const pendingIn = (dataDir: string) => {
  const outbox = createOutbox({
    dbPath: join(dataDir, 'outbox.db'),
    spoolDir: join(dataDir, 'spool'),
    access: 'readonly',
    owner: false,
  });
  try {
    return outbox.summary().pendingCaptures;
  } finally {
    outbox.close();
  }
};

test('a card left with ~1 MB free and 40 captures pending: `run` drains the whole backlog (the WAL does not take the last space)', {
  skip: tmpfsSkip,
  timeout: 180_000,
}, async (t) => {
  const volume = await cardWithBacklog(40);
  fillLeaving(volume, 1_000_000);
  t.diagnostic(`free before the start: ${volume.free()} bytes`);
  const s3 = await localS3();

  const agent = startAgent(writeConfig(volume.dir, s3));
  // Before the fix: ~18 captures, then SQLITE_FULL on every progress write and backoff for ever.
  await waitForUploads(agent, s3, 40, { what: 'the 40 captures in the bucket' });
  await stopsWithNothingPending(agent, volume);
  assert.equal(existsSync(join(volume.dir, 'outbox.db')), true);
});

for (const freeKb of [40, 64]) {
  test(`a card left with ${freeKb} KB free: \`run\` neither dies with a stack trace nor loops, it spends the space reserve and drains the backlog`, {
    skip: tmpfsSkip,
    timeout: 180_000,
  }, async () => {
    const volume = await cardWithBacklog(37);
    assert.equal(existsSync(join(volume.dir, 'outbox.reserve')), true, 'the first open made the reserve');
    fillLeaving(volume, freeKb * 1024);
    const s3 = await localS3();

    // Before: exit 1 with `SqliteError … at Object.wakeAll` (40 KB) or `ENOSPC … at writeFileAtomically`
    // (64 KB), the same at every restart, with 2 objects in the store.
    const agent = startAgent(writeConfig(volume.dir, s3));
    await waitForUploads(agent, s3, 37, { what: 'the 37 captures in the bucket' });
    const output = agent.output();
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
    await stopsWithNothingPending(agent, volume);
  });
}

test('outbox.db moved aside on a nearly full card: the re-import spends the space reserve and the backlog drains, no stack trace', {
  skip: tmpfsSkip,
  timeout: 180_000,
}, async () => {
  const volume = await cardWithBacklog(37);
  rmSync(join(volume.dir, 'outbox.db')); // "should it happen anyway, the new database re-imports"
  fillLeaving(volume, 200 * 1024);
  const s3 = await localS3();

  // Before: exit 1, `SqliteError: database or disk is full at Object.importCapture`, 2 of 37 imported.
  const agent = startAgent(writeConfig(volume.dir, s3));
  await waitForUploads(agent, s3, 37, { what: 'the 37 re-imported captures in the bucket' });
  const output = agent.output();
  assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  await stopsWithNothingPending(agent, volume);
});

test('a card left with 64 KB free and no space reserve (made by an older agent): `run` stays up, says the volume is full, and drains once space is freed, without a restart', {
  skip: tmpfsSkip,
  timeout: 180_000,
}, async () => {
  const volume = await cardWithBacklog(37);
  spendSpaceReserve(volume.dir);
  fillLeaving(volume, 64 * 1024);
  const s3 = await localS3();

  // Before: exit 1 with `ENOSPC … at writeFileAtomically` after the uploader had begun, at every restart.
  const agent = startAgent(writeConfig(volume.dir, s3));
  await waitFor(() => agent.exited() || /could not record its progress/.test(agent.output()), {
    what: 'the agent meeting the full volume',
    timeoutMs: 30_000,
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const output = agent.output();
  assert.equal(agent.exited(), false, output.slice(-3000));
  assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  assert.match(output, /capture upload could not record its progress \(data volume full\?\)/);

  rmSync(join(volume.dir, 'foreign-file'));
  // The backoff reached before the space was freed is up to ~30 s here.
  await waitForUploads(agent, s3, 37, {
    what: 'the 37 captures in the bucket once space was freed',
    timeoutMs: 120_000,
  });
  await stopsWithNothingPending(agent, volume);
});

test('a full card mostly holding uploaded captures: `run` removes them under the floor (oldest upload first) and starts, instead of refusing for ever', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const volume = mountSmallVolume('8m');
  cleanups.push(volume.unmount);
  const outbox = outboxIn(volume.dir, { minFreeBytes: 0 });
  const ids: string[] = [];
  for (let n = 1; n <= 30; n++) {
    const capture = fakeCapture(n, { imageBytes: 150_000 });
    await outbox.commitCapture(capture);
    ids.push(capture.captureId);
  }
  // All 30 uploaded (as a run with S3 up leaves them, kept retention_days), in commit order.
  for (const [i, id] of ids.entries()) {
    const at = Date.now() - 86_400_000 + i * 1000;
    outbox.store.advance(id, null, 'image.png', at);
    outbox.store.advance(id, 'image.png', 'mask.png', at);
    outbox.store.advance(id, 'mask.png', 'meta.json', at);
    outbox.store.advance(id, 'meta.json', null, at);
  }
  await outbox.commitCapture(fakeCapture(31, { imageBytes: 10_000 })); // one still waiting
  outbox.close();
  spendSpaceReserve(volume.dir); // the uploaded captures alone must be enough
  volume.fill();
  const s3 = await localS3();

  // Before: exit 1, "It holds 0 captures waiting to upload: do NOT move or delete it or the spool
  // directory", on every start.
  const agent = startAgent(writeConfig(volume.dir, s3));
  await waitForUploads(agent, s3, 1, { what: 'the pending capture in the bucket', timeoutMs: 60_000 });
  const output = agent.output();
  assert.match(output, /data volume full at start: removed what the agent may remove/);
  assert.equal(await agent.stop(), 0, output.slice(-3000));
  const left = readdirSync(join(volume.dir, 'spool')).filter((d) => d.startsWith('cap_'));
  // The oldest uploads went first, only as many as the 1 MB floor needed; the newest stay.
  assert.ok(left.length > 0 && left.length < 31, `${left.length} capture dirs left`);
  assert.ok(!left.includes('cap_t00001'), 'the oldest upload was removed');
  assert.ok(left.includes('cap_t00030'), 'the newest upload is kept');
  assert.ok(volume.free() >= 1_000_000, `${volume.free()} bytes free`);
  assert.equal(pendingIn(volume.dir), 0);
});

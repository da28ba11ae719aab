import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import { createOutbox } from './outbox/outbox.ts';
import { fakeCapture, outboxIn } from './test-support/outbox-fixtures.ts';
import { mountSmallVolume, type SmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

// A card that something else filled while the agent held a backlog (review r20 F1–F3): real small
// volumes (tmpfs), a real `cti-agent run` process, a real S3 peer (s3rver).

const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** The agent's config for `dataDir`, uploading to `s3` (floor 1 MB); returns the file. */
function writeConfig(dataDir: string, s3: LocalS3): string {
  const dir = mkdtempSync(join(tmpdir(), 'cti-full-card-cfg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({
      device_code: 'dev-test',
      data_dir: dataDir,
      source: { kind: 'simulated', pattern: 'synthetic' },
      trigger: { kind: 'none' },
      hint: { enabled: false },
      http: { host: '127.0.0.1', port: 0 },
      upload: { bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1' },
      outbox: { min_free_mb: 1 },
    }),
  );
  return file;
}

/** `cti-agent run` in its own process; `stop()` sends SIGTERM and resolves with its exit code. */
function startAgent(config: string) {
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [cli, '--config', config, 'run'], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    return exit;
  };
  cleanups.push(stop);
  return { output, exit, stop, exited: () => exited };
}

/** Captures whose meta.json (the commit marker, sent last) is in the bucket. */
async function metaCount(s3: LocalS3): Promise<number> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: token }),
    );
    count += (page.Contents ?? []).filter((o) => o.Key?.endsWith('/meta.json')).length;
    token = page.NextContinuationToken;
  } while (token);
  return count;
}

/** Fills `volume` up to `leaveBytes` free with one foreign file (a journal, a copied video…). */
function fillLeaving(volume: SmallVolume, leaveBytes: number): void {
  writeFileSync(join(volume.dir, 'foreign-file'), Buffer.alloc(Math.max(0, volume.free() - leaveBytes)));
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
  const volume = mountSmallVolume('8m');
  cleanups.push(volume.unmount);
  const outbox = outboxIn(volume.dir, { minFreeBytes: 0 });
  for (let n = 1; n <= 40; n++) await outbox.commitCapture(fakeCapture(n, { imageBytes: 100_000 }));
  outbox.close();
  fillLeaving(volume, 1_000_000);
  t.diagnostic(`free before the start: ${volume.free()} bytes`);
  const s3 = await startS3rver();
  cleanups.push(s3.close);

  const agent = startAgent(writeConfig(volume.dir, s3));
  // Before the fix: ~18 captures, then SQLITE_FULL on every progress write and backoff for ever.
  await waitFor(async () => agent.exited() || (await metaCount(s3)) === 40, {
    what: 'the 40 captures in the bucket',
    timeoutMs: 90_000,
    intervalMs: 500,
  }).catch((err) => {
    throw new Error(`${(err as Error).message}; agent output:\n${agent.output.join('').slice(-3000)}`);
  });
  assert.equal(agent.exited(), false, agent.output.join(''));
  assert.equal(await agent.stop(), 0, agent.output.join('').slice(-3000));
  assert.equal(pendingIn(volume.dir), 0);
  assert.equal(existsSync(join(volume.dir, 'outbox.db')), true);
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// A real full disk: the spool is a 64 KiB tmpfs in a private mount namespace (unshare -m, root only),
// the outbox runs in a child process. statfs is the injected one because the disk fills between the
// floor check and the write (another writer): the ENOSPC must come from the kernel, not from a check.
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;

const child = `
import { readdirSync } from 'node:fs';
import { createOutbox, DiskFloorError } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)};
const [spoolDir, dbPath] = process.argv.slice(1);
const outbox = createOutbox({ dbPath, spoolDir, minFreeBytes: 0, statfs: () => ({ bavail: 1e6, bsize: 4096 }) });
const capture = (captureId, bytes) => ({ captureId, deviceCode: 'dev-0001', capturedAt: new Date('2025-09-09T14:18:32Z'),
  files: [{ name: 'image.png', data: Buffer.alloc(bytes, 7) }, { name: 'meta.json', data: Buffer.from('{}') }] });
const error = await outbox.commitCapture(capture('cap_big', 200 * 1024)).catch((e) => e);
const afterFull = { error: error?.name, reason: error?.reason, spool: readdirSync(spoolDir), summary: outbox.summary() };
await outbox.commitCapture(capture('cap_small', 1024));
console.log(JSON.stringify({ afterFull, spool: readdirSync(spoolDir), summary: outbox.summary() }));
outbox.close();
`;

test('the spool disk filling up mid-write: a disk_full refusal, no temp dir or row left, the next capture fits', {
  skip: !canUnshare && 'needs unshare -m (root)',
  timeout: 60_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-enospc-'));
  try {
    const spool = join(dir, 'spool');
    mkdirSync(spool);
    const run = spawnSync(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount -t tmpfs -o size=64k tmpfs "$0" && exec node --input-type=module -e "$2" "$0" "$1"',
        spool,
        join(dir, 'outbox.db'),
        child,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    assert.deepEqual(
      { error: out.afterFull.error, reason: out.afterFull.reason, spool: out.afterFull.spool },
      { error: 'DiskFloorError', reason: 'disk_full', spool: [] },
    );
    assert.equal(out.afterFull.summary.pendingCaptures, 0);
    assert.deepEqual(out.spool, ['cap_small']);
    assert.equal(out.summary.pendingCaptures, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createOutbox } from './outbox/outbox.ts';
import { acquireOwnerLock } from './startup/owner-lock.ts';
import { fakeCapture, spendSpaceReserve } from './test-support/outbox-fixtures.ts';
import { runAgentCli } from './test-support/run-cli.ts';
import { mountSmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

const runCli = (args: string[]) => runAgentCli(args);

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

test('the SD card full: `run` names the full disk and what the outbox holds; `status`, `outbox list` and the command doctor points at still read the queue', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const volume = mountSmallVolume('3m');
  cleanups.push(volume.unmount);
  const dir = mkdtempSync(join(tmpdir(), 'cti-full-cfg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      device_code: 'dev-0001',
      data_dir: volume.dir,
      source: { kind: 'simulated', pattern: 'synthetic' },
      trigger: { kind: 'none' },
      hint: { enabled: false },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
      http: { host: '127.0.0.1', port: 1 },
    }),
  );
  const outbox = createOutbox({
    dbPath: join(volume.dir, 'outbox.db'),
    spoolDir: join(volume.dir, 'spool'),
    minFreeBytes: 0,
  });
  for (const n of [1, 2, 3]) await outbox.commitCapture(fakeCapture(n, { imageBytes: 50_000 }));
  outbox.close();
  spendSpaceReserve(volume.dir); // nothing left the agent may free (cli-full-card-uploads.test.ts has the rest)
  volume.fill();

  const run = await runCli(['--config', config, 'run']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^cti-agent: outbox database .*outbox\.db cannot be opened: the data volume is full \(0\.0 MB free on .*\)\. It holds 3 captures waiting to upload: do NOT move or delete it/,
  );
  assert.doesNotMatch(run.stderr, /move it aside|\n\s+at /);

  const status = await runCli(['--config', config, 'status']);
  assert.equal(status.code, 1, status.stderr); // 1: the service is not running
  const offline = JSON.parse(status.stdout);
  assert.equal(offline.outbox.pendingCaptures, 3);
  assert.equal(offline.disk.ok, false);

  const doctor = await runCli(['--config', config, 'doctor']);
  const fix = /\[FAIL\] disk .*\n\s+fix: (.*)/.exec(doctor.stdout)?.[1] ?? doctor.stdout;
  assert.match(fix, /free space on that volume/);
  const command = /`(?:sudo )?cti-agent (outbox list[^`]*)`/.exec(fix)?.[1];
  assert.ok(command, fix);
  const list = await runCli(['--config', config, ...command.split(' ')]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    list.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(/\s+/).slice(0, 2).join(' ')),
    ['cap_t00001 pending', 'cap_t00002 pending', 'cap_t00003 pending'],
  );
});

test('no free inodes but megabytes free: `run` and `doctor` say inodes and `df -i`, not a full disk with MB free (review r20 F7)', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const volume = mountSmallVolume('16m', { inodes: 200 });
  cleanups.push(volume.unmount);
  const dir = mkdtempSync(join(tmpdir(), 'cti-inodes-cfg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      device_code: 'dev-0001',
      data_dir: volume.dir,
      source: { kind: 'simulated', pattern: 'synthetic' },
      trigger: { kind: 'none' },
      hint: { enabled: false },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
      http: { host: '127.0.0.1', port: 0 },
    }),
  );
  const outbox = createOutbox({
    dbPath: join(volume.dir, 'outbox.db'),
    spoolDir: join(volume.dir, 'spool'),
    minFreeBytes: 0,
  });
  for (const n of [1, 2, 3]) await outbox.commitCapture(fakeCapture(n));
  outbox.close();
  acquireOwnerLock(volume.dir).release(); // the service ran here before: its lock file is there
  volume.fillInodes(0); // a console export folder on the same card: small files, megabytes left
  assert.ok(volume.free() > 5_000_000);

  // Before: "the data volume is full (10.9 MB free on …)" and "free space … (`df -h …`)".
  const run = await runCli(['--config', config, 'run']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^cti-agent: outbox database .*outbox\.db cannot be opened: the data volume is full \(no free inodes \(0 left, \d+\.\d MB free\) on .*\)\. It holds 3 captures waiting to upload/,
  );
  assert.match(run.stderr, new RegExp(`Fix: free inodes on that volume \\(\`df -i ${volume.dir}\`: `));
  assert.doesNotMatch(run.stderr, /free space on that volume|\n\s+at /);

  // Before: "[ OK ] disk  9 MB free on …/spool (floor 1 MB)".
  const doctor = await runCli(['--config', config, 'doctor']);
  assert.match(
    doctor.stdout,
    /\[FAIL\] disk +no free inodes \(\d+ left, \d+\.\d MB free\) on .*\/spool\n\s+fix: free inodes on that volume \(`df -i /,
  );
});

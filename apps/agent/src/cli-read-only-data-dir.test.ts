import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createOutbox } from './outbox/outbox.ts';
import { fakeCapture } from './test-support/outbox-fixtures.ts';
import { runAgentCli } from './test-support/run-cli.ts';
import { mountSmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

const runCli = (args: string[]) => runAgentCli(args);

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

function writeConfig(dir: string, dataDir: string): string {
  const config = join(dir, `agent-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      device_code: 'dev-0001',
      data_dir: dataDir,
      source: { kind: 'simulated', pattern: 'synthetic' },
      trigger: { kind: 'none' },
      hint: { enabled: false },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
      http: { host: '127.0.0.1', port: 0 },
    }),
  );
  return config;
}

test('a read-only data_dir (the unit’s ProtectSystem=strict outside /var/lib/cti, a card remounted read-only): one line naming the fix, never a stack or "move it aside"', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const volume = mountSmallVolume('4m');
  cleanups.push(volume.unmount);
  const dir = mkdtempSync(join(tmpdir(), 'cti-ro-cfg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(volume.dir, 'cti');
  const outbox = createOutbox({
    dbPath: join(dataDir, 'outbox.db'),
    spoolDir: join(dataDir, 'spool'),
    minFreeBytes: 0,
  });
  await outbox.commitCapture(fakeCapture(1));
  outbox.close();
  volume.readOnly();

  for (const target of [dataDir, join(volume.dir, 'not-made-yet')]) {
    const run = await runCli(['--config', writeConfig(dir, target), 'run']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^cti-agent: data_dir ${target} is read-only for the agent \\(EROFS on ${target}\\)\\. Fix: under systemd .*ReadWritePaths=${target}.*\`dmesg\``,
      ),
    );
    assert.doesNotMatch(run.stderr, /\n\s+at |move it aside/);
  }

  const config = writeConfig(dir, dataDir);
  const doctor = await runCli(['--config', config, 'doctor']);
  assert.match(
    doctor.stdout,
    new RegExp(
      `\\[FAIL\\] data dir\\s+data_dir ${dataDir} is read-only for the agent \\(EROFS on ${dataDir}\\)\\n\\s+fix: under systemd`,
    ),
  );

  const retry = await runCli(['--config', config, 'outbox', 'retry']);
  assert.equal(retry.code, 1, retry.stderr);
  assert.match(
    retry.stderr,
    /^cti-agent: outbox database .*outbox\.db is read-only for the agent: data_dir .* \(EROFS on /,
  );
  assert.doesNotMatch(retry.stderr, /move it aside|\n\s+at /);
  // Reading works on a snapshot, said so (cli-read-only-card.test.ts).
  const list = await runCli(['--config', config, 'outbox', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^cap_t00001 {2}pending /);
  assert.match(list.stderr, /is read-only .*: this is a snapshot copied from it/);
});

test('a data_dir that is a file, or lies under one: exit 2 naming data_dir and the fix, never an EEXIST/ENOTDIR stack (review r20 F8)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-file-cfg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'outbox.db');
  writeFileSync(file, 'not a directory');
  for (const target of [file, join(file, 'sub')]) {
    const run = await runCli(['--config', writeConfig(dir, target), 'run']);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(
      run.stderr,
      `cti-agent: data_dir ${target} is not a directory (a file is there). Fix: point "data_dir" in the agent config at a directory (default /var/lib/cti), or move that file away\n`,
    );
  }
  const relative = await runCli(['--config', writeConfig(dir, 'relative/dir'), 'run']);
  assert.equal(relative.code, 2, relative.stderr);
  assert.match(relative.stderr, /\/data_dir: must be an absolute path \(starting with \/\)/);
});

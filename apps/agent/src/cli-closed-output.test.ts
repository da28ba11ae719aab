import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fakeCapture, outboxIn } from './test-support/outbox-fixtures.ts';
import { runAgentCli, writeOutboxOnlyConfig } from './test-support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cti-closed-output-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a reader that closed the output (`cti-agent outbox list | head`) ends every printing command quietly with 141, as git and coreutils do', {
  timeout: 120_000,
}, async () => {
  const dataDir = join(dir, 'data');
  const outbox = outboxIn(dataDir, { minFreeBytes: 0 });
  for (const n of [1, 2, 3]) await outbox.commitCapture(fakeCapture(n));
  outbox.close();
  const config = writeOutboxOnlyConfig(join(dir, 'agent.json'), dataDir, { outbox: { min_free_mb: 1 } });
  const salvage = join(dir, 'salvage');
  mkdirSync(salvage);

  for (const args of [
    ['outbox', 'list'],
    ['outbox', 'list', '--json'],
    ['outbox', 'show', 'cap_t00001'],
    ['outbox', 'export', 'cap_t00002', salvage],
    ['status'],
    ['--help'],
  ]) {
    const run = await runAgentCli(['--config', config, ...args], { stdoutClosed: true });
    assert.deepEqual([run.code, run.stderr], [141, ''], args.join(' '));
  }
  // The export itself was done before its progress lines found the pipe closed.
  assert.ok(existsSync(join(salvage, 'cap_t00002', 'outbox-record.json')));
});

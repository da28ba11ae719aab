import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEVICE_SECRET_CREDENTIAL, DEVICE_SECRET_FILE, resolveConfig } from '../config/agent-config.ts';
import { DEFAULT_AGENT_ENV_FILE } from '../config/agent-env-file.ts';
import { SECRET_PLACEHOLDER } from '../heartbeat/device-secret-file.ts';
import { runAgentCli } from '../test-support/run-cli.ts';

// infra/systemd/cti-agent.service hands the root-only device secret to the agent as a systemd
// credential; the names in the unit and in the agent must agree.

const unitPath = fileURLToPath(new URL('../../../../infra/systemd/cti-agent.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');
const settings = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
/** The `key=value` lines of one `[section]` of the unit. */
const section = (name: string) =>
  (unit.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? '')
    .split('\n')
    .filter((line) => /^\w+=/.test(line));

test('the CLI reads by default the environment file the unit hands the service', () => {
  // `-`: optional, as the CLI treats a missing file.
  assert.deepEqual(settings('EnvironmentFile'), [`-${DEFAULT_AGENT_ENV_FILE}`]);
});

test('a bad config (exit 2) is not restarted; any other exit is restarted for as long as it takes (no start limit)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-unit-'));
  try {
    // The exit code of `cti-agent run` on a bad config is the one the unit does not restart.
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({ device_code: 'dev-1', source: { kind: 'nope' } }));
    const bad = await runAgentCli(['--config', config, 'run'], { env: { PATH: process.env.PATH } });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /invalid agent config/);
    assert.deepEqual(settings('Restart'), ['always']);
    assert.deepEqual(settings('RestartPreventExitStatus'), ['2']);
    // Exit 1 (a full data volume, data_dir owned by another run) may clear: it stays restarted.
    assert.ok(!settings('RestartPreventExitStatus')[0]!.split(/\s+/).includes('1'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // No start limit (it belongs to [Unit]; 0 = none): an unattended Pi must come back by itself once
  // an exit-1 cause clears, not stay `failed` until someone runs `systemctl reset-failed`.
  assert.deepEqual(
    section('Unit').filter((l) => l.startsWith('StartLimit')),
    ['StartLimitIntervalSec=0'],
  );
  assert.ok(Number(settings('RestartSec')[0]) >= 5, 'a persisting fault is not retried in a tight loop');
});

test('the device secret: LoadCredential from /etc/cti/device-secret, a placeholder while it is missing', () => {
  assert.deepEqual(settings('LoadCredential'), [`${DEVICE_SECRET_CREDENTIAL}:${DEVICE_SECRET_FILE}`]);
  assert.deepEqual(settings('SetCredential'), [`${DEVICE_SECRET_CREDENTIAL}:${SECRET_PLACEHOLDER}`]);
  const underSystemd = resolveConfig(
    {
      device_code: 'dev-1',
      source: { kind: 'simulated' },
      upload: { bucket: 'b-1' },
      heartbeat: { server_url: 'https://cti.example' },
    },
    { CREDENTIALS_DIRECTORY: '/run/credentials/cti-agent.service' },
  );
  assert.equal(
    underSystemd.heartbeat?.secretFile,
    `/run/credentials/cti-agent.service/${DEVICE_SECRET_CREDENTIAL}`,
  );
});

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
test('systemd-analyze verify accepts the unit', {
  skip: analyze.status !== 0 && 'systemd-analyze not installed',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-unit-'));
  try {
    // The unit's node and agent paths exist only on a Pi; point ExecStart at a binary that exists here.
    const copy = join(dir, 'cti-agent.service');
    writeFileSync(copy, unit.replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

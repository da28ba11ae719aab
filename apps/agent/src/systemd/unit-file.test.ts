import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEVICE_SECRET_CREDENTIAL, DEVICE_SECRET_FILE, resolveConfig } from '../config/agent-config.ts';
import { SECRET_PLACEHOLDER } from '../heartbeat/device-secret-file.ts';

// infra/systemd/cti-agent.service hands the root-only device secret to the agent as a systemd
// credential; the names in the unit and in the agent must agree.

const unitPath = fileURLToPath(new URL('../../../../infra/systemd/cti-agent.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');
const settings = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);

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

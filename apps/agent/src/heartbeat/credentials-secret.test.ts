// The spawned `cti-agent run` reads its device secret as systemd hands it over: a copy in
// $CREDENTIALS_DIRECTORY whose ACL mask shows as mode 0440 is used; the same mode anywhere else is
// refused as before (review r22 F14).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDeviceKey } from '@cti/contracts';
import { fetchAgentStatus, type Spawned, startAgent } from '../test-support/fleet-processes.ts';

const DEVICE = 'dev-creds';
const dir = mkdtempSync(join(tmpdir(), 'cti-creds-'));
const agents: Spawned[] = [];
after(async () => {
  for (const agent of agents) await agent.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An agent config whose heartbeat goes nowhere (port 9): only whether it is enabled matters here. */
function config(name: string, secretFile?: string) {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      device_code: DEVICE,
      data_dir: join(dir, name),
      source: { kind: 'simulated', fps: 5, width: 128, height: 96, pattern: 'synthetic' },
      hint: { enabled: false },
      http: { port: 0 },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
      heartbeat: {
        server_url: 'http://127.0.0.1:9',
        interval_s: 60,
        ...(secretFile ? { secret_file: secretFile } : {}),
      },
    }),
  );
  return file;
}

/**
 * What systemd's LoadCredential= does on tmpfs: 0400, then an ACL entry granting the service user
 * (here uid 65534) read, which puts the ACL mask r-- in the group bits. Without setfacl (the `acl`
 * package, installed by scripts/setup.sh) the mode such a file shows, 0440, is set directly.
 */
function systemdCopyMode(path: string) {
  chmodSync(path, 0o400);
  const acl = spawnSync('setfacl', ['-m', 'u:65534:r', path], { encoding: 'utf8' });
  if (acl.error) chmodSync(path, 0o440);
  else assert.equal(acl.status, 0, acl.stderr);
  assert.equal(statSync(path).mode & 0o777, 0o440);
}

async function heartbeatOf(name: string, configFile: string, env: NodeJS.ProcessEnv = {}) {
  const agent = await startAgent(configFile, join(dir, name), env);
  agents.push(agent);
  const status = await fetchAgentStatus(join(dir, name));
  await agent.stop();
  return status.heartbeat as { enabled: boolean; key?: string; reason?: string };
}

test('a 0440 device secret: used in $CREDENTIALS_DIRECTORY, refused elsewhere', {
  timeout: 120_000,
}, async () => {
  const key = createDeviceKey(DEVICE);
  const credentials = join(dir, 'credentials');
  mkdirSync(credentials, { mode: 0o700 });
  for (const path of [join(credentials, 'device-secret'), join(dir, 'device-secret')]) {
    writeFileSync(path, `${key.secret}\n`);
    systemdCopyMode(path);
  }

  const underSystemd = await heartbeatOf('systemd', config('systemd'), {
    CREDENTIALS_DIRECTORY: credentials,
  });
  assert.equal(underSystemd.enabled, true, underSystemd.reason);
  assert.equal(underSystemd.key, key.fingerprint);

  const elsewhere = await heartbeatOf('plain', config('plain', join(dir, 'device-secret')));
  assert.equal(elsewhere.enabled, false);
  assert.match(
    elsewhere.reason ?? '',
    /device-secret is readable by other users \(mode 440\)\. Fix: sudo chmod 600/,
  );
});

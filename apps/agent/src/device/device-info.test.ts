import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClockSyncMonitor } from './clock-sync.ts';
import { readFirmware } from './firmware.ts';

test('clock sync: timesyncd flag file wins; otherwise timedatectl decides; unknown when it cannot answer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-clock-'));
  try {
    const flagFile = join(dir, 'synchronized');
    let answer: string | null = 'no';
    const monitor = createClockSyncMonitor({ flagFile, queryTimedatectl: async () => answer });
    assert.deepEqual(await monitor.refresh(), { synced: false, source: 'unsynchronized' });
    answer = 'yes';
    assert.deepEqual(await monitor.refresh(), { synced: true, source: 'kernel' });
    answer = null;
    assert.deepEqual(await monitor.refresh(), { synced: false, source: 'unknown' });
    writeFileSync(flagFile, '');
    assert.deepEqual(monitor.current(), { synced: true, source: 'timesyncd' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('firmware: PRETTY_NAME plus the Raspberry Pi OS image date, app version from package.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-fw-'));
  try {
    const osReleasePath = join(dir, 'os-release');
    const rpiIssuePath = join(dir, 'rpi-issue');
    writeFileSync(
      osReleasePath,
      'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
    );
    writeFileSync(rpiIssuePath, 'Raspberry Pi reference 2025-05-13\nGenerated using pi-gen\n');
    const pkg = join(dir, 'package.json');
    writeFileSync(pkg, JSON.stringify({ version: '1.4.2' }));
    const packageJsonUrl = new URL(`file://${pkg}`);
    assert.deepEqual(readFirmware({ osReleasePath, rpiIssuePath, packageJsonUrl }), {
      pi_os: 'Debian GNU/Linux 12 (bookworm) (Raspberry Pi OS 2025-05-13)',
      app_version: '1.4.2',
    });
    assert.equal(
      readFirmware({ osReleasePath, rpiIssuePath: join(dir, 'none'), packageJsonUrl }).pi_os,
      'Debian GNU/Linux 12 (bookworm)',
    );
    assert.match(readFirmware().app_version, /^\d+\.\d+\.\d+$/, 'the agent package version by default');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

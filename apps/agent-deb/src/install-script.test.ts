// infra/pi/install.sh's own decisions, run here with the real bash, dpkg-deb and a real (tiny) arm64
// package; only what exists on a Pi alone is played by stand-ins on PATH that record their calls:
// uname and dpkg (the Pi's kernel and OS architecture), id (root), apt-get and systemctl. The script
// runs in a private mount namespace with its own /run, where /run/systemd/system says "booted with
// systemd" (review r22 F8, F9, F13).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from './run-command.ts';

const INSTALL_SH = fileURLToPath(new URL('../../../infra/pi/install.sh', import.meta.url));
const rootSkip = process.getuid?.() !== 0 && 'needs root (a private mount namespace for /run)';

let dir: string;
let deb: string;
let log: string;

/** A stand-in recording `name args…` in the call log, then running `body`. */
function shim(name: string, body = 'exit 0') {
  const file = join(dir, 'bin', name);
  writeFileSync(file, `#!/bin/sh\necho "${name} $*" >>"$SHIM_LOG"\n${body}\n`);
  chmodSync(file, 0o755);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cti-install-sh-'));
  mkdirSync(join(dir, 'bin'));
  log = join(dir, 'calls.log');
  shim('id', 'echo 0');
  shim('uname', '[ "$1" = -m ] && echo "$FAKE_UNAME_M" || echo Linux');
  shim('dpkg', '[ "$1" = --print-architecture ] && echo "$FAKE_DPKG_ARCH"');
  shim('apt-get');
  shim('systemctl', '[ "$1" = is-enabled ] && exit "$FAKE_IS_ENABLED"; exit 0');
  // A real package with the fields install.sh checks.
  const tree = join(dir, 'pkg');
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
  writeFileSync(
    join(tree, 'DEBIAN/control'),
    'Package: cti-agent\nVersion: 0.1.0\nArchitecture: arm64\nMaintainer: CTI <ops@cti.example>\nDescription: test\n',
  );
  deb = join(dir, 'cti-agent_0.1.0_arm64.deb');
  await run('dpkg-deb', ['--build', '--root-owner-group', '-Znone', tree, deb]);
});

after(() => rmSync(dir, { recursive: true, force: true }));

type Pi = { unameM?: string; dpkgArch?: string; enabled?: boolean; systemd?: boolean };

/** install.sh with `args` on a Pi described by `pi`; its exit, output and the stand-ins' calls. */
async function install(
  args: string[],
  { unameM = 'aarch64', dpkgArch = 'arm64', enabled = true, systemd = true }: Pi = {},
) {
  rmSync(log, { force: true });
  const script = `mount -t tmpfs cti-run /run && ${systemd ? 'mkdir -p /run/systemd/system && ' : ''}exec bash "$0" "$@"`;
  const result = await run(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, INSTALL_SH, ...args],
    {
      allowFailure: true,
      env: {
        PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
        SHIM_LOG: log,
        FAKE_UNAME_M: unameM,
        FAKE_DPKG_ARCH: dpkgArch,
        FAKE_IS_ENABLED: enabled ? '0' : '1',
      },
    },
  );
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return { ...result, calls, apt: calls.find((c) => c.startsWith('apt-get ')) ?? null };
}

describe('infra/pi/install.sh', { skip: rootSkip }, () => {
  test('32-bit Raspberry Pi OS on a 64-bit kernel: refused naming the OS to install, before apt', async () => {
    const armhf = await install(['--deb', deb], { dpkgArch: 'armhf' });
    assert.equal(armhf.code, 1, armhf.stderr);
    assert.match(
      armhf.stderr,
      /^install\.sh: this is a 32-bit Raspberry Pi OS \(armhf\) on a 64-bit kernel: install the 64-bit Raspberry Pi OS \(arm64, Bookworm or later\)/,
    );
    assert.equal(armhf.apt, null, 'nothing installed');

    const other = await install(['--deb', deb], { dpkgArch: 'amd64' });
    assert.equal(other.code, 1);
    assert.match(other.stderr, /needs a 64-bit ARM OS: dpkg installs for amd64, not arm64/);
    const kernel = await install(['--deb', deb], { unameM: 'armv7l', dpkgArch: 'armhf' });
    assert.match(kernel.stderr, /needs a 64-bit ARM OS \(uname -m is armv7l\)/);
    assert.equal(kernel.apt, null);
  });

  test('an enabled agent is restarted; a disabled one is left stopped, saying so', async () => {
    const enabled = await install(['--deb', deb]);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.ok(enabled.calls.includes('systemctl restart cti-agent.service'), enabled.calls.join('\n'));
    assert.match(enabled.stderr, /then: sudo systemctl restart cti-agent && sudo cti-agent doctor/);

    const disabled = await install(['--deb', deb], { enabled: false });
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.deepEqual(
      disabled.calls.filter((c) => c.startsWith('systemctl')),
      ['systemctl is-enabled --quiet cti-agent.service'],
    );
    assert.match(
      disabled.stderr,
      /cti-agent\.service is disabled: left stopped \(sudo systemctl enable --now cti-agent to run it\)/,
    );

    const noSystemd = await install(['--deb', deb], { systemd: false });
    assert.equal(noSystemd.code, 0, noSystemd.stderr);
    assert.deepEqual(
      noSystemd.calls.filter((c) => c.startsWith('systemctl')),
      [],
    );
  });

  test('--downgrade adds apt-get --allow-downgrades (a rollback to an older package); not without it', async () => {
    const plain = await install(['--deb', deb]);
    assert.match(
      plain.apt ?? '',
      /^apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \S+cti-agent_0\.1\.0_arm64\.deb$/,
    );
    assert.doesNotMatch(plain.apt ?? '', /--allow-downgrades/);

    const rollback = await install(['--deb', deb, '--downgrade']);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.apt ?? '', / --allow-downgrades \S+cti-agent_0\.1\.0_arm64\.deb$/);
  });
});

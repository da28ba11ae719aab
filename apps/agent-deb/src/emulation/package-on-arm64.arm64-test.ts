// The full proof (`pnpm test:arm64`, not in CI: ~10 min cold): the package installed with dpkg into
// an arm64 Debian root under qemu, its commands, the service command capturing and uploading to
// s3rver, systemd-analyze on its unit, an upgrade through infra/pi/install.sh, remove and purge.
// Prints how long each step took under emulation (upper bounds for a Raspberry Pi 4/5).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { rawObjectKey, validateMeta } from '@cti/contracts';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import { cacheRoot } from '../build-cache.ts';
import { BUILD_TOOLS, EMULATION_TOOLS, requireTools } from '../host-tools.ts';
import { run } from '../run-command.ts';
import { buildPackageUnderTest, REFERENCE_SCAN, REPO_ROOT } from '../test-support/package-under-test.ts';
import { type Arm64Root, arm64RootTarball, enableArm64Emulation, extractArm64Root } from './arm64-root.ts';
import { startInstalledService } from './installed-service.ts';

const timings: [string, number][] = [];

/** A symlink's target, or null when there is none (absolute links in the root are read, not followed). */
function linkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}
const UNIT = '/lib/systemd/system/cti-agent.service';
const INSTALL_SH = join(REPO_ROOT, 'infra/pi/install.sh');

/** Package names of a Depends/Recommends field, first alternative each ("a (>= 1) | b" → a). */
function packageNames(field: string): string[] {
  return field
    .split(',')
    .map((p) => p.split('|')[0]!.trim().split(/\s/)[0]!)
    .filter(Boolean);
}

describe('cti-agent .deb in an arm64 Debian root under qemu', { timeout: 3_600_000 }, () => {
  let pkg: Awaited<ReturnType<typeof buildPackageUnderTest>>;
  let root: Arm64Root;
  let s3: LocalS3;
  let work: string;
  const inRoot = (path: string) => join(root.dir, path);
  const enabledLink = () =>
    linkTarget(inRoot('etc/systemd/system/multi-user.target.wants/cti-agent.service'));
  const maskLink = () => linkTarget(inRoot('etc/systemd/system/cti-agent.service'));
  const packageStatus = async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
    const status = await root.run(['dpkg-query', '--show', '--showformat=${Status} ${Version}', 'cti-agent']);
    return status.stdout;
  };
  const timed = async <T extends { ms: number }>(step: string, work: () => Promise<T>): Promise<T> => {
    const result = await work();
    timings.push([step, result.ms]);
    return result;
  };

  before(async () => {
    requireTools([...BUILD_TOOLS, ...EMULATION_TOOLS]);
    await enableArm64Emulation();
    let started = performance.now();
    pkg = await buildPackageUnderTest((line) => process.stderr.write(`  [package] ${line}\n`));
    timings.push(['build the package (x86)', pkg.buildMs]);
    const field = async (name: string) => (await run('dpkg-deb', ['--field', pkg.deb, name])).stdout.trim();
    // The root holds exactly what apt would install with the package: its Depends and Recommends.
    const packages = [...packageNames(await field('Depends')), ...packageNames(await field('Recommends'))];
    started = performance.now();
    const tarball = await arm64RootTarball({ cacheDir: cacheRoot(), packages });
    timings.push(['arm64 Debian root (mmdebstrap, or the cache)', Math.round(performance.now() - started)]);
    started = performance.now();
    root = await extractArm64Root(tarball);
    timings.push(['unpack the root', Math.round(performance.now() - started)]);
    copyFileSync(pkg.deb, inRoot('tmp/cti-agent.deb'));
    s3 = await startS3rver({ buckets: ['cti-test'] });
    work = mkdtempSync(join(tmpdir(), 'cti-arm64-proof-'));
  });

  after(async () => {
    await s3?.close();
    await root?.remove();
    await pkg?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    const rows = timings.map(
      ([step, ms]) => `  | ${step.padEnd(58)} | ${(ms / 1000).toFixed(1).padStart(7)} s |`,
    );
    process.stdout.write(`\nTimings under qemu-user on this machine (load ${load}):\n${rows.join('\n')}\n`);
  });

  test('dpkg -i installs it: the cti user in gpio and dialout, /var/lib/cti, agent.env, the unit enabled', async () => {
    const installed = await timed('dpkg -i cti-agent.deb', () =>
      root.run(['dpkg', '-i', '/tmp/cti-agent.deb']),
    );
    assert.match(installed.stdout, /Setting up cti-agent/);
    const id = await root.run(['id', 'cti']);
    assert.match(id.stdout, /groups=.*\(cti\)/);
    assert.match(id.stdout, /\(gpio\)/);
    assert.match(id.stdout, /\(dialout\)/);
    const passwd = await root.run(['getent', 'passwd', 'cti']);
    assert.match(passwd.stdout, /^cti:x:\d+:\d+:[^:]*:\/var\/lib\/cti:\/usr\/sbin\/nologin$/m);
    const stat = await root.run([
      'stat',
      '-c',
      '%U:%G %a %n',
      '/var/lib/cti',
      '/etc/cti',
      '/etc/cti/agent.env',
      '/etc/cti/agent.json',
    ]);
    assert.deepEqual(stat.stdout.trim().split('\n'), [
      'cti:cti 750 /var/lib/cti',
      'root:root 755 /etc/cti',
      'root:cti 640 /etc/cti/agent.env',
      'root:root 644 /etc/cti/agent.json',
    ]);
    assert.equal(enabledLink(), UNIT);
    assert.equal(await packageStatus(), `install ok installed ${pkg.version}`);
  });

  test('cti-agent --help', async () => {
    const help = await timed('cti-agent --help', () => root.run(['cti-agent', '--help']));
    assert.match(help.stdout, /^usage: cti-agent \[--config <file>\] <command>/);
    assert.equal(help.stderr, '');
  });

  test('cti-agent doctor: the expected failures (no sysfs GPIO, no probe, no credentials), each with a fix', async () => {
    const doctor = await timed('cti-agent doctor', () =>
      root.run(['cti-agent', 'doctor'], { allowFailure: true }),
    );
    assert.equal(doctor.code, 1, doctor.stdout + doctor.stderr);
    const lines = doctor.stdout.split('\n');
    const mark = (name: string) => lines.find((l) => l.slice(7).startsWith(name))?.slice(0, 6);
    assert.equal(mark('config'), '[ OK ]');
    // postinst's agent.env skeleton (all comments), read as systemd's EnvironmentFile= reads it.
    assert.match(doctor.stdout, /\[ OK \] agent\.env +\/etc\/cti\/agent\.env read as the service reads it/);
    assert.equal(mark('user'), undefined, 'run as root: no "checking as" warning');
    assert.equal(mark('hint'), '[ OK ]', 'the hint model loads on arm64');
    // The packaged view card sits beside the hint: the view gate (not_a_ribeye_view) is active.
    assert.equal(mark('view gate'), '[ OK ]', 'the view gate is active');
    assert.match(doctor.stdout, /view gate +ribeye-view@\d+\.\d+\.\d+ threshold [\d.]+ \(the view card’s\)/);
    assert.equal(mark('disk'), '[ OK ]');
    for (const failing of ['gpio led', 'probe', 's3', 'service'])
      assert.equal(mark(failing), '[FAIL]', failing);
    // gpiod (Recommends) is installed: the button falls back to gpiomon; the LED has no fallback.
    assert.match(doctor.stdout, /gpio button +no sysfs GPIO: the button uses gpiomon \(libgpiod\)/);
    assert.match(doctor.stdout, /gpio led +GPIO sysfs interface \/sys\/class\/gpio does not exist/);
    assert.match(doctor.stdout, /\/dev\/cti-probe does not exist/);
    assert.ok(lines.filter((l) => l.trim().startsWith('fix:')).length >= 3);
    assert.doesNotMatch(doctor.stdout + doctor.stderr, /^\s+at .+\(.+:\d+:\d+\)$/m, 'no stack trace');
  });

  test('cti-agent hint: the box x86 finds on the same scan, within 3 px', async () => {
    const scan = '/tmp/reference-scan.png';
    const arm64 = await timed('cti-agent hint (reference scan)', () =>
      root.run(['cti-agent', 'hint', scan], { bindReadOnly: [[REFERENCE_SCAN, scan]] }),
    );
    const config = join(REPO_ROOT, 'infra/pi/agent.json.template');
    const x86 = await run(
      process.execPath,
      [join(REPO_ROOT, 'apps/agent/dist/cli.js'), '--config', config, 'hint', REFERENCE_SCAN],
      {
        env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
      },
    );
    const a = JSON.parse(arm64.stdout);
    const x = JSON.parse(x86.stdout);
    const worst = Math.max(...(a.ribeyeBbox as number[]).map((v, i) => Math.abs(v - x.ribeyeBbox[i])));
    process.stderr.write(
      `  hint: arm64 [${a.ribeyeBbox}] score ${a.score}; x86 [${x.ribeyeBbox}] score ${x.score}\n`,
    );
    assert.ok(worst <= 3, `arm64 [${a.ribeyeBbox}] vs x86 [${x.ribeyeBbox}]`);
    assert.equal(a.model, x.model);
    assert.equal(a.inference_summary.model.sha256, x.inference_summary.model.sha256);
    // The view verdict is there (the view card was packaged) and agrees with x86's.
    assert.match(a.view?.model ?? 'no view verdict', /^ribeye-view@\d+\.\d+\.\d+$/);
    assert.equal(a.view.model, x.view.model);
    assert.equal(a.view.accepted, x.view.accepted);
    // This agent's gate decision on it (the template sets no min_ribeye_view: the card's threshold).
    assert.deepEqual(
      { ok: a.gate.ok, threshold: a.gate.threshold },
      { ok: x.gate.ok, threshold: x.view.threshold },
    );
  });

  test('systemd-analyze verify accepts the installed unit', async () => {
    const verify = await timed('systemd-analyze verify cti-agent.service', () =>
      root.run(['systemd-analyze', 'verify', '--man=no', UNIT], { allowFailure: true }),
    );
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.doesNotMatch(verify.stderr, /cti-agent\.service/, verify.stderr);
  });

  test('the service command, as the unit runs it, captures from the simulated probe and uploads', async () => {
    writeFileSync(
      inRoot('etc/cti/agent.json'),
      `${JSON.stringify(
        {
          device_code: 'dev-arm64',
          data_dir: '/var/lib/cti',
          source: { kind: 'simulated', fps: 5, width: 320, height: 240, pattern: 'synthetic' },
          trigger: { kind: 'none' },
          led: null,
          hint: { enabled: true },
          // Synthetic frames are no ribeye view: the (packaged, active) view gate refuses them. 0 keeps the
          // verdict computed but never refusing, so this step proves capture and upload; the gate itself
          // is proved by doctor and hint above.
          capture: { quality_gate: { min_ribeye_view: 0 } },
          http: { port: 0 },
          upload: { bucket: 'cti-test', endpoint: s3.endpoint, region: 'us-east-1' },
          outbox: { min_free_mb: 1 },
        },
        null,
        2,
      )}\n`,
    );
    writeFileSync(inRoot('etc/cti/agent.env'), 'AWS_ACCESS_KEY_ID=S3RVER\nAWS_SECRET_ACCESS_KEY=S3RVER\n');
    const started = performance.now();
    const service = startInstalledService(root, UNIT, '/var/lib/cti');
    const logs = service.logs;
    try {
      await waitFor(() => existsSync(inRoot('var/lib/cti/agent-http.json')), {
        what: `agent ready\n${logs.join('')}`,
        timeoutMs: 300_000,
      });
      timings.push(['service start until its local API answers', Math.round(performance.now() - started)]);
      const captures = [];
      for (let i = 0; i < 3; i++) {
        const capture = await timed(`cti-agent capture #${i + 1} (CLI start + capture)`, () =>
          root.run(['cti-agent', 'capture'], { allowFailure: true }),
        );
        assert.equal(capture.code, 0, capture.stdout + capture.stderr + logs.join(''));
        const result = JSON.parse(capture.stdout);
        assert.equal(result.status, 'captured');
        timings.push([`  press → durable commit (agent latencyMs) #${i + 1}`, Math.round(result.latencyMs)]);
        captures.push(result as { captureId: string; capturedAt: string });
      }
      const uploadStarted = performance.now();
      for (const c of captures) {
        const key = rawObjectKey({
          deviceCode: 'dev-arm64',
          capturedAt: c.capturedAt,
          captureId: c.captureId,
          file: 'meta.json',
        });
        await waitFor(() => s3.events.some((e) => e.key === key), {
          what: `${key} in S3`,
          timeoutMs: 180_000,
        });
        const body = async (file: string) => {
          const object = await s3.client.send(
            new GetObjectCommand({ Bucket: 'cti-test', Key: key.replace('meta.json', file) }),
          );
          return Buffer.from(await object.Body!.transformToByteArray());
        };
        const meta = JSON.parse((await body('meta.json')).toString());
        assert.ok(validateMeta(meta).ok, JSON.stringify(validateMeta(meta)));
        const image = await body(meta.files.image_relpath);
        assert.equal(createHash('sha256').update(image).digest('hex'), meta.image_sha256);
        assert.equal(meta.device_code, 'dev-arm64');
        assert.match(meta.firmware.pi_os, /Debian GNU\/Linux 12/);
        assert.equal(
          meta.inference_summary?.model?.name,
          'ribeye-hint',
          'the hint ran in the capture pipeline',
        );
      }
      timings.push([
        'uploads after the last capture (all meta.json in S3)',
        Math.round(performance.now() - uploadStarted),
      ]);
      const list = await root.run([
        'setpriv',
        '--reuid=cti',
        '--regid=cti',
        '--init-groups',
        'cti-agent',
        'outbox',
        'list',
        '--json',
      ]);
      const rows = JSON.parse(list.stdout) as { state: string }[];
      assert.deepEqual(
        rows.map((r) => r.state),
        ['uploaded', 'uploaded', 'uploaded'],
      );
    } finally {
      const stopping = performance.now();
      const code = await service.stop();
      timings.push(['SIGTERM until the service exited', Math.round(performance.now() - stopping)]);
      assert.equal(code, 0, logs.join(''));
    }
    assert.equal(
      existsSync(inRoot('var/lib/cti/.cache/Microsoft')),
      false,
      'onnxruntime telemetry stayed off',
    );
  });

  test('infra/pi/install.sh upgrades it: the edited agent.json, the outbox and the enablement stay', async () => {
    // The next release: the same package, a higher version, and a changed default configuration.
    const next = join(work, 'next');
    await run('dpkg-deb', ['--raw-extract', pkg.deb, next]);
    const nextVersion = `${pkg.version}.1`;
    const controlPath = join(next, 'DEBIAN/control');
    writeFileSync(
      controlPath,
      readFileSync(controlPath, 'utf8').replace(/^Version: .*$/m, `Version: ${nextVersion}`),
    );
    const defaults = readFileSync(join(next, 'etc/cti/agent.json'), 'utf8').replace(
      '"window_before_ms": 400',
      '"window_before_ms": 450',
    );
    assert.match(defaults, /"window_before_ms": 450/);
    writeFileSync(join(next, 'etc/cti/agent.json'), defaults);
    await run('dpkg-deb', [
      '--build',
      '--root-owner-group',
      '-Znone',
      next,
      inRoot('tmp/cti-agent-next.deb'),
    ]);
    mkdirSync(inRoot('boot/firmware'), { recursive: true });
    writeFileSync(inRoot('boot/firmware/config.txt'), '# Raspberry Pi firmware settings\n');
    const edited = readFileSync(inRoot('etc/cti/agent.json'), 'utf8');
    const install = (...args: string[]) =>
      root.run(['bash', '/tmp/install.sh', '--deb', '/tmp/cti-agent-next.deb', ...args], {
        bindReadOnly: [[INSTALL_SH, '/tmp/install.sh']],
        allowFailure: true,
      });

    const upgrade = await timed('install.sh --deb (upgrade, apt-get)', () =>
      install('--button-bcm', '17', '--probe-usb', '2341:8036'),
    );
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    assert.equal(await packageStatus(), `install ok installed ${nextVersion}`);
    assert.equal(readFileSync(inRoot('etc/cti/agent.json'), 'utf8'), edited, 'the edited conffile is kept');
    assert.equal(
      readFileSync(inRoot('etc/cti/agent.json.dpkg-dist'), 'utf8'),
      defaults,
      'the new default beside it',
    );
    assert.ok(existsSync(inRoot('var/lib/cti/outbox.db')));
    assert.equal(enabledLink(), UNIT);
    const rule = readFileSync(inRoot('etc/udev/rules.d/99-cti-probe.rules'), 'utf8');
    assert.match(rule, /ATTRS\{idVendor\}=="2341", ATTRS\{idProduct\}=="8036", SYMLINK\+="cti-probe"/);
    assert.match(readFileSync(inRoot('boot/firmware/config.txt'), 'utf8'), /^gpio=17=ip,pu$/m);

    const again = await install('--button-bcm', '17', '--probe-usb', '2341:8036');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(inRoot('boot/firmware/config.txt'), 'utf8').match(/gpio=17=ip,pu/g)?.length, 1);

    const bad = await install('--probe-usb', 'zz41:8036');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /USB id 'zz41:8036' for cti-probe is not VID:PID in hex/);
    assert.equal(
      readFileSync(inRoot('etc/udev/rules.d/99-cti-probe.rules'), 'utf8'),
      rule,
      'the rule is untouched',
    );
    const badPin = await install('--button-bcm', '99');
    assert.equal(badPin.code, 2);
    assert.match(badPin.stderr, /--button-bcm must be a BCM GPIO number 0-27/);
  });

  test('remove keeps config and outbox; a non-interactive purge keeps /var/lib/cti and says so', async () => {
    writeFileSync(inRoot('etc/cti/device-secret'), 'not-a-real-secret\n', { mode: 0o600 });
    const removed = await timed('dpkg -r cti-agent', () => root.run(['dpkg', '-r', 'cti-agent']));
    assert.match(removed.stdout, /Removing cti-agent/);
    assert.equal(existsSync(inRoot('opt/cti/agent/dist/cli.js')), false);
    assert.equal(existsSync(inRoot(UNIT.slice(1))), false);
    assert.ok(existsSync(inRoot('etc/cti/agent.json')), 'a conffile stays until purge');
    assert.equal(maskLink(), '/dev/null', 'masked until a reinstall or purge');
    assert.ok(existsSync(inRoot('var/lib/cti/outbox.db')));

    const purged = await timed('dpkg --purge cti-agent (debconf: noninteractive)', () =>
      root.run(['dpkg', '--purge', 'cti-agent']),
    );
    const said = purged.stdout + purged.stderr;
    assert.match(said, /kept \/var\/lib\/cti \(the outbox\); delete it by hand with: rm -rf \/var\/lib\/cti/);
    assert.ok(existsSync(inRoot('var/lib/cti/outbox.db')), 'captures are not deleted without asking');
    assert.ok(statSync(inRoot('var/lib/cti/spool')).isDirectory());
    for (const gone of ['etc/cti/agent.json', 'etc/cti/agent.json.dpkg-dist', 'etc/cti/agent.env']) {
      assert.equal(existsSync(inRoot(gone)), false, gone);
    }
    assert.ok(existsSync(inRoot('etc/cti/device-secret')), 'a file put in /etc/cti by hand stays');
    assert.equal(enabledLink(), null);
    assert.equal(maskLink(), null);
    assert.equal(
      (await root.run(['getent', 'passwd', 'cti'])).code,
      0,
      'the user stays: files still belong to it',
    );
  });

  test('a purge answered "yes" through debconf deletes /var/lib/cti', async () => {
    await timed('dpkg -i cti-agent.deb (reinstall)', () => root.run(['dpkg', '-i', '/tmp/cti-agent.deb']));
    await root.run([
      'sh',
      '-c',
      'echo "cti-agent cti-agent/purge-data boolean true" | debconf-set-selections',
    ]);
    const purged = await timed('dpkg --purge cti-agent (answer: yes)', () =>
      root.run(['dpkg', '--purge', 'cti-agent']),
    );
    assert.match(purged.stdout + purged.stderr, /deleted \/var\/lib\/cti/);
    assert.equal(existsSync(inRoot('var/lib/cti')), false);
    const question = await root.run(['sh', '-c', 'debconf-show cti-agent'], { allowFailure: true });
    assert.doesNotMatch(question.stdout, /purge-data/, 'the question is forgotten with the package');
  });
});

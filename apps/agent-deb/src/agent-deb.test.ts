import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { findElfFiles } from './elf-files.ts';
import { enableArm64Emulation, runArm64OnHost } from './emulation/arm64-root.ts';
import { BUILD_TOOLS, CHECK_TOOLS, requireTools } from './host-tools.ts';
import { NATIVE_ADDONS } from './native-addons.ts';
import { run } from './run-command.ts';
import { buildPackageUnderTest, REFERENCE_SCAN, REPO_ROOT } from './test-support/package-under-test.ts';

type Entry = { mode: string; owner: string; size: number; path: string };

/** `dpkg-deb -c` lines: "-rwxr-xr-x root/root 123 2026-12-05 02:59 ./usr/bin/cti-agent". */
function parseListing(text: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const line of text.trim().split('\n')) {
    const [mode, owner, size, , , ...rest] = line.split(/\s+/);
    const path = rest
      .join(' ')
      .replace(/^\.\//, '/')
      .replace(/ -> .*$/, '');
    entries.set(path, { mode: mode!, owner: owner!, size: Number(size), path });
  }
  return entries;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('cti-agent_<version>_arm64.deb', { timeout: 1_800_000 }, () => {
  let pkg: Awaited<ReturnType<typeof buildPackageUnderTest>>;
  let files: Map<string, Entry>;
  let tree: string;
  let control: string;

  before(async () => {
    requireTools([...BUILD_TOOLS, ...CHECK_TOOLS]);
    pkg = await buildPackageUnderTest((line) => process.stderr.write(`  [package] ${line}\n`));
    files = parseListing((await run('dpkg-deb', ['--contents', pkg.deb])).stdout);
    tree = mkdtempSync(join(tmpdir(), 'cti-agent-deb-tree-'));
    control = join(tree, 'DEBIAN');
    await run('dpkg-deb', ['--raw-extract', pkg.deb, tree]);
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    process.stderr.write(
      `  [package] ${pkg.deb}: ${mib(pkg.sizeBytes)} MiB, installed ${mib(pkg.installedSizeKiB * 1024)} MiB, ` +
        `built in ${(pkg.buildMs / 1000).toFixed(1)} s (${JSON.stringify(pkg.phases)}); load ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`,
    );
  });

  after(async () => {
    await pkg?.remove();
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  test('control: cti-agent for arm64, its version, and Depends computed from its binaries', async () => {
    const field = async (name: string) => (await run('dpkg-deb', ['--field', pkg.deb, name])).stdout.trim();
    assert.equal(await field('Package'), 'cti-agent');
    assert.equal(await field('Architecture'), 'arm64');
    assert.equal(await field('Version'), pkg.version);
    assert.match(pkg.deb, new RegExp(`/cti-agent_${pkg.version.replace(/[.+~]/g, '\\$&')}_arm64\\.deb$`));
    const agentVersion = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/agent/package.json'), 'utf8')).version;
    assert.ok(pkg.version.startsWith(`${agentVersion}+git`), pkg.version);
    const depends = await field('Depends');
    assert.equal(depends, pkg.depends.join(', '));
    for (const required of ['adduser', 'systemd', 'debconf (>= 0.5) | debconf-2.0']) {
      assert.ok(pkg.depends.includes(required), depends);
    }
    // Raspberry Pi OS Bookworm has glibc 2.36 and GCC 12's libstdc++: the package must install there.
    const libc = /libc6 \(>= ([\d.]+)\)/.exec(depends)?.[1];
    const libstdcxx = /libstdc\+\+6 \(>= ([\d.]+)\)/.exec(depends)?.[1];
    assert.ok(libc && Number(libc.split('.')[1]) <= 36, `libc6 ${libc}`);
    assert.ok(libstdcxx && Number(libstdcxx.split('.')[0]) <= 12, `libstdc++6 ${libstdcxx}`);
    assert.equal(Number(await field('Installed-Size')), pkg.installedSizeKiB);
    assert.equal(await field('Recommends'), 'gpiod');
  });

  test('contents (dpkg-deb -c): the layout on the Pi, all root-owned, nothing of the device state', () => {
    const expect = {
      '/usr/bin/cti-agent': '-rwxr-xr-x',
      '/opt/cti/node/bin/node': '-rwxr-xr-x',
      '/opt/cti/node/LICENSE': '-rw-r--r--',
      '/opt/cti/agent/package.json': '-rw-r--r--',
      '/opt/cti/agent/dist/cli.js': '-rwxr-xr-x',
      '/opt/cti/agent/dist/main.js': '-rw-r--r--',
      '/lib/systemd/system/cti-agent.service': '-rw-r--r--',
      '/lib/udev/rules.d/99-cti-probe.rules': '-rw-r--r--',
      '/etc/cti/agent.json': '-rw-r--r--',
      '/usr/share/cti-agent/udev-rule.sh': '-rwxr-xr-x',
      '/usr/share/doc/cti-agent/copyright': '-rw-r--r--',
      '/usr/share/doc/cti-agent/changelog.gz': '-rw-r--r--',
      '/usr/share/doc/cti-agent/agent.md': '-rw-r--r--',
      '/usr/share/man/man1/cti-agent.1.gz': '-rw-r--r--',
      '/usr/share/lintian/overrides/cti-agent': '-rw-r--r--',
    };
    for (const [path, mode] of Object.entries(expect)) assert.equal(files.get(path)?.mode, mode, path);
    const places = [
      '/etc/cti/',
      '/lib/systemd/system/',
      '/lib/udev/rules.d/',
      '/opt/cti/',
      '/usr/bin/',
      '/usr/share/',
    ];
    for (const entry of files.values()) {
      assert.equal(entry.owner, 'root/root', entry.path);
      const inPlace = places.some((p) => entry.path.startsWith(p) || p.startsWith(entry.path));
      assert.ok(inPlace, `${entry.path} is outside ${places.join(' ')}`);
      assert.doesNotMatch(entry.mode, /^.{4}w|^.{7}w/, `${entry.path} is group/world-writable`);
    }
    // Device state and secrets are made on the Pi, never shipped.
    for (const path of ['/var/lib/cti/', '/etc/cti/agent.env', '/etc/cti/device-secret', '/usr/local/']) {
      assert.equal(files.has(path), false, path);
    }
  });

  test('shipped files are the repository ones: unit, udev rule, config template, docs', () => {
    const same = [
      ['infra/systemd/cti-agent.service', 'lib/systemd/system/cti-agent.service'],
      ['infra/udev/99-cti-probe.rules', 'lib/udev/rules.d/99-cti-probe.rules'],
      ['infra/pi/agent.json.template', 'etc/cti/agent.json'],
      ['infra/pi/udev-rule.sh', 'usr/share/cti-agent/udev-rule.sh'],
      ['docs/agent.md', 'usr/share/doc/cti-agent/agent.md'],
    ];
    for (const [source, installed] of same) {
      assert.equal(
        readFileSync(join(tree, installed!), 'utf8'),
        readFileSync(join(REPO_ROOT, source!), 'utf8'),
        installed,
      );
    }
    const changelog = gunzipSync(readFileSync(join(tree, 'usr/share/doc/cti-agent/changelog.gz'))).toString();
    assert.match(
      changelog,
      new RegExp(`^cti-agent \\(${pkg.version.replace(/[.+~]/g, '\\$&')}\\) stable; urgency=medium`),
    );
  });

  test('conffiles: /etc/cti/agent.json only, so dpkg keeps local edits across upgrades', () => {
    assert.equal(readFileSync(join(control, 'conffiles'), 'utf8'), '/etc/cti/agent.json\n');
    const md5sums = readFileSync(join(control, 'md5sums'), 'utf8');
    assert.doesNotMatch(md5sums, /etc\/cti\/agent\.json/);
    const line = md5sums.split('\n').find((l) => l.endsWith('  opt/cti/node/bin/node'))!;
    const digest = createHash('md5')
      .update(readFileSync(join(tree, 'opt/cti/node/bin/node')))
      .digest('hex');
    assert.equal(line.split(' ')[0], digest);
  });

  test('every binary is arm64; the addons are built for it, other platforms pruned', async () => {
    const elves = await findElfFiles(tree);
    assert.deepEqual(
      elves.filter((e) => e.machine !== 'aarch64'),
      [],
    );
    const nodeModules = join(tree, 'opt/cti/agent/node_modules');
    for (const addon of NATIVE_ADDONS) {
      assert.ok(
        elves.some((e) => e.path === `opt/cti/agent/node_modules/${addon.name}/${addon.binary}`),
        addon.name,
      );
      assert.equal(existsSync(join(nodeModules, addon.name, 'prebuilds')), false, `${addon.name}/prebuilds`);
      assert.equal(existsSync(join(nodeModules, addon.name, 'src')), false, `${addon.name}/src`);
    }
    assert.deepEqual(readdirSync(join(nodeModules, 'onnxruntime-node/bin/napi-v6')), ['linux']);
    assert.deepEqual(readdirSync(join(nodeModules, 'onnxruntime-node/bin/napi-v6/linux')), ['arm64']);
    assert.deepEqual(readdirSync(join(nodeModules, '@img')).sort(), [
      'colour',
      'sharp-libvips-linux-arm64',
      'sharp-linux-arm64',
    ]);
    assert.equal(existsSync(join(nodeModules, '@types')), false);
    assert.ok(elves.length >= 7, `only ${elves.length} ELF files`);
  });

  test("the dependency patches (pnpm-workspace.yaml) reach the packaged copies: the serial binding's end-of-file fix", () => {
    const nodeModules = join(tree, 'opt/cti/agent/node_modules');
    const workspace = readFileSync(join(REPO_ROOT, 'pnpm-workspace.yaml'), 'utf8');
    const patched = [...workspace.matchAll(/^ {2}'?(@?[^@\s']+)@([^:'\s]+)'?: (patches\/\S+)$/gm)];
    const checked: string[] = [];
    for (const [, name, version, patchFile] of patched) {
      const manifest = join(nodeModules, name!, 'package.json');
      if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).version !== version) continue;
      // Every line the patch adds is in the shipped file it patches.
      for (const part of readFileSync(join(REPO_ROOT, patchFile!), 'utf8')
        .split(/^diff --git /m)
        .slice(1)) {
        const file = /^a\/(\S+)/.exec(part)![1]!;
        const shipped = readFileSync(join(nodeModules, name!, file), 'utf8');
        const added = part
          .split('\n')
          .filter((line) => line.startsWith('+') && !line.startsWith('+++') && line.slice(1).trim() !== '');
        for (const line of added)
          assert.ok(shipped.includes(line.slice(1)), `${name}/${file} lacks: ${line}`);
      }
      checked.push(name!);
    }
    assert.ok(checked.includes('@serialport/bindings-cpp'), `checked only ${checked.join(', ')}`);
  });

  test('models: the hint and its view card the agent loads, as in packages/models/models; not the server-side model', () => {
    const shipped = join(tree, 'opt/cti/agent/node_modules/@cti/models/models');
    const source = join(REPO_ROOT, 'packages/models/models');
    const card = JSON.parse(readFileSync(join(source, 'ribeye-hint.card.json'), 'utf8'));
    const view = JSON.parse(readFileSync(join(source, 'ribeye-view.card.json'), 'utf8'));
    assert.deepEqual(
      readdirSync(shipped).sort(),
      [
        card.file,
        'ribeye-hint.card.json',
        'ribeye-hint.card.md',
        'ribeye-view.card.json',
        'ribeye-view.card.md',
      ].sort(),
    );
    const bytes = readFileSync(join(shipped, card.file));
    assert.equal(sha256(bytes), card.sha256);
    assert.deepEqual(bytes, readFileSync(join(source, card.file)));
    // The view gate's card, bound to the shipped hint.
    assert.deepEqual(
      readFileSync(join(shipped, 'ribeye-view.card.json')),
      readFileSync(join(source, 'ribeye-view.card.json')),
    );
    assert.equal(view.hint.sha256, card.sha256);
    assert.deepEqual(pkg.models, [
      { name: 'ribeye-hint', version: card.version, file: card.file },
      { name: 'ribeye-view', version: view.version, file: 'ribeye-view.card.json' },
    ]);
  });

  test('no build machine paths inside; every Node shebang points at the packaged Node', async () => {
    const leaks = await run('grep', ['-rlF', REPO_ROOT.replace(/\/$/, ''), tree], { allowFailure: true });
    assert.equal(leaks.stdout, '', `files mentioning ${REPO_ROOT}`);
    const shebangs = await run('grep', ['-rlE', '^#!.*(env node|/usr/bin/node)', join(tree, 'opt')], {
      allowFailure: true,
    });
    assert.equal(shebangs.stdout, '');
    assert.match(
      await readFile(join(tree, 'opt/cti/agent/dist/cli.js'), 'utf8'),
      /^#!\/opt\/cti\/node\/bin\/node\n/,
    );
  });

  test('maintainer scripts, the CLI wrapper and the install scripts pass shellcheck', async () => {
    for (const script of ['postinst', 'prerm', 'postrm']) {
      assert.equal(statSync(join(control, script)).mode & 0o777, 0o755, script);
    }
    const posix = [
      ...['postinst', 'prerm', 'postrm'].map((s) => join(control, s)),
      join(tree, 'usr/bin/cti-agent'),
    ];
    const checks = [
      ['-s', 'sh', ...posix],
      ['-s', 'sh', join(REPO_ROOT, 'apps/agent-deb/src/emulation/arm64-run.sh')],
      [join(REPO_ROOT, 'infra/pi/install.sh'), join(REPO_ROOT, 'infra/pi/udev-rule.sh')],
    ];
    for (const args of checks) {
      const result = await run('shellcheck', args, { allowFailure: true });
      assert.equal(result.code, 0, result.stdout + result.stderr);
    }
  });

  test('lintian: no error or warning left; each override still matches', { timeout: 600_000 }, async () => {
    const result = await run('lintian', ['--display-info', '--no-tag-display-limit', pkg.deb], {
      allowFailure: true,
    });
    const lines = result.stdout.split('\n');
    const problems = lines.filter((l) => /^[EW]: /.test(l) || /(unused|mismatched)-override/.test(l));
    assert.deepEqual(problems, [], result.stdout.slice(0, 4000));
    assert.equal(result.code, 0, result.stderr);
  });

  test('it runs on arm64 (qemu-user): --help, and the hint finds the box x86 finds', {
    timeout: 600_000,
  }, async () => {
    await enableArm64Emulation();
    const node = join(tree, 'opt/cti/node/bin/node');
    const cli = join(tree, 'opt/cti/agent/dist/cli.js');
    const help = await runArm64OnHost([node, cli, '--help']);
    assert.match(help.stdout, /^usage: cti-agent \[--config <file>\] <command>/);

    const config = join(REPO_ROOT, 'infra/pi/agent.json.template');
    const arm64 = await runArm64OnHost([node, cli, '--config', config, 'hint', REFERENCE_SCAN], {
      env: { ORT_DISABLE_TELEMETRY: '1' },
    });
    const x86 = await run(
      process.execPath,
      [join(REPO_ROOT, 'apps/agent/dist/cli.js'), '--config', config, 'hint', REFERENCE_SCAN],
      {
        env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
      },
    );
    const boxA = JSON.parse(arm64.stdout).ribeyeBbox as number[];
    const boxX = JSON.parse(x86.stdout).ribeyeBbox as number[];
    const worst = Math.max(...boxA.map((v, i) => Math.abs(v - boxX[i]!)));
    process.stderr.write(
      `  [qemu-user] --help ${help.ms} ms; hint ${arm64.ms} ms: arm64 [${boxA}] vs x86 [${boxX}], max diff ${worst} px\n`,
    );
    assert.ok(worst <= 3, `arm64 box [${boxA}] vs x86 [${boxX}]`);
    assert.equal(JSON.parse(arm64.stdout).model, JSON.parse(x86.stdout).model);
    // The packaged view card is found beside the hint: the view gate is active on the Pi.
    const viewA = JSON.parse(arm64.stdout).view;
    const viewX = JSON.parse(x86.stdout).view;
    assert.match(viewA?.model ?? 'no view verdict', /^ribeye-view@\d+\.\d+\.\d+$/);
    assert.equal(viewA.model, viewX.model);
    assert.equal(viewA.accepted, viewX.accepted);
    // This agent's gate decision (cti-agent hint's `gate`) agrees too.
    assert.equal(JSON.parse(arm64.stdout).gate.ok, JSON.parse(x86.stdout).gate.ok);
    assert.ok(
      Math.abs(viewA.ribeyeView - viewX.ribeyeView) <= 0.02,
      `${viewA.ribeyeView} vs ${viewX.ribeyeView}`,
    );
  });
});

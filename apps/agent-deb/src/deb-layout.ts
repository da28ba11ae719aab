import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PACKAGE_NAME } from './deb-control.ts';

/** Where each part lives on the Pi (paths relative to /). */
export const LAYOUT = {
  agent: 'opt/cti/agent',
  node: 'opt/cti/node',
  cli: 'usr/bin/cti-agent',
  unit: 'lib/systemd/system/cti-agent.service',
  udevRule: 'lib/udev/rules.d/99-cti-probe.rules',
  udevRuleTool: `usr/share/${PACKAGE_NAME}/udev-rule.sh`,
  config: 'etc/cti/agent.json',
  doc: `usr/share/doc/${PACKAGE_NAME}`,
  lintianOverrides: `usr/share/lintian/overrides/${PACKAGE_NAME}`,
  manPage: 'usr/share/man/man1/cti-agent.1.gz',
} as const;

/** dpkg keeps local changes to these across upgrades (Debian policy 10.7.3). */
export const CONFFILES = [`/${LAYOUT.config}`];

/** The maintainer scripts and debconf templates, from apps/agent-deb/debian. */
export const CONTROL_SCRIPTS = ['postinst', 'prerm', 'postrm'];

/** Repository files installed as they are: [source relative to the repo root, destination in the package]. */
export function repoFiles(): [string, string][] {
  return [
    ['infra/systemd/cti-agent.service', LAYOUT.unit],
    ['infra/udev/99-cti-probe.rules', LAYOUT.udevRule],
    ['infra/pi/udev-rule.sh', LAYOUT.udevRuleTool],
    ['infra/pi/agent.json.template', LAYOUT.config],
    ['apps/agent-deb/debian/cti-agent', LAYOUT.cli],
    ['apps/agent-deb/debian/copyright', `${LAYOUT.doc}/copyright`],
    ['apps/agent-deb/debian/lintian-overrides', LAYOUT.lintianOverrides],
    ['docs/agent.md', `${LAYOUT.doc}/agent.md`],
    ['docs/agent-outbox.md', `${LAYOUT.doc}/agent-outbox.md`],
    ['docs/probe-protocol.md', `${LAYOUT.doc}/probe-protocol.md`],
    ...CONTROL_SCRIPTS.map((s): [string, string] => [`apps/agent-deb/debian/${s}`, `DEBIAN/${s}`]),
    ['apps/agent-deb/debian/templates', 'DEBIAN/templates'],
  ];
}

async function install(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}

/** Copies the repository's files and Node (binary + licence) into the package tree at `root`. */
export async function installFiles(opts: { repoRoot: string; root: string; nodeDir: string }): Promise<void> {
  for (const [from, to] of repoFiles()) await install(join(opts.repoRoot, from), join(opts.root, to));
  await install(join(opts.nodeDir, 'bin/node'), join(opts.root, LAYOUT.node, 'bin/node'));
  await install(join(opts.nodeDir, 'LICENSE'), join(opts.root, LAYOUT.node, 'LICENSE'));
  await writeFile(join(opts.root, 'DEBIAN/conffiles'), `${CONFFILES.join('\n')}\n`);
}

/** Writes a gzipped file without a timestamp or name in its header (gzip -9n), as Debian docs are. */
export async function writeGzip(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, gzipSync(Buffer.from(text), { level: 9 }));
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

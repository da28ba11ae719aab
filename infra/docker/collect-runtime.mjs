// Assembles the server image's /app from a workspace whose node_modules hold production dependencies
// only (the Dockerfile's prod-deps stage): the root node_modules (pnpm's virtual store), and for
// every workspace package of `pnpm ls --filter-prod '@cti/server...'` its package.json, what its
// `files` field publishes (dist when it has none) and its node_modules links. Then drops
// onnxruntime-node's binaries for other platforms (~180 MB of darwin/win32/other-arch libraries) and,
// from the dependencies, what only editors and debuggers read: type declarations, source maps and
// markdown (~22 MB; licence files are kept).
// Usage: node infra/docker/collect-runtime.mjs <out-dir>     (run from the repository root)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const [out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node infra/docker/collect-runtime.mjs <out-dir>');
  process.exit(2);
}
const root = process.cwd();
const copy = (from, to) => cpSync(from, to, { recursive: true, verbatimSymlinks: true });

const packageDirs = execFileSync(
  'pnpm',
  ['ls', '--filter-prod', '@cti/server...', '--depth', '-1', '--parseable'],
  { encoding: 'utf8' },
)
  .split('\n')
  .filter(Boolean);
if (!packageDirs.some((dir) => dir.endsWith('/apps/server'))) {
  console.error(`collect-runtime: @cti/server is not in the workspace list:\n${packageDirs.join('\n')}`);
  process.exit(1);
}

mkdirSync(out, { recursive: true });
copy(join(root, 'package.json'), join(out, 'package.json'));
copy(join(root, 'node_modules'), join(out, 'node_modules'));
for (const dir of packageDirs) {
  const rel = relative(root, dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  // Negated patterns ("!dist/**/*.map") are not needed by the server's packages and are not supported.
  const published = (manifest.files ?? ['dist']).filter((entry) => !entry.startsWith('!'));
  for (const entry of ['package.json', ...published, 'node_modules']) {
    const from = join(dir, entry);
    if (existsSync(from)) copy(from, join(out, rel, entry));
    else if (entry === 'dist') throw new Error(`collect-runtime: ${rel}/dist is missing (not built?)`);
  }
  console.log(`collect-runtime: ${rel} (${published.join(', ')})`);
}

// onnxruntime-node ships prebuilt libraries for five platforms; keep this one.
const keep = `linux/${process.arch}`;
const store = join(out, 'node_modules/.pnpm');
for (const entry of readdirSync(store).filter((name) => name.startsWith('onnxruntime-node@'))) {
  const bin = join(store, entry, 'node_modules/onnxruntime-node/bin');
  for (const napi of existsSync(bin) ? readdirSync(bin) : []) {
    for (const os of readdirSync(join(bin, napi))) {
      for (const arch of readdirSync(join(bin, napi, os))) {
        if (`${os}/${arch}` !== keep) rmSync(join(bin, napi, os, arch), { recursive: true });
      }
    }
    if (!existsSync(join(bin, napi, keep)))
      throw new Error(`collect-runtime: no ${keep} build in ${bin}/${napi}`);
  }
  console.log(`collect-runtime: ${entry}: kept only ${keep}`);
}

// Type declarations, source maps and docs in the dependencies (never loaded at run time).
const DEAD_WEIGHT = /(\.d\.[cm]?ts|\.map|\.md|\.markdown)$/i;
let removed = 0;
/** Walks real directories only: pnpm's node_modules are full of symlinks to the same packages. */
function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) prune(path);
    else if (entry.isFile() && DEAD_WEIGHT.test(entry.name) && !/^licen[cs]e/i.test(entry.name)) {
      removed += statSync(path).size;
      rmSync(path);
    }
  }
}
prune(store);
console.log(
  `collect-runtime: removed ${(removed / 1e6).toFixed(1)} MB of type declarations, source maps and docs`,
);

// Lets plain `node` run the dashboard's `.tsx` files straight from source (tests, `node src/main.ts`):
// Node strips TypeScript types itself but does not compile JSX. `node --import ./scripts/register-jsx.ts`
// registers a synchronous load hook that hands only `.tsx` files to esbuild, with the same JSX settings
// as tsconfig.json (hono/jsx, automatic runtime); every `.ts` file still goes through Node's own
// type stripping. The production build (`tsc`) compiles `.tsx` itself and needs none of this.
//
// esbuild's output is kept on disk, keyed by the file's path and bytes, esbuild's version and these
// settings: the test suite starts hundreds of processes from source (each test file, and the servers
// and workers the tests spawn), and each paid ~0.5 s compiling the same 49 files. esbuild itself is
// loaded only on a miss. The cache lives in `node_modules/.cache/register-jsx` beside this package
// (CTI_JSX_CACHE_DIR overrides it); an entry is written to a temporary name and renamed, so processes
// sharing the cache never read half an entry. A cache that cannot be written is skipped, not fatal.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ESBUILD_VERSION: string = require('esbuild/package.json').version;
const OPTIONS = {
  loader: 'tsx',
  format: 'esm',
  jsx: 'automatic',
  jsxImportSource: 'hono/jsx',
  target: 'node24',
  sourcemap: 'inline',
} as const;
const CACHE_DIR =
  process.env.CTI_JSX_CACHE_DIR ??
  fileURLToPath(new URL('../node_modules/.cache/register-jsx/', import.meta.url));
const SETTINGS_KEY = JSON.stringify([ESBUILD_VERSION, OPTIONS]);

let esbuild: typeof import('esbuild') | undefined;
let cacheWritable = true;

function compile(path: string, source: string): string {
  esbuild ??= require('esbuild') as typeof import('esbuild');
  return esbuild.transformSync(source, { ...OPTIONS, sourcefile: path }).code;
}

function compileCached(path: string): string {
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256').update(SETTINGS_KEY).update('\0').update(path).update('\0').update(source);
  const entry = join(CACHE_DIR, `${key.digest('hex')}.js`);
  try {
    return readFileSync(entry, 'utf8');
  } catch {}
  const code = compile(path, source);
  if (cacheWritable) {
    try {
      mkdirSync(CACHE_DIR, { recursive: true });
      const partial = `${entry}.${process.pid}.tmp`;
      writeFileSync(partial, code);
      renameSync(partial, entry);
    } catch {
      cacheWritable = false; // read-only checkout or full disk: compile every time, as before
    }
  }
  return code;
}

registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith('file:') || !url.endsWith('.tsx')) return nextLoad(url, context);
    return { format: 'module', source: compileCached(fileURLToPath(url)), shortCircuit: true };
  },
});

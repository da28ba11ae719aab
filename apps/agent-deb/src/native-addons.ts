import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { cached, cacheKey, hashTree } from './build-cache.ts';
import { elfHeader } from './elf-files.ts';
import { run } from './run-command.ts';

/** A dependency with C/C++ sources that must be compiled for the Pi, and the addon it produces. */
export type NativeAddon = {
  name: string;
  /** Where its loader looks first (better-sqlite3's binding.js, node-gyp-build, bindings). */
  binary: string;
  gypArgs: string[];
};

/**
 * The agent's native addons. better-sqlite3 and @serialport/bindings-cpp ship prebuilt binaries in
 * their tarballs, but they are compiled here like epoll (which ships none): one toolchain, Debian
 * bookworm's, against the exact Node headers the package ships, so the package's libc/libstdc++
 * Depends are computed from binaries we built.
 */
export const NATIVE_ADDONS: NativeAddon[] = [
  // force_build: its binding.gyp otherwise builds nothing when a prebuilt for the *host* exists.
  { name: 'better-sqlite3', binary: 'build/Release/better_sqlite3.node', gypArgs: ['--force_build=1'] },
  { name: '@serialport/bindings-cpp', binary: 'build/Release/bindings.node', gypArgs: [] },
  { name: 'epoll', binary: 'build/Release/epoll.node', gypArgs: [] },
];

/** What an addon's package carries only for building or for other platforms. */
const BUILD_ONLY = ['build', 'prebuilds', 'src', 'deps', 'binding.gyp'];

export class NativeAddonError extends Error {
  readonly code = 'native_addon';
}

export type CrossToolchain = { cc: string; cxx: string; strip: string; version: string };

export async function crossToolchain(): Promise<CrossToolchain> {
  const { stdout } = await run('aarch64-linux-gnu-g++', ['-dumpfullversion']);
  return {
    cc: 'aarch64-linux-gnu-gcc',
    cxx: 'aarch64-linux-gnu-g++',
    strip: 'aarch64-linux-gnu-strip',
    version: stdout.trim(),
  };
}

/** Every package below node_modules with a binding.gyp: all must be in NATIVE_ADDONS. */
async function packagesWithBindingGyp(bundleDir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    if (existsSync(join(dir, 'binding.gyp')) && existsSync(join(dir, 'package.json'))) {
      found.push(JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).name as string);
    }
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && !BUILD_ONLY.includes(entry.name)) await walk(join(dir, entry.name));
    }
  };
  await walk(join(bundleDir, 'node_modules'));
  return found;
}

/**
 * Compiles each native addon of a deployed bundle for linux-arm64 with Debian's cross toolchain
 * (`crossbuild-essential-arm64`) and node-gyp against Node's arm64 headers, strips it, and leaves only
 * the addon in the package (sources and other platforms' prebuilt binaries removed). Results are
 * cached by the addon's package contents, the Node version, the compiler version and the flags.
 */
export async function crossCompileAddons(opts: {
  bundleDir: string;
  nodeHeaders: string;
  nodeVersion: string;
  cacheDir: string;
  /** node-gyp's bin/node-gyp.js. */
  nodeGyp: string;
  log: (line: string) => void;
}): Promise<{ name: string; cached: boolean; ms: number }[]> {
  const unknown = (await packagesWithBindingGyp(opts.bundleDir)).filter(
    (name) => !NATIVE_ADDONS.some((a) => a.name === name),
  );
  if (unknown.length > 0) {
    throw new NativeAddonError(
      `native addon(s) ${unknown.join(', ')} not known to the packager: add them to NATIVE_ADDONS in native-addons.ts`,
    );
  }
  const toolchain = await crossToolchain();
  const gypPackage = join(dirname(opts.nodeGyp), '..', 'package.json');
  const gypVersion = (JSON.parse(await readFile(gypPackage, 'utf8')) as { version: string }).version;
  const results = [];
  for (const addon of NATIVE_ADDONS) {
    const pkgDir = join(opts.bundleDir, 'node_modules', addon.name);
    if (!existsSync(join(pkgDir, 'package.json'))) {
      throw new NativeAddonError(
        `${addon.name} is no longer among the agent's dependencies: remove it from NATIVE_ADDONS`,
      );
    }
    const { version } = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as {
      version: string;
    };
    const key = cacheKey([
      await hashTree(pkgDir, new Set(['build', 'prebuilds', 'node_modules'])),
      opts.nodeVersion,
      toolchain.version,
      gypVersion,
      ...addon.gypArgs,
    ]);
    const entry = join(opts.cacheDir, 'addons', `${addon.name.replace('/', '+')}-${version}-${key}.node`);
    const started = performance.now();
    const wasCached = existsSync(entry);
    await cached(entry, async (tmp) => {
      opts.log(`cross-compiling ${addon.name}@${version} for arm64 (${toolchain.cxx} ${toolchain.version})`);
      await compileAddon(pkgDir, addon, { ...opts, toolchain });
      await run(toolchain.strip, [
        '--strip-unneeded',
        '--remove-section=.comment',
        join(pkgDir, addon.binary),
        '-o',
        tmp,
      ]);
      const elf = await elfHeader(tmp);
      if (elf?.machine !== 'aarch64') {
        throw new NativeAddonError(
          `${addon.name}: the compiled addon is ${elf?.machine ?? 'not ELF'}, not aarch64`,
        );
      }
    });
    for (const name of BUILD_ONLY) await rm(join(pkgDir, name), { recursive: true, force: true });
    await mkdir(join(pkgDir, 'build/Release'), { recursive: true });
    await copyFile(entry, join(pkgDir, addon.binary));
    results.push({ name: addon.name, cached: wasCached, ms: Math.round(performance.now() - started) });
  }
  return results;
}

async function compileAddon(
  pkgDir: string,
  addon: NativeAddon,
  opts: { nodeHeaders: string; nodeGyp: string; toolchain: CrossToolchain },
): Promise<void> {
  // npm_config_nodedir wins over --nodedir in node-gyp, and env.sh points it at the x64 headers.
  const env = {
    ...process.env,
    CC: opts.toolchain.cc,
    CXX: opts.toolchain.cxx,
    npm_config_nodedir: opts.nodeHeaders,
    npm_config_arch: 'arm64',
  };
  await run(
    process.execPath,
    [
      opts.nodeGyp,
      'rebuild',
      '--release',
      '--arch=arm64',
      `--nodedir=${opts.nodeHeaders}`,
      `--jobs=${availableParallelism()}`,
      ...addon.gypArgs,
    ],
    { cwd: pkgDir, env },
  );
}

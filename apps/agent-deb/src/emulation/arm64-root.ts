import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cached, cacheKey } from '../build-cache.ts';
import { type RunResult, run } from '../run-command.ts';

const RUN_SCRIPT = fileURLToPath(new URL('./arm64-run.sh', import.meta.url));
const BINFMT = '/proc/sys/fs/binfmt_misc';

/** The Debian release and mirror of the emulated root (Raspberry Pi OS Bookworm is built on it). */
export const ROOT_SUITE = 'bookworm';
export function debianMirror(env: NodeJS.ProcessEnv = process.env): string {
  return env.CTI_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
}

/** A clean environment for commands in the root: nothing of the host's (CA paths, PATH, npm settings). */
export const ROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
};

export class EmulationError extends Error {
  readonly code = 'arm64_emulation';
}

/**
 * Makes arm64 binaries run on this x86 machine: binfmt_misc mounted (it is not at first on this kind
 * of VM) and qemu-user-static's aarch64 handler enabled, with the fix-binary flag so it works inside
 * a chroot without the emulator in it. Idempotent; needs root.
 */
export async function enableArm64Emulation(): Promise<void> {
  if (!existsSync(join(BINFMT, 'status'))) await run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
  const handler = join(BINFMT, 'qemu-aarch64');
  if (!existsSync(handler) || !readFileSync(handler, 'utf8').startsWith('enabled')) {
    await run('update-binfmts', ['--enable', 'qemu-aarch64']);
  }
  if (!existsSync(handler)) {
    throw new EmulationError(
      `no binfmt handler qemu-aarch64 after update-binfmts --enable: reinstall qemu-user-static and binfmt-support`,
    );
  }
  const flags = /^flags: (\S*)$/m.exec(readFileSync(handler, 'utf8'))?.[1] ?? '';
  if (!flags.includes('F')) {
    throw new EmulationError(
      `binfmt handler qemu-aarch64 lacks the fix-binary flag (flags: "${flags}"); reinstall qemu-user-static`,
    );
  }
}

/**
 * A minimal arm64 Debian root (mmdebstrap, Debian mirror only) with `packages` installed, as a
 * tarball in the cache keyed by suite, mirror and package list: ~2 min under emulation the first
 * time, then reused.
 */
export async function arm64RootTarball({ cacheDir, packages }: { cacheDir: string; packages: string[] }) {
  const include = [...new Set(packages)].sort();
  const mirror = debianMirror();
  const key = cacheKey([ROOT_SUITE, mirror, 'minbase', ...include]);
  const tarball = join(cacheDir, 'roots', `debian-${ROOT_SUITE}-arm64-${key}.tar`);
  await cached(tarball, async (tmp) => {
    await run('mmdebstrap', [
      '--quiet',
      '--variant=minbase',
      '--arch=arm64',
      '--format=tar',
      `--include=${include.join(',')}`,
      ROOT_SUITE,
      tmp,
      mirror,
    ]);
  });
  return tarball;
}

export type RootRunOptions = {
  env?: Record<string, string>;
  /** Host paths made visible read-only inside the root: [host path, path in the root]. */
  bindReadOnly?: [string, string][];
  allowFailure?: boolean;
  timeoutMs?: number;
};

export type Arm64Root = {
  dir: string;
  /** Runs a command inside the root under emulation and returns its output and duration. */
  run(command: string[], options?: RootRunOptions): Promise<RunResult>;
  /** Starts a long-running command inside the root (its stdout/stderr piped). */
  spawn(command: string[], options?: RootRunOptions): ChildProcess;
  remove(): Promise<void>;
};

function cleanEnv(extra: Record<string, string> = {}): string[] {
  return ['env', '-i', ...Object.entries({ ...ROOT_ENV, ...extra }).map(([k, v]) => `${k}=${v}`)];
}

function chrootArgs(dir: string, command: string[], options: RootRunOptions): string[] {
  const binds = (options.bindReadOnly ?? []).flatMap(([src, dest]) => ['--bind-ro', src, dest]);
  return [RUN_SCRIPT, '--root', dir, ...binds, ...cleanEnv(options.env), ...command];
}

/**
 * Runs an arm64 program that lives on the host's file system (e.g. an unpacked package) with the arm64
 * libraries of Debian's cross packages (libc6-arm64-cross, libstdc++6-arm64-cross): no root needed.
 */
export function runArm64OnHost(
  command: string[],
  options: { env?: Record<string, string>; ldPrefix?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const ldPrefix = options.ldPrefix ?? '/usr/aarch64-linux-gnu';
  // env -i clears what the script exported: qemu must see QEMU_LD_PREFIX in the program's environment.
  const env = cleanEnv({ QEMU_LD_PREFIX: ldPrefix, ...options.env });
  return run('sh', [RUN_SCRIPT, '--ld-prefix', ldPrefix, ...env, ...command], {
    timeoutMs: options.timeoutMs ?? 300_000,
  });
}

/** A fresh copy of the cached root in a temporary directory, removed by `remove()`. */
export async function extractArm64Root(tarball: string): Promise<Arm64Root> {
  const dir = await mkdtemp(join(tmpdir(), 'cti-arm64-root-'));
  await run('tar', ['--extract', '--numeric-owner', '--file', tarball, '--directory', dir]);
  return {
    dir,
    run: (command, options = {}) =>
      run('sh', chrootArgs(dir, command, options), {
        ...(options.allowFailure ? { allowFailure: true } : {}),
        timeoutMs: options.timeoutMs ?? 300_000,
      }),
    spawn: (command, options = {}) =>
      spawn('sh', chrootArgs(dir, command, options), { stdio: ['ignore', 'pipe', 'pipe'] }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

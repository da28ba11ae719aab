import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from '@cti/runtime';
import { deployAgent, pruneBundle, selectAgentModels } from './agent-bundle.ts';
import { cacheRoot } from './build-cache.ts';
import {
  changelog,
  controlFile,
  installedSizeKiB,
  maintainerFromEnv,
  md5sums,
  PACKAGE_NAME,
} from './deb-control.ts';
import { sharedLibraryDepends } from './deb-depends.ts';
import { checkAndStripElfFiles, normalizeModes, rewriteNodeShebangs } from './deb-files.ts';
import { CONFFILES, installFiles, LAYOUT, readJson, writeGzip } from './deb-layout.ts';
import { assertDebianVersion, debianVersion, type GitState, gitState } from './deb-version.ts';
import { BUILD_TOOLS, requireTools } from './host-tools.ts';
import { manPage } from './man-page.ts';
import { crossCompileAddons } from './native-addons.ts';
import { nodeRuntime } from './node-runtime.ts';
import { run } from './run-command.ts';

/**
 * xz -1 instead of dpkg-deb's default -6: measured on this 2-core machine (load 7), 47.6 MiB in 19 s
 * against 41.5 MiB in 142 s. Builds run in CI and on every change; 6 MiB more per Pi does not matter.
 */
export const XZ_LEVEL = 1;

/** Packages besides the shared libraries: the service user (adduser), the unit and systemd-notify, debconf. */
const DEPENDS = ['adduser', 'systemd', 'debconf (>= 0.5) | debconf-2.0'];

export type BuildOptions = {
  repoRoot: string;
  /** Directory for the .deb (created). */
  outDir: string;
  /** Debian version; default from the agent's package.json and git (see deb-version.ts). */
  version?: string;
  maintainer?: string;
  cacheDir?: string;
  /** Skip `turbo run build` (the caller has just built the agent). */
  skipTypeScriptBuild?: boolean;
  /** xz level of the package (dpkg-deb -z): 1 by default, see XZ_LEVEL. */
  xzLevel?: number;
  log?: (line: string) => void;
};

export type BuildResult = {
  deb: string;
  version: string;
  sizeBytes: number;
  installedSizeKiB: number;
  depends: string[];
  models: { name: string; version: string; file: string }[];
  addons: { name: string; cached: boolean; ms: number }[];
  /** Milliseconds per phase. */
  phases: Record<string, number>;
};

/**
 * Builds `cti-agent_<version>_arm64.deb` on an x86 machine: the TypeScript build, a production
 * deployment of @cti/agent for linux-arm64, the native addons cross-compiled, Node 24 for arm64, the
 * models the agent uses, the systemd unit, the udev rule, the conffile and the maintainer scripts.
 *
 * @example
 * const { deb } = await buildAgentDeb({ repoRoot, outDir: join(repoRoot, 'dist') });
 */
export async function buildAgentDeb(opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? (() => {});
  const phases: Record<string, number> = {};
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    log(`${name}…`);
    const result = await work();
    phases[name] = Math.round(performance.now() - started);
    return result;
  };
  requireTools(BUILD_TOOLS);
  if (opts.version) assertDebianVersion(opts.version); // before any slow work
  const cacheDir = opts.cacheDir ?? cacheRoot();
  const maintainer = opts.maintainer ?? maintainerFromEnv();
  const stage = await mkdtemp(join(tmpdir(), 'cti-agent-deb-'));
  try {
    if (!opts.skipTypeScriptBuild) {
      await phase('typescript build', () =>
        run(
          'pnpm',
          ['exec', 'turbo', 'run', 'build', '--filter=@cti/agent...', '--output-logs=errors-only'],
          {
            cwd: opts.repoRoot,
          },
        ),
      );
    }
    const agent = await readJson<{ version: string }>(join(opts.repoRoot, 'apps/agent/package.json'));
    const git = await gitState(opts.repoRoot);
    const version = opts.version ?? debianVersion(agent.version, git);
    const root = join(stage, 'root');
    const bundleDir = join(root, LAYOUT.agent);
    await mkdir(join(root, 'DEBIAN'), { recursive: true });

    await phase('deploy', () => deployAgent({ repoRoot: opts.repoRoot, outDir: bundleDir }));
    const models = await phase('prune', async () => {
      await pruneBundle(bundleDir);
      return selectAgentModels(bundleDir);
    });
    const node = await phase('node for arm64', () => nodeRuntime({ cacheDir }));
    const addons = await phase('native addons', () =>
      crossCompileAddons({
        bundleDir,
        nodeHeaders: node.headers,
        nodeVersion: node.version,
        cacheDir,
        nodeGyp: createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'),
        log,
      }),
    );
    await phase('package tree', async () => {
      await installFiles({ repoRoot: opts.repoRoot, root, nodeDir: node.dir });
      await rewriteNodeShebangs(bundleDir, `/${LAYOUT.node}/bin/node`);
      await writeChangelogAndManPage({
        repoRoot: opts.repoRoot,
        root,
        version,
        maintainer,
        git,
        node,
        models,
      });
    });
    const elves = await phase('strip and check binaries', () => checkAndStripElfFiles(root));
    const depends = [...sharedLibraryDepends(elves), ...DEPENDS];
    await normalizeModes(root, new Set(elves.filter((e) => e.executable).map((e) => e.path)));
    const installedSize = await installedSizeKiB(root);
    const control = {
      version,
      maintainer,
      installedSizeKiB: installedSize,
      depends,
      nodeVersion: node.version,
      models,
    };
    await writeFile(join(root, 'DEBIAN/control'), controlFile(control));
    await writeFile(join(root, 'DEBIAN/md5sums'), await md5sums(root, CONFFILES));

    await makeDirectory(opts.outDir);
    const deb = join(opts.outDir, `${PACKAGE_NAME}_${version}_arm64.deb`);
    await phase('dpkg-deb', () =>
      run('dpkg-deb', ['--build', '--root-owner-group', '-Zxz', `-z${opts.xzLevel ?? XZ_LEVEL}`, root, deb], {
        env: {
          ...process.env,
          // Timestamps in the package come from the commit, not from when it was built.
          ...(git ? { SOURCE_DATE_EPOCH: String(Math.floor(git.commitTime.getTime() / 1000)) } : {}),
        },
      }),
    );
    return {
      deb,
      version,
      sizeBytes: (await stat(deb)).size,
      installedSizeKiB: installedSize,
      depends,
      models,
      addons,
      phases,
    };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** The Debian changelog (one entry: commit, Node, models) and cti-agent(1) from the agent's --help. */
async function writeChangelogAndManPage(f: {
  repoRoot: string;
  root: string;
  version: string;
  maintainer: string;
  git: GitState | null;
  node: { version: string };
  models: { name: string; version: string }[];
}): Promise<void> {
  const date = f.git?.commitTime ?? new Date();
  const items = [
    f.git ? `Built from commit ${f.git.sha}.` : 'Built from a source tree without git.',
    ...(f.git?.dirty ? ['The tree had uncommitted changes.'] : []),
    `Node.js ${f.node.version} for arm64; ${f.models.map((m) => `${m.name} ${m.version}`).join(', ')}.`,
  ];
  const entry = changelog({ version: f.version, maintainer: f.maintainer, date, items });
  await writeGzip(join(f.root, LAYOUT.doc, 'changelog.gz'), entry);
  const usage = await run(process.execPath, [join(f.repoRoot, 'apps/agent/dist/cli.js'), '--help']);
  await writeGzip(join(f.root, LAYOUT.manPage), manPage({ usage: usage.stdout, version: f.version, date }));
}

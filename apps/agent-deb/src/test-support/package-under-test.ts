import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildResult, buildAgentDeb } from '../build-agent-deb.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The reference scan both architectures' hints run on (read in place, never copied into the repo). */
export const REFERENCE_SCAN = fileURLToPath(
  new URL('../../../../../shared/reference-scans/hzau-201615.png', import.meta.url),
);

/**
 * Builds the package into a temporary directory the way `pnpm package:agent` does, except the
 * TypeScript build: turbo runs this package's tests after building its dependencies (@cti/agent…).
 * The slow parts come from the build cache ($CTI_CACHE_DIR) when a previous run made them.
 */
export async function buildPackageUnderTest(log: (line: string) => void = () => {}) {
  const outDir = await mkdtemp(join(tmpdir(), 'cti-agent-deb-test-'));
  const started = performance.now();
  const build: BuildResult = await buildAgentDeb({
    repoRoot: REPO_ROOT,
    outDir,
    skipTypeScriptBuild: true,
    log,
  });
  return {
    ...build,
    outDir,
    buildMs: Math.round(performance.now() - started),
    remove: () => rm(outDir, { recursive: true, force: true }),
  };
}

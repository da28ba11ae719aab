import { run } from './run-command.ts';

export type GitState = { sha: string; commitTime: Date; dirty: boolean };

/** Debian's grammar for a native package's version (no revision, so no hyphen; no epoch). */
const DEBIAN_VERSION = /^[0-9][A-Za-z0-9.+~]*$/;

export class VersionError extends Error {
  readonly code = 'invalid_version';
}

export function assertDebianVersion(version: string): string {
  if (!DEBIAN_VERSION.test(version)) {
    throw new VersionError(
      `"${version}" is not a Debian version for this package: digits first, then letters, digits, . + ~ (no hyphen)`,
    );
  }
  return version;
}

/**
 * `<agent version>+git<commit time UTC>.<short sha>`, e.g. `0.1.0+git20261205T025925.a99a3a2`: later
 * commits sort higher (apt upgrades to them); a build with uncommitted changes gets `~dirty`, which
 * sorts just below the clean build of the same commit. Without git, the agent version alone.
 */
export function debianVersion(agentVersion: string, git: GitState | null): string {
  if (!git) return assertDebianVersion(agentVersion);
  const stamp = git.commitTime
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  return assertDebianVersion(
    `${agentVersion}+git${stamp}.${git.sha.slice(0, 7)}${git.dirty ? '~dirty' : ''}`,
  );
}

/** The checkout's HEAD, its commit time and whether tracked files differ from it; null outside git. */
export async function gitState(repoRoot: string): Promise<GitState | null> {
  // No git on this machine, or not a checkout: the version is the agent's alone.
  const head = await run('git', ['-C', repoRoot, 'log', '-1', '--format=%H %ct'], {
    allowFailure: true,
  }).catch(() => null);
  if (head?.code !== 0) return null;
  const [sha, seconds] = head.stdout.trim().split(' ');
  const status = await run('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']);
  return { sha: sha!, commitTime: new Date(Number(seconds) * 1000), dirty: status.stdout.trim() !== '' };
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertDebianVersion, debianVersion, gitState } from './deb-version.ts';
import { run } from './run-command.ts';
import { REPO_ROOT } from './test-support/package-under-test.ts';

/** dpkg's own ordering, the one apt upgrades by. */
async function dpkgGreater(a: string, b: string): Promise<boolean> {
  return (await run('dpkg', ['--compare-versions', a, 'gt', b], { allowFailure: true })).code === 0;
}

const commit = (iso: string, sha: string, dirty = false) => ({ sha, commitTime: new Date(iso), dirty });

describe('Debian version of the package', () => {
  test('agent version + commit time (UTC) + short sha', () => {
    assert.equal(
      debianVersion('0.1.0', commit('2026-12-05T02:59:25Z', 'a99a3a2b3c4d5e6f')),
      '0.1.0+git20261205T025925.a99a3a2',
    );
    assert.equal(debianVersion('0.1.0', null), '0.1.0');
  });

  test('dpkg orders builds by commit time, and a dirty build just below the clean one', async () => {
    const first = debianVersion('0.1.0', commit('2026-12-05T02:59:25Z', 'ffffff1'));
    const later = debianVersion('0.1.0', commit('2026-12-05T12:00:00Z', '0000002'));
    const nextDay = debianVersion('0.1.0', commit('2026-12-06T00:00:01Z', '0000003'));
    const laterDirty = debianVersion('0.1.0', commit('2026-12-05T12:00:00Z', '0000002', true));
    assert.ok(await dpkgGreater(later, first));
    assert.ok(await dpkgGreater(nextDay, later));
    assert.ok(await dpkgGreater(later, laterDirty));
    assert.ok(await dpkgGreater(laterDirty, first));
    assert.ok(await dpkgGreater(debianVersion('0.2.0', commit('2026-01-01T00:00:00Z', 'aaaaaaa')), nextDay));
  });

  test('a version Debian would not accept is refused with the rule', () => {
    for (const bad of ['v0.1.0', '0.1.0-1', '0.1 0', '', '1:0.1.0']) {
      assert.throws(() => assertDebianVersion(bad), /is not a Debian version for this package/, bad);
    }
    assert.equal(
      assertDebianVersion('0.1.0+git20261205T025925.a99a3a2~dirty'),
      '0.1.0+git20261205T025925.a99a3a2~dirty',
    );
  });

  test('gitState reads this checkout; outside git it is null', async () => {
    const state = await gitState(REPO_ROOT);
    assert.match(state!.sha, /^[0-9a-f]{40}$/);
    assert.ok(state!.commitTime.getTime() > Date.UTC(2020, 0, 1));
    assert.equal(await gitState('/'), null);
  });
});

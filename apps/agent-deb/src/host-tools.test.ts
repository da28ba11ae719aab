import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MissingToolsError, onPath, requireTools } from './host-tools.ts';

describe('host tools', () => {
  test('found on PATH or reported all at once with the package to install', () => {
    assert.ok(onPath('sh'));
    assert.equal(onPath('sh', '/nonexistent'), false);
    requireTools([{ command: 'sh', apt: 'dash' }]);
    assert.throws(
      () =>
        requireTools([
          { command: 'cti-no-such-tool-a', apt: 'pkg-a' },
          { command: 'sh', apt: 'dash' },
          { command: 'cti-no-such-tool-b', apt: 'pkg-b' },
        ]),
      (err: Error) =>
        err instanceof MissingToolsError &&
        err.message ===
          'missing host tools: cti-no-such-tool-a (apt-get install pkg-a), cti-no-such-tool-b (apt-get install pkg-b). Fix: bash scripts/setup.sh installs them all.',
    );
  });
});

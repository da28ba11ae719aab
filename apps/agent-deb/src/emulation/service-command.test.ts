import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../test-support/package-under-test.ts';
import { parseEnvironmentFile, parseServiceUnit, UnitParseError } from './service-command.ts';

describe('the service command of a systemd unit', () => {
  test('infra/systemd/cti-agent.service runs the packaged Node and cli.js as cti, telemetry off', () => {
    const unit = parseServiceUnit(readFileSync(join(REPO_ROOT, 'infra/systemd/cti-agent.service'), 'utf8'));
    assert.equal(unit.argv[0], '/opt/cti/node/bin/node');
    assert.deepEqual(unit.argv.slice(-4), [
      '/opt/cti/agent/dist/cli.js',
      '--config',
      '/etc/cti/agent.json',
      'run',
    ]);
    assert.equal(unit.user, 'cti');
    assert.deepEqual(unit.envFiles, ['/etc/cti/agent.env']);
    assert.equal(unit.env.ORT_DISABLE_TELEMETRY, '1');
    assert.equal(unit.env.MALLOC_ARENA_MAX, '2');
    assert.equal(unit.env.NODE_ENV, 'production');
  });

  test('only the [Service] section counts; quoting is refused rather than guessed', () => {
    const unit = parseServiceUnit(
      '[Unit]\nEnvironment=A=unit\n[Service]\nExecStart=/bin/x -y\n[Install]\nUser=no\n',
    );
    assert.deepEqual(unit, { argv: ['/bin/x', '-y'], env: {}, envFiles: [], user: null });
    assert.throws(
      () => parseServiceUnit('[Service]\nExecStart=/bin/x\nEnvironment="A=b c"\n'),
      UnitParseError,
    );
    assert.throws(
      () => parseServiceUnit('[Service]\nExecStart=/a\nExecStart=/b\n'),
      /expected one ExecStart=/,
    );
    assert.throws(() => parseServiceUnit('[Unit]\n'), /no \[Service\] section/);
  });

  test('environment files: KEY=VALUE lines, comments and blanks skipped', () => {
    assert.deepEqual(
      parseEnvironmentFile('# secrets\n\nAWS_ACCESS_KEY_ID=abc\n;x\n S3_ENDPOINT = http://h:1 \n#X=1\n'),
      {
        AWS_ACCESS_KEY_ID: 'abc',
        S3_ENDPOINT: 'http://h:1',
      },
    );
  });
});

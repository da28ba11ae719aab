// The CLI as an operator runs it on a Pi (review r22 F7, F16): it reads /etc/cti/agent.env (here
// CTI_AGENT_ENV_FILE) as the service gets it from the unit's EnvironmentFile=, and, run as the login
// user instead of root, says to use sudo instead of reporting files that exist as missing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LocalS3, startS3rver } from '@cti/testkit';
import { createOutbox } from './outbox/outbox.ts';
import { fakeCapture } from './test-support/outbox-fixtures.ts';
import { runAgentCli } from './test-support/run-cli.ts';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
let dir: string;
let s3: LocalS3;
let config: string;
let envFile: string;
/** The environment of a login shell: no AWS keys, no overrides; agent.env from the test's file. */
let loginEnv: NodeJS.ProcessEnv;

before(async () => {
  s3 = await startS3rver({ buckets: ['cti-env'] });
  dir = mkdtempSync(join(tmpdir(), 'cti-agent-env-'));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o750 }); // as the package makes /var/lib/cti: 0750, the service's
  const outbox = createOutbox({ dbPath: join(dataDir, 'outbox.db'), spoolDir: join(dataDir, 'spool') });
  await outbox.commitCapture(fakeCapture(1, { deviceCode: 'dev-0001' }));
  outbox.close();
  config = join(dir, 'agent.json');
  // The file's own upload settings point nowhere: only agent.env's overrides reach the store.
  writeFileSync(
    config,
    JSON.stringify({
      device_code: 'dev-0001',
      data_dir: dataDir,
      source: { kind: 'simulated', pattern: 'synthetic' },
      hint: { enabled: false },
      upload: { bucket: 'not-this-bucket', endpoint: 'http://127.0.0.1:9', region: 'eu-west-1' },
      outbox: { min_free_mb: 1 },
      http: { host: '127.0.0.1', port: 1 },
    }),
  );
  chmodSync(config, 0o644);
  envFile = join(dir, 'agent.env');
  // As an operator fills in the package's skeleton: comments, quotes, blank lines, spaces.
  writeFileSync(
    envFile,
    [
      '# S3 credentials of this Pi',
      'AWS_ACCESS_KEY_ID="S3RVER"',
      "AWS_SECRET_ACCESS_KEY='S3RVER'",
      '',
      '; overrides of /etc/cti/agent.json',
      `S3_ENDPOINT = ${s3.endpoint}   `,
      'CTI_S3_BUCKET=elsewhere # a "#" after a value is part of it for systemd; the later line wins',
      'CTI_S3_BUCKET=cti-env',
      'AWS_REGION=us-east-1',
      '',
    ].join('\n'),
  );
  chmodSync(envFile, 0o640); // root:cti on a Pi
  loginEnv = { PATH: process.env.PATH, HOME: dir, CTI_AGENT_ENV_FILE: envFile };
});

after(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cti-agent doctor reads agent.env as the service does', () => {
  test('the credentials and overrides in agent.env reach the S3 check; the caller’s own variables win', {
    timeout: 90_000,
  }, async () => {
    const doctor = await runAgentCli(['--config', config, 'doctor'], { env: loginEnv });
    assert.match(
      doctor.stdout,
      /\[ OK \] agent\.env\s+\S+agent\.env read as the service reads it: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_ENDPOINT, CTI_S3_BUCKET, AWS_REGION\n/,
    );
    assert.match(doctor.stdout, /\[ OK \] s3\s+bucket cti-env reachable with the current credentials/);
    assert.doesNotMatch(doctor.stdout, /S3RVER/, 'names only, never values');

    const own = await runAgentCli(['--config', config, 'doctor'], {
      env: { ...loginEnv, CTI_S3_BUCKET: 'cti-other' },
    });
    assert.match(
      own.stdout,
      /agent\.env read as the service reads it: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_ENDPOINT, AWS_REGION\n/,
    );
    assert.match(own.stdout, /\[FAIL\] s3 .*HTTP 404.*\n\s+fix: bucket cti-other does not exist/);

    // CTI_AGENT_ENV_FILE empty: no file read, as before.
    const none = await runAgentCli(['--config', config, 'doctor'], {
      env: { ...loginEnv, CTI_AGENT_ENV_FILE: '' },
    });
    assert.match(none.stdout, /\[ OK \] agent\.env\s+not read \(CTI_AGENT_ENV_FILE is empty\)/);
    assert.match(none.stdout, /\[FAIL\] s3 /);
  });
});

/** Root here (the tmpfs tests need it too): the login user is played by `nobody` through setpriv. */
const asLoginUserSkip = process.getuid?.() !== 0 && 'needs root to run the CLI as another user';

/**
 * `cti-agent …` as uid/gid 65534 (nobody), as `pi` runs it on a Pi. The Node binary may sit where
 * nobody cannot reach it (~root/.cache): a hard link (or copy) of it in the test directory is run.
 */
function runAsLoginUser(args: string[]) {
  const node = join(dir, 'node');
  try {
    linkSync(process.execPath, node);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      // made by an earlier call
    } else copyFileSync(process.execPath, node);
  }
  chmodSync(node, 0o755);
  const argv = ['--reuid=65534', '--regid=65534', '--clear-groups', '--', node, cli, ...args];
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile('setpriv', argv, { env: loginEnv, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('the CLI as the login user (no sudo)', { skip: asLoginUserSkip }, () => {
  test('outbox list: "run it with sudo", retry: as the service user; not "does not exist"', {
    timeout: 60_000,
  }, async () => {
    const list = await runAsLoginUser(['--config', config, 'outbox', 'list']);
    assert.equal(list.code, 1, list.stderr);
    assert.match(
      list.stderr,
      /^cti-agent: outbox database \S+\/data\/outbox\.db cannot be read as nobody \(EACCES\): \S+\/data is the service's\. Fix: run it with sudo/,
    );
    assert.doesNotMatch(list.stderr, /does not exist/);
    const retry = await runAsLoginUser(['--config', config, 'outbox', 'retry']);
    assert.equal(retry.code, 1, retry.stderr);
    assert.match(
      retry.stderr,
      /cannot be read as nobody \(EACCES\).*\. Fix: run it as the service user: sudo -u cti cti-agent …\n$/,
    );
  });

  test('doctor: says whom it checks as, that agent.env needs sudo, and no false data-dir failure', {
    timeout: 90_000,
  }, async () => {
    const doctor = await runAsLoginUser(['--config', config, 'doctor']);
    assert.match(
      doctor.stdout,
      /\[WARN\] user\s+checking as nobody, not as root: .*\n\s+fix: sudo cti-agent doctor/,
    );
    assert.match(
      doctor.stdout,
      /\[FAIL\] agent\.env\s+cannot read \S+agent\.env as nobody: run it with sudo/,
    );
    assert.match(
      doctor.stdout,
      /\[FAIL\] s3 .*\n\s+fix: cannot read \S+agent\.env as nobody: run it with sudo/,
    );
    assert.match(
      doctor.stdout,
      /\[WARN\] data dir\s+\S+\/data is not writable by nobody, who runs this check \(EACCES\): not checked for the service's user\n\s+fix: run `sudo cti-agent doctor`/,
    );
    assert.doesNotMatch(doctor.stdout, /not writable by the agent's user/);
  });
});

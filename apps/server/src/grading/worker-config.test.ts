import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_MODELS_DIR as BUNDLED_MODELS } from '@cti/models';
import { ConfigError } from '../config-parsers.ts';
import { SOURCE_NODE_ARGS } from '../test-helpers.ts';
import { loadWorkerConfig } from './worker-config.ts';

const minimal = {
  DATABASE_URL: 'postgres://cti:cti@db:5432/cti',
  CTI_S3_BUCKETS: 'cti-dev-406214277746',
  S3_ENDPOINT: 'http://minio:9000',
};

test('defaults: two jobs at a time, 60 s lease, 5 attempts, the committed models, S3 settings shared with the server', () => {
  const c = loadWorkerConfig(minimal);
  assert.equal(c.concurrency, 2);
  assert.equal(c.leaseSeconds, 60);
  assert.equal(c.maxAttempts, 5);
  assert.equal(c.modelsDir, undefined);
  assert.equal(c.port, 9464);
  assert.equal(c.dbPoolMax, 5, 'concurrency + 3: slots, the LISTEN connection, heartbeats');
  assert.deepEqual(c.s3, { endpoint: 'http://minio:9000', region: 'us-east-1', forcePathStyle: true });
  assert.match(c.workerId, /:\d+$/);
  assert.equal(c.dbReplyTimeoutSeconds, 30, 'half the lease, at most 30 s');
  assert.equal(c.listenWatchdogMs, 30_000);
});

test('CTI_DB_REPLY_TIMEOUT_S: half a short lease by default, 0 turns it off, never as long as the lease', () => {
  assert.equal(loadWorkerConfig({ ...minimal, CTI_GRADING_LEASE_S: '10' }).dbReplyTimeoutSeconds, 5);
  assert.equal(
    loadWorkerConfig({ ...minimal, CTI_DB_REPLY_TIMEOUT_S: '0' }).dbReplyTimeoutSeconds,
    undefined,
  );
  assert.equal(loadWorkerConfig({ ...minimal, CTI_DB_REPLY_TIMEOUT_S: '59' }).dbReplyTimeoutSeconds, 59);
  assert.throws(
    () => loadWorkerConfig({ ...minimal, CTI_DB_REPLY_TIMEOUT_S: '60' }),
    /CTI_DB_REPLY_TIMEOUT_S must be shorter than CTI_GRADING_LEASE_S \(60 s\), or 0 for off \(got 60\)/,
  );
});

test('CTI_GRADING_RETRY_CAP_MS under half of CTI_GRADING_RETRY_BASE_MS is refused, naming both (the first delay is never under half the base)', () => {
  assert.equal(
    loadWorkerConfig({ ...minimal, CTI_GRADING_RETRY_BASE_MS: '2000', CTI_GRADING_RETRY_CAP_MS: '1000' })
      .retryCapMs,
    1000,
  );
  assert.throws(
    () =>
      loadWorkerConfig({ ...minimal, CTI_GRADING_RETRY_BASE_MS: '2000', CTI_GRADING_RETRY_CAP_MS: '999' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.setting === 'CTI_GRADING_RETRY_CAP_MS' &&
      /^CTI_GRADING_RETRY_CAP_MS must be at least half of CTI_GRADING_RETRY_BASE_MS \(2000 ms\): got 999/.test(
        err.message,
      ),
  );
});

test('CTI_GRADING_OUTAGE_ALLOWANCE_S: 6 h by default, whole seconds from 1 s to 7 days', () => {
  assert.equal(loadWorkerConfig(minimal).outageAllowanceSeconds, 21_600);
  assert.equal(
    loadWorkerConfig({ ...minimal, CTI_GRADING_OUTAGE_ALLOWANCE_S: '30' }).outageAllowanceSeconds,
    30,
  );
  for (const bad of ['0', '604801', '1.5', 'forever'])
    assert.throws(
      () => loadWorkerConfig({ ...minimal, CTI_GRADING_OUTAGE_ALLOWANCE_S: bad }),
      (err: unknown) => err instanceof ConfigError && err.setting === 'CTI_GRADING_OUTAGE_ALLOWANCE_S',
      bad,
    );
});

test('bad settings are named', () => {
  const cases: [Record<string, string | undefined>, string][] = [
    [{ DATABASE_URL: undefined }, 'DATABASE_URL'],
    [{ CTI_S3_BUCKETS: 'Not_A_Bucket' }, 'CTI_S3_BUCKETS'],
    [{ S3_ENDPOINT: undefined }, 'AWS_REGION'],
    [{ S3_ENDPOINT: 'ftp://x' }, 'S3_ENDPOINT'],
    [{ CTI_WORKER_CONCURRENCY: '0' }, 'CTI_WORKER_CONCURRENCY'],
    [{ CTI_GRADING_LEASE_S: '1' }, 'CTI_GRADING_LEASE_S'],
    [{ CTI_GRADING_MAX_ATTEMPTS: 'five' }, 'CTI_GRADING_MAX_ATTEMPTS'],
    [{ CTI_WORKER_PORT: '70000' }, 'CTI_WORKER_PORT'],
    [{ CTI_DB_REPLY_TIMEOUT_S: '-1' }, 'CTI_DB_REPLY_TIMEOUT_S'],
    [{ CTI_WORKER_LISTEN_WATCHDOG_MS: '99' }, 'CTI_WORKER_LISTEN_WATCHDOG_MS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ];
  for (const [overrides, setting] of cases) {
    assert.throws(
      () => loadWorkerConfig({ ...minimal, ...overrides }),
      (err: unknown) => err instanceof ConfigError && err.setting === setting,
      setting,
    );
  }
});

test('cti-server worker exits 78 naming the setting, and names CTI_MODELS_DIR when it holds no models', () => {
  const main = new URL('../main.ts', import.meta.url).pathname;
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [...SOURCE_NODE_ARGS, main, 'worker'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
    });
  const missing = run({ CTI_S3_BUCKETS: 'cti-dev-406214277746', S3_ENDPOINT: 'http://127.0.0.1:1' });
  assert.equal(missing.status, 78);
  assert.match(missing.stderr, /DATABASE_URL is not set/);
  const noModels = run({ ...minimal, CTI_MODELS_DIR: '/nonexistent/models' });
  assert.equal(noModels.status, 78);
  assert.match(
    noModels.stderr,
    /CTI_MODELS_DIR has no usable ribeye models: cannot read model card \/nonexistent\/models/,
  );
  // A models directory without the view card would grade wrong views M, not R: refused too.
  const noView = mkdtempSync(join(tmpdir(), 'cti-models-noview-'));
  try {
    for (const f of readdirSync(BUNDLED_MODELS)) {
      if (!f.startsWith('ribeye-view.')) copyFileSync(join(BUNDLED_MODELS, f), join(noView, f));
    }
    const withoutView = run({ ...minimal, CTI_MODELS_DIR: noView });
    assert.equal(withoutView.status, 78, withoutView.stderr);
    assert.match(withoutView.stderr, /CTI_MODELS_DIR has no usable ribeye models: .*ribeye-view\.card\.json/);
  } finally {
    rmSync(noView, { recursive: true, force: true });
  }
});

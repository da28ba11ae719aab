import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, resolveConfig } from './agent-config.ts';

const minimal = {
  device_code: 'dev-0001',
  source: { kind: 'serial', path: '/dev/cti-probe' },
  upload: { bucket: 'cti-dev' },
};

test('defaults are applied and derived paths live in data_dir', () => {
  const c = resolveConfig(minimal);
  assert.equal(c.dataDir, '/var/lib/cti');
  assert.deepEqual(c.paths, {
    outboxDb: '/var/lib/cti/outbox.db',
    spoolDir: '/var/lib/cti/spool',
    runtimeFile: '/var/lib/cti/agent-http.json',
  });
  assert.deepEqual(c.source, {
    kind: 'serial',
    path: '/dev/cti-probe',
    baudRate: 115200,
    reconnectCapMs: 5000,
  });
  assert.deepEqual(c.trigger, { kind: 'none' });
  assert.equal(c.capture.format, 'png');
  assert.equal(c.capture.ringMs, 2000);
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 8787 });
  assert.equal(c.upload.endpoint, null);
  assert.equal(c.upload.forcePathStyle, false);
  assert.equal(c.outbox.minFreeBytes, 200 * 1024 * 1024);
  assert.equal(c.outbox.retentionDays, 7);
  assert.equal(c.upload.concurrency, 2);
  assert.equal(c.upload.multipartThresholdBytes, 16 * 1024 * 1024);
});

test("upload and outbox keys: multipart threshold in MiB (at least S3's 5 MiB part), retention null keeps", () => {
  const c = resolveConfig({
    ...minimal,
    upload: { bucket: 'cti-dev', concurrency: 4, multipart_threshold_mb: 64 },
    outbox: { retention_days: null, min_free_mb: 500 },
  });
  assert.equal(c.upload.concurrency, 4);
  assert.equal(c.upload.multipartThresholdBytes, 64 * 1024 * 1024);
  assert.equal(c.outbox.retentionDays, null);
  assert.equal(c.outbox.minFreeBytes, 500 * 1024 * 1024);
  assert.throws(
    () => resolveConfig({ ...minimal, upload: { bucket: 'cti-dev', multipart_threshold_mb: 1 } }),
    (e: unknown) => e instanceof ConfigError && /\/upload\/multipart_threshold_mb/.test(e.message),
  );
  assert.throws(
    () => resolveConfig({ ...minimal, outbox: { retention_days: -1 } }),
    (e: unknown) => e instanceof ConfigError && /\/outbox\/retention_days/.test(e.message),
  );
});

test('environment overrides for deployment secrets and endpoints win over the file', () => {
  const c = resolveConfig(minimal, {
    CTI_S3_BUCKET: 'other-bucket',
    S3_ENDPOINT: 'http://127.0.0.1:9000',
    AWS_REGION: 'us-east-1',
    CTI_OPERATOR_ID: 'tech-env',
  });
  assert.equal(c.upload.bucket, 'other-bucket');
  assert.equal(c.upload.endpoint, 'http://127.0.0.1:9000');
  assert.equal(c.upload.forcePathStyle, true, 'S3-compatible endpoints use path-style');
  assert.equal(c.upload.region, 'us-east-1');
  assert.equal(c.operatorId, 'tech-env');
});

test('gpio trigger defaults: active-low, 30 ms debounce, 1.5 s lockout, 3 s long press', () => {
  const c = resolveConfig({ ...minimal, trigger: { kind: 'gpio', bcm: 17 } });
  assert.deepEqual(c.trigger, {
    kind: 'gpio',
    bcm: 17,
    activeLow: true,
    debounceMs: 30,
    lockoutMs: 1500,
    longPressMs: 3000,
    mode: 'auto',
  });
});

test('a farm_id that is not a uuid is refused with its pointer', () => {
  assert.throws(
    () => resolveConfig({ ...minimal, farm_id: 'north-barn' }),
    (e: unknown) => e instanceof ConfigError && /\/farm_id: must be a farm uuid/.test(e.message),
  );
});

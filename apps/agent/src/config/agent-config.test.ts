import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, resolveConfig } from './agent-config.ts';

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

test('an S3 endpoint without a scheme in the file is refused naming the setting (review r20 F4)', () => {
  for (const endpoint of ['localhost:8722', 'minio.local:9000', 'http://']) {
    assert.throws(
      () => resolveConfig({ ...minimal, upload: { bucket: 'cti-dev', endpoint } }, {}, '/etc/cti/agent.json'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes('/upload/endpoint: must be an http(s) URL, e.g. http://minio.local:9000'),
      endpoint,
    );
  }
  const ok = resolveConfig({
    ...minimal,
    upload: { bucket: 'cti-dev', endpoint: 'https://s3.example:443/' },
  });
  assert.equal(ok.upload.endpoint, 'https://s3.example:443/');
});

test('an empty S3 override (an uncommented `CTI_S3_BUCKET=` skeleton line) is unset, not ""', () => {
  const file = {
    ...minimal,
    upload: { bucket: 'cti-dev', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000' },
  };
  const c = resolveConfig(file, { CTI_S3_BUCKET: '', AWS_REGION: '', S3_ENDPOINT: '' });
  assert.equal(c.upload.bucket, 'cti-dev');
  assert.equal(c.upload.region, 'eu-west-1');
  assert.equal(c.upload.endpoint, 'http://127.0.0.1:9000');
  assert.equal(c.upload.forcePathStyle, true);
  const bare = resolveConfig(minimal, { AWS_REGION: '', S3_ENDPOINT: '' });
  assert.equal(bare.upload.region, 'ca-central-1');
  assert.equal(bare.upload.endpoint, null);
  assert.equal(bare.upload.forcePathStyle, false);
});

test('a bad S3 override fails the schema check like the file would, naming the variable', () => {
  for (const [name, value, message] of [
    ['CTI_S3_BUCKET', 'My_Bucket', 'must be an S3 bucket name'],
    ['CTI_S3_BUCKET', 'x', 'must be an S3 bucket name'],
    ['S3_ENDPOINT', 'not a url', 'must be an http(s) URL, e.g. http://minio.local:9000'],
    // A host and port without a scheme is a valid URI (scheme `minio`): every upload failed locally.
    ['S3_ENDPOINT', 'minio:9000', 'must be an http(s) URL, e.g. http://minio.local:9000'],
    ['S3_ENDPOINT', 'ftp://minio:9000', 'must be an http(s) URL, e.g. http://minio.local:9000'],
  ] as const) {
    assert.throws(
      () => resolveConfig(minimal, { [name]: value }, '/etc/cti/agent.json'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(`${name}: ${message} (overrides /upload/`) &&
        !/^\s+\/upload\//m.test(e.message),
      `${name}=${value}`,
    );
  }
  // File problems and override problems are reported together, each under its own name.
  assert.throws(
    () => resolveConfig({ ...minimal, farm_id: 'north-barn' }, { S3_ENDPOINT: 'not a url' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /\/farm_id: must be a farm uuid/.test(e.message) &&
      /S3_ENDPOINT: must be an http\(s\) URL/.test(e.message),
  );
});

test('upload.region and AWS_REGION must be a region name; the error names the key and the value', () => {
  for (const region of ['ca-central-1', 'us-east-1', 'default', 'garage', 'auto', 'EU-Central-1']) {
    assert.equal(resolveConfig(minimal, { AWS_REGION: region }).upload.region, region);
    const file = { ...minimal, upload: { bucket: 'cti-dev', region } };
    assert.equal(resolveConfig(file).upload.region, region);
  }
  for (const region of [
    ' ',
    'us east 1',
    'ca-central-1 ',
    'ca-central-1\n',
    'eu\u0000west',
    '-east',
    'a/b',
    'x'.repeat(64),
  ]) {
    assert.throws(
      () => resolveConfig(minimal, { AWS_REGION: region }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(`AWS_REGION: must be an S3 region name`) &&
        e.message.includes(`got ${JSON.stringify(region)}`),
      `AWS_REGION=${JSON.stringify(region)}`,
    );
    assert.throws(
      () => resolveConfig({ ...minimal, upload: { bucket: 'cti-dev', region } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(`/upload/region: must be an S3 region name`) &&
        e.message.includes(`got ${JSON.stringify(region)}`),
      `upload.region=${JSON.stringify(region)}`,
    );
  }
});

test('CTI_OPERATOR_ID empty is unset; over 128 characters is refused at start, not at every capture', () => {
  const file = { ...minimal, operator_id: 'tech-file' };
  assert.equal(resolveConfig(file, { CTI_OPERATOR_ID: '' }).operatorId, 'tech-file');
  assert.equal(resolveConfig(minimal, { CTI_OPERATOR_ID: '' }).operatorId, null);
  assert.equal(resolveConfig(minimal, { CTI_OPERATOR_ID: 'é'.repeat(128) }).operatorId, 'é'.repeat(128));
  assert.throws(
    () => resolveConfig(minimal, { CTI_OPERATOR_ID: 'x'.repeat(129) }),
    (e: unknown) => e instanceof ConfigError && /CTI_OPERATOR_ID is 129 characters/.test(e.message),
  );
});

test("LOG_LEVEL: one of the server's levels (blank is info); anything else is listed with the file's problems (review r3 F9)", () => {
  assert.equal(resolveConfig(minimal, {}).logLevel, 'info');
  assert.equal(resolveConfig(minimal, { LOG_LEVEL: 'debug' }).logLevel, 'debug');
  assert.equal(resolveConfig(minimal, { LOG_LEVEL: ' ' }).logLevel, 'info');
  assert.throws(
    () => resolveConfig(minimal, { LOG_LEVEL: 'verbose' }, 'agent.json'),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        'invalid agent config agent.json with its environment:\n  LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
  );
  assert.throws(
    () => resolveConfig({ ...minimal, device_code: 'Bad Code' }, { LOG_LEVEL: 'INFO' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /\/device_code: must be a device code[\s\S]*\n {2}LOG_LEVEL: must be one of .*, got "INFO"$/.test(
        e.message,
      ),
  );
});

test('an operator id of only spaces is unset in CTI_OPERATOR_ID and refused in the file, naming the key', () => {
  const file = { ...minimal, operator_id: 'tech-file' };
  assert.equal(resolveConfig(file, { CTI_OPERATOR_ID: '   ' }).operatorId, 'tech-file');
  assert.equal(resolveConfig(minimal, { CTI_OPERATOR_ID: ' \t ' }).operatorId, null);
  for (const blank of [' ', '   ', '\t\n']) {
    assert.throws(
      () => resolveConfig({ ...minimal, operator_id: blank }, {}, '/etc/cti/agent.json'),
      (e: unknown) => e instanceof ConfigError && /\/operator_id: must be an operator id/.test(e.message),
      JSON.stringify(blank),
    );
  }
  assert.equal(resolveConfig({ ...minimal, operator_id: 'Tech 7' }).operatorId, 'Tech 7');
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

test('path settings must be absolute: a relative data_dir would land in the working directory (review r20 F8)', () => {
  const relative = {
    ...minimal,
    data_dir: 'relative/dir',
    source: { kind: 'folder', dir: 'exports' },
    sysfs_root: 'sys',
    gps: { kind: 'nmea', path: 'ttyGPS' },
    hint: { model_path: 'ribeye-view.card.json' },
    heartbeat: { server_url: 'https://cti.example', secret_file: 'device-secret' },
    eid_reader: { path: 'ttyEID' },
  };
  assert.throws(
    () => resolveConfig(relative, {}, '/etc/cti/agent.json'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      for (const pointer of [
        '/data_dir',
        '/source/dir',
        '/sysfs_root',
        '/gps/path',
        '/hint/model_path',
        '/heartbeat/secret_file',
        '/eid_reader/path',
      ])
        assert.match(
          e.message,
          new RegExp(`${pointer}: must be an absolute path \\(starting with /\\)`),
          pointer,
        );
      return true;
    },
  );
  assert.equal(resolveConfig({ ...minimal, data_dir: '/mnt/ssd/cti' }).paths.spoolDir, '/mnt/ssd/cti/spool');
});

test('a farm_id that is not a uuid is refused with its pointer', () => {
  assert.throws(
    () => resolveConfig({ ...minimal, farm_id: 'north-barn' }),
    (e: unknown) => e instanceof ConfigError && /\/farm_id: must be a farm uuid/.test(e.message),
  );
});

test('heartbeat: off unless configured; the secret from systemd credentials, else /etc/cti/device-secret', () => {
  assert.equal(resolveConfig(minimal).heartbeat, null);
  const hb = { heartbeat: { server_url: 'https://cti.example.com/api' } };
  assert.deepEqual(resolveConfig({ ...minimal, ...hb }).heartbeat, {
    url: 'https://cti.example.com/api/devices/heartbeat',
    intervalMs: 60_000,
    timeoutMs: 10_000,
    secretFile: '/etc/cti/device-secret',
    credentialsDir: null,
  });
  const underSystemd = resolveConfig(
    { ...minimal, ...hb },
    { CREDENTIALS_DIRECTORY: '/run/credentials/cti-agent.service' },
  );
  assert.equal(underSystemd.heartbeat?.secretFile, '/run/credentials/cti-agent.service/device-secret');
  assert.equal(underSystemd.heartbeat?.credentialsDir, '/run/credentials/cti-agent.service');
  const custom = resolveConfig({
    ...minimal,
    heartbeat: {
      server_url: 'http://10.0.0.5:8080/',
      interval_s: 30,
      timeout_s: 5,
      secret_file: '/srv/secret',
    },
  });
  assert.deepEqual(custom.heartbeat, {
    url: 'http://10.0.0.5:8080/devices/heartbeat',
    intervalMs: 30_000,
    timeoutMs: 5000,
    secretFile: '/srv/secret',
    credentialsDir: null,
  });
  for (const [heartbeat, pointer] of [
    [{ server_url: 'ftp://x' }, /\/heartbeat\/server_url: must be the server base URL/],
    [{ server_url: 'https://x', interval_s: 0 }, /\/heartbeat\/interval_s: must be >= 1/],
    [{ server_url: 'https://x', secret: 'inline' }, /\/heartbeat\/secret: is not an allowed property/],
    [{}, /\/heartbeat\/server_url: is required/],
  ] as const) {
    assert.throws(
      () => resolveConfig({ ...minimal, heartbeat }),
      (e: unknown) => e instanceof ConfigError && pointer.test(e.message),
    );
  }
});

test('eid_reader: 9600 baud, the default pattern, a 120 s window; a bad pattern names its key', () => {
  assert.equal(resolveConfig(minimal).eidReader, null);
  const reader = resolveConfig({ ...minimal, eid_reader: { path: '/dev/cti-eid' } }).eidReader;
  assert.equal(reader?.path, '/dev/cti-eid');
  assert.equal(reader?.baudRate, 9600);
  assert.equal(reader?.windowMs, 120_000);
  assert.ok(reader?.pattern.test('982 000123456789'));
  const custom = resolveConfig({
    ...minimal,
    eid_reader: { path: '/dev/rfcomm0', baud_rate: 115200, pattern: '^TAG,(\\d{15})', window_s: 30 },
  }).eidReader;
  assert.deepEqual(
    [custom?.baudRate, custom?.windowMs, custom?.pattern.source],
    [115200, 30_000, '^TAG,(\\d{15})'],
  );
  assert.throws(
    () => resolveConfig({ ...minimal, eid_reader: { path: '/dev/cti-eid', pattern: '\\d{15}' } }),
    (e: unknown) =>
      e instanceof ConfigError && /\/eid_reader\/pattern: needs at least one capture group/.test(e.message),
  );
  assert.throws(
    () => resolveConfig({ ...minimal, eid_reader: { path: '/dev/cti-eid', window_s: 0 } }),
    (e: unknown) => e instanceof ConfigError && /\/eid_reader\/window_s: must be >= 1/.test(e.message),
  );
});

test('the installed template (infra/pi/agent.json.template) is a valid config', () => {
  const template = fileURLToPath(new URL('../../../../infra/pi/agent.json.template', import.meta.url));
  const c = loadConfig(template, {});
  assert.equal(c.heartbeat, null);
  assert.equal(c.eidReader, null);
});

test('probe.pixel_aspect: a frame grabber’s 0.889 is kept; outside 0.5–2 is refused at start, naming the key', () => {
  const probe = { model: 'Aloka 500V', pixel_spacing_mm: 0.3, pixel_aspect: 0.889 };
  assert.equal(resolveConfig({ ...minimal, probe }).probe?.pixelAspect, 0.889);
  assert.equal(resolveConfig({ ...minimal, probe: { model: 'LV5-2' } }).probe?.pixelAspect, undefined);
  for (const [aspect, problem] of [
    [0.3, 'must be >= 0.5'],
    [4 / 3, null],
    [2.5, 'must be <= 2'],
  ] as const) {
    const run = () => resolveConfig({ ...minimal, probe: { ...probe, pixel_aspect: aspect } });
    if (problem === null) assert.equal(run().probe?.pixelAspect, aspect);
    else
      assert.throws(
        run,
        (e: unknown) => e instanceof ConfigError && e.message.includes(`/probe/pixel_aspect: ${problem}`),
      );
  }
});

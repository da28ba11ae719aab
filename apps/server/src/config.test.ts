import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';
import { loadWorkerConfig } from './grading/worker-config.ts';

const minimal = {
  DATABASE_URL: 'postgres://cti:cti@db:5432/cti',
  CTI_WEBHOOK_SECRETS: 'new-secret-0123456789, old-secret-0123456789',
  CTI_S3_BUCKETS: 'cti-dev-406214277746,cti-prod',
};

test('defaults and lists', () => {
  const config = loadConfig(minimal);
  assert.deepEqual(config.webhookSecrets, ['new-secret-0123456789', 'old-secret-0123456789']);
  assert.deepEqual(config.s3Buckets, ['cti-dev-406214277746', 'cti-prod']);
  assert.equal(config.port, 8080);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.migrateOnStart, false);
  assert.equal(config.bodyLimitBytes, 1024 * 1024);
  assert.equal(config.signatureToleranceSeconds, 300);
  assert.equal(config.dbPoolMax, 10);
  assert.equal(config.dbReplyTimeoutSeconds, 30);
  assert.deepEqual(config.devices, {
    silentAfterSeconds: 600,
    checkIntervalSeconds: 60,
    historyDays: 7,
    backlogAgeSeconds: 1800,
    backlogCaptures: 100,
    diskLowBytes: 1024 * 1024 * 1024,
    clockMaxOffsetMs: 5000,
    heartbeatsPerMinute: 120,
    uploadArrivalSeconds: 900,
    silentRenotifySeconds: 3600,
    deafAllowanceSeconds: 3600,
  });
  assert.deepEqual(config.exports, { stallTimeoutSeconds: 60, maxDurationSeconds: 3600, perUser: 2 });
});

test('export limits', () => {
  const config = loadConfig({
    ...minimal,
    CTI_EXPORT_STALL_TIMEOUT_S: '15',
    CTI_EXPORT_MAX_DURATION_S: '900',
    CTI_EXPORTS_PER_USER: '1',
  });
  assert.deepEqual(config.exports, { stallTimeoutSeconds: 15, maxDurationSeconds: 900, perUser: 1 });
});

test('fleet health thresholds', () => {
  const config = loadConfig({
    ...minimal,
    CTI_DEVICE_SILENT_AFTER_S: '120',
    CTI_DEVICE_CHECK_INTERVAL_S: '5',
    CTI_DEVICE_HISTORY_DAYS: '30',
    CTI_DEVICE_BACKLOG_AGE_S: '600',
    CTI_DEVICE_BACKLOG_CAPTURES: '20',
    CTI_DEVICE_DISK_LOW_MB: '500',
    CTI_DEVICE_CLOCK_MAX_OFFSET_MS: '2000',
    CTI_DEVICE_HEARTBEATS_PER_MINUTE: '0',
    CTI_DEVICE_UPLOAD_ARRIVAL_S: '1800',
    CTI_DEVICE_SILENT_RENOTIFY_S: '0',
    CTI_DEVICE_DEAF_ALLOWANCE_S: '900',
  });
  assert.deepEqual(config.devices, {
    silentAfterSeconds: 120,
    checkIntervalSeconds: 5,
    historyDays: 30,
    backlogAgeSeconds: 600,
    backlogCaptures: 20,
    diskLowBytes: 500 * 1024 * 1024,
    clockMaxOffsetMs: 2000,
    heartbeatsPerMinute: 0,
    uploadArrivalSeconds: 1800,
    silentRenotifySeconds: 0,
    deafAllowanceSeconds: 900,
  });
});

test('overrides', () => {
  const config = loadConfig({
    ...minimal,
    PORT: '9000',
    CTI_MIGRATE_ON_START: 'true',
    CTI_DB_POOL_MAX: '20',
    CTI_DB_REPLY_TIMEOUT_S: '10',
    LOG_LEVEL: 'debug',
  });
  assert.equal(config.dbReplyTimeoutSeconds, 10);
  assert.equal(config.port, 9000);
  assert.equal(config.migrateOnStart, true);
  assert.equal(config.dbPoolMax, 20);
  assert.equal(config.logLevel, 'debug');
});

test('CTI_DB_REPLY_TIMEOUT_S=0 turns the reply deadline off', () => {
  assert.equal(loadConfig({ ...minimal, CTI_DB_REPLY_TIMEOUT_S: '0' }).dbReplyTimeoutSeconds, undefined);
});

test('each bad setting is named', () => {
  const bad: [Record<string, string>, string][] = [
    [{ CTI_S3_BUCKETS: 'a,,b' }, 'CTI_S3_BUCKETS'],
    [{ CTI_WEBHOOK_SECRETS: ' ' }, 'CTI_WEBHOOK_SECRETS'],
    [{ DATABASE_URL: 'postgres://host' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ PORT: '70000' }, 'PORT'],
    [{ CTI_DB_POOL_MAX: '0' }, 'CTI_DB_POOL_MAX'],
    [{ CTI_DB_REPLY_TIMEOUT_S: '-1' }, 'CTI_DB_REPLY_TIMEOUT_S'],
    [{ CTI_DB_REPLY_TIMEOUT_S: '2.5' }, 'CTI_DB_REPLY_TIMEOUT_S'],
    [{ CTI_DB_REPLY_TIMEOUT_S: '30s' }, 'CTI_DB_REPLY_TIMEOUT_S'],
    [{ CTI_DB_REPLY_TIMEOUT_S: '3601' }, 'CTI_DB_REPLY_TIMEOUT_S'],
    [{ CTI_BODY_LIMIT_BYTES: '1e6' }, 'CTI_BODY_LIMIT_BYTES'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ CTI_DEVICE_SILENT_AFTER_S: '10m' }, 'CTI_DEVICE_SILENT_AFTER_S'],
    [{ CTI_DEVICE_HISTORY_DAYS: '0' }, 'CTI_DEVICE_HISTORY_DAYS'],
    [{ CTI_DEVICE_UPLOAD_ARRIVAL_S: '30' }, 'CTI_DEVICE_UPLOAD_ARRIVAL_S'],
    [{ CTI_DEVICE_DISK_LOW_MB: '-1' }, 'CTI_DEVICE_DISK_LOW_MB'],
    [{ CTI_EXPORT_STALL_TIMEOUT_S: '0' }, 'CTI_EXPORT_STALL_TIMEOUT_S'],
    [{ CTI_EXPORT_STALL_TIMEOUT_S: '1m' }, 'CTI_EXPORT_STALL_TIMEOUT_S'],
    [{ CTI_EXPORT_MAX_DURATION_S: '30' }, 'CTI_EXPORT_MAX_DURATION_S'],
    [{ CTI_EXPORTS_PER_USER: '0' }, 'CTI_EXPORTS_PER_USER'],
    [{ CTI_MAP_TILE_URL: 'https://tiles.example.org/{z}/{x}.png' }, 'CTI_MAP_TILE_URL'],
    [{ CTI_MAP_TILE_URL: 'ftp://tiles.example.org/{z}/{x}/{y}.png' }, 'CTI_MAP_TILE_URL'],
    [{ CTI_MAP_TILE_URL: 'tiles/{z}/{x}/{y}.png' }, 'CTI_MAP_TILE_URL'],
  ];
  for (const [overrides, setting] of bad) {
    assert.throws(
      () => loadConfig({ ...minimal, ...overrides }),
      (err: unknown) =>
        err instanceof ConfigError && err.setting === setting && err.message.startsWith(setting),
      setting,
    );
  }
});

test('dashboard map tiles: unset by default, a {z}/{x}/{y} URL and its attribution when set', () => {
  assert.deepEqual(loadConfig(minimal).web, { mapTileUrl: undefined, mapTileAttribution: undefined });
  const tiles = loadConfig({
    ...minimal,
    CTI_MAP_TILE_URL: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    CTI_MAP_TILE_ATTRIBUTION: '© OpenStreetMap contributors',
  }).web;
  assert.deepEqual(tiles, {
    mapTileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    mapTileAttribution: '© OpenStreetMap contributors',
  });
});

describe('secrets from files: DATABASE_URL_FILE, CTI_WEBHOOK_SECRETS_FILE, CTI_METRICS_TOKEN_FILE (review r22 F11)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-secrets-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const { DATABASE_URL, CTI_WEBHOOK_SECRETS, ...rest } = minimal;

  test('read from the files, the trailing newline trimmed', () => {
    const config = loadConfig({
      ...rest,
      DATABASE_URL_FILE: file('db', 'postgres://cti:s3cret@db:5432/cti\n'),
      CTI_WEBHOOK_SECRETS_FILE: file('webhook', 'file-secret-0123456789,old-file-secret-0123\r\n'),
      CTI_METRICS_TOKEN_FILE: file('metrics', 'metrics-token-from-a-file-0123456789\n'),
    });
    assert.equal(config.databaseUrl, 'postgres://cti:s3cret@db:5432/cti');
    assert.deepEqual(config.webhookSecrets, ['file-secret-0123456789', 'old-file-secret-0123']);
    assert.equal(config.metricsToken, 'metrics-token-from-a-file-0123456789');
    assert.equal(
      loadWorkerConfig({
        ...rest,
        S3_ENDPOINT: 'http://minio:9000',
        DATABASE_URL_FILE: file('db2', 'postgres://w:pw@db/cti\n'),
      }).databaseUrl,
      'postgres://w:pw@db/cti',
      'the worker reads them the same way',
    );
  });

  test('both set, an unreadable or empty file, a bad value in a file: refused naming the settings', () => {
    const refused: [Record<string, string>, string, RegExp][] = [
      [
        { ...minimal, DATABASE_URL_FILE: file('db3', 'postgres://x@db/cti') },
        'DATABASE_URL',
        /^DATABASE_URL and DATABASE_URL_FILE are both set; set only one of them$/,
      ],
      [
        { ...minimal, CTI_WEBHOOK_SECRETS_FILE: file('w2', 'file-secret-0123456789') },
        'CTI_WEBHOOK_SECRETS',
        /^CTI_WEBHOOK_SECRETS and CTI_WEBHOOK_SECRETS_FILE are both set/,
      ],
      [
        { ...rest, CTI_WEBHOOK_SECRETS, DATABASE_URL_FILE: join(dir, 'missing') },
        'DATABASE_URL_FILE',
        new RegExp(`^DATABASE_URL_FILE names a file that cannot be read: ${dir}/missing \\(ENOENT\\)$`),
      ],
      [
        { ...rest, CTI_WEBHOOK_SECRETS, DATABASE_URL_FILE: dir },
        'DATABASE_URL_FILE',
        /cannot be read: .* \(EISDIR\)$/,
      ],
      [
        { ...rest, DATABASE_URL, CTI_WEBHOOK_SECRETS_FILE: file('empty', '\n') },
        'CTI_WEBHOOK_SECRETS_FILE',
        /^CTI_WEBHOOK_SECRETS_FILE names an empty file/,
      ],
      [
        { ...rest, DATABASE_URL, CTI_WEBHOOK_SECRETS_FILE: file('short', 'short\n') },
        'CTI_WEBHOOK_SECRETS_FILE',
        /^CTI_WEBHOOK_SECRETS_FILE entry 1 is shorter than 16 characters/,
      ],
      [
        { ...rest, CTI_WEBHOOK_SECRETS, DATABASE_URL_FILE: file('mysql', 'mysql://x@y/z\n') },
        'DATABASE_URL_FILE',
        /^DATABASE_URL_FILE must start with postgres:\/\//,
      ],
      [
        { ...minimal, CTI_METRICS_TOKEN_FILE: file('m2', 'too-short\n') },
        'CTI_METRICS_TOKEN_FILE',
        /^CTI_METRICS_TOKEN_FILE must be at least 24 characters/,
      ],
    ];
    for (const [env, setting, message] of refused) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && err.setting === setting && message.test(err.message),
        setting,
      );
    }
  });
});

test("compose's published placeholder webhook secret is refused unless CTI_INSECURE_LOCALHOST_COOKIES=1 says this is a local stack (review r22 F11)", () => {
  const placeholder = {
    ...minimal,
    CTI_WEBHOOK_SECRETS: 'new-secret-0123456789,local-dev-webhook-secret-change-me',
  };
  assert.throws(
    () => loadConfig(placeholder),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.setting === 'CTI_WEBHOOK_SECRETS' &&
      /^CTI_WEBHOOK_SECRETS entry 2 is the placeholder published in infra\/docker\/compose\.yaml/.test(
        err.message,
      ) &&
      !err.message.includes('local-dev-webhook-secret-change-me'),
  );
  assert.deepEqual(loadConfig({ ...placeholder, CTI_INSECURE_LOCALHOST_COOKIES: '1' }).webhookSecrets, [
    'new-secret-0123456789',
    'local-dev-webhook-secret-change-me',
  ]);
});

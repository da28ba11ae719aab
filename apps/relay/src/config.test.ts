import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigError,
  loadRelayConfig,
  loadServeConfig,
  loadWatchConfig,
  secretsFromString,
} from './config.ts';

const base = {
  CTI_WEBHOOK_URL: 'http://127.0.0.1:8080/ingest/webhook',
  CTI_WEBHOOK_SECRETS: 'new-secret-0123456789,old-secret-0123456789',
  AWS_REGION: 'ca-central-1',
};

test('a complete environment gives typed settings with defaults', () => {
  assert.deepEqual(loadRelayConfig(base), {
    webhookUrl: base.CTI_WEBHOOK_URL,
    webhookSecrets: ['new-secret-0123456789', 'old-secret-0123456789'],
    webhookSecretsId: undefined,
    s3Endpoint: undefined,
    region: 'ca-central-1',
    budgetMs: 60_000,
    httpTimeoutMs: 10_000,
    logLevel: 'info',
  });
  const local = loadRelayConfig({ ...base, AWS_REGION: undefined, S3_ENDPOINT: 'http://127.0.0.1:4568' });
  assert.equal(local.region, 'us-east-1', 'an S3-compatible endpoint accepts any signing region');
});

test('every bad setting is named at once', () => {
  const error = (() => {
    try {
      loadRelayConfig({
        CTI_WEBHOOK_URL: 'ftp://x',
        CTI_WEBHOOK_SECRETS: 'new-secret-0123456789,,old-secret-0123456789',
        CTI_RELAY_BUDGET_MS: '-1',
        LOG_LEVEL: 'verbose',
      });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof ConfigError);
  assert.deepEqual(error.problems, [
    'CTI_WEBHOOK_URL: must be an http(s) URL, got "ftp://x"',
    'CTI_WEBHOOK_SECRETS: comma-separated secrets must not be empty (check for stray commas)',
    'AWS_REGION: is required when S3_ENDPOINT is not set',
    'CTI_RELAY_BUDGET_MS: must be an integer between 0 and 900000, got "-1"',
    'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
  ]);
  assert.throws(
    () => loadRelayConfig({}),
    /CTI_WEBHOOK_URL: is required[\s\S]*CTI_WEBHOOK_SECRETS: is required/,
  );
});

test('a webhook secret shorter than 16 characters is refused, as the server refuses it', () => {
  for (const [secrets, entry] of [
    ['dev-secret', 1],
    ['long-enough-secret-0123, short', 2],
    ['0123456789abcde', 1],
  ] as const) {
    assert.throws(
      () => loadRelayConfig({ ...base, CTI_WEBHOOK_SECRETS: secrets }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.includes(
          `CTI_WEBHOOK_SECRETS: entry ${entry} is shorter than 16 characters; use a long random secret (the server refuses it too)`,
        ),
      secrets,
    );
  }
  assert.deepEqual(loadRelayConfig({ ...base, CTI_WEBHOOK_SECRETS: '0123456789abcdef' }).webhookSecrets, [
    '0123456789abcdef',
  ]);
  // The same rule for the list stored in Secrets Manager.
  assert.throws(
    () => secretsFromString('long-enough-secret-0123,old', 'secret x'),
    /secret x: entry 2 is shorter than 16 characters/,
  );
});

test('AWS_REGION / AWS_DEFAULT_REGION must be a region name, named with its value', () => {
  for (const region of ['ca-central-1', 'us-east-1', 'default', 'garage', 'auto']) {
    assert.equal(loadRelayConfig({ ...base, AWS_REGION: region }).region, region);
  }
  for (const region of ['us east 1', 'ca-central-1\u0007', 'eu/west', '-east', 'x'.repeat(64)]) {
    assert.throws(
      () => loadRelayConfig({ ...base, AWS_REGION: region }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some(
          (p) =>
            p.startsWith('AWS_REGION: must be an S3 region name') &&
            p.endsWith(`got ${JSON.stringify(region)}`),
        ),
      JSON.stringify(region),
    );
  }
  assert.throws(
    () => loadRelayConfig({ ...base, AWS_REGION: undefined, AWS_DEFAULT_REGION: 'eu west' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.problems.some((p) => p.startsWith('AWS_DEFAULT_REGION: must be an S3 region name')),
  );
});

test('a blank AWS_REGION / AWS_DEFAULT_REGION is refused, naming the variable, not taken as unset', () => {
  // Blank was unset: with S3_ENDPOINT the relay signed for us-east-1, and a blank AWS_REGION let
  // AWS_DEFAULT_REGION decide, with nothing said. The agent refuses a blank region too.
  for (const blank of ['', '   ', '\t']) {
    for (const env of [
      { ...base, AWS_REGION: blank },
      { ...base, AWS_REGION: blank, S3_ENDPOINT: 'http://127.0.0.1:4568' },
      { ...base, AWS_REGION: blank, AWS_DEFAULT_REGION: 'eu-west-1' },
    ]) {
      assert.throws(
        () => loadRelayConfig(env),
        (e: unknown) =>
          e instanceof ConfigError && e.problems.some((p) => p.startsWith('AWS_REGION: is set but blank')),
        JSON.stringify(env),
      );
    }
    assert.throws(
      () => loadRelayConfig({ ...base, AWS_REGION: undefined, AWS_DEFAULT_REGION: blank }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some((p) => p.startsWith('AWS_DEFAULT_REGION: is set but blank')),
      JSON.stringify(blank),
    );
  }
  // What the Lambda runtime sets: both variables, the same region.
  const lambda = loadRelayConfig({ ...base, AWS_REGION: 'ca-central-1', AWS_DEFAULT_REGION: 'ca-central-1' });
  assert.equal(lambda.region, 'ca-central-1');
  assert.equal(
    loadRelayConfig({ ...base, AWS_REGION: undefined, AWS_DEFAULT_REGION: 'eu-west-1' }).region,
    'eu-west-1',
  );
});

test('a Secrets Manager id replaces the inline secrets', () => {
  const config = loadRelayConfig({
    ...base,
    CTI_WEBHOOK_SECRETS: '',
    CTI_WEBHOOK_SECRETS_ID: 'arn:aws:secretsmanager:x',
  });
  assert.equal(config.webhookSecretsId, 'arn:aws:secretsmanager:x');
  assert.deepEqual(secretsFromString(' new-secret-0123456789 , old-secret-0123456789 ', 'secret x'), [
    'new-secret-0123456789',
    'old-secret-0123456789',
  ]);
  assert.throws(() => secretsFromString('  ', 'secret x'), /secret x: holds no secret/);
});

test('watch settings: flags win over the environment, bucket is required', () => {
  assert.deepEqual(
    loadWatchConfig({ CTI_RELAY_BUCKET: 'env-bucket', CTI_RELAY_POLL_MS: '250' }, { bucket: 'flag-bucket' }),
    {
      bucket: 'flag-bucket',
      prefix: 'raw/',
      stateFile: '.cti/relay-state.json',
      pollMs: 250,
      graceMs: 900_000,
    },
  );
  assert.throws(() => loadWatchConfig({}), /CTI_RELAY_BUCKET: is required/);
  assert.throws(
    () => loadWatchConfig({ CTI_RELAY_BUCKET: 'b', CTI_RELAY_PREFIX: 'raw' }),
    /CTI_RELAY_PREFIX: must end with "\/"/,
  );
});

test('serve settings: an incomplete capture is given up on after CTI_RELAY_INCOMPLETE_MAX_AGE_S (300 s)', () => {
  const env = { CTI_RELAY_NOTIFY_SECRETS: 'notify-secret-0123456789' };
  assert.equal(loadServeConfig(env).incompleteMaxAgeMs, 300_000);
  assert.equal(loadServeConfig({ ...env, CTI_RELAY_INCOMPLETE_MAX_AGE_S: '60' }).incompleteMaxAgeMs, 60_000);
  assert.throws(
    () => loadServeConfig({ ...env, CTI_RELAY_INCOMPLETE_MAX_AGE_S: '5m' }),
    /CTI_RELAY_INCOMPLETE_MAX_AGE_S: must be an integer between 0 and 604800, got "5m"/,
  );
});

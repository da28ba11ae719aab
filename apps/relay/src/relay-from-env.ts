import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@cti/runtime';
import { type Clock, systemClock } from './clock.ts';
import type { RelayConfig } from './config.ts';
import { createRelay, type Relay } from './relay-core.ts';
import { createSecretsSource } from './webhook-secrets.ts';

/**
 * The S3 client for the configured store. Credentials come from the standard AWS chain (environment,
 * profile, the Lambda role). With S3_ENDPOINT (s3rver, MinIO): path-style addressing and checksums only
 * when required, because s3rver stores the aws-chunked framing of streamed uploads and returns no checksums.
 */
export function createS3Client(config: Pick<RelayConfig, 's3Endpoint' | 'region'>): S3Client {
  if (!config.s3Endpoint) return new S3Client({ region: config.region });
  return new S3Client({
    region: config.region,
    endpoint: config.s3Endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface RelayFactoryOptions {
  config: RelayConfig;
  log: Logger;
  source: string;
  s3?: S3Client;
  secretsManager?: SecretsManagerClient;
  fetch?: typeof globalThis.fetch;
  clock?: Clock;
}

/**
 * Builds the relay from validated config, re-building it when the signing secrets change (Secrets
 * Manager rotation). `get()` is cheap on the warm path: the secrets are cached for five minutes.
 *
 * @example
 * const relays = createRelayFactory({ config, log, source: 'lambda' });
 * const outcome = await (await relays.get()).relayObject({ bucket, key });
 */
export function createRelayFactory({
  config,
  log,
  source,
  s3 = createS3Client(config),
  secretsManager,
  fetch,
  clock = systemClock,
}: RelayFactoryOptions) {
  const sm =
    secretsManager ??
    (config.webhookSecretsId ? new SecretsManagerClient({ region: config.region }) : undefined);
  const secrets = createSecretsSource({
    inline: config.webhookSecrets,
    secretId: config.webhookSecretsId,
    secretsManager: sm,
    clock,
  });
  let current: { key: string; relay: Relay } | undefined;
  async function get(): Promise<Relay> {
    const webhookSecrets = await secrets.get();
    const key = webhookSecrets.join('\n');
    if (current?.key !== key) {
      if (current) log.info('webhook secrets changed; signing with the new first secret');
      current = {
        key,
        relay: createRelay({ s3, fetch, config: { ...config, webhookSecrets }, log, clock, source }),
      };
    }
    return current.relay;
  }
  return { get, s3 };
}

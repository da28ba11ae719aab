import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from './clock.ts';
import { secretsFromString } from './config.ts';

export interface SecretsSourceOptions {
  /** Inline secrets (CTI_WEBHOOK_SECRETS), used when no secret id is configured. */
  inline: readonly string[];
  /** Secrets Manager secret id or ARN (CTI_WEBHOOK_SECRETS_ID) whose SecretString is "new,old". */
  secretId: string | undefined;
  secretsManager?: SecretsManagerClient;
  clock: Clock;
  /** How long a fetched value is reused; a rotated secret is picked up within this time. */
  ttlMs?: number;
}

/**
 * Where the signing secrets come from: the environment, or Secrets Manager (read at cold start and
 * re-read every `ttlMs`, so a rotation reaches warm Lambda containers without a redeploy, and the
 * secret never sits in the function's environment where anyone with lambda:GetFunction can read it).
 *
 * @example
 * const secrets = createSecretsSource({ inline: [], secretId: arn, secretsManager, clock: systemClock });
 * const [signingSecret] = await secrets.get();
 */
export function createSecretsSource({
  inline,
  secretId,
  secretsManager,
  clock,
  ttlMs = 300_000,
}: SecretsSourceOptions) {
  let cached: { secrets: string[]; until: number } | undefined;
  async function get(): Promise<string[]> {
    if (secretId === undefined) return [...inline];
    if (cached && clock.now() < cached.until) return cached.secrets;
    if (!secretsManager)
      throw new TypeError('CTI_WEBHOOK_SECRETS_ID is set but no Secrets Manager client was given');
    const result = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (result.SecretString === undefined) {
      throw new Error(
        `secret ${secretId} (CTI_WEBHOOK_SECRETS_ID) has no SecretString; store "new,old" as text`,
      );
    }
    const secrets = secretsFromString(result.SecretString, `secret ${secretId} (CTI_WEBHOOK_SECRETS_ID)`);
    cached = { secrets, until: clock.now() + ttlMs };
    return secrets;
  }
  return { get };
}

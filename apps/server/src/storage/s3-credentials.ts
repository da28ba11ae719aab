import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';

/** What an operator sets so the AWS SDK's default chain finds credentials (named in the warnings). */
export const S3_CREDENTIAL_SETTINGS =
  'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE), or a container/instance role';

/**
 * The AWS SDK's credential-chain failures (@smithy/core's ProviderError family): "Could not load
 * credentials from any providers", an SSO token that cannot be read, a role endpoint that failed. An
 * outage of the credentials, not of one request: nothing in the request can be wrong.
 */
const CREDENTIAL_ERROR_NAMES = new Set(['CredentialsProviderError', 'TokenProviderError', 'ProviderError']);

export function isCredentialsError(err: unknown): boolean {
  return CREDENTIAL_ERROR_NAMES.has(String((err as { name?: unknown } | null)?.name));
}

/** The SDK client's credential provider (its default chain, memoised and refreshed by the SDK). */
export type CredentialProvider = S3Client['config']['credentials'];

export type S3CredentialsState =
  | { status: 'unchecked' }
  | { status: 'found'; since: number }
  | { status: 'missing'; since: number; message: string };

export type S3CredentialsWatch = {
  state(): S3CredentialsState;
  /** Records a use of the credentials: undefined = they were found; an error of another kind changes nothing. */
  observe(err?: unknown): void;
  /** `provider`, recording each resolution (for signers that take a provider). */
  watched(provider: CredentialProvider): CredentialProvider;
  /** Resolves the chain once now (start-up); never throws. True when credentials were found. */
  check(provider: CredentialProvider): Promise<boolean>;
};

/**
 * Tracks whether the SDK's credential chain finds credentials, and logs the changes only: a warning
 * naming the settings when they go missing (at start-up or later: a role endpoint failing), an info
 * line when they are back — once each, never per request. `consequence` says what the process does
 * meanwhile ("jobs wait in the queue …").
 *
 * @example const creds = watchS3Credentials({ log, consequence: 'asset URLs are null' });
 *          await creds.check(client.config.credentials);
 */
export function watchS3Credentials({
  log,
  consequence,
  now = Date.now,
}: {
  log: Logger;
  consequence: string;
  now?: () => number;
}): S3CredentialsWatch {
  let state: S3CredentialsState = { status: 'unchecked' };
  const observe = (err?: unknown) => {
    if (err === undefined) {
      if (state.status === 'found') return;
      if (state.status === 'missing') log.info('S3 credentials found again');
      state = { status: 'found', since: now() };
      return;
    }
    if (!isCredentialsError(err)) return;
    const message = err instanceof Error ? err.message : String(err);
    if (state.status === 'missing') return;
    state = { status: 'missing', since: now(), message };
    log.warn(
      { err: message, settings: S3_CREDENTIAL_SETTINGS },
      `S3 credentials not found: set ${S3_CREDENTIAL_SETTINGS}; until then ${consequence}`,
    );
  };
  const watched =
    (provider: CredentialProvider): CredentialProvider =>
    async (options) => {
      let identity: Awaited<ReturnType<CredentialProvider>>;
      try {
        identity = await provider(options);
      } catch (err) {
        observe(err);
        throw err;
      }
      observe();
      return identity;
    };
  return {
    state: () => state,
    observe,
    watched,
    async check(provider) {
      try {
        await watched(provider)();
        return true;
      } catch (err) {
        // Not a credentials failure (a bug in a custom provider): say so, it is not fatal here either.
        if (!isCredentialsError(err))
          log.warn({ err: (err as Error).message }, 'S3 credentials could not be checked');
        return false;
      }
    },
  };
}

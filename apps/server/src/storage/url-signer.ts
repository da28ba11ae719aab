import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { type Logger, pino } from 'pino';
import { createS3Client } from './s3-client.ts';
import { isCredentialsError, watchS3Credentials } from './s3-credentials.ts';
import type { S3Settings } from './s3-settings.ts';
import { StorageUnavailableError } from './storage-unavailable.ts';

export type SignedUrl = { url: string; expires_at: string };

/**
 * Presigns GET URLs for assets; `undefined` signer = S3 not configured (URLs are then null). `sign`
 * throws StorageUnavailableError while the SDK's credential chain finds no credentials.
 */
export type UrlSigner = {
  sign(bucket: string, key: string): Promise<SignedUrl>;
  /** Resolves the credential chain once (start-up), warning when it finds nothing; never throws. */
  check(): Promise<boolean>;
};

/** Where a bucket's objects live, as the SDK resolved it once (see bucketTemplate). */
type BucketTemplate = {
  protocol: string;
  hostname: string;
  port: number | undefined;
  host: string;
  /** The path before the key ('/bucket' path-style, '' virtual-hosted). */
  prefix: string;
  signingRegion: string;
};

/** The SDK's URI encoding (@smithy extendedEncodeURIComponent / escapeUri): RFC 3986 unreserved kept. */
const escapeUri = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A GetObject key in the path as the SDK serialises the greedy label `{Key+}`: each segment encoded. */
const keyPath = (key: string): string => key.split('/').map(escapeUri).join('/');

const PROBE_KEY = 'cti-probe';

/**
 * Short-lived presigned GET URLs (@aws-sdk/s3-request-presigner), at most 300 s (CTI_SIGNED_URL_TTL_S).
 * Signing is local (no request to S3). `publicEndpoint` (CTI_S3_PUBLIC_ENDPOINT) is the host browsers
 * reach when it differs from the server's S3_ENDPOINT (a compose network name, say): the host is part of
 * the signature, so the URL must be signed for the host that will be asked.
 *
 * Cost: the SDK's `getSignedUrl` runs the client's whole middleware stack (endpoint rules, serialiser,
 * ~0.6 ms CPU per URL). Here that runs once per bucket, to learn where the bucket's objects live and the
 * signing region (endpoint resolution stays the SDK's: path or virtual-hosted style, AWS or custom
 * endpoint); each URL is then one `S3RequestPresigner.presign` of a request built from that template —
 * the same bytes as `getSignedUrl` (url-signer.test.ts compares them).
 *
 * @example const signer = createUrlSigner({ settings, ttlSeconds: 300 }); await signer.sign(bucket, key);
 */
export function createUrlSigner({
  settings,
  publicEndpoint,
  ttlSeconds,
  clock = Date.now,
  log,
}: {
  settings: S3Settings;
  publicEndpoint?: string | undefined;
  ttlSeconds: number;
  clock?: () => number;
  /** Where the credentials' warning goes (once, when they go missing); silent without. */
  log?: Logger;
}): UrlSigner {
  if (ttlSeconds > 300) throw new Error('presigned URLs live at most 300 s');
  const credentials = watchS3Credentials({
    log: log ?? pino({ enabled: false }),
    consequence: 'asset URLs are null and /api/v1/assets/{id}/content answers 503 storage_unavailable',
  });
  const client = createS3Client({ ...settings, endpoint: publicEndpoint ?? settings.endpoint });
  // The client's own credential provider (the SDK's default chain, memoised and refreshed by the SDK).
  const presigner = new S3RequestPresigner({
    credentials: client.config.credentials,
    region: settings.region,
    sha256: client.config.sha256,
  });
  const templates = new Map<string, Promise<BucketTemplate>>();

  async function bucketTemplate(bucket: string): Promise<BucketTemplate> {
    const probe = new URL(
      await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), { expiresIn: 60 }),
    );
    const suffix = `/${PROBE_KEY}`;
    if (!probe.pathname.endsWith(suffix)) throw new Error(`unexpected presigned path ${probe.pathname}`);
    // X-Amz-Credential = <key id>/<date>/<region>/s3/aws4_request
    const signingRegion = probe.searchParams.get('X-Amz-Credential')?.split('/').at(-3);
    if (!signingRegion) throw new Error('the presigned probe URL names no signing region');
    return {
      protocol: probe.protocol,
      hostname: probe.hostname,
      port: probe.port === '' ? undefined : Number(probe.port),
      host: probe.host,
      prefix: probe.pathname.slice(0, -suffix.length),
      signingRegion,
    };
  }

  function templateOf(bucket: string): Promise<BucketTemplate> {
    let t = templates.get(bucket);
    if (t === undefined) {
      t = bucketTemplate(bucket);
      templates.set(bucket, t);
      t.catch(() => templates.delete(bucket)); // a failure (no credentials yet) is retried next time
    }
    return t;
  }

  async function sign(bucket: string, key: string): Promise<SignedUrl> {
    const t = await templateOf(bucket);
    const signingDate = new Date(clock());
    const expires = new Date(signingDate.getTime() + ttlSeconds * 1000);
    const path = `${t.prefix}/${keyPath(key)}`;
    const signed = await presigner.presign(
      {
        method: 'GET',
        protocol: t.protocol,
        hostname: t.hostname,
        port: t.port,
        path,
        query: { 'x-id': 'GetObject' },
        headers: { host: t.host },
      },
      { expiresIn: ttlSeconds, signingDate, signingRegion: t.signingRegion },
    );
    const q = signed.query ?? {};
    const query = Object.keys(q)
      .sort()
      .map((k) => `${escapeUri(k)}=${escapeUri(String(q[k]))}`)
      .join('&');
    return { url: `${t.protocol}//${t.host}${path}?${query}`, expires_at: expires.toISOString() };
  }

  return {
    check: () => credentials.check(client.config.credentials),
    async sign(bucket, key) {
      try {
        const signed = await sign(bucket, key);
        credentials.observe();
        return signed;
      } catch (err) {
        if (!isCredentialsError(err)) throw err;
        credentials.observe(err);
        throw new StorageUnavailableError(`no S3 credentials: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

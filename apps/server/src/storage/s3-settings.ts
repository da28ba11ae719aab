import { ConfigError, type Env, flag, optional } from '../config-parsers.ts';

/**
 * Where the server's commands (the grading worker reading images, the API signing URLs) find S3.
 * Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a
 * profile, or the container's/instance's role) and are never part of this object.
 */
export type S3Settings = {
  /** `S3_ENDPOINT`: an S3-compatible store (MinIO, Ceph RGW, s3rver); unset = AWS S3. */
  endpoint: string | undefined;
  /** `AWS_REGION` (or `AWS_DEFAULT_REGION`); required for AWS, `us-east-1` for a custom endpoint. */
  region: string;
  /** `S3_FORCE_PATH_STYLE`: bucket in the path; default on with a custom endpoint, off for AWS. */
  forcePathStyle: boolean;
};

/**
 * Reads and validates the S3 settings; throws ConfigError naming the bad setting.
 *
 * @example const s3 = createS3Client(loadS3Settings(process.env));
 */
export function loadS3Settings(env: Env): S3Settings {
  const endpoint = optional(env, 'S3_ENDPOINT');
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(
        'S3_ENDPOINT',
        `is not a URL (got ${JSON.stringify(endpoint)}); e.g. http://127.0.0.1:9000`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError('S3_ENDPOINT', `must start with http:// or https:// (got ${url.protocol}//)`);
    }
  }
  const region =
    optional(env, 'AWS_REGION') ??
    optional(env, 'AWS_DEFAULT_REGION') ??
    (endpoint ? 'us-east-1' : undefined);
  if (region === undefined)
    throw new ConfigError('AWS_REGION', 'is not set; it is required when S3_ENDPOINT is not set (AWS S3)');
  const forcePathStyle =
    optional(env, 'S3_FORCE_PATH_STYLE') === undefined
      ? endpoint !== undefined
      : flag(env, 'S3_FORCE_PATH_STYLE');
  return { endpoint, region, forcePathStyle };
}

/**
 * Where presigned URLs point, as CSP source expressions for the pages' img-src: AWS S3 without an
 * endpoint (`https://*.amazonaws.com`); with one, its origin, and — unless the bucket goes in the
 * path (`forcePathStyle`) — every subdomain of it, where virtual-hosted-style URLs put the bucket
 * (`https://cti-raw.s3.example.net`); without that the browser refused to load the images.
 *
 * @example presignedUrlSources('https://s3.example.net:8443', false) // ['https://s3.example.net:8443', 'https://*.s3.example.net:8443']
 */
export function presignedUrlSources(endpoint: string | undefined, forcePathStyle: boolean): string[] {
  if (endpoint === undefined) return ['https://*.amazonaws.com'];
  const url = new URL(endpoint);
  return forcePathStyle ? [url.origin] : [url.origin, `${url.protocol}//*.${url.host}`];
}

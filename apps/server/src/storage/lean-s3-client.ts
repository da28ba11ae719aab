import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Settings } from './s3-settings.ts';

// The grading worker's GETs, PUTs (and a failed job's DELETEs) without the SDK's middleware stack (~1.2 ms of CPU per request in a
// worker, four per scan): SigV4 from @smithy/signature-v4 (the SDK's own signer), node:http(s) with
// keep-alive agents, and only the status, Content-Length and an error's <Code> read from the response.
// What the SDK decided stays the SDK's: the endpoint and addressing style come from the S3Client's own
// endpoint rules (S3_ENDPOINT, S3_FORCE_PATH_STYLE, a dotted bucket falls back to path style), the
// credentials from its default chain (environment, profile, container or instance role). Errors carry
// the SDK's shape (`name` = S3's error code, `$metadata.httpStatusCode`, a socket error's `code`), so
// isS3Unavailable classifies them as before, and transient ones are retried like the SDK's standard
// strategy (maxAttempts, full-jitter exponential backoff). There is no timeout of its own, as with the
// SDK client it replaces: the caller's AbortSignal (the job's deadline) ends a request. Clock skew is
// corrected as the SDK does it: a refusal for the request's time (RequestTimeTooSkewed, …) whose Date
// header is 5 min or more from this machine's clock sets an offset the next signatures use, and the
// request is signed again at once. Not kept from the SDK: its retry quota.

export type LeanS3Client = {
  /**
   * GETs an object; resolves once the status is 200, with the body unread (the caller streams it, and
   * must consume or destroy it). Any other status rejects with S3's error code as `name`.
   */
  getObject(
    bucket: string,
    key: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ body: IncomingMessage; contentLength: number | undefined }>;
  /** PUTs a Buffer with its SHA-256 (hex) as the signed payload hash and as `x-amz-checksum-sha256`. */
  putObject(
    bucket: string,
    key: string,
    body: Buffer,
    options: {
      contentType: string;
      sha256Hex: string;
      metadata?: Record<string, string>;
      signal?: AbortSignal;
    },
  ): Promise<void>;
  /** DELETEs an object; a key that is not there is no error (S3 answers 204 either way). */
  deleteObject(bucket: string, key: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** The URL a request for this object goes to (endpoint rules and key encoding applied). */
  objectUrl(bucket: string, key: string): URL;
  destroy(): void;
};

/** One GET, PUT or DELETE of an object, as sent (and re-sent on a retry). */
type ObjectCall = {
  method: 'GET' | 'PUT' | 'DELETE';
  bucket: string;
  key: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  signal: AbortSignal | undefined;
};

/** An S3 error response (or an unexpected status) in the SDK's error shape. */
export class S3ResponseError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  readonly $fault: 'client' | 'server';
  /** The response's Date header (ms since the epoch), when it had a valid one: the server's clock. */
  readonly serverTime: number | undefined;
  constructor(
    code: string,
    message: string,
    status: number,
    requestId: string | undefined,
    serverTime?: number,
  ) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status, ...(requestId && { requestId }) };
    this.$fault = status >= 500 ? 'server' : 'client';
    this.serverTime = serverTime;
  }
}

/** The error codes the SDK takes for a signature refused over the request's time (its isClockSkewError). */
const CLOCK_SKEW_CODES = new Set([
  'AuthFailure',
  'InvalidSignatureException',
  'RequestExpired',
  'RequestInTheFuture',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
]);
/** How far the server's clock must be from ours (with the offset applied) to count as skew: the SDK's. */
const SKEW_MS = 300_000;

/**
 * The clock offset to sign with after `err`, or null when `err` is not a time refusal from a server whose
 * clock is at least SKEW_MS from `now + offsetMs` (then the offset cannot be what went wrong).
 */
export function correctedClockOffset(err: unknown, offsetMs: number, now: number): number | null {
  if (!(err instanceof S3ResponseError) || !CLOCK_SKEW_CODES.has(err.name)) return null;
  if (err.serverTime === undefined || Math.abs(err.serverTime - (now + offsetMs)) < SKEW_MS) return null;
  return err.serverTime - now;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded']);
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/** What the SDK's standard retry strategy retries: throttling, 5xx, timeouts, dropped connections. */
function isRetryable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return (
    THROTTLING.has(e.name ?? '') ||
    TRANSIENT_NAMES.has(e.name ?? '') ||
    TRANSIENT_CODES.has(e.code ?? '') ||
    status === 429 ||
    (status !== undefined && status >= 500)
  );
}

/** S3's key encoding (the SDK's extendedEncodeURIComponent per path segment). */
const encodeKey = (key: string) =>
  key
    .split('/')
    .map((part) =>
      encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');

/** SHA-256 and HMAC-SHA256 from node:crypto in the shape the signer asks for. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const asBytes = (data: SourceData) =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', asBytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(asBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

async function readErrorBody(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res as AsyncIterable<Buffer>)
    if (text.length < 65_536) text += chunk.toString('utf8');
  return text;
}

async function responseError(res: IncomingMessage, method: string): Promise<S3ResponseError> {
  const status = res.statusCode ?? 0;
  const text = method === 'HEAD' ? '' : await readErrorBody(res);
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  const code = tag('Code') ?? (status === 404 ? 'NotFound' : `Http${status}`);
  const requestId = tag('RequestId') ?? (res.headers['x-amz-request-id'] as string | undefined);
  const date = res.headers.date === undefined ? Number.NaN : Date.parse(res.headers.date);
  return new S3ResponseError(
    code,
    tag('Message') ?? `HTTP ${status} ${res.statusMessage ?? ''}`.trim(),
    status,
    requestId,
    Number.isFinite(date) ? date : undefined,
  );
}

/**
 * A lean GET/PUT client over the settings and credentials of an SDK client made by createS3Client.
 *
 * @example const s3 = createLeanS3Client({ sdk: createS3Client(settings), settings });
 *          const { body } = await s3.getObject('cti-captures', 'raw/…/image.png', { signal });
 */
export function createLeanS3Client({
  sdk,
  settings,
  credentials = sdk.config.credentials,
  maxAttempts = 3,
  maxSockets = 50,
}: {
  sdk: S3Client;
  settings: S3Settings;
  /** What signs: the SDK client's own chain by default (the worker passes it watched, s3-credentials.ts). */
  credentials?: S3Client['config']['credentials'];
  maxAttempts?: number;
  maxSockets?: number;
}): LeanS3Client {
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets }),
  };
  const signer = new SignatureV4({
    service: 's3',
    region: settings.region,
    credentials,
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const endpoints = new Map<string, { url: URL; signingRegion: string }>();
  /** Server clock − this machine's clock, learnt from a refusal for the request's time (0 until then). */
  let clockOffsetMs = 0;

  function endpointFor(bucket: string) {
    let found = endpoints.get(bucket);
    if (!found) {
      const resolved = sdk.config.endpointProvider({
        Bucket: bucket,
        Region: settings.region,
        UseFIPS: false,
        UseDualStack: false,
        ForcePathStyle: settings.forcePathStyle,
        Accelerate: false,
        UseGlobalEndpoint: false,
        UseArnRegion: false,
        DisableMultiRegionAccessPoints: false,
        ...(settings.endpoint !== undefined && { Endpoint: settings.endpoint }),
      });
      const schemes = resolved.properties?.authSchemes as { signingRegion?: string }[] | undefined;
      found = {
        url: new URL(resolved.url.href),
        signingRegion: schemes?.[0]?.signingRegion ?? settings.region,
      };
      endpoints.set(bucket, found);
    }
    return found;
  }

  function objectUrl(bucket: string, key: string): URL {
    const url = new URL(endpointFor(bucket).url.href);
    url.pathname = `${url.pathname.replace(/\/$/, '')}/${encodeKey(key)}`;
    return url;
  }

  async function once({ method, bucket, key, headers, body, signal }: ObjectCall): Promise<IncomingMessage> {
    const url = objectUrl(bucket, key);
    const signed = await signer.sign(
      {
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: {},
        headers: { host: url.host, ...headers },
      },
      { signingRegion: endpointFor(bucket).signingRegion, signingDate: new Date(Date.now() + clockOffsetMs) },
    );
    const https = url.protocol === 'https:';
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        {
          method,
          hostname: url.hostname,
          port: url.port || (https ? 443 : 80),
          path: url.pathname,
          headers: signed.headers,
          agent: https ? agents.https : agents.http,
          signal,
        },
        resolve,
      );
      // Kept for the request's life: an error after the response (a reset mid-body) must not go unhandled.
      req.on('error', reject);
      req.end(body);
    });
  }

  async function send(call: ObjectCall): Promise<IncomingMessage> {
    const { method, signal } = call;
    let resignedForSkew = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await once(call);
        if (res.statusCode === 200 || (method === 'DELETE' && res.statusCode === 204)) return res;
        throw await responseError(res, method);
      } catch (err) {
        if (signal?.aborted) throw err;
        // Our clock is off from the server's: sign again at once with the offset (once per request;
        // like the SDK, the attempt counts), and keep the offset for every later request.
        const offset = correctedClockOffset(err, clockOffsetMs, Date.now());
        if (offset !== null && !resignedForSkew && attempt < maxAttempts) {
          clockOffsetMs = offset;
          resignedForSkew = true;
          continue;
        }
        if (attempt >= maxAttempts || !isRetryable(err)) throw err;
        // Full jitter, base 100 ms (500 ms when throttled), capped at 20 s: the SDK's standard strategy.
        const base = THROTTLING.has((err as Error).name) ? 500 : 100;
        await sleep(Math.floor(Math.random() * Math.min(20_000, base * 2 ** attempt)), undefined, { signal });
      }
    }
  }

  return {
    objectUrl,
    async getObject(bucket, key, { signal } = {}) {
      const res = await send({
        method: 'GET',
        bucket,
        key,
        headers: { 'x-amz-content-sha256': EMPTY_SHA256 },
        body: undefined,
        signal,
      });
      const length = res.headers['content-length'];
      return { body: res, contentLength: length === undefined ? undefined : Number(length) };
    },
    async putObject(bucket, key, body, { contentType, sha256Hex, metadata = {}, signal }) {
      const headers: Record<string, string> = {
        'content-type': contentType,
        'content-length': String(body.length),
        'x-amz-content-sha256': sha256Hex,
        'x-amz-checksum-sha256': Buffer.from(sha256Hex, 'hex').toString('base64'),
      };
      for (const [name, value] of Object.entries(metadata))
        headers[`x-amz-meta-${name.toLowerCase()}`] = value;
      const res = await send({ method: 'PUT', bucket, key, headers, body, signal });
      // Read to the end, so the socket goes back to the pool.
      await finished(res.resume());
    },
    async deleteObject(bucket, key, { signal } = {}) {
      const res = await send({
        method: 'DELETE',
        bucket,
        key,
        headers: { 'x-amz-content-sha256': EMPTY_SHA256 },
        body: undefined,
        signal,
      });
      await finished(res.resume());
    },
    destroy() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

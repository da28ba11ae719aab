import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Select = (method: string, path: string) => boolean;

export interface S3Proxy {
  endpoint: string;
  /** Requests answered with 403 so far, as "METHOD /path" (the decoded path, no query). */
  denied: string[];
  /** Requests held open without an answer (a stalled link), as "METHOD /path". */
  held: string[];
  /** Requests `pauseUntil` paused (forwarded once its promise settles), as "METHOD /path". */
  paused: string[];
  /** Requests answered 503 SlowDown by `throttle`. */
  throttled: string[];
  /** Writes refused with 412 because `If-None-Match: *` met an existing key (by the proxy or the store). */
  preconditionFailed: string[];
  /** HEAD requests answered 500 by `failHead`. */
  failedHeads: string[];
  /** Object writes (PUT, multipart completion) the store accepted (2xx), as "METHOD /path". */
  written: string[];
  /** Requests whose body was checked against their `x-amz-checksum-sha256`: path -> matched. */
  checksums: { path: string; ok: boolean }[];
  /** Requests signed with a payload hash (`x-amz-content-sha256`, hex): path -> it is the body's. */
  payloadHashes: { path: string; ok: boolean }[];
  close(): Promise<void>;
}

export interface S3ProxyOptions {
  target: string;
  /** Answer 403 AccessDenied (a permanent error). */
  deny?: Select;
  /** Never answer (a stalled upload). */
  hold?: Select;
  /** A promise to wait for before forwarding the request (a slow link a test lets through), or undefined. */
  pauseUntil?: (method: string, path: string) => Promise<void> | undefined;
  /** Answer 503 SlowDown (S3 throttling) while this returns true. */
  throttle?: Select;
  /** Answer 500 InternalError to HEAD (a store whose bookkeeping for one key is damaged). */
  failHead?: Select;
  /**
   * 'emulate': enforce what real S3 does and s3rver does not — a PUT (or a multipart completion)
   * with `If-None-Match: *` on an existing key gets 412 PreconditionFailed, and a body that does not
   * match its `x-amz-checksum-sha256` gets 400 BadDigest. 'inspect': only record checksums and
   * payload hashes and forward (a real store in front, e.g. Ceph RGW, answers for itself).
   */
  s3Semantics?: 'emulate' | 'inspect';
  /** Flip one byte of the body on the way (corruption in transit) for the requests selected. */
  corrupt?: Select;
}

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>s3-proxy</RequestId></Error>`;

function answer(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' }).end(s3Error(code, message));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const decodedPath = (url = '/') => decodeURIComponent(new URL(url, 'http://proxy').pathname);

/**
 * A real HTTP reverse proxy in front of an S3-compatible server (s3rver) that adds what a test
 * needs from real S3 without mocking the SDK: permanent errors (403), stalls, throttling (503
 * SlowDown), conditional writes (412) and checksum verification (400 BadDigest); everything else
 * is forwarded byte for byte.
 */
export async function startS3Proxy(options: S3ProxyOptions): Promise<S3Proxy> {
  const upstream = new URL(options.target);
  const never = () => false;
  const { deny = never, hold = never, throttle = never, corrupt = never, failHead = never } = options;
  const emulate = options.s3Semantics === 'emulate';
  const state: Omit<S3Proxy, 'endpoint' | 'close'> = {
    denied: [],
    held: [],
    paused: [],
    throttled: [],
    preconditionFailed: [],
    failedHeads: [],
    written: [],
    checksums: [],
    payloadHashes: [],
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer | null, url = req.url) => {
    const headers = { ...req.headers };
    if (body) headers['content-length'] = String(body.length);
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers },
      (reply) => {
        const what = `${req.method} ${decodedPath(url)}`;
        if (reply.statusCode === 412) state.preconditionFailed.push(what);
        const query = new URL(url ?? '/', 'http://proxy').searchParams;
        const objectWrite =
          (req.method === 'PUT' && !query.has('partNumber')) ||
          (req.method === 'POST' && query.has('uploadId'));
        if (objectWrite && (reply.statusCode ?? 0) < 300) state.written.push(what);
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    if (body) out.end(body);
    else req.pipe(out);
  };

  /** Does the object exist upstream? (HEAD on the key part of the path.) */
  const exists = (path: string) =>
    new Promise<boolean>((resolve, reject) => {
      const head = request(
        { host: upstream.hostname, port: upstream.port, method: 'HEAD', path },
        (reply) => {
          reply.resume();
          resolve(reply.statusCode === 200);
        },
      );
      head.on('error', reject);
      head.end();
    });

  async function semantics(req: IncomingMessage, res: ServerResponse, method: string, path: string) {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const completing = method === 'POST' && url.searchParams.has('uploadId');
    const writing = (method === 'PUT' && !url.searchParams.has('partNumber')) || completing;
    let body = await readBody(req);
    if (corrupt(method, path) && body.length > 0) {
      body = Buffer.from(body);
      body[body.length >> 1]! ^= 0xff;
    }
    if (emulate && writing && req.headers['if-none-match'] === '*' && (await exists(url.pathname))) {
      state.preconditionFailed.push(`${method} ${path}`);
      return answer(
        res,
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
      );
    }
    const signed = req.headers['x-amz-content-sha256'];
    if (typeof signed === 'string' && /^[0-9a-f]{64}$/.test(signed))
      state.payloadHashes.push({ path, ok: createHash('sha256').update(body).digest('hex') === signed });
    const claimed = req.headers['x-amz-checksum-sha256'];
    if (typeof claimed === 'string' && !completing) {
      const ok = createHash('sha256').update(body).digest('base64') === claimed;
      state.checksums.push({ path, ok });
      if (!ok && emulate)
        return answer(
          res,
          400,
          'BadDigest',
          'The SHA256 you specified did not match the calculated checksum.',
        );
    }
    forward(req, res, body);
  }

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    // Selectors and records see the decoded key path, without the query (`?x-id=PutObject`, `?uploadId=`).
    const path = decodedPath(req.url);
    const record = (list: string[]) => {
      list.push(`${method} ${path}`);
      req.resume();
    };
    if (deny(method, path)) {
      record(state.denied);
      return answer(res, 403, 'AccessDenied', 'Access Denied');
    }
    if (hold(method, path)) return record(state.held);
    const paused = options.pauseUntil?.(method, path);
    if (paused) {
      state.paused.push(`${method} ${path}`);
      void paused.then(() => forward(req, res, null));
      return;
    }
    if (method === 'HEAD' && failHead(method, path)) {
      record(state.failedHeads);
      return void res.writeHead(500, { 'x-amz-request-id': 's3-proxy' }).end();
    }
    if (throttle(method, path)) {
      record(state.throttled);
      return answer(res, 503, 'SlowDown', 'Please reduce your request rate.');
    }
    if (options.s3Semantics || corrupt !== never) {
      semantics(req, res, method, path).catch(() => res.destroy());
      return;
    }
    forward(req, res, null);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    ...state,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

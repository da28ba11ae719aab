// Test helper (excluded from the build): an HTTP proxy in front of s3rver that checks presigned GET
// URLs the way S3 does — SigV4 query signature recomputed independently with node:crypto, expiry from
// X-Amz-Date + X-Amz-Expires — because s3rver itself accepts any SigV4 signature. Refusals are 403
// with S3's error codes; accepted requests are forwarded unchanged.
import { createHash, createHmac } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** The SigV4 signature of a presigned GET (canonical request per the AWS documentation). */
export function presignedSignature(url: URL, host: string, secretKey: string): string {
  const params = [...url.searchParams.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const query = params
    .map(([k, v]) => [enc(k), enc(v)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signedHeaders = url.searchParams.get('X-Amz-SignedHeaders') ?? 'host';
  const canonical = ['GET', url.pathname, query, `host:${host}\n`, signedHeaders, 'UNSIGNED-PAYLOAD'].join(
    '\n',
  );
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  const scope = (url.searchParams.get('X-Amz-Credential') ?? '').split('/').slice(1).join('/');
  const [date, region, service] = scope.split('/');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secretKey}`, date ?? ''), region ?? ''), service ?? ''),
    'aws4_request',
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

function expired(url: URL, now: number): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get('X-Amz-Date') ?? '');
  if (!m) return true;
  const signed = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return now > signed + Number(url.searchParams.get('X-Amz-Expires') ?? 0) * 1000;
}

export async function startSignatureProxy({ target, secretKey }: { target: string; secretKey: string }) {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const refuse = (code: string) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code></Error>`);
    };
    if (url.searchParams.has('X-Amz-Signature')) {
      if (
        presignedSignature(url, req.headers.host ?? '', secretKey) !== url.searchParams.get('X-Amz-Signature')
      ) {
        return refuse('SignatureDoesNotMatch');
      }
      if (expired(url, Date.now())) return refuse('AccessDenied');
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// Test support (not built): a tiny webhook receiver on 127.0.0.1 that verifies every request's
// signature with the contracts verifier and answers like the ingest server would.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '@cti/contracts';

export interface ReceivedWebhook {
  raw: string;
  body: { ingest_key?: string; [k: string]: unknown };
  headers: IncomingHttpHeaders;
  signatureOk: boolean;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body) (an HTML page, a truncated answer). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface ReceiverOptions {
  secrets: string[];
  /** Decide the reply for the n-th request (0-based); default: 200 with a stable scan id per ingest_key. */
  reply?: (request: ReceivedWebhook, n: number) => Reply | undefined;
}

export async function startReceiver({ secrets, reply }: ReceiverOptions) {
  const requests: ReceivedWebhook[] = [];
  const scanIds = new Map<string, string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhookSignature({
        body: raw,
        timestamp: req.headers[TIMESTAMP_HEADER.toLowerCase()] as string | undefined,
        signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
        secrets,
      });
      const received = { raw, body: JSON.parse(raw), headers: req.headers, signatureOk: verified.ok };
      const n = requests.push(received) - 1;
      const key = String(received.body.ingest_key);
      const scanId = scanIds.get(key) ?? randomUUID();
      scanIds.set(key, scanId);
      const fallback: Reply = verified.ok
        ? { status: 200, body: { scan_id: scanId } }
        : { status: 401, body: { error: verified.reason, message: verified.message } };
      const answer = reply?.(received, n) ?? fallback;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.raw ?? JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ingest/webhook`,
    requests,
    /** Requests for one capture directory. */
    for: (ingestKey: string) => requests.filter((r) => r.body.ingest_key === ingestKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

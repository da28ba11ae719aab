import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRgwTopic } from './rgw-topics.ts';
import type { S3CreatedEvent } from './s3rver.ts';

export interface NotificationSink {
  /** The RGW topic whose push endpoint is this sink; use it in bucket notification configurations. */
  topicArn: string;
  close(): Promise<void>;
}

interface NotificationRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number } };
}

async function readJson(req: IncomingMessage): Promise<{ Records?: NotificationRecord[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Receives a Ceph RGW bucket's object-created notifications in this process: an HTTP server on
 * 127.0.0.1 and an RGW topic pushing to it (SNS-compatible CreateTopic, signed like any S3 request).
 * Not persistent: RGW pushes before it answers the PUT, so `events` is complete once the PUT returned.
 */
export async function createNotificationSink({
  endpoint,
  credentials,
  events,
}: {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  events: S3CreatedEvent[];
}): Promise<NotificationSink> {
  const server = createServer((req, res) => {
    readJson(req).then(
      (body) => {
        for (const record of body.Records ?? []) {
          events.push({
            eventName: record.eventName ?? '',
            bucket: record.s3?.bucket?.name ?? '',
            // RGW sends the key as stored, not URL-encoded as AWS does (pinned by s3-peers.test.ts).
            key: record.s3?.object?.key ?? '',
            size: record.s3?.object?.size,
          });
        }
        res.writeHead(200).end();
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const topic = await createRgwTopic({
    endpoint,
    credentials,
    name: `cti-test-sink-${process.pid}-${port}`,
    pushEndpoint: `http://127.0.0.1:${port}/`,
    persistent: false,
  });
  return {
    topicArn: topic.topicArn,
    async close() {
      await topic.remove();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

import { after, before, describe } from 'node:test';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createNotificationSink, type NotificationSink } from './notification-sink.ts';
import { acquireRgw } from './rgw-shared.ts';
import { notifyObjectCreated } from './rgw-topics.ts';
import { createLocalS3Client } from './s3-client.ts';
import { type S3CreatedEvent, startS3rver } from './s3rver.ts';

export type S3PeerKind = 's3rver' | 'rgw';

/** Every S3 implementation the tests can run against, in the order suites run them. */
export const ALL_S3_PEERS: readonly S3PeerKind[] = ['s3rver', 'rgw'];

/**
 * One S3-compatible store for a suite: s3rver (in process; checks no signatures or checksums) or Ceph
 * RGW (a real implementation: SigV4, Content-MD5, x-amz-content-sha256 and If-None-Match on PUT).
 */
export interface S3Peer {
  kind: S3PeerKind;
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Path-style, checksums only when required (see createLocalS3Client). */
  client: S3Client;
  /** What a spawned program needs to reach the store (S3_ENDPOINT, AWS_* credentials and region). */
  env: Record<string, string>;
  /**
   * A new, empty bucket. With `events`, every object created in it is recorded in `events` (s3rver:
   * its own events; RGW: a bucket notification pushed synchronously to a receiver in this process).
   */
  createBucket(options?: { name?: string; events?: boolean }): Promise<string>;
  /** Object-created events of the buckets made with `events: true`, in arrival order (decoded keys). */
  events: S3CreatedEvent[];
  close(): Promise<void>;
}

let bucketCounter = 0;
const bucketName = (kind: S3PeerKind) => `t-${kind}-${process.pid}-${++bucketCounter}`;

async function startS3rverPeer(): Promise<S3Peer> {
  const s3 = await startS3rver({ buckets: [] });
  const recorded = new Set<string>();
  const events: S3CreatedEvent[] = [];
  const stopListening = s3.onEvent((event) => {
    if (recorded.has(event.bucket)) events.push(event);
  });
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    kind: 's3rver',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials,
    client: s3.client,
    env: envFor(s3.endpoint, credentials),
    events,
    async createBucket({ name = bucketName('s3rver'), events: record = false } = {}) {
      await s3.client.send(new CreateBucketCommand({ Bucket: name }));
      if (record) recorded.add(name);
      return name;
    },
    async close() {
      stopListening();
      await s3.close();
    },
  };
}

async function startRgwPeer(): Promise<S3Peer> {
  const rgw = await acquireRgw();
  const credentials = { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey };
  const client = createLocalS3Client({ endpoint: rgw.endpoint, credentials });
  let sink: NotificationSink | undefined;
  const events: S3CreatedEvent[] = [];
  return {
    kind: 'rgw',
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    credentials,
    client,
    env: envFor(rgw.endpoint, credentials),
    events,
    async createBucket({ name = bucketName('rgw'), events: record = false } = {}) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      if (record) {
        sink ??= await createNotificationSink({ endpoint: rgw.endpoint, credentials, events });
        await notifyObjectCreated(client, name, sink.topicArn);
      }
      return name;
    },
    async close() {
      await sink?.close();
      client.destroy();
      await rgw.release();
    },
  };
}

function envFor(endpoint: string, credentials: S3Peer['credentials']): Record<string, string> {
  return {
    S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

/**
 * Starts one store. RGW is shared: the cluster the package's test run started (see
 * rgw-global-setup.ts) when there is one, else one for this process, stopped with its last peer.
 */
export function startS3Peer(kind: S3PeerKind): Promise<S3Peer> {
  return kind === 'rgw' ? startRgwPeer() : startS3rverPeer();
}

/**
 * Runs the same suite against several S3 implementations: one `describe('… against <kind>')` per
 * kind, with the peer started before and closed after it. `peer()` is valid inside tests and hooks.
 *
 * @example
 * withS3Peers(ALL_S3_PEERS, (peer) => {
 *   test('uploads arrive', async () => {
 *     const bucket = await peer().createBucket();
 *     await peer().client.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: Buffer.from('x') }));
 *   });
 * });
 */
export function withS3Peers(kinds: readonly S3PeerKind[], suite: (peer: () => S3Peer) => void): void {
  for (const kind of kinds) {
    describe(`against ${kind}`, () => {
      let current: S3Peer | undefined;
      before(async () => {
        current = await startS3Peer(kind);
      });
      after(async () => {
        await current?.close();
      });
      suite(() => {
        if (!current)
          throw new Error(`withS3Peers: the ${kind} peer is only available inside tests and hooks`);
        return current;
      });
    });
  }
}

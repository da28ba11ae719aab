import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createLocalS3Client } from './s3-client.ts';

/** One object-created notification as s3rver emits it (the S3 notification record shape). */
export interface S3CreatedEvent {
  eventName: string;
  bucket: string;
  key: string;
  size: number | undefined;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  client: S3Client;
  /** The first configured bucket. */
  bucket: string;
  /** Object-created events in arrival order (keys as stored, not URL-encoded). */
  events: S3CreatedEvent[];
  onEvent(listener: (event: S3CreatedEvent) => void): () => void;
  directory: string;
  close(): Promise<void>;
}

export interface StartS3rverOptions {
  buckets?: string[];
  /** Keep objects here (default: a fresh temp dir, removed on close). */
  directory?: string;
  port?: number;
}

interface S3rverRecord {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number } };
}

/**
 * Starts a real S3-compatible server (s3rver) on 127.0.0.1 with the given buckets and returns a
 * correctly configured client plus the stream of object-created events.
 *
 * @example
 * const s3 = await startS3rver({ buckets: ['cti-test'] });
 * await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'k', Body: Buffer.from('x') }));
 * await s3.close();
 */
export async function startS3rver({
  buckets = ['cti-test'],
  directory,
  port = 0,
}: StartS3rverOptions = {}): Promise<LocalS3> {
  const dir = directory ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  // s3rver's own listen() never sees a listen error (a busy --port): it became an uncaught 'error'
  // event that killed the process with a stack trace. Listen with a callback and reject on 'error'.
  const listen = server.listen.bind(server);
  server.listen = (...args: unknown[]) =>
    new Promise((resolve, reject) => {
      const http = listen(...args, () => resolve(http));
      http.once('error', reject);
    }) as never;
  let address: AddressInfo;
  try {
    address = (await server.run()) as AddressInfo;
  } catch (err) {
    if (!directory) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const events: S3CreatedEvent[] = [];
  const listeners = new Set<(event: S3CreatedEvent) => void>();
  server.on('event', (payload: { Records: S3rverRecord[] }) => {
    for (const record of payload.Records) {
      const event = {
        eventName: record.eventName,
        bucket: record.s3.bucket.name,
        // s3rver emits the key as stored, not URL-encoded like real S3 notifications.
        key: record.s3.object.key,
        size: record.s3.object.size,
      };
      events.push(event);
      for (const listener of listeners) listener(event);
    }
  });
  const client = createLocalS3Client({ endpoint });
  return {
    endpoint,
    port: address.port,
    client,
    bucket: buckets[0] ?? 'cti-test',
    events,
    directory: dir,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      client.destroy();
      await server.close();
      if (!directory) await rm(dir, { recursive: true, force: true });
    },
  };
}

import assert from 'node:assert/strict';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { S3CreatedEvent } from '@cti/testkit';
import type { CommitCaptureInput } from '../outbox/outbox-types.ts';
import { sha256 } from './outbox-fixtures.ts';

/** Every object in the bucket as key → bytes (the test's own view of what really reached the store). */
export async function readBucket(client: S3Client, bucket: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const item of page.Contents ?? []) {
      const key = item.Key as string;
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      out.set(
        key,
        Buffer.from(
          await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        ),
      );
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Key prefix of a capture in the raw layout used by the fixtures. */
export const captureDir = (captureId: string, deviceCode = 'dev-test', day = '2025/09/09') =>
  `raw/${deviceCode}/${day}/${captureId}/`;

/** What the store must hold: exactly these keys with exactly these bytes. */
export function expected(captures: CommitCaptureInput[]): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (const c of captures)
    for (const f of c.files) map.set(`${captureDir(c.captureId)}${f.name}`, Buffer.from(f.data));
  return map;
}

export function assertSameObjects(actual: Map<string, Buffer>, wanted: Map<string, Buffer>): void {
  assert.deepEqual([...actual.keys()].sort(), [...wanted.keys()].sort());
  for (const [key, bytes] of wanted)
    assert.equal(sha256(actual.get(key) as Buffer), sha256(bytes), `bytes of ${key}`);
}

/** meta.json is the last object of each capture to arrive, and every key arrived exactly once. */
export function assertMetaLastOnce(events: S3CreatedEvent[], captures: CommitCaptureInput[]): void {
  const keys = events.map((e) => e.key);
  assert.equal(
    new Set(keys).size,
    keys.length,
    `duplicate uploads: ${keys.filter((k, i) => keys.indexOf(k) !== i)}`,
  );
  for (const c of captures) {
    const dir = captureDir(c.captureId);
    const mine = keys.filter((k) => k.startsWith(dir));
    assert.equal(mine.at(-1), `${dir}meta.json`, `meta.json last for ${c.captureId}: ${mine}`);
  }
}

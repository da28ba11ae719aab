import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

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

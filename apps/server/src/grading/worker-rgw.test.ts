import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fromIngestKeyUri, META_FILE, validateMeta } from '@cti/contracts';
import { decodeRaster } from '@cti/imaging';
import { createGrader } from './grade-image.ts';
import {
  createGradingRig,
  type GradingRig,
  phantomPng,
  type SpawnedWorker,
  sha256,
} from './test-grading-rig.ts';

// The worker against Ceph RGW (@cti/testkit), a real S3 implementation: SigV4 and the payload hash are
// verified, and a streamed or checksummed PUT the SDK frames as aws-chunked would be refused or stored
// with the framing in it. One scan graded; its overlay and mask in RGW are, byte for byte, what the
// grader makes of that image in this process. (The rest of the worker suite runs against s3rver.)

let rig: GradingRig;
let worker: SpawnedWorker;
before(async () => {
  rig = await createGradingRig({ s3: 'rgw' });
  worker = rig.spawnWorker({ CTI_WORKER_ID: 'w-rgw' });
  await worker.waitForLog('worker started');
});
after(() => rig?.close());

test('RGW: a scan is graded; overlay and mask are written byte-exact, as the grader makes them', async () => {
  assert.equal(rig.s3.kind, 'rgw');
  const image = await phantomPng(11);
  const meta = { acquisition: { pixel_spacing_mm: 0.4 } };
  const { scanId, captureId } = await rig.ingest({ image, meta });
  await rig.waitForStatus(scanId, 'graded', 60_000);
  const [result] = await rig.db.sql<{ id: string; grade: string; grading_job_id: string }[]>`
    SELECT id, grade, grading_job_id::text FROM grading_results WHERE scan_id = ${scanId}`;
  const assets = await rig.db.sql<
    { role: string; bucket: string; object_key: string; sha256: string; size_bytes: string }[]
  >`
    SELECT l.role, a.bucket, a.object_key, a.sha256, a.size_bytes::text
    FROM grading_result_assets l JOIN assets a ON a.id = l.asset_id
    WHERE l.grading_result_id = ${result!.id} ORDER BY l.role`;
  assert.deepEqual(
    assets.map((a) => [a.role, a.bucket, a.object_key]),
    ['mask', 'overlay'].map((role) => [
      role,
      rig.s3.bucket,
      `processed/${captureId}/job-${result!.grading_job_id}-${role}.png`,
    ]),
  );

  // The same grading in this process: same models, same image, same meta.json.
  const metaJson = await rig.objectBytes(rig.s3.bucket, `${await rawDir(scanId)}${META_FILE}`);
  const checked = validateMeta(JSON.parse(metaJson.toString('utf8')));
  assert.ok(checked.ok);
  const grader = await createGrader();
  try {
    const expected = await grader.grade({
      raster: await decodeRaster(image),
      meta: checked.value,
      calibration: null,
    });
    assert.equal(result!.grade, expected.grade);
    const want = { mask: expected.maskPng, overlay: expected.overlayPng };
    for (const a of assets) {
      const stored = await rig.objectBytes(a.bucket, a.object_key);
      assert.equal(sha256(stored), a.sha256.trim(), `${a.role}: the bytes in RGW are the asset row's`);
      assert.equal(stored.length, Number(a.size_bytes));
      assert.ok(stored.equals(want[a.role as 'mask' | 'overlay']), `${a.role}: the grader's exact bytes`);
    }
  } finally {
    await grader.close();
  }
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exit, 0);
});

/** The capture's raw/…/ prefix in its bucket, from the scan's ingest key. */
async function rawDir(scanId: string): Promise<string> {
  const [row] = await rig.db.sql<{ ingest_key: string }[]>`SELECT ingest_key FROM scans WHERE id = ${scanId}`;
  return fromIngestKeyUri(row!.ingest_key).dir;
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Row } from 'postgres';
import { createGradingRig, type GradingRig, phantomPng } from './test-grading-rig.ts';

// What grading takes from meta.json and how it settles the pixel spacing, through the real webhook,
// s3rver and a spawned `cti-server worker` (one per test, started once the scans are prepared).

let rig: GradingRig;
before(async () => {
  rig = await createGradingRig();
});
after(() => rig.close());

/** Grades the scans with a worker of their own, then returns each one's result. */
async function gradeAll(scanIds: string[]): Promise<Row[]> {
  const worker = rig.spawnWorker({ CTI_WORKER_POLL_MS: '200' });
  try {
    for (const id of scanIds) await rig.waitForStatus(id, 'graded', 60_000);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exit;
  }
  const out: Row[] = [];
  for (const id of scanIds) {
    const [r] = await rig.db.sql`
      SELECT grade, grade_reasons, features_used FROM grading_results WHERE scan_id = ${id}`;
    out.push(r!);
  }
  return out;
}

describe('meta.json from a spec §5.3 webhook (no meta_sha256)', () => {
  test('the meta_json ingest validated is used (spacing, hint box); a scan without it says meta.json was not read', async () => {
    const meta = {
      acquisition: { pixel_spacing_mm: 0.4 },
      inference_summary: {
        ribeye_bbox: [100, 80, 300, 220],
        mask_iou_hint: null,
        model: { name: 'hint', version: '1' },
      },
    };
    const spec = await rig.ingest({ image: await phantomPng(41), meta: meta as never, specBody: true });
    const relay = await rig.ingest({ image: await phantomPng(41), meta: meta as never });
    // A scan ingested from a spec body before ingest kept the validated copy.
    const old = await rig.ingest({ image: await phantomPng(42), meta: meta as never, specBody: true });
    await rig.db.sql`
      UPDATE scan_events SET meta = meta - 'meta_json' WHERE scan_id = ${old.scanId} AND event = 'uploaded'`;
    const [uploaded] = await rig.db.sql`
      SELECT meta FROM scan_events WHERE scan_id = ${spec.scanId} AND event = 'uploaded'`;
    assert.deepEqual(uploaded!.meta.unhashed_objects, ['meta.json']);
    assert.equal(uploaded!.meta.meta_json.acquisition.pixel_spacing_mm, 0.4);
    const [relayed] = await rig.db.sql`
      SELECT meta FROM scan_events WHERE scan_id = ${relay.scanId} AND event = 'uploaded'`;
    assert.equal(
      relayed!.meta.meta_json,
      undefined,
      'a hash-checked meta.json is read from the store, not kept twice',
    );

    const [s, r, o] = await gradeAll([spec.scanId, relay.scanId, old.scanId]);
    for (const [label, g, source] of [
      ['spec body', s!, 'ingest_webhook'],
      ['relay body', r!, 'store'],
    ] as const) {
      assert.equal(g.features_used.pixel_spacing_source, 'meta', label);
      assert.equal(g.features_used.pixel_spacing_mm, 0.4, label);
      assert.deepEqual(g.features_used.lineage.capture_hint_box, [100, 80, 300, 220], label);
      assert.equal(g.features_used.lineage.meta_source, source, label);
    }
    assert.equal(s!.features_used.rea_cm2, r!.features_used.rea_cm2);
    assert.notEqual(o!.features_used.pixel_spacing_source, 'meta');
    assert.equal(o!.features_used.lineage.meta_source, null);
    assert.equal(
      o!.features_used.lineage.meta_problem,
      'meta.json not read: ingest recorded no sha256 for it and kept no validated copy',
    );
    assert.doesNotMatch(
      JSON.stringify(o!.features_used.lineage.pixel_spacing),
      /no acquisition\.pixel_spacing_mm in meta/,
    );
  });
});

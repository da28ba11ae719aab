import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { generatePhantom } from '@cti/imaging';
import { waitFor } from '@cti/testkit';
import { createGradingRig, type GradingRig, phantomPng, pngDeclaring } from './test-grading-rig.ts';

// What grading takes from meta.json and how it settles the pixel spacing, through the real webhook,
// s3rver and a spawned `cti-server worker` (one per test, started once the scans are prepared).

let rig: GradingRig;
before(async () => {
  rig = await createGradingRig();
});
after(() => rig.close());

/** Grades the scans with a worker of their own, then returns each one's result. */
const gradeAll = (scanIds: string[]) => rig.gradeWithOwnWorker(scanIds, 60_000);

describe('meta.json from a spec §5.3 webhook (no meta_sha256)', () => {
  test('the meta_json ingest validated is used (spacing, hint box); a scan without it says meta.json was not read', async () => {
    const truth = generatePhantom({ seed: 41, kind: 'ribeye', layout: 'screen', width: 480, height: 360 });
    const spacing = Math.round(truth.labels.pixelSpacingMm * 1e5) / 1e5;
    const meta = {
      // The phantom's own spacing (its on-screen ruler agrees), to 5 decimals as the worker records it.
      acquisition: { pixel_spacing_mm: spacing },
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
    assert.equal(uploaded!.meta.meta_json.acquisition.pixel_spacing_mm, spacing);
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
      assert.equal(g.features_used.pixel_spacing_mm, spacing, label);
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
    assert.ok(o!.grade_reasons.includes('meta_unavailable'), o!.grade_reasons.join());
    for (const g of [s!, r!])
      assert.ok(!g.grade_reasons.includes('meta_unavailable'), g.grade_reasons.join());
    assert.doesNotMatch(
      JSON.stringify(o!.features_used.lineage.pixel_spacing),
      /no acquisition\.pixel_spacing_mm in meta/,
    );
  });
});

/** A capture's object (meta.json, mask.png) as its asset row names it. */
async function assetOf(captureId: string, file: string): Promise<{ Bucket: string; Key: string }> {
  const [a] = await rig.db.sql<{ bucket: string; object_key: string }[]>`
    SELECT bucket, object_key FROM assets WHERE object_key LIKE ${`%/${captureId}/${file}`}`;
  assert.ok(a, `${file} of ${captureId} has an asset row`);
  return { Bucket: a.bucket, Key: a.object_key };
}

describe('meta.json or the capture mask gone from the store after ingest (review r2 F10)', () => {
  test('graded without them, the reason naming the missing object, never image_missing; a meta.json whose bytes changed stays sha256_mismatch', async () => {
    const truth = generatePhantom({ seed: 44, kind: 'ribeye', layout: 'screen', width: 480, height: 360 })
      .labels.pixelSpacingMm;
    const image = await phantomPng(44);
    // meta.json states a spacing 10 % off the ruler's: used, it would make the scan spacing_conflict.
    const meta = { acquisition: { pixel_spacing_mm: truth * 1.1 } } as never;
    const gone = await rig.ingest({ image, meta });
    const noMask = await rig.ingest({ image, mask: pngDeclaring(480, 360), meta });
    const tampered = await rig.ingest({ image, meta });
    const goneMeta = await assetOf(gone.captureId, 'meta.json');
    await rig.s3.client.send(new DeleteObjectCommand(goneMeta));
    await rig.s3.client.send(new DeleteObjectCommand(await assetOf(noMask.captureId, 'mask.png')));
    const changed = await assetOf(tampered.captureId, 'meta.json');
    await rig.s3.client.send(
      new PutObjectCommand({
        ...changed,
        Body: JSON.stringify({ acquisition: { pixel_spacing_mm: 0.5 } }),
      }),
    );

    const worker = rig.spawnWorker({ CTI_WORKER_POLL_MS: '200', CTI_GRADING_MAX_ATTEMPTS: '2' });
    const ids = [gone.scanId, noMask.scanId, tampered.scanId];
    try {
      await waitFor(
        async () =>
          (
            await rig.db.sql`
              SELECT 1 FROM grading_jobs WHERE scan_id IN ${rig.db.sql(ids)} AND status IN ('done', 'failed')`
          ).length === 3,
        { what: 'the three jobs done or failed', timeoutMs: 60_000 },
      );
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exit;
    }
    const jobs = await rig.db.sql`
      SELECT scan_id, status, attempts, last_error_code, last_error FROM grading_jobs
      WHERE scan_id IN ${rig.db.sql(ids)}`;
    const job = (id: string) => jobs.find((j) => j.scan_id === id)!;
    // Before the fix: failed after every attempt with image_missing ("…/meta.json does not exist").
    assert.deepEqual(
      [job(gone.scanId).status, job(gone.scanId).attempts, job(gone.scanId).last_error_code],
      ['done', 1, null],
    );
    assert.deepEqual([job(noMask.scanId).status, job(noMask.scanId).attempts], ['done', 1]);
    const [g] = await rig.db.sql`
      SELECT grade, grade_reasons, features_used FROM grading_results WHERE scan_id = ${gone.scanId}`;
    const lineage = g!.features_used.lineage;
    assert.equal(lineage.meta_source, null);
    assert.equal(
      lineage.meta_problem,
      `meta.json missing from the store (s3://${goneMeta.Bucket}/${goneMeta.Key} does not exist)`,
    );
    // The spacing fell through to the on-screen ruler: no conflict with the meta.json it did not read.
    assert.equal(g!.features_used.pixel_spacing_source, 'ruler');
    assert.ok(!g!.grade_reasons.includes('spacing_conflict'), g!.grade_reasons.join());
    assert.ok(g!.features_used.rea_cm2 > 0);
    // Graded without the meta.json ingest hashed: the grade says so (at best M), not only the lineage.
    assert.ok(g!.grade_reasons.includes('meta_unavailable'), g!.grade_reasons.join());
    assert.notEqual(g!.grade, 'A');
    const [m] = await rig.db.sql`
      SELECT confidence_breakdown FROM grading_results WHERE scan_id = ${noMask.scanId}`;
    assert.equal(m!.confidence_breakdown.capture_mask_iou, null);
    assert.match(m!.confidence_breakdown.capture_mask_problem, /mask\.png is missing from the store$/);

    const t = job(tampered.scanId);
    assert.deepEqual([t.status, t.attempts, t.last_error_code], ['failed', 1, 'sha256_mismatch']);
    assert.match(t.last_error, /meta\.json has sha256 [0-9a-f]{64}, but ingest recorded/);
    assert.equal(
      (await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${tampered.scanId}`).length,
      0,
    );
  });
});

describe('a pixel spacing that cannot be right (review r2 F2, F3)', () => {
  test('10× off: figures withheld, M spacing_implausible naming the source; for a frame of twice the size: rescaled; the ruler disagreeing: spacing_conflict', async () => {
    // The phantom's true spacing; its screen has a depth ruler the worker reads (seed 44: not every
    // phantom screen carries a readable ruler — seed 43's labels became ambiguous with the wider
    // training preset, and the reader says so rather than guess).
    const truth = generatePhantom({ seed: 44, kind: 'ribeye', layout: 'screen', width: 480, height: 360 })
      .labels.pixelSpacingMm;
    const image = await phantomPng(44);
    const slip = await rig.ingest({
      image,
      meta: { acquisition: { pixel_spacing_mm: truth * 10 } } as never,
    });
    const twice = await rig.ingest({
      image,
      meta: { acquisition: { pixel_spacing_mm: truth / 2, width_px: 960, height_px: 720 } } as never,
    });
    const off = await rig.ingest({
      image,
      meta: { acquisition: { pixel_spacing_mm: truth * 1.1 } } as never,
    });
    const [s, t, o] = await gradeAll([slip.scanId, twice.scanId, off.scanId]);

    assert.equal(s!.grade, 'M');
    assert.ok(s!.grade_reasons.includes('spacing_implausible'), s!.grade_reasons.join());
    for (const key of ['rea_cm2', 'fat_thickness_mm', 'ribeye_width_mm', 'ribeye_depth_mm'])
      if (s!.features_used.missing_reasons[key] !== 'ribeye_cut_off')
        assert.deepEqual(
          [key, s!.features_used[key], s!.features_used.missing_reasons[key]],
          [key, null, 'implausible_spacing'],
        );
    const problem = s!.features_used.lineage.pixel_spacing.problem;
    assert.deepEqual([problem.reason, problem.source], ['implausible_spacing', 'meta']);
    assert.match(
      problem.message,
      /from meta\.json acquisition\.pixel_spacing_mm makes the scan field .* cm deep, outside 3–35 cm/,
    );
    const [row] = await rig.db.sql`SELECT latest_grade, latest_rea_cm2 FROM scans WHERE id = ${slip.scanId}`;
    assert.deepEqual([row!.latest_grade, row!.latest_rea_cm2], ['M', null], 'no absurd REA reaches reports');

    assert.equal(t!.features_used.pixel_spacing_source, 'meta');
    assert.ok(
      Math.abs(t!.features_used.pixel_spacing_mm / truth - 1) < 1e-3,
      String(t!.features_used.pixel_spacing_mm),
    );
    assert.deepEqual(t!.features_used.lineage.pixel_spacing.rescaled_from, {
      pixel_spacing_mm: truth / 2,
      width_px: 960,
      height_px: 720,
    });
    assert.ok(t!.features_used.rea_cm2 > 0);

    assert.ok(o!.grade_reasons.includes('spacing_conflict'), o!.grade_reasons.join());
    assert.equal(o!.features_used.rea_cm2, null);
    assert.equal(o!.features_used.missing_reasons.rea_cm2, 'spacing_conflict');
    const conflict = o!.features_used.lineage.pixel_spacing;
    assert.ok(Math.abs(conflict.ruler.mm_per_px / truth - 1) < 0.02, 'the ruler read the true spacing');
    assert.equal(
      conflict.mm,
      Math.round(truth * 1.1 * 1e5) / 1e5 === conflict.mm ? conflict.mm : truth * 1.1,
    );
  });
});

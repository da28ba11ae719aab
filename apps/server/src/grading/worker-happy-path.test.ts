import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeGray, decodeRaster, encodePng, generatePhantom, toGray } from '@cti/imaging';
import { DEFAULT_MODELS_DIR, readModelCard } from '@cti/models';
import { waitFor } from '@cti/testkit';
import type { GradingError } from './grading-errors.ts';
import { IMAGE_BYTE_LIMIT, MAX_IMAGE_BYTES, readVerifiedObject } from './object-store.ts';
import { enqueueRegrades } from './regrade.ts';
import {
  createGradingRig,
  type GradingRig,
  phantomPng,
  pngDeclaring,
  type SpawnedWorker,
  sha256,
} from './test-grading-rig.ts';

// One spawned `cti-server worker` grades captures ingested through the real webhook. Its poll interval
// is a minute: a scan graded within the test's patience was woken by the ingest's NOTIFY. Its lease is
// the default minute, not the rig's 6 s: the 17 MP BMP below keeps the worker's one thread busy for
// seconds (decode, gray, scan area), and on a loaded CI machine the lease ran out before the heartbeat
// could renew it, five times, failing the job `lease_expired` (no test here is about leases).

let rig: GradingRig;
let worker: SpawnedWorker;
before(async () => {
  rig = await createGradingRig();
  worker = rig.spawnWorker({
    CTI_WORKER_ID: 'w-happy',
    CTI_WORKER_POLL_MS: '60000',
    CTI_GRADING_LEASE_S: '60',
  });
  await worker.waitForLog('worker started');
});
after(() => rig.close());

const notificationsOf = (type: string) =>
  rig.db.sql<{ user_id: string; payload: Record<string, unknown> }[]>`
    SELECT user_id, payload FROM notifications WHERE type = ${type} ORDER BY user_id`;

describe('grading a scan end to end', () => {
  test('scan → graded: result with lineage, overlay and mask byte-exact with their assets, event, notification', async () => {
    const image = await phantomPng(3);
    // The phantom's own spacing: its on-screen ruler must agree with meta.json's (within 3 %).
    const truth = generatePhantom({ seed: 3, kind: 'ribeye', layout: 'screen', width: 480, height: 360 });
    const sp = Math.round(truth.labels.pixelSpacingMm * 1e5) / 1e5;
    const { scanId, captureId } = await rig.ingest({
      image,
      meta: { acquisition: { pixel_spacing_mm: sp } },
    });
    await rig.waitForStatus(scanId, 'graded', 30_000);
    const card = await readModelCard(join(DEFAULT_MODELS_DIR, 'ribeye-seg.card.json'));
    const [job] = await rig.db
      .sql`SELECT id, status, attempts, finished_at FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.equal(job!.status, 'done');
    assert.equal(job!.attempts, 1);
    assert.ok(job!.finished_at);
    const [result] = await rig.db.sql`SELECT * FROM grading_results WHERE scan_id = ${scanId}`;
    assert.equal(result!.model_name, 'ribeye-seg');
    assert.equal(result!.model_version, card.version);
    assert.equal(result!.inference_sha256, card.sha256);
    assert.equal(result!.created_by, null, 'graded by the system');
    assert.equal(String(result!.grading_job_id), String(job!.id));
    assert.ok(['A', 'M'].includes(result!.grade), `grade ${result!.grade} ${result!.grade_reasons}`);
    const confidence = Number(result!.confidence);
    assert.ok(confidence > 0 && confidence <= 1);
    const breakdown = result!.confidence_breakdown;
    for (const key of ['mask_iou', 'edge_quality', 'snr']) assert.ok(key in breakdown, `breakdown.${key}`);
    assert.equal(breakdown.mask_iou, null, 'no hint box in this capture');
    const f = result!.features_used;
    assert.equal(f.pixel_spacing_source, 'meta');
    assert.equal(f.pixel_spacing_mm, sp);
    assert.ok(f.roi_area_px > 0);
    assert.equal(f.rea_cm2, Math.round(((f.roi_area_px * sp * sp) / 100) * 1000) / 1000);
    for (const key of [
      'mean_intensity',
      'texture_glcm_contrast',
      'fat_thickness_mm',
      'fat_position',
      'ribeye_depth_mm',
    ])
      assert.ok(key in f, key);
    assert.equal(f.lineage.segmentation_sha256, card.sha256);

    const assets = await rig.db.sql<
      {
        role: string;
        bucket: string;
        object_key: string;
        sha256: string;
        size_bytes: string;
        mime_type: string;
      }[]
    >`
      SELECT l.role, a.bucket, a.object_key, a.sha256, a.size_bytes::text, a.mime_type
      FROM grading_result_assets l JOIN assets a ON a.id = l.asset_id
      WHERE l.grading_result_id = ${result!.id} ORDER BY l.role`;
    assert.deepEqual(
      assets.map((a) => a.role),
      ['mask', 'overlay'],
    );
    for (const a of assets) {
      assert.equal(a.object_key, `processed/${captureId}/job-${job!.id}-${a.role}.png`);
      assert.equal(a.mime_type, 'image/png');
      const bytes = await rig.objectBytes(a.bucket, a.object_key);
      assert.equal(sha256(bytes), a.sha256.trim(), `${a.role} bytes match their asset row`);
      assert.equal(bytes.length, Number(a.size_bytes));
    }
    const mask = await decodeGray(await rig.objectBytes(assets[0]!.bucket, assets[0]!.object_key));
    const overlay = await decodeRaster(await rig.objectBytes(assets[1]!.bucket, assets[1]!.object_key));
    const source = await decodeRaster(image);
    assert.deepEqual([mask.width, mask.height], [source.width, source.height]);
    assert.ok(
      mask.data.every((v) => v === 0 || v === 255),
      'the mask PNG is 0/255',
    );
    assert.deepEqual([overlay.width, overlay.height, overlay.channels], [source.width, source.height, 3]);
    assert.equal(
      mask.data.filter((v) => v === 255).length,
      f.roi_area_px,
      'the mask PNG is the measured mask',
    );

    const events = await rig.db
      .sql`SELECT event, meta FROM scan_events WHERE scan_id = ${scanId} ORDER BY id`;
    assert.deepEqual(
      events.map((e) => e.event),
      ['uploaded', 'ingested', 'graded'],
    );
    assert.equal(events[2]!.meta.grading_result_id, result!.id);
    assert.equal(events[2]!.meta.grade, result!.grade);
    assert.equal(events[2]!.meta.rea_cm2, f.rea_cm2);

    const graded = await notificationsOf('scan_graded');
    assert.deepEqual(
      graded.map((n) => n.user_id).sort(),
      [rig.users.farmer, rig.users.technician].sort(),
      'every user of the scan farm, nobody else',
    );
    assert.deepEqual(
      { ...graded[0]!.payload },
      {
        ...graded[0]!.payload,
        scan_id: scanId,
        capture_id: captureId,
        farm_id: rig.farmId,
        grade: result!.grade,
        rea_cm2: f.rea_cm2,
      },
    );
    assert.equal((await notificationsOf('scan_rejected')).length, 0);
  });

  test('liveness and metrics on the worker port', async () => {
    const port = await worker.port();
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /cti_grading_jobs_total\{outcome="graded"\} 1/);
    for (const name of [
      'cti_grading_duration_seconds_bucket',
      'cti_grading_queue_depth',
      'cti_grading_oldest_queued_seconds',
      'cti_grading_lease_expiries_total',
    ])
      assert.ok(metrics.includes(name), name);
  });

  test('tampered image bytes: error sha256_mismatch at once, no result, grading_failed to admin and technician', async () => {
    const image = await phantomPng(4);
    const tampered = Buffer.from(image);
    tampered[tampered.length - 20]! ^= 0xff;
    const { scanId } = await rig.ingest({ image, stored: tampered });
    await rig.waitForStatus(scanId, 'error', 30_000);
    const [job] = await rig.db
      .sql`SELECT status, attempts, last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.deepEqual([job!.status, job!.attempts, job!.last_error_code], ['failed', 1, 'sha256_mismatch']);
    assert.match(job!.last_error, /sha256/);
    assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 0);
    const [event] = await rig.db
      .sql`SELECT meta FROM scan_events WHERE scan_id = ${scanId} AND event = 'grading_failed'`;
    assert.equal(event!.meta.reason, 'sha256_mismatch');
    const failed = (await notificationsOf('grading_failed')).filter((n) => n.payload.scan_id === scanId);
    assert.deepEqual(failed.map((n) => n.user_id).sort(), [rig.users.admin, rig.users.technician].sort());
  });

  test('bytes that are no image: error undecodable_image with a clear reason', async () => {
    const notImage = Buffer.from('this is a text file, not a PNG\n'.repeat(20));
    const { scanId } = await rig.ingest({ image: notImage });
    await rig.waitForStatus(scanId, 'error', 30_000);
    const [job] = await rig.db
      .sql`SELECT last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.equal(job!.last_error_code, 'undecodable_image');
    // The object is named once, then the reason: not "…/image.png: image: not a decodable image".
    assert.match(job!.last_error, /^s3:\/\/[^ ]+\/image\.png: not a decodable image: /);
    assert.doesNotMatch(job!.last_error, /: image: /);
  });

  test('an SVG upload is refused, not rendered: undecodable_image at once, naming it', async () => {
    // librsvg would render whatever size it declares: 300 bytes at 6000×6600 with a wide blur held a
    // worker slot over 2 minutes. A small one is refused the same way, before sharp sees it.
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><filter id="f"><feGaussianBlur stdDeviation="40"/></filter><rect width="640" height="480" fill="#777" filter="url(#f)"/></svg>',
    );
    const { scanId } = await rig.ingest({ image: svg });
    await rig.waitForStatus(scanId, 'error', 30_000);
    const [job] = await rig.db
      .sql`SELECT status, attempts, last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.deepEqual([job!.status, job!.attempts, job!.last_error_code], ['failed', 1, 'undecodable_image']);
    assert.match(job!.last_error, /^s3:\/\/[^ ]+\/image\.png: not a decodable image: an SVG/);
  });

  test('a PNG declaring 16000×16000 (746 kB, 768 MB decoded) is refused from its header: image_too_large', async () => {
    const bomb = pngDeclaring(16_000, 16_000, { rgb: true });
    assert.ok(bomb.length < 800_000, `${bomb.length} bytes`);
    // The header alone, its pixels undecodable: image_too_large, not undecodable_image, shows the
    // refusal comes before the decoder (which allocated the whole image before the size was checked).
    const headerOnly = pngDeclaring(16_000, 16_000, { rgb: true, pixels: false });
    for (const image of [bomb, headerOnly]) {
      const { scanId } = await rig.ingest({ image });
      await rig.waitForStatus(scanId, 'error', 30_000);
      const [job] = await rig.db
        .sql`SELECT status, attempts, last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
      assert.deepEqual([job!.status, job!.attempts, job!.last_error_code], ['failed', 1, 'image_too_large']);
      assert.match(job!.last_error, /image\.png declares 16000×16000, over 40000000 pixels/);
    }
  });

  test('a 69 MB 32-bit BMP of 17 MP (over the old 64 MiB cap, under the pixel limit) is graded; the byte cap follows from the pixel limit', async () => {
    // A phantom screen blown up 10× (nearest), as a 32-bit BGRX BMP: 54 + 4800 × 3600 × 4 bytes.
    const small = generatePhantom({ seed: 44, kind: 'ribeye', layout: 'screen', width: 480, height: 360 });
    const gray = toGray(small.image);
    const [w, h] = [gray.width * 10, gray.height * 10];
    const bmp = Buffer.alloc(54 + w * h * 4);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(bmp.length, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(w, 18);
    bmp.writeInt32LE(-h, 22); // top-down
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(32, 28);
    bmp.writeUInt32LE(w * h * 4, 34);
    for (let y = 0; y < h; y++) {
      const row = 54 + y * w * 4;
      for (let x = 0; x < w; x++) {
        const v = gray.data[Math.floor(y / 10) * gray.width + Math.floor(x / 10)]!;
        bmp[row + 4 * x] = v;
        bmp[row + 4 * x + 1] = v;
        bmp[row + 4 * x + 2] = v;
      }
    }
    assert.ok(bmp.length > 64 << 20 && bmp.length < MAX_IMAGE_BYTES, `${bmp.length} bytes`);
    const { scanId } = await rig.ingest({ image: bmp });
    await rig.waitForStatus(scanId, 'graded', 120_000);
    const [r] = await rig.db.sql`SELECT features_used FROM grading_results WHERE scan_id = ${scanId}`;
    assert.ok(r!.features_used.roi_area_px > 0);
    assert.equal(MAX_IMAGE_BYTES, 40_000_000 * 4 + (1 << 20));
    // Over a limit, image_too_large says which limit and why (the worker's image limit is 161 MB: a
    // smaller one stands in for it here, on the same store and the same function).
    const [image] = await rig.db.sql<{ bucket: string; object_key: string; sha256: string }[]>`
      SELECT a.bucket, a.object_key, a.sha256 FROM scans s JOIN assets a ON a.id = s.image_asset_id WHERE s.id = ${scanId}`;
    await assert.rejects(
      readVerifiedObject(
        rig.s3.client,
        { bucket: image!.bucket, key: image!.object_key, sha256: image!.sha256 },
        { ...IMAGE_BYTE_LIMIT, maxBytes: 64 << 20 },
      ),
      (err: GradingError) =>
        err.code === 'image_too_large' &&
        /is 69120054 bytes, over the limit of 67108864 bytes \(40 MP × 4 bytes \+ 1 MiB: an uncompressed 8-bit RGBA frame at the pixel limit\)$/.test(
          err.message,
        ),
    );
  });

  test('a sliver (4000×32, 33×2000) or a side under 32 px: failed undecodable_image naming the shape, no result — as cti-models says', async () => {
    // A 4000×32 strip of a real phantom used to be graded (R); a 32 px wide one 1.25 million rows long
    // held a worker slot for most of an hour in the ruler search. The header alone is enough to refuse.
    const strip = async (width: number, height: number) => {
      const { image } = generatePhantom({ seed: 5, layout: 'screen', maxSide: 640 });
      const g = toGray(image);
      const data = new Uint8Array(width * height);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++)
          data[y * width + x] = g.data[(y % g.height) * g.width + (x % g.width)]!;
      return encodePng({ data, width, height });
    };
    for (const [image, says] of [
      [await strip(4000, 32), /image\.png declares 4000×32: 125:1, a sliver/],
      [await strip(33, 2000), /image\.png declares 33×2000: 60\.6:1, a sliver/],
      [await strip(31, 400), /image\.png declares 31×400: under 32 px on a side/],
      [pngDeclaring(32, 1_250_000, { pixels: false }), /image\.png declares 32×1250000: 39063:1, a sliver/],
    ] as const) {
      const { scanId } = await rig.ingest({ image });
      await rig.waitForStatus(scanId, 'error', 30_000);
      const [job] = await rig.db
        .sql`SELECT status, attempts, last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
      assert.deepEqual(
        [job!.status, job!.attempts, job!.last_error_code],
        ['failed', 1, 'undecodable_image'],
      );
      assert.match(job!.last_error, says);
      assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 0);
    }
  });

  test('a negative phantom (longitudinal backfat over the ribs) is graded R: not_a_ribeye_view, no area, staff and farm told', async () => {
    const image = await phantomPng(11, { kind: 'backfat_longitudinal' });
    const { scanId } = await rig.ingest({ image, meta: { acquisition: { pixel_spacing_mm: 0.4 } } });
    await rig.waitForStatus(scanId, 'graded', 30_000);
    const [r] = await rig.db
      .sql`SELECT grade, grade_reasons, confidence, features_used FROM grading_results WHERE scan_id = ${scanId}`;
    assert.equal(r!.grade, 'R');
    assert.ok(r!.grade_reasons.includes('not_a_ribeye_view'));
    assert.equal(r!.features_used.rea_cm2, null);
    assert.ok(r!.features_used.missing_reasons.rea_cm2);
    assert.ok(Number(r!.confidence) < 0.5);
    const rejected = (await notificationsOf('scan_rejected')).filter((n) => n.payload.scan_id === scanId);
    assert.deepEqual(
      rejected.map((n) => n.user_id).sort(),
      [rig.users.admin, rig.users.technician, rig.users.farmer].sort(),
    );
  });

  test('regrade: a second result, history kept, the latest query (spec §7) returns the new one', async () => {
    const { scanId } = await rig.ingest({ image: await phantomPng(5) });
    await rig.waitForStatus(scanId, 'graded', 30_000);
    const summary = await enqueueRegrades(rig.db.sql, { selection: { scanId }, modelVersion: null });
    assert.equal(summary.enqueued, 1);
    const again = await enqueueRegrades(rig.db.sql, { selection: { scanId }, modelVersion: null });
    assert.deepEqual([again.enqueued, again.alreadyPending], [0, 1], 'one pending job per scan');
    await waitFor(
      async () => (await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length === 2,
      {
        what: 'second result',
        timeoutMs: 30_000,
      },
    );
    const results = await rig.db
      .sql`SELECT id, created_at, grading_job_id FROM grading_results WHERE scan_id = ${scanId} ORDER BY created_at, id`;
    const [latest] = await rig.db.sql`
      SELECT DISTINCT ON (g.scan_id) g.id FROM grading_results g WHERE g.scan_id = ${scanId}
      ORDER BY g.scan_id, g.created_at DESC, g.id DESC`;
    assert.equal(latest!.id, results[1]!.id);
    assert.notEqual(String(results[0]!.grading_job_id), String(results[1]!.grading_job_id));
    const jobs = await rig.db
      .sql`SELECT reason, status FROM grading_jobs WHERE scan_id = ${scanId} ORDER BY id`;
    assert.deepEqual(
      jobs.map((j) => [j.reason, j.status]),
      [
        ['ingest', 'done'],
        ['regrade', 'done'],
      ],
    );
    // The same model on the same bytes: the same outcome, so the farm is not told again (F9).
    const told = (await notificationsOf('scan_graded')).filter((n) => n.payload.scan_id === scanId);
    assert.deepEqual(
      told.map((n) => [n.user_id, n.payload.grading_result_id]),
      [rig.users.technician, rig.users.farmer].sort().map((u) => [u, String(results[0]!.id)]),
      'one scan_graded per farm user, for the first result only',
    );
    const events = await rig.db
      .sql`SELECT meta FROM scan_events WHERE scan_id = ${scanId} AND event = 'graded' ORDER BY id`;
    assert.deepEqual(
      events.map((e) => [e.meta.job_reason, e.meta.notified, e.meta.notify_decision]),
      [
        ['ingest', true, 'first_result'],
        ['regrade', false, 'regrade_unchanged'],
      ],
    );
  });

  test('a regrade whose figures moved tells the farm once more; an R regraded R sends no second scan_rejected', async () => {
    const secondResult = async (scanId: string) => {
      await enqueueRegrades(rig.db.sql, { selection: { scanId }, modelVersion: null });
      await waitFor(
        async () => (await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length === 2,
        { what: 'second result', timeoutMs: 30_000 },
      );
    };
    // A device of its own: its calibration applies to no other test's scans.
    const { scanId } = await rig.ingest({ image: await phantomPng(6), deviceCode: 'dev-0077' });
    await rig.waitForStatus(scanId, 'graded', 30_000);
    const [first] = await rig.db.sql<{ sp: number; rea: number }[]>`
      SELECT (features_used->>'pixel_spacing_mm')::float8 AS sp, (features_used->>'rea_cm2')::float8 AS rea
      FROM grading_results WHERE scan_id = ${scanId}`;
    assert.ok(first!.rea > 0, 'the first grading measured an REA');
    // An admin's calibration 10 % coarser than the first grading's spacing: the REA moves by ≈ 21 %, far
    // past the tolerance — or, where the phantom's screen ruler is readable, the two disagree and the REA
    // is withheld as a spacing_conflict (grade M). Either way the outcome changed for the farm.
    await rig.db.sql`
      INSERT INTO device_calibrations (device_id, pixel_spacing_mm, valid_from)
      SELECT device_id, ${Math.round(first!.sp * 1.1 * 1e5) / 1e5}, '2025-01-01' FROM scans WHERE id = ${scanId}`;
    await secondResult(scanId);
    const graded = (await notificationsOf('scan_graded')).filter((n) => n.payload.scan_id === scanId);
    assert.equal(graded.length, 4, 'each farm user told of both results');
    const [event] = await rig.db.sql`
      SELECT meta FROM scan_events WHERE scan_id = ${scanId} AND event = 'graded' ORDER BY id DESC LIMIT 1`;
    assert.equal(event!.meta.notified, true);
    assert.match(event!.meta.notify_decision, /^regrade_changed:(?:\w+,)*rea_cm2\b/);

    const { scanId: rejected } = await rig.ingest({
      image: await phantomPng(12, { kind: 'backfat_longitudinal' }),
      meta: { acquisition: { pixel_spacing_mm: 0.4 } },
    });
    await rig.waitForStatus(rejected, 'graded', 30_000);
    await secondResult(rejected);
    const grades = await rig.db
      .sql`SELECT grade FROM grading_results WHERE scan_id = ${rejected} ORDER BY created_at, id`;
    assert.deepEqual(
      grades.map((g) => g.grade),
      ['R', 'R'],
    );
    const told = (await notificationsOf('scan_rejected')).filter((n) => n.payload.scan_id === rejected);
    assert.deepEqual(
      told.map((n) => n.user_id).sort(),
      [rig.users.admin, rig.users.technician, rig.users.farmer].sort(),
      'scan_rejected once each, for the first R only: nobody is asked to rescan the animal again',
    );
  });

  test('a capture with its own mask: it is read (sha256-checked) and its agreement with the segmentation recorded', async () => {
    const { image, labels } = generatePhantom({
      seed: 9,
      kind: 'ribeye',
      layout: 'crop',
      width: 480,
      height: 360,
    });
    const png = await encodePng(toGray(image));
    const mask = await encodePng({
      data: labels.ribeyeMask!.map((v) => v * 255),
      width: image.width,
      height: image.height,
    });
    const { scanId } = await rig.ingest({ image: png, mask });
    await rig.waitForStatus(scanId, 'graded', 30_000);
    const [r] = await rig.db.sql`SELECT confidence_breakdown FROM grading_results WHERE scan_id = ${scanId}`;
    const iou = r!.confidence_breakdown.capture_mask_iou;
    assert.ok(typeof iou === 'number' && iou > 0.5 && iou <= 1, `capture mask IoU ${iou}`);
  });

  test('a capture mask declaring another size is noted from its header, never decoded; the scan is graded', async () => {
    const image = await phantomPng(9);
    const mask = pngDeclaring(16_000, 16_000, { pixels: false });
    const { scanId } = await rig.ingest({ image, mask });
    await rig.waitForStatus(scanId, 'graded', 30_000);
    const [r] = await rig.db.sql`SELECT confidence_breakdown FROM grading_results WHERE scan_id = ${scanId}`;
    assert.equal(r!.confidence_breakdown.capture_mask_iou, null);
    assert.match(
      r!.confidence_breakdown.capture_mask_problem,
      /mask\.png declares 16000×16000, the image 480×360$/,
    );
  });

  test('a job whose result is already written is finished without grading it again; the constraint refuses a second result', async () => {
    const { scanId } = await rig.ingest({ image: await phantomPng(6) });
    await rig.waitForStatus(scanId, 'graded', 30_000);
    const [first] = await rig.db
      .sql`SELECT id, grading_job_id FROM grading_results WHERE scan_id = ${scanId}`;
    await assert.rejects(
      rig.db.sql`INSERT INTO grading_results (scan_id, model_name, model_version, grading_job_id)
                 VALUES (${scanId}, 'ribeye-seg', 'x', ${first!.grading_job_id})`,
      { code: '23505' },
    );
    // As if the worker had died between writing the result and finishing its job.
    await rig.db
      .sql`UPDATE grading_jobs SET status = 'queued', run_after = now() WHERE id = ${first!.grading_job_id}`;
    await rig.db.sql`SELECT pg_notify('cti_grading_jobs', '')`;
    await waitFor(
      async () =>
        (await rig.db.sql`SELECT 1 FROM grading_jobs WHERE id = ${first!.grading_job_id} AND status = 'done'`)
          .length === 1,
      {
        what: 'job finished',
        timeoutMs: 30_000,
      },
    );
    assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 1);
    assert.equal(
      (await rig.db.sql`SELECT 1 FROM scan_events WHERE scan_id = ${scanId} AND event = 'graded'`).length,
      1,
    );
    // The job's row is done before its log line reaches the pipe, and earlier tests left 'job done'
    // lines of their own: wait for this job's line itself.
    await waitFor(() => worker.lines.some((l) => l.includes('"outcome":"already_graded"')), {
      what: 'the worker logs the job as already graded',
      timeoutMs: 30_000,
    });
  });
});

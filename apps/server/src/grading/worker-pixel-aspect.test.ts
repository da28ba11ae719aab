import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeGray, encodePng, generatePhantom } from '@cti/imaging';
import sharp from 'sharp';
import { recordCalibration } from './device-calibration.ts';
import { createGradingRig, type GradingRig, phantomPng } from './test-grading-rig.ts';

// Non-square pixels (issue 11): the declared pixel aspect (a pixel's width ÷ its height) through the real
// webhook, s3rver, Postgres with the real migrations (0020, 0021) and a spawned `cti-server worker`.

const REFERENCES = fileURLToPath(new URL('../../../../../shared/reference-scans/', import.meta.url));

let rig: GradingRig;
before(async () => {
  rig = await createGradingRig();
});
after(() => rig.close());

/** Grades the scans with a worker of their own, then returns each one's result. */
const gradeAll = (scanIds: string[]) => rig.gradeWithOwnWorker(scanIds, 90_000);

/** REA as grading rounds it: pixels × spacing² × aspect, in cm² to 3 decimals. */
const rea = (f: Record<string, number>, aspect: number) =>
  Math.round(((f.roi_area_px! * f.pixel_spacing_mm! ** 2 * aspect) / 100) * 1000) / 1000;

describe('a declared pixel aspect', () => {
  test('meta.json acquisition.pixel_aspect scales the area and width, not fat or depth; the calibration’s applies when meta.json has none; meta.json wins over it', async () => {
    // Seed 44's screen has a readable depth ruler: the meta/calibration spacing must agree with it.
    const truth = generatePhantom({ seed: 44, kind: 'ribeye', layout: 'screen', width: 480, height: 360 })
      .labels.pixelSpacingMm;
    const spacing = Math.round(truth * 1e5) / 1e5;
    const image = await phantomPng(44);
    const square = await rig.ingest({ image, meta: { acquisition: { pixel_spacing_mm: spacing } } });
    const ntsc = await rig.ingest({
      image,
      meta: { acquisition: { pixel_spacing_mm: spacing, pixel_aspect: 0.889 } },
    });
    // Another device whose calibration declares the aspect (and a spacing, as every set row does).
    const calibratedOnly = await rig.ingest({ image, deviceCode: 'dev-grabber' });
    const metaSpacing = await rig.ingest({
      image,
      deviceCode: 'dev-grabber',
      meta: { acquisition: { pixel_spacing_mm: spacing } },
    });
    const metaWins = await rig.ingest({
      image,
      deviceCode: 'dev-grabber',
      meta: { acquisition: { pixel_spacing_mm: spacing, pixel_aspect: 1.067 } },
    });
    const [device] = await rig.db.sql<{ id: string }[]>`
      SELECT id FROM devices WHERE device_code = 'dev-grabber'`;
    const calibration = await recordCalibration(
      rig.db.sql,
      device!.id,
      {
        pixelSpacingMm: spacing,
        pixelAspect: 0.8889,
        imageSize: null,
        validFrom: new Date('2025-01-01T00:00:00Z'),
        note: 'frame grabber, 720×480 of a 4:3 picture',
      },
      null,
    );
    const [s, n, c, m, w] = (
      await gradeAll([square.scanId, ntsc.scanId, calibratedOnly.scanId, metaSpacing.scanId, metaWins.scanId])
    ).map((r) => r!.features_used);

    assert.deepEqual([s.pixel_aspect, s.pixel_aspect_source], [1, 'assumed_square']);
    assert.deepEqual(s.lineage.pixel_aspect, { value: 1, source: 'assumed_square' });
    assert.ok(s.rea_cm2 > 0, JSON.stringify(s.missing_reasons));
    assert.equal(s.rea_cm2, rea(s, 1));

    assert.deepEqual([n.pixel_aspect, n.pixel_aspect_source], [0.889, 'meta']);
    assert.deepEqual(n.lineage.pixel_aspect, {
      value: 0.889,
      source: 'meta',
      field: 'acquisition.pixel_aspect',
    });
    assert.equal(n.roi_area_px, s.roi_area_px, 'the same mask');
    assert.equal(n.pixel_spacing_mm, spacing);
    assert.equal(n.rea_cm2, rea(n, 0.889));
    if (n.ribeye_width_px !== null)
      assert.equal(n.ribeye_width_mm, Math.round(n.ribeye_width_px * spacing * 0.889 * 10) / 10);
    assert.equal(n.ribeye_depth_mm, s.ribeye_depth_mm, 'depth is vertical');
    assert.equal(n.fat_thickness_mm, s.fat_thickness_mm, 'fat thickness is vertical');

    // No meta.json spacing or aspect: both from the calibration.
    assert.deepEqual(
      [c.pixel_spacing_source, c.pixel_aspect, c.pixel_aspect_source],
      ['device_calibration', 0.8889, 'device_calibration'],
    );
    assert.deepEqual(c.lineage.pixel_aspect, {
      value: 0.8889,
      source: 'device_calibration',
      calibration_id: calibration.id,
    });
    assert.equal(c.rea_cm2, rea(c, 0.8889));
    // meta.json's spacing, the calibration's aspect.
    assert.deepEqual(
      [m.pixel_spacing_source, m.pixel_aspect, m.pixel_aspect_source],
      ['meta', 0.8889, 'device_calibration'],
    );
    assert.equal(m.rea_cm2, rea(m, 0.8889));
    // meta.json declares its own: it wins.
    assert.deepEqual([w.pixel_aspect, w.pixel_aspect_source], [1.067, 'meta']);
    assert.equal(w.rea_cm2, rea(w, 1.067));
  });

  test('a calibration that declares only the aspect: the spacing is read off each frame’s ruler (REA = pixels × ruler spacing² × aspect), no spacing_conflict, an older spacing row superseded', async () => {
    // A frame grabber's scanner whose depth changes from animal to animal: no spacing fixed anywhere,
    // the on-screen ruler gives it on every frame. Seed 44's phantom and the real hzau-201615 (940×720,
    // ruler 0.29586 mm/px; read at test time, never copied into the repository) both show a ruler.
    const hzau = `${REFERENCES}hzau-201615.png`;
    const ruled = await rig.ingest({ image: await phantomPng(44), deviceCode: 'dev-grabber-ruler' });
    const real = existsSync(hzau)
      ? await rig.ingest({ image: readFileSync(hzau), deviceCode: 'dev-grabber-ruler' })
      : null;
    const [device] = await rig.db.sql<{ id: string }[]>`
      SELECT id FROM devices WHERE device_code = 'dev-grabber-ruler'`;
    const calibrate = (pixelSpacingMm: number | null, pixelAspect: number | null, validFrom: string) =>
      recordCalibration(
        rig.db.sql,
        device!.id,
        { pixelSpacingMm, pixelAspect, imageSize: null, validFrom: new Date(validFrom), note: null },
        null,
      );
    // A spacing fixed at one depth, wrong at the depth of these frames: were it applied, the ruler
    // would disagree with it (spacing_conflict, figures withheld). The aspect-only row supersedes it.
    await calibrate(0.5, null, '2024-01-01T00:00:00Z');
    const aspectOnly = await calibrate(null, 0.889, '2025-01-01T00:00:00Z');
    const results = await gradeAll(real ? [ruled.scanId, real.scanId] : [ruled.scanId]);
    for (const [label, r] of results.map((r, i) => [i === 0 ? 'phantom 44' : 'hzau-201615', r!] as const)) {
      const f = r.features_used;
      console.log(
        `${label}: ${r.grade} (${r.grade_reasons}) ${f.roi_area_px} px × ${f.pixel_spacing_mm}² mm × ${f.pixel_aspect} = ${f.rea_cm2} cm²`,
      );
      assert.equal(f.pixel_spacing_source, 'ruler', label);
      assert.equal(f.lineage.pixel_spacing.source, 'ruler', label);
      assert.equal(f.lineage.pixel_spacing.calibration_id, undefined, `${label}: no spacing calibration`);
      assert.equal(
        f.lineage.pixel_spacing.problem,
        undefined,
        `${label}: ${JSON.stringify(f.lineage.pixel_spacing.problem)}`,
      );
      assert.equal(f.lineage.pixel_spacing.ruler.found, true, label);
      assert.equal(f.pixel_spacing_mm, f.lineage.pixel_spacing.ruler.mm_per_px, label);
      assert.ok(!r.grade_reasons.includes('spacing_conflict'), `${label}: ${r.grade_reasons}`);
      assert.deepEqual(
        f.lineage.pixel_aspect,
        { value: 0.889, source: 'device_calibration', calibration_id: aspectOnly.id },
        label,
      );
      assert.equal(f.pixel_aspect_source, 'device_calibration', label);
      assert.ok(f.rea_cm2 > 0, `${label}: ${JSON.stringify(f.missing_reasons)}`);
      // features_used keeps the ruler's spacing to 5 decimals; the area was computed unrounded.
      assert.ok(Math.abs(f.rea_cm2 - rea(f, 0.889)) <= 0.002, `${label}: ${f.rea_cm2} vs ${rea(f, 0.889)}`);
    }
    if (real)
      assert.ok(
        Math.abs(results[1]!.features_used.pixel_spacing_mm / 0.29586 - 1) < 0.01,
        `hzau ruler ${results[1]!.features_used.pixel_spacing_mm}`,
      );
  });

  test('a real scan stretched to 1.25× its width and declared 0.8: its REA within 3 % of the original’s (square pixels assumed: 25 % over)', {
    skip: existsSync(`${REFERENCES}ustool-109A.bmp`) ? false : 'no reference scans here',
  }, async () => {
    // ustool-109A.bmp has no ruler: meta.json's spacing is the scale (0.6 mm/px: a 12.8 cm deep field,
    // a ribeye of ≈ 49 cm²). Read at test time, never copied into the repository; sharp reads no BMP,
    // so it resizes the decoded pixels.
    const gray = await decodeGray(`${REFERENCES}ustool-109A.bmp`);
    const { width, height } = gray;
    const png = await encodePng(gray);
    const stretchedWidth = Math.round(width * 1.25);
    const stretched = await sharp(gray.data, { raw: { width, height, channels: 1 } })
      .resize(stretchedWidth, height, { fit: 'fill' })
      .png()
      .toBuffer();
    const spacing = 0.6;
    const plain = await rig.ingest({ image: png, meta: { acquisition: { pixel_spacing_mm: spacing } } });
    const declared = await rig.ingest({
      image: stretched,
      meta: { acquisition: { pixel_spacing_mm: spacing, pixel_aspect: 0.8 } },
    });
    const undeclared = await rig.ingest({
      image: stretched,
      meta: { acquisition: { pixel_spacing_mm: spacing } },
    });
    const [p, d, u] = (await gradeAll([plain.scanId, declared.scanId, undeclared.scanId])).map(
      (r) => r!.features_used,
    );
    const figures = (f: Record<string, unknown>) =>
      JSON.stringify({ px: f.roi_area_px, rea: f.rea_cm2, missing: f.missing_reasons });
    console.log(
      `ustool-109A ${width}×${height}: ${figures(p)}; stretched to ${stretchedWidth}×${height}, aspect 0.8: ${figures(d)}; undeclared: ${figures(u)}`,
    );
    assert.ok(p.rea_cm2 > 0 && d.rea_cm2 > 0 && u.rea_cm2 > 0, 'every REA given');
    assert.deepEqual([d.pixel_aspect, d.pixel_aspect_source], [0.8, 'meta']);
    const off = d.rea_cm2 / p.rea_cm2 - 1;
    assert.ok(Math.abs(off) < 0.03, `declared: ${(off * 100).toFixed(1)} % off the original`);
    const wrong = u.rea_cm2 / p.rea_cm2 - 1;
    assert.ok(wrong > 0.2, `square pixels assumed: ${(wrong * 100).toFixed(1)} % over`);
  });
});

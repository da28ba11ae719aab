import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exampleMeta } from '@cti/contracts/testing';
import { decodeRaster, generatePhantom, type PhantomKind, type RasterImage, toGray } from '@cti/imaging';
import { realScanVariants } from '@cti/models';
import { createGrader, type Grader, GraderInputError } from './grade-image.ts';

// The grader in-process (no database, no S3): decisions on the real reference scans and on the
// phantom generator's negatives, pixel-spacing precedence, and the swappable view check.

const REFERENCES = fileURLToPath(new URL('../../../../../shared/reference-scans/', import.meta.url));
const haveReferences = existsSync(`${REFERENCES}hzau-201615.png`);
const HZAU_FIELD_MM_PER_PX = 200 / 676; // 20 cm depth over rows 40-716

let grader: Grader;
before(async () => {
  grader = await createGrader();
});
after(() => grader.close());

const grade = (
  raster: RasterImage,
  meta: Parameters<Grader['grade']>[0]['meta'] = null,
  calibration: { id: string; pixelSpacingMm: number } | null = null,
) => grader.grade({ raster, meta, calibration });
const gray = (r: RasterImage): RasterImage => ({ ...toGray(r), channels: 1 });

describe('grading the real reference scans', {
  skip: !haveReferences && 'reference scans not present',
}, () => {
  test('hzau-201615 (screen export): a usable grade, spacing read off its ruler, REA and fat in physical units', async () => {
    const g = await grade(await decodeRaster(`${REFERENCES}hzau-201615.png`));
    assert.notEqual(g.grade, 'R', g.reasons.join(' '));
    assert.equal(g.features.pixel_spacing_source, 'ruler');
    assert.ok(Math.abs(g.features.pixel_spacing_mm! / HZAU_FIELD_MM_PER_PX - 1) < 0.01);
    assert.ok(g.features.rea_cm2! > 30 && g.features.rea_cm2! < 150, String(g.features.rea_cm2));
    assert.ok(
      g.features.fat_thickness_mm! > 1 && g.features.fat_thickness_mm! < 30,
      String(g.features.fat_thickness_mm),
    );
    assert.ok(g.confidence > 0.5);
  });

  test('ustool-109A (a clean crop): a usable grade, no ruler so pixel measures only, and says why', async () => {
    const g = await grade(await decodeRaster(`${REFERENCES}ustool-109A.bmp`));
    assert.notEqual(g.grade, 'R', g.reasons.join(' '));
    assert.ok(g.reasons.includes('no_spacing'));
    assert.equal(g.features.pixel_spacing_source, 'none');
    assert.equal(g.features.rea_cm2, null);
    assert.equal(g.features.missing_reasons.rea_cm2, 'no_spacing');
    assert.ok(g.features.roi_area_px > 0);
    assert.match(String((g.features.lineage.pixel_spacing as { reason: string }).reason), /no_ruler/);
  });

  // Every copy, the one cut at the bottom 35 % included (ribeye-view 3.0.0 accepted that one at 0.64;
  // 3.1.0 rejected it at 0.52 < 0.5583, 3.3.0 at 0.09 < 0.5).
  test('hzau-1518-backfat (a longitudinal view over the ribs) and its shifted/cropped/flipped copies: R, not_a_ribeye_view, no area', async () => {
    const copies = realScanVariants(
      toGray(await decodeRaster(`${REFERENCES}hzau-1518-backfat.png`)),
      [0, 0, 1, 1],
    );
    assert.equal(copies.length, 8);
    for (const v of copies) {
      const g = await grade({ ...v.image, channels: 1 });
      assert.equal(g.grade, 'R', `${v.name}: ${g.grade} ${g.reasons}`);
      assert.ok(g.reasons.includes('not_a_ribeye_view'), v.name);
      assert.equal(g.features.rea_cm2, null, v.name);
      assert.ok(g.confidence < 0.5, `${v.name}: confidence ${g.confidence}`);
    }
  });

  test('pixel spacing precedence: meta.json, then the device calibration, then the ruler', async () => {
    const hzau = await decodeRaster(`${REFERENCES}hzau-201615.png`);
    const meta = exampleMeta({
      inference_summary: { ribeye_bbox: [165, 120, 690, 305], mask_iou_hint: 0.8 },
      acquisition: { pixel_spacing_mm: 0.29 },
    });
    // Both within 3 % of the ruler's 0.29586, so neither conflicts with it.
    const fromMeta = await grade(hzau, meta, { id: '7', pixelSpacingMm: 0.3 });
    assert.deepEqual(
      [fromMeta.features.pixel_spacing_source, fromMeta.features.pixel_spacing_mm],
      ['meta', 0.29],
    );
    assert.equal(typeof fromMeta.breakdown.mask_iou, 'number', 'the capture had a hint box');
    const calibrated = await grade(hzau, null, { id: '7', pixelSpacingMm: 0.3 });
    assert.deepEqual(
      [calibrated.features.pixel_spacing_source, calibrated.features.pixel_spacing_mm],
      ['device_calibration', 0.3],
    );
    assert.equal(
      (calibrated.features.lineage.pixel_spacing as { calibration_id: string }).calibration_id,
      '7',
    );
  });
});

describe('checking the pixel spacing (review r2 F2, F3)', {
  skip: !haveReferences && 'reference scans not present',
}, () => {
  type Spacing = {
    mm: number | null;
    source: string;
    problem?: { reason: string; source: string; calibration_id?: string; message: string };
    ruler: { mm_per_px?: number };
    rescaled_from?: unknown;
    meta_rejected?: { reason: string; message?: string };
  };
  const spacingOf = (g: Awaited<ReturnType<typeof grade>>) => g.features.lineage.pixel_spacing as Spacing;
  const withMeta = (acquisition: Record<string, number>) =>
    exampleMeta({ inference_summary: null, acquisition });
  const withheld = (g: Awaited<ReturnType<typeof grade>>, reason: string) => {
    assert.equal(g.grade, 'M');
    for (const key of ['rea_cm2', 'fat_thickness_mm', 'ribeye_depth_mm'] as const) {
      assert.equal(g.features[key], null, key);
      assert.equal(g.features.missing_reasons[key], reason, key);
    }
    assert.equal(g.features.pixel_spacing_mm, null, 'not left for a correction to measure with');
    assert.ok(g.features.roi_area_px > 0, 'the pixel measures stay');
  };

  test('a spacing 10× off (a mm/cm slip) is implausible: figures withheld, M spacing_implausible, the source named', async () => {
    const hzau = await decodeRaster(`${REFERENCES}hzau-201615.png`);
    for (const mm of [2.96, 0.0296]) {
      const g = await grade(hzau, withMeta({ pixel_spacing_mm: mm }));
      withheld(g, 'implausible_spacing');
      assert.ok(
        g.reasons.includes('spacing_implausible') && !g.reasons.includes('no_spacing'),
        g.reasons.join(),
      );
      const sp = spacingOf(g);
      assert.deepEqual([sp.mm, sp.source, sp.problem?.source], [mm, 'meta', 'meta']);
      assert.match(sp.problem!.message, /makes the scan field \d+(\.\d+)? cm deep, outside 3–35 cm/);
    }
    // A crop of 103×71 px at the agent's 0.3 mm/px is a 2 cm deep field: no scanner shows that.
    const full = toGray(await decodeRaster(`${REFERENCES}ustool-109A.bmp`)); // 309×213
    const [w, h] = [Math.floor(full.width / 3), Math.floor(full.height / 3)];
    const data = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data[y * w + x] = full.data[3 * y * full.width + 3 * x]!;
    const third = await grade(
      { width: w, height: h, channels: 1, data },
      withMeta({ pixel_spacing_mm: 0.3 }),
    );
    assert.equal(third.features.rea_cm2, null, 'no 1.3 cm² ribeye');
    assert.equal(spacingOf(third).problem?.reason, 'implausible_spacing');
  });

  test('a meta/calibration spacing the readable ruler disagrees with by > 3 %: both recorded, M spacing_conflict, figures withheld', async () => {
    const hzau = await decodeRaster(`${REFERENCES}hzau-201615.png`);
    const fromMeta = await grade(hzau, withMeta({ pixel_spacing_mm: 0.25 }));
    withheld(fromMeta, 'spacing_conflict');
    assert.ok(fromMeta.reasons.includes('spacing_conflict'));
    const sp = spacingOf(fromMeta);
    assert.deepEqual([sp.mm, sp.source, sp.ruler.mm_per_px], [0.25, 'meta', 0.29586]);
    assert.match(
      sp.problem!.message,
      /0\.25 mm\/px from meta\.json .* differs from the on-screen ruler's 0\.29586 mm\/px by 15\.5 %/,
    );
    const calibrated = await grade(hzau, null, { id: '9', pixelSpacingMm: 0.25 });
    withheld(calibrated, 'spacing_conflict');
    assert.deepEqual(
      [spacingOf(calibrated).problem?.source, spacingOf(calibrated).problem?.calibration_id],
      ['device_calibration', '9'],
    );
  });

  test('a calibration that declares only the aspect is no spacing source: meta.json, else the ruler, else none (saying so); its aspect applies to each', async () => {
    const hzau = await decodeRaster(`${REFERENCES}hzau-201615.png`); // ruler 0.29586
    const calibration = { id: '5', pixelSpacingMm: null, pixelAspect: 0.889 };
    const aspectOf = (g: Awaited<ReturnType<typeof grade>>) => g.features.lineage.pixel_aspect;
    const fromCalibration = { value: 0.889, source: 'device_calibration', calibration_id: '5' };
    const ruled = await grader.grade({ raster: hzau, meta: null, calibration });
    assert.deepEqual(
      [ruled.features.pixel_spacing_source, ruled.features.pixel_spacing_mm, spacingOf(ruled).problem],
      ['ruler', 0.29586, undefined],
    );
    assert.ok(!ruled.reasons.includes('spacing_conflict'), ruled.reasons.join());
    assert.deepEqual(aspectOf(ruled), fromCalibration);
    const square = await grade(hzau);
    assert.equal(ruled.features.roi_area_px, square.features.roi_area_px);
    assert.ok(
      Math.abs(ruled.features.rea_cm2! - square.features.rea_cm2! * 0.889) <= 0.001,
      `${ruled.features.rea_cm2} vs ${square.features.rea_cm2} × 0.889`,
    );

    const fromMeta = await grader.grade({
      raster: hzau,
      meta: withMeta({ pixel_spacing_mm: 0.29 }),
      calibration,
    });
    assert.deepEqual(
      [fromMeta.features.pixel_spacing_source, fromMeta.features.pixel_spacing_mm],
      ['meta', 0.29],
    );
    assert.deepEqual(aspectOf(fromMeta), fromCalibration);

    const noRuler = await grader.grade({
      raster: await decodeRaster(`${REFERENCES}ustool-109A.bmp`),
      meta: null,
      calibration,
    });
    assert.deepEqual([noRuler.features.pixel_spacing_source, noRuler.features.rea_cm2], ['none', null]);
    assert.match(
      String((noRuler.features.lineage.pixel_spacing as { reason: string }).reason),
      /no acquisition\.pixel_spacing_mm in meta\.json, device calibration #5 declares only the pixel aspect, and no readable depth ruler/,
    );
    assert.deepEqual(aspectOf(noRuler), fromCalibration);
  });

  test("meta.json's spacing for another frame size: rescaled when the shape matches, else the next source", async () => {
    const hzau = await decodeRaster(`${REFERENCES}hzau-201615.png`); // 940×720, ruler 0.29586
    const rescaled = await grade(
      hzau,
      withMeta({ pixel_spacing_mm: 0.148, width_px: 1880, height_px: 1440 }),
    );
    assert.deepEqual(
      [rescaled.features.pixel_spacing_source, rescaled.features.pixel_spacing_mm],
      ['meta', 0.296],
    );
    assert.deepEqual(spacingOf(rescaled).rescaled_from, {
      pixel_spacing_mm: 0.148,
      width_px: 1880,
      height_px: 1440,
    });
    assert.ok(
      rescaled.features.rea_cm2! > 45 && rescaled.features.rea_cm2! < 60,
      String(rescaled.features.rea_cm2),
    );
    assert.deepEqual(
      [rescaled.features.pixel_aspect, rescaled.features.pixel_aspect_source],
      [1, 'assumed_square'],
      'a uniform resize declares no aspect',
    );
    // 1920×1080 is another shape than 940×720: a crop cannot be told from a stretch, so meta.json's
    // spacing is refused and the next source (the ruler) is used; no aspect is taken from the sizes.
    const other = await grade(hzau, withMeta({ pixel_spacing_mm: 0.148, width_px: 1920, height_px: 1080 }));
    assert.equal(other.features.pixel_spacing_source, 'ruler');
    assert.equal(spacingOf(other).meta_rejected?.reason, 'size_mismatch');
    assert.match(String(spacingOf(other).meta_rejected?.message), /of another shape/);
    assert.equal(other.features.pixel_spacing_mm, 0.29586);
    assert.deepEqual(
      [other.features.pixel_aspect, other.features.pixel_aspect_source],
      [1, 'assumed_square'],
    );
  });
});

describe('grading phantoms', () => {
  for (const kind of ['off_animal', 'backfat_longitudinal', 'noise'] as PhantomKind[]) {
    test(`the generator's ${kind} negatives are R, not_a_ribeye_view`, async () => {
      for (const seed of [1, 2]) {
        const { image } = generatePhantom({ seed, kind, width: 400, height: 300, preset: 'heldout' });
        const g = await grade(gray(image));
        assert.equal(g.grade, 'R', `${kind} seed ${seed}: ${g.reasons}`);
        assert.ok(g.reasons.includes('not_a_ribeye_view'));
      }
    });
  }

  test('a ribeye phantom with a known spacing: A or M, REA close to its label', async () => {
    const { image, labels } = generatePhantom({
      seed: 40,
      width: 480,
      height: 360,
      layout: 'crop',
      probe: 'linear',
      preset: 'heldout',
    });
    const g = await grade(
      gray(image),
      exampleMeta({ inference_summary: null, acquisition: { pixel_spacing_mm: labels.pixelSpacingMm } }),
    );
    assert.notEqual(g.grade, 'R', g.reasons.join(' '));
    const truth = (labels.ribeyeAreaPx * labels.pixelSpacingMm ** 2) / 100;
    assert.ok(Math.abs(g.features.rea_cm2! / truth - 1) < 0.2, `${g.features.rea_cm2} vs ${truth}`);
  });

  test("a device's depth setting changed between two frames: the second frame gets its own ruler's spacing, and every grading is the one without the ruler memo", async () => {
    const searching = await createGrader({ rulerMemoEntries: 0 });
    try {
      const frame = (depthCm: number) =>
        gray(
          generatePhantom({
            seed: 503,
            width: 640,
            height: 480,
            layout: 'screen',
            preset: 'heldout',
            depthCm,
          }).image,
        );
      const spacings: unknown[] = [];
      for (const raster of [frame(12), frame(12), frame(16), frame(12)]) {
        const [remembered, searched] = [
          await grade(raster),
          await searching.grade({ raster, meta: null, calibration: null }),
        ];
        for (const key of [
          'grade',
          'reasons',
          'confidence',
          'breakdown',
          'features',
          'overlayPng',
          'maskPng',
        ] as const)
          assert.deepEqual(remembered[key], searched[key], key);
        assert.equal(remembered.features.pixel_spacing_source, 'ruler');
        spacings.push(remembered.features.lineage.pixel_spacing);
      }
      assert.deepEqual(spacings[1], spacings[0]);
      assert.deepEqual(spacings[3], spacings[0]);
      assert.notDeepEqual(spacings[2], spacings[0]);
    } finally {
      await searching.close();
    }
  });

  test('a sliver or an image under 32 px is refused with a GraderInputError (a RangeError) naming its shape, as the worker and cti-models refuse it', async () => {
    const { image } = generatePhantom({ seed: 42, width: 400, height: 300, layout: 'crop' });
    const g = toGray(image);
    const strip = (width: number, height: number): RasterImage => {
      const data = new Uint8Array(width * height);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++)
          data[y * width + x] = g.data[(y % g.height) * g.width + (x % g.width)]!;
      return { data, width, height, channels: 1 };
    };
    for (const [w, h, says] of [
      [32, 4000, /image is 32×4000: 125:1, a sliver/],
      [4000, 32, /image is 4000×32: 125:1, a sliver/],
      [33, 2000, /image is 33×2000: 60\.6:1, a sliver/],
      [24, 24, /image is 24×24: under 32 px on a side/],
    ] as const)
      await assert.rejects(
        grade(strip(w, h)),
        (err: Error) =>
          err instanceof GraderInputError && err instanceof RangeError && says.test(err.message),
      );
  });

  test('the view check is swappable: another verdict decides the grade', async () => {
    const strict = await createGrader({
      viewCheck: () => ({ ribeyeView: 0, reasons: ['not_trusted'], checks: {}, rule: 'test-rule' }),
    });
    try {
      const { image } = generatePhantom({ seed: 41, width: 400, height: 300, layout: 'crop' });
      const g = await strict.grade({ raster: gray(image), meta: null, calibration: null });
      assert.equal(g.grade, 'R');
      assert.equal(g.breakdown.rule, 'test-rule');
    } finally {
      await strict.close();
    }
  });
});

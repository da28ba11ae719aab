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
  // 3.1.0 rejects it at 0.52 < 0.5583).
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
      acquisition: { pixel_spacing_mm: 0.25 },
    });
    const fromMeta = await grade(hzau, meta, { id: '7', pixelSpacingMm: 0.3 });
    assert.deepEqual(
      [fromMeta.features.pixel_spacing_source, fromMeta.features.pixel_spacing_mm],
      ['meta', 0.25],
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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRaster } from '@cti/imaging';
import { computeGradingFeatures } from './grading-features.ts';
import { renderGradingOverlay } from './grading-overlay.ts';
import { ribeyePhantom } from './test-ribeye-phantom.ts';

const { phantom, gray, mask, spacing, field } = ribeyePhantom();

describe('computeGradingFeatures', () => {
  it('measures the true ribeye of a phantom: area, cm², fat and dimensions against its labels', () => {
    const f = computeGradingFeatures({
      gray,
      mask,
      pixelSpacingMm: spacing,
      pixelSpacingSource: 'ruler',
      scanArea: field,
    });
    assert.equal(f.roi_area_px, phantom.labels.ribeyeAreaPx);
    assert.equal(
      f.rea_cm2,
      Math.round(((phantom.labels.ribeyeAreaPx * spacing * spacing) / 100) * 1000) / 1000,
    );
    assert.equal(f.pixel_spacing_source, 'ruler');
    assert.ok(
      f.fat_thickness_mm !== null && Math.abs(f.fat_thickness_mm - phantom.labels.fatThicknessMm) < 1.5,
    );
    assert.equal(f.fat_position?.from_medial, 0.75);
    const [x0, y0, x1, y1] = phantom.labels.ribeyeBbox!;
    assert.deepEqual(f.ribeye_bbox, [x0, y0, x1, y1]);
    assert.equal(f.ribeye_cut_off, x0 <= field[0] || x1 >= field[2]);
    assert.equal(f.ribeye_depth_mm, Math.round(f.ribeye_depth_px! * spacing * 10) / 10);
    for (const v of [
      f.mean_intensity,
      f.texture_glcm_contrast,
      f.texture_glcm_homogeneity,
      f.texture_glcm_entropy,
    ])
      assert.ok(v !== null && v > 0);
  });

  it('without a pixel spacing: pixel measures only, every mm/cm² null with the reason, never 0', () => {
    const f = computeGradingFeatures({
      gray,
      mask,
      pixelSpacingMm: null,
      pixelSpacingSource: 'ruler',
      scanArea: field,
    });
    assert.equal(f.pixel_spacing_source, 'none');
    assert.equal(f.rea_cm2, null);
    assert.equal(f.fat_thickness_mm, null);
    assert.equal(f.ribeye_depth_mm, null);
    assert.equal(f.missing_reasons.rea_cm2, 'no_spacing');
    assert.equal(f.missing_reasons.fat_thickness_mm, 'no_spacing');
    assert.ok(f.roi_area_px > 0 && f.fat_thickness_px! > 0);
  });

  it('non-square pixels: area and width scale by the aspect, fat and depth (vertical) do not', () => {
    const square = computeGradingFeatures({
      gray,
      mask,
      pixelSpacingMm: spacing,
      pixelSpacingSource: 'meta',
      scanArea: field,
    });
    const f = computeGradingFeatures({
      gray,
      mask,
      pixelSpacingMm: spacing,
      pixelSpacingSource: 'meta',
      pixelAspect: 0.889,
      pixelAspectSource: 'meta',
      scanArea: field,
    });
    assert.deepEqual(
      [square.pixel_aspect, square.pixel_aspect_source, f.pixel_aspect, f.pixel_aspect_source],
      [1, 'assumed_square', 0.889, 'meta'],
    );
    assert.equal(f.rea_cm2, Math.round(((f.roi_area_px * spacing * spacing * 0.889) / 100) * 1000) / 1000);
    assert.equal(f.ribeye_width_mm, Math.round(f.ribeye_width_px! * spacing * 0.889 * 10) / 10);
    assert.equal(f.ribeye_depth_mm, square.ribeye_depth_mm);
    assert.equal(f.fat_thickness_mm, square.fat_thickness_mm);
    assert.throws(
      () =>
        computeGradingFeatures({ gray, mask, pixelSpacingMm: 1, pixelSpacingSource: 'meta', pixelAspect: 0 }),
      /pixelAspect must be a positive number/,
    );
  });

  it('an empty mask: area 0 px, every measure null with no_ribeye', () => {
    const empty = { data: new Uint8Array(mask.data.length), width: gray.width, height: gray.height };
    const f = computeGradingFeatures({
      gray,
      mask: empty,
      pixelSpacingMm: spacing,
      pixelSpacingSource: 'meta',
    });
    assert.equal(f.roi_area_px, 0);
    for (const key of [
      'rea_cm2',
      'mean_intensity',
      'texture_glcm_contrast',
      'fat_thickness_mm',
      'ribeye_width_mm',
    ] as const) {
      assert.equal(f[key], null);
      assert.equal(f.missing_reasons[key], 'no_ribeye');
    }
  });

  it('refuses a mask of another size and a non-positive spacing', () => {
    assert.throws(
      () =>
        computeGradingFeatures({
          gray,
          mask: { ...mask, width: 3 },
          pixelSpacingMm: 1,
          pixelSpacingSource: 'meta',
        }),
      /mask is 3/,
    );
    assert.throws(
      () => computeGradingFeatures({ gray, mask, pixelSpacingMm: 0, pixelSpacingSource: 'meta' }),
      /positive/,
    );
  });
});

describe('renderGradingOverlay', () => {
  it('burns the outline, the fat line and the caption into an RGB PNG of the image size', async () => {
    const f = computeGradingFeatures({
      gray,
      mask,
      pixelSpacingMm: spacing,
      pixelSpacingSource: 'ruler',
      scanArea: field,
    });
    const png = await renderGradingOverlay({
      gray,
      mask,
      fat: f.fat_position,
      lines: ['REA 12.3 CM2', 'GRADE A'],
    });
    const img = await decodeRaster(png);
    assert.deepEqual([img.width, img.height, img.channels], [gray.width, gray.height, 3]);
    const at = (x: number, y: number) => [
      ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
    ];
    const [bx0, by0] = f.ribeye_bbox!;
    let outline = 0;
    for (let x = bx0; x < f.ribeye_bbox![2]; x++) if (String(at(x, by0)) === '255,214,0') outline++;
    assert.ok(outline > 0, 'the top edge of the ribeye is outlined');
    const fx = f.fat_position!.x_px;
    const midFat = Math.round((f.fat_position!.skin_y_px! + f.fat_position!.ribeye_top_y_px!) / 2);
    assert.deepEqual(at(fx, midFat), [0, 220, 255]);
    let white = 0; // the palette overlay's white is 254 (renderGradingOverlay)
    for (let y = img.height - 20; y < img.height; y++)
      for (let x = 0; x < 60; x++) if (String(at(x, y)) === '254,254,254') white++;
    assert.ok(white > 20, 'caption text in the lower left corner');
  });
});

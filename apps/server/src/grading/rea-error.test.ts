import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reaErrors } from './rea-error.ts';

// 0.5 mm pixels: 400 px = 1 cm².
const spacing = 0.5;

test('a withheld REA is scored by its mask area and counted, not as a 0 cm² area', () => {
  const e = reaErrors([
    { features: { rea_cm2: 10.5, roi_area_px: 4200 }, pixelSpacingMm: spacing, trueReaCm2: 10 },
    { features: { rea_cm2: null, roi_area_px: 3600 }, pixelSpacingMm: spacing, trueReaCm2: 10 },
  ]);
  assert.equal(e.withheld, 1);
  assert.deepEqual(
    e.measured.map((v) => Math.round(v * 1000) / 1000),
    [0.05, 0.1],
  );
  assert.deepEqual(e.reported, [0.05]);
});

test('a withheld REA with an empty mask is a 100 % error in the measured figure', () => {
  const e = reaErrors([
    { features: { rea_cm2: null, roi_area_px: 0 }, pixelSpacingMm: spacing, trueReaCm2: 8 },
  ]);
  assert.deepEqual(e.measured, [1]);
  assert.deepEqual(e.reported, []);
  assert.equal(e.withheld, 1);
});

test('a withheld REA of non-square pixels is scored with its aspect (pixels × spacing² × aspect)', () => {
  // 0.8 as wide as tall: 500 px = 1 cm².
  const e = reaErrors([
    {
      features: { rea_cm2: null, roi_area_px: 5000 },
      pixelSpacingMm: spacing,
      pixelAspect: 0.8,
      trueReaCm2: 10,
    },
  ]);
  assert.deepEqual(e.measured, [0]);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatePhantom, toGray } from '@cti/imaging';
import { computeGradingFeatures } from '@cti/models';
import { decideGrade, withholdFigures } from './grade-rules.ts';

// A phantom ribeye and the same ribeye seen through a field whose edge moves across it: the mask is
// what the field leaves visible, as a segmentation of that frame would give.
const phantom = generatePhantom({
  seed: 31,
  preset: 'heldout',
  probe: 'linear',
  layout: 'crop',
  maxSide: 400,
});
const gray = toGray(phantom.image);
const { width, height } = gray;
const full = phantom.labels.ribeyeMask!;
const [bx0, , bx1] = phantom.labels.ribeyeBbox!;
const spacing = phantom.labels.pixelSpacingMm;

function gradeThrough(fieldRight: number) {
  const field: [number, number, number, number] = [0, 0, fieldRight, height];
  const data = new Uint8Array(full.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < fieldRight; x++) data[y * width + x] = full[y * width + x]!;
  const features = computeGradingFeatures({
    gray,
    mask: { data, width, height },
    pixelSpacingMm: spacing,
    pixelSpacingSource: 'meta',
    scanArea: field,
  });
  const decided = decideGrade({ ribeyeView: 1, quality: [], features, confidence: 0.9 });
  return { ...decided, features: withholdFigures(features, decided.reasons) };
}

describe('decideGrade: a ribeye and the edge of the field', () => {
  it('in the field: A, every figure reported', () => {
    const g = gradeThrough(width);
    assert.equal(g.grade, 'A', g.reasons.join());
    assert.ok(g.features.rea_cm2! > 0 && g.features.fat_thickness_mm! > 0);
  });

  it('the edge takes a tip, the middle in view: M ribeye_cut_off, figures of the visible part', () => {
    const g = gradeThrough(bx1 - Math.round(0.12 * (bx1 - bx0)));
    assert.equal(g.grade, 'M');
    assert.deepEqual(g.reasons, ['ribeye_cut_off']);
    assert.equal(g.features.ribeye_cut_off_detail.severity, 'touch');
    assert.ok(g.features.rea_cm2! > 0);
  });

  it('the edge runs through the middle of the lens: R ribeye_cut_off, no REA or fat (it cannot be outlined)', () => {
    const g = gradeThrough(bx0 + Math.round(0.3 * (bx1 - bx0)));
    assert.equal(g.grade, 'R');
    assert.equal(g.reasons[0], 'ribeye_cut_off');
    assert.equal(g.features.rea_cm2, null);
    assert.equal(g.features.fat_thickness_mm, null);
    assert.equal(g.features.missing_reasons.rea_cm2, 'ribeye_cut_off');
    assert.ok(g.features.roi_area_px > 0, 'the pixel area stays for the record');
  });

  it('a frame that is not a ribeye view is withheld with that reason first', () => {
    const f = gradeThrough(bx0 + Math.round(0.3 * (bx1 - bx0))).features;
    const out = withholdFigures(
      computeGradingFeatures({
        gray,
        mask: { data: full, width, height },
        pixelSpacingMm: spacing,
        pixelSpacingSource: 'meta',
      }),
      ['not_a_ribeye_view'],
    );
    assert.equal(out.missing_reasons.rea_cm2, 'not_a_ribeye_view');
    assert.equal(f.ribeye_width_mm, null);
  });
});

describe('decideGrade: graded without the capture’s meta.json', () => {
  it('an otherwise clean ribeye is M `meta_unavailable` — A without the flag', () => {
    const features = computeGradingFeatures({
      gray,
      mask: { data: full, width, height },
      pixelSpacingMm: spacing,
      pixelSpacingSource: 'ruler',
      scanArea: [0, 0, width, height],
    });
    const input = { ribeyeView: 1, quality: [], features, confidence: 0.9 };
    const clean = decideGrade(input);
    const without = decideGrade({ ...input, metaUnavailable: true });
    assert.equal(without.grade, clean.grade === 'R' ? 'R' : 'M');
    assert.deepEqual(without.reasons, [...clean.reasons, 'meta_unavailable']);
  });
});

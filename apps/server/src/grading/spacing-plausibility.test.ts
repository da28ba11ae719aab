import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatePhantom, toGray } from '@cti/imaging';
import { computeGradingFeatures } from '@cti/models';
import { decideGrade, withholdFigures } from './grade-rules.ts';
import { checkFigures, implausibleFieldDepth } from './spacing-plausibility.ts';

// A phantom ribeye measured at its own spacing and at spacings no ribeye fits, the field depth check
// passed (a calibration for another image size on a field of odd height): the species' bounds catch it.
const phantom = generatePhantom({
  seed: 31,
  preset: 'heldout',
  probe: 'linear',
  layout: 'crop',
  maxSide: 400,
});
const gray = toGray(phantom.image);
const mask = { data: phantom.labels.ribeyeMask!, width: gray.width, height: gray.height };

const SQUARE = { value: 1, source: 'assumed_square' as const, detail: {} };

function graded(mm: number) {
  const features = computeGradingFeatures({
    gray,
    mask,
    pixelSpacingMm: mm,
    pixelSpacingSource: 'device_calibration',
  });
  const spacing = {
    mm,
    source: 'device_calibration' as const,
    detail: { calibration_id: '12' },
    problem: null,
    aspect: SQUARE,
  };
  const checked = checkFigures(spacing, features, 1);
  const decided = decideGrade({
    ribeyeView: 1,
    quality: [],
    features,
    confidence: 0.9,
    spacingProblem: checked.problem?.reason ?? null,
  });
  return {
    ...decided,
    checked,
    features: withholdFigures(features, decided.reasons, checked.problem?.reason),
  };
}

test('figures inside the species bounds pass; 4× the spacing (16× the area) is implausible, naming the calibration', () => {
  const right = graded(phantom.labels.pixelSpacingMm);
  assert.equal(right.checked.problem, null);
  assert.ok(right.features.rea_cm2! > 8 && right.features.rea_cm2! < 300);
  const wrong = graded(phantom.labels.pixelSpacingMm * 4);
  assert.equal(wrong.grade, 'M');
  assert.deepEqual(wrong.reasons, ['spacing_implausible']);
  assert.deepEqual(
    [wrong.checked.problem?.source, wrong.checked.problem?.calibration_id],
    ['device_calibration', '12'],
  );
  assert.match(wrong.checked.problem!.message, /rea_cm2 \d+(\.\d+)?, outside 8–300/);
  assert.equal(wrong.features.rea_cm2, null);
  assert.equal(wrong.features.missing_reasons.rea_cm2, 'implausible_spacing');
  assert.equal(wrong.features.pixel_spacing_mm, null);
});

test('a frame that is no ribeye view is not checked (its figures are withheld as not_a_ribeye_view)', () => {
  const features = computeGradingFeatures({ gray, mask, pixelSpacingMm: 5, pixelSpacingSource: 'ruler' });
  const spacing = { mm: 5, source: 'ruler' as const, detail: {}, problem: null, aspect: SQUARE };
  assert.equal(checkFigures(spacing, features, 0.2).problem, null);
});

test('the field depth: 3–35 cm', () => {
  assert.equal(implausibleFieldDepth([0, 40, 900, 716], 0.29586), null);
  assert.equal(implausibleFieldDepth([0, 40, 900, 716], 2.96), 2001);
  assert.equal(implausibleFieldDepth([0, 40, 900, 716], 0.0296), 20);
});

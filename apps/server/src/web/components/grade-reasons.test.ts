import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generatePhantom, toGray } from '@cti/imaging';
import { computeGradingFeatures } from '@cti/models';
import { decideGrade, withholdFigures } from '../../grading/grade-rules.ts';
import { missingReason } from '../pages/scan-rows.ts';
import { reasonText } from './grade-reasons.ts';

// The words the dashboard shows for the codes the worker really writes: grade reasons from
// decideGrade and missing-figure reasons from computeGradingFeatures (the worker's own functions),
// never a raw code with underscores.

const phantom = generatePhantom({
  seed: 7,
  preset: 'heldout',
  probe: 'linear',
  layout: 'crop',
  maxSide: 240,
});
const gray = toGray(phantom.image);
const ribeye = { data: phantom.labels.ribeyeMask!, width: gray.width, height: gray.height };
const empty = { ...ribeye, data: new Uint8Array(ribeye.data.length) };
const features = (mask: typeof ribeye, mm: number | null) =>
  computeGradingFeatures({
    gray,
    mask,
    pixelSpacingMm: mm,
    pixelSpacingSource: mm === null ? 'none' : 'ruler',
  });

describe('grade and missing-figure reasons in words', () => {
  test('every reason decideGrade gives reads as words', () => {
    const f = features(ribeye, null);
    const { reasons } = decideGrade({
      ribeyeView: 0.6,
      quality: [
        { reason: 'too_dark', severity: 'marginal', value: 1, limit: 2 },
        { reason: 'saturated', severity: 'marginal', value: 1, limit: 2 },
        { reason: 'low_contrast', severity: 'marginal', value: 1, limit: 2 },
        { reason: 'shadowed', severity: 'marginal', value: 1, limit: 2 },
      ],
      features: { ...f, ribeye_cut_off: true, fat_thickness_px: null },
      confidence: 0.1,
    });
    for (const code of [
      'view_uncertain',
      'ribeye_cut_off',
      'no_spacing',
      'fat_not_measured',
      'low_confidence',
    ])
      assert.ok(reasons.includes(code as never), code);
    for (const code of [...reasons, 'not_a_ribeye_view']) assert.doesNotMatch(reasonText(code), /_/, code);
    assert.equal(reasonText('view_uncertain'), 'view uncertain (may not be a ribeye view)');
    assert.equal(reasonText('fat_not_measured'), 'fat thickness not measured');
  });

  test("a missing figure's own reason from the worker's features is shown in words", () => {
    const noSpacing = features(ribeye, null);
    assert.equal(noSpacing.missing_reasons.rea_cm2, 'no_spacing');
    assert.equal(
      missingReason('graded', ['no_spacing'], noSpacing, 'rea_cm2'),
      'no pixel spacing (no cm/mm)',
    );
    const none = features(empty, 0.3);
    assert.equal(none.missing_reasons.ribeye_width_mm, 'no_ribeye');
    assert.equal(missingReason('graded', [], none, 'ribeye_width_mm'), 'no ribeye found');
    const wrongView = withholdFigures(features(ribeye, 0.3), ['not_a_ribeye_view']);
    assert.equal(missingReason('graded', ['not_a_ribeye_view'], wrongView, 'rea_cm2'), 'not a ribeye view');
    for (const code of ['skin_not_in_view', 'no_skin_interface', 'fat_inconsistent'])
      assert.equal(
        missingReason('graded', [], { missing_reasons: { fat_thickness_mm: code } }, 'fat_thickness_mm'),
        reasonText(code),
      );
    assert.doesNotMatch(reasonText('skin_not_in_view'), /_/);
  });

  test('unknown codes become words; names of object properties are not looked up', () => {
    assert.equal(reasonText('probe_lifted'), 'probe lifted');
    assert.equal(reasonText('constructor'), 'constructor');
    assert.equal(reasonText('__proto__'), '  proto  ');
    assert.equal(
      missingReason('graded', [], { missing_reasons: { rea_cm2: 'toString' } }, 'rea_cm2'),
      'toString',
    );
  });
});

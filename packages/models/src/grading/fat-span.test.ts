import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columnSpans, measureFatThickness } from '@cti/imaging';
import { fillTopNotches, measureFatAlongSpan } from './fat-span.ts';
import { ribeyePhantom } from './test-ribeye-phantom.ts';

const { phantom, gray, mask, field, spacing } = ribeyePhantom();
const { width, height } = gray;

/** The mask with the columns [xa, xb) cleared from their top down to `depth` rows below it. */
function notched(xa: number, xb: number, depth: number) {
  const data = Uint8Array.from(mask.data);
  const spans = columnSpans(mask)!;
  for (let x = xa; x < xb; x++) {
    const top = spans.top[x - spans.x0]!;
    for (let y = top; y < top + depth; y++) data[y * width + x] = 0;
  }
  return { data, width, height };
}

describe('fillTopNotches', () => {
  it('raises a dip narrower than the window to its surroundings and keeps a wide one', () => {
    const top = Int32Array.from([10, 10, 10, 30, 30, 10, 10, 10, 10, 20, 20, 20, 20, 20, 20, 20, 20]);
    const out = Array.from(fillTopNotches(top, 2));
    assert.deepEqual(out.slice(0, 9), [10, 10, 10, 10, 10, 10, 10, 10, 10]);
    assert.deepEqual(out.slice(11), [20, 20, 20, 20, 20, 20]);
  });

  it('columns without mask stay without', () => {
    assert.deepEqual(Array.from(fillTopNotches(Int32Array.from([-1, 5, 5, -1]), 1)), [-1, 5, 5, -1]);
  });
});

describe('measureFatAlongSpan', () => {
  it('reads the phantom ribeye fat within 1 mm of its label, along ± 10 % of its length around ¾', () => {
    const fat = measureFatThickness(gray, mask, { scanArea: field });
    const span = measureFatAlongSpan(gray, mask, fat, field);
    assert.ok(span?.ok, JSON.stringify(span));
    assert.ok(Math.abs(span.thicknessPx * spacing - phantom.labels.fatThicknessMm) < 1, JSON.stringify(span));
    assert.deepEqual(span.span, [0.65, 0.85]);
    assert.ok(span.readings >= 5);
  });

  it('a notch the segmentation bit out of the top at the measuring point does not move the reading', () => {
    const fat = measureFatThickness(gray, mask, { scanArea: field });
    assert.ok(fat.ok);
    const spans = columnSpans(mask)!;
    const n = spans.x1 - spans.x0;
    const bad = notched(fat.position.x - Math.round(0.02 * n), fat.position.x + Math.round(0.02 * n), 25);
    const oneColumn = measureFatThickness(gray, bad, { scanArea: field });
    assert.ok(
      oneColumn.ok && oneColumn.thicknessPx > fat.thicknessPx + 15,
      'the single-column reading follows the notch',
    );
    const clean = measureFatAlongSpan(gray, mask, fat, field);
    const span = measureFatAlongSpan(gray, bad, oneColumn, field);
    assert.ok(clean?.ok && span?.ok);
    assert.ok(
      Math.abs(span.thicknessPx - clean.thicknessPx) < 1,
      `${span.thicknessPx} vs ${clean.thicknessPx}`,
    );
  });

  it('readings that disagree along the span are no measurement, with the reason', () => {
    const fat = measureFatThickness(gray, mask, { scanArea: field });
    assert.ok(fat.ok);
    const spans = columnSpans(mask)!;
    const n = spans.x1 - spans.x0;
    // The top of the mask ragged over the whole span: a staircase deeper at every step.
    const data = Uint8Array.from(mask.data);
    const lo = Math.min(fat.position.x, spans.x1 - 1 - Math.round(0.85 * (n - 1))) - 5;
    const hi = Math.max(fat.position.x, spans.x1 - 1 - Math.round(0.65 * (n - 1))) + 5;
    for (let x = Math.max(spans.x0, lo); x < Math.min(spans.x1, hi); x++) {
      const top = spans.top[x - spans.x0]!;
      const depth = Math.round(((x - lo) / (hi - lo)) * 60);
      for (let y = top; y < top + depth; y++) data[y * width + x] = 0;
    }
    const span = measureFatAlongSpan(gray, { data, width, height }, fat, field);
    assert.ok(span && !span.ok, JSON.stringify(span));
    assert.equal(span.reason, 'fat_inconsistent');
    assert.match(span.detail, /disagree/);
  });

  it('no fat reading where measureFatThickness found none', () => {
    const empty = { data: new Uint8Array(width * height), width, height };
    assert.equal(measureFatAlongSpan(gray, empty, measureFatThickness(gray, empty), field), null);
  });
});

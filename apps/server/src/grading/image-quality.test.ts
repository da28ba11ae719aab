import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatePhantom, toGray } from '@cti/imaging';
import { assessImageQuality, ribeyeRegion } from './image-quality.ts';

// A phantom ribeye scan placed at the top of a tall black canvas: the field below the ribeye is
// near-black, as a deep field that fades out is on many scanners; the ribeye above it is visible.
const phantom = generatePhantom({
  seed: 31,
  preset: 'heldout',
  probe: 'linear',
  layout: 'crop',
  maxSide: 400,
});
const scan = toGray(phantom.image);
const TALL = 14;

function onBlackCanvas(gain: number) {
  const width = scan.width;
  const height = scan.height * TALL;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < scan.data.length; i++) data[i] = Math.round(scan.data[i]! * gain);
  const mask = new Uint8Array(width * height);
  mask.set(phantom.labels.ribeyeMask!);
  return {
    gray: { data, width, height, channels: 1 as const },
    mask: { data: mask, width, height },
    scanArea: [0, 0, width, height] as [number, number, number, number],
  };
}

describe('assessImageQuality: too dark', () => {
  it('a near-black field with the ribeye visible above it: M too_dark, not a reject', () => {
    const { gray, mask, scanArea } = onBlackCanvas(1);
    const q = assessImageQuality(gray, { scanArea, mask });
    assert.ok(q.metrics.dark_fraction > 0.92, `field dark ${q.metrics.dark_fraction}`);
    assert.ok(q.metrics.ribeye_region_dark_fraction! < 0.5);
    const dark = q.findings.find((f) => f.reason === 'too_dark');
    assert.equal(dark?.severity, 'marginal', JSON.stringify(q));
  });

  it('the ribeye region near-black too: R too_dark', () => {
    const { gray, mask, scanArea } = onBlackCanvas(0.02);
    const q = assessImageQuality(gray, { scanArea, mask });
    assert.ok(q.metrics.ribeye_region_dark_fraction! > 0.92);
    assert.equal(q.findings.find((f) => f.reason === 'too_dark')?.severity, 'reject');
  });

  it('without a ribeye the whole field decides: R too_dark', () => {
    const { gray, scanArea } = onBlackCanvas(1);
    const empty = { data: new Uint8Array(gray.data.length), width: gray.width, height: gray.height };
    const q = assessImageQuality(gray, { scanArea, mask: empty });
    assert.equal(q.metrics.ribeye_region_dark_fraction, null);
    assert.equal(q.findings.find((f) => f.reason === 'too_dark')?.severity, 'reject');
  });

  it("the ribeye region runs from the field's top to the ribeye's floor over its columns", () => {
    const { mask, scanArea } = onBlackCanvas(1);
    const [x0, , x1, y1] = phantom.labels.ribeyeBbox!;
    assert.deepEqual(ribeyeRegion(mask, scanArea), [x0, 0, x1, y1]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../prng.ts';
import { lateralCoherence } from './lateral-coherence.ts';

const W = 320;
const H = 200;

/** Texture inside a lens-shaped mask: `streaks` rows constant along x (fibres lengthwise), else blobs. */
function textured(kind: 'streaks' | 'blobs') {
  const rng = createRng(kind === 'streaks' ? 1 : 2);
  const rowLevel = Array.from({ length: H }, () => 40 + 120 * rng.next());
  const blob = Array.from({ length: (W >> 2) * (H >> 2) }, () => 40 + 120 * rng.next());
  const data = new Uint8Array(W * H);
  const mask = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const noise = 20 * rng.next();
      const base = kind === 'streaks' ? rowLevel[y]! : blob[(y >> 2) * (W >> 2) + (x >> 2)]!;
      data[y * W + x] = Math.round(base + noise);
      mask[y * W + x] = ((x - 160) / 140) ** 2 + ((y - 100) / 70) ** 2 <= 1 ? 1 : 0;
    }
  }
  return { gray: { data, width: W, height: H }, mask: { data: mask, width: W, height: H } };
}

describe('lateralCoherence', () => {
  it('is high for streaks running across the image and low for a mottled texture', () => {
    const streaks = textured('streaks');
    const blobs = textured('blobs');
    const s = lateralCoherence(streaks.gray, streaks.mask)!;
    const b = lateralCoherence(blobs.gray, blobs.mask)!;
    assert.ok(s > 0.6, `streaks ${s}`);
    assert.ok(b < 0.3, `blobs ${b}`);
  });

  it('measures the same after a larger or a smaller window (its summed-area table is kept between calls)', () => {
    const streaks = textured('streaks');
    const blobs = textured('blobs');
    // A flat-topped mask: its top row's pairs read the table's first row and column.
    const box = new Uint8Array(W * H);
    for (let y = 60; y < 160; y++) box.fill(1, y * W + 20, y * W + 300);
    const boxMask = { data: box, width: W, height: H };
    const narrow = new Uint8Array(W * H);
    for (let i = 0; i < narrow.length; i++) narrow[i] = streaks.mask.data[i]! & (i % W < 120 ? 1 : 0);
    const narrowMask = { data: narrow, width: W, height: H };
    const wide = { data: new Uint8Array(4 * W * H).fill(90), width: 2 * W, height: 2 * H };
    const wideMask = { data: new Uint8Array(4 * W * H).fill(1), width: 2 * W, height: 2 * H };
    const first = lateralCoherence(blobs.gray, boxMask);
    const narrowFirst = lateralCoherence(streaks.gray, narrowMask);
    lateralCoherence(wide, wideMask);
    assert.equal(lateralCoherence(streaks.gray, narrowMask), narrowFirst);
    assert.equal(lateralCoherence(blobs.gray, boxMask), first);
  });

  it('is null for an empty or a sliver mask', () => {
    const { gray } = textured('blobs');
    assert.equal(lateralCoherence(gray, { data: new Uint8Array(W * H), width: W, height: H }), null);
    const sliver = new Uint8Array(W * H);
    sliver[100 * W + 10] = 1;
    assert.equal(lateralCoherence(gray, { data: sliver, width: W, height: H }), null);
  });
});

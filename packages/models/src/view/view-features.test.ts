import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '@cti/imaging';
import { FEATURES, viewStats } from './view-features.ts';

const S = 128;

/** Speckle-like texture: independent bright/dark grains, 2 px wide laterally, 1 px axially. */
function speckle(seed: number): Float32Array {
  const rng = createRng(seed);
  const t = new Float32Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x += 2) {
      const v = 0.2 + 0.5 * rng.next();
      t[y * S + x] = v;
      if (x + 1 < S) t[y * S + x + 1] = v;
    }
  return t;
}

/** Box blur of `n` px along rows (a lateral sweep) or columns. */
function smear(t: Float32Array, n: number, axis: 'rows' | 'columns'): Float32Array {
  const out = new Float32Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let s = 0;
      let c = 0;
      for (let k = 0; k < n; k++) {
        const [xx, yy] = axis === 'rows' ? [x + k, y] : [x, y + k];
        if (xx < S && yy < S) {
          s += t[yy * S + xx]!;
          c++;
        }
      }
      out[y * S + x] = s / c;
    }
  return out;
}

test('hSharpness falls on a lateral smear and nowhere else; gain cancels out', () => {
  const sharp = viewStats(speckle(1), S);
  const lateral = viewStats(smear(speckle(1), 6, 'rows'), S);
  const axial = viewStats(smear(speckle(1), 6, 'columns'), S);
  // A 6-px lateral smear makes neighbours alike: the fine-scale share of the variation drops.
  assert.ok(lateral.hSharpness < sharp.hSharpness - 0.2, `${lateral.hSharpness} vs ${sharp.hSharpness}`);
  assert.ok(Math.abs(lateral.vSharpness - sharp.vSharpness) < 0.05);
  // An axial smear moves the axial figure, not the lateral one.
  assert.ok(axial.vSharpness < sharp.vSharpness - 0.2);
  assert.ok(Math.abs(axial.hSharpness - sharp.hSharpness) < 0.05);
  const dim = viewStats(
    speckle(1).map((v) => v * 0.4),
    S,
  );
  assert.ok(Math.abs(dim.hSharpness - sharp.hSharpness) < 1e-4, 'a ratio of differences: gain-free');
  assert.equal(FEATURES.h_sharpness!(lateral, new Float32Array(5)), lateral.hSharpness);
});

test('a flat crop is neither sharp nor smeared', () => {
  const flat = viewStats(new Float32Array(S * S).fill(0.3), S);
  assert.equal(flat.hSharpness, 0);
  assert.equal(flat.vSharpness, 0);
});

test('boxBrightness: mean inside the hint box minus the mean outside it', () => {
  const t = new Float32Array(S * S).fill(0.2);
  // A bright block at x 32–96, y 16–48 (fractions 0.25–0.75, 0.125–0.375).
  for (let y = 16; y < 48; y++) for (let x = 32; x < 96; x++) t[y * S + x] = 0.6;
  const box = [0.25, 0.125, 0.75, 0.375];
  assert.ok(Math.abs(viewStats(t, S, box).boxBrightness - 0.4) < 1e-6);
  // The same box over a darker block: negative (what a longitudinal view's box looks like).
  const dark = t.map((v) => (v > 0.5 ? 0.05 : v));
  assert.ok(Math.abs(viewStats(dark, S, box).boxBrightness + 0.15) < 1e-6);
  // A box beyond the crop is clipped to it; no box, or one covering everything, says nothing.
  // Clipped to rows 0–48: two thirds of it bright (0.6), a third at 0.2, the rest of the crop 0.2.
  const clipped = viewStats(t, S, [0.25, -0.5, 0.75, 0.375]).boxBrightness;
  assert.ok(Math.abs(clipped - ((2 / 3) * 0.6 + (1 / 3) * 0.2 - 0.2)) < 1e-6, `${clipped}`);
  assert.equal(viewStats(t, S).boxBrightness, 0);
  assert.equal(viewStats(t, S, [-1, -1, 2, 2]).boxBrightness, 0);
  assert.equal(viewStats(t, S, [0.5, 0.5, 0.5, 0.9]).boxBrightness, 0);
});

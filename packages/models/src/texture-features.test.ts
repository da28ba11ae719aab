import assert from 'node:assert/strict';
import { test } from 'node:test';
import { glcmContrast, glcmTexture, meanIntensity } from './texture-features.ts';

const full = (w: number, h: number) => ({ data: new Uint8Array(w * h).fill(1), width: w, height: h });

test('GLCM contrast: 0 for a flat patch, 1 for black/white vertical stripes, null without pairs', () => {
  const flat = { data: new Uint8Array(16).fill(120), width: 4, height: 4 };
  assert.equal(glcmContrast(flat, full(4, 4)), 0);
  const stripes = { data: Uint8Array.from({ length: 16 }, (_, i) => (i % 2 ? 255 : 0)), width: 4, height: 4 };
  assert.equal(glcmContrast(stripes, full(4, 4)), 1);
  assert.equal(glcmContrast(stripes, { data: new Uint8Array(16), width: 4, height: 4 }), null);
});

test('GLCM contrast only counts pairs inside the mask; mean intensity only pixels inside', () => {
  const img = { data: Uint8Array.from([0, 255, 8, 16]), width: 4, height: 1 };
  const mask = { data: Uint8Array.from([0, 0, 1, 1]), width: 4, height: 1 };
  assert.equal(glcmContrast(img, mask), 1 / 31 ** 2); // levels 1 and 2
  assert.equal(meanIntensity(img, mask), 12);
  assert.equal(meanIntensity(img, { data: new Uint8Array(4), width: 4, height: 1 }), null);
});

test('GLCM homogeneity and entropy: 1 and 0 bits for a flat patch, lower and higher for stripes', () => {
  const flat = { data: new Uint8Array(16).fill(120), width: 4, height: 4 };
  assert.deepEqual(glcmTexture(flat, full(4, 4)), { contrast: 0, homogeneity: 1, entropy: 0 });
  const stripes = { data: Uint8Array.from({ length: 16 }, (_, i) => (i % 2 ? 255 : 0)), width: 4, height: 4 };
  const t = glcmTexture(stripes, full(4, 4))!;
  assert.equal(t.homogeneity, 1 / (1 + 31 ** 2));
  // Each row 0,255,0,255 gives pairs (0,31), (31,0), (0,31): p = 2/3 and 1/3.
  assert.ok(
    Math.abs(t.entropy - -(2 / 3) * Math.log2(2 / 3) - (1 / 3) * Math.log2(3)) < 1e-12,
    String(t.entropy),
  );
  assert.equal(glcmTexture(stripes, { data: new Uint8Array(16), width: 4, height: 4 }), null);
});

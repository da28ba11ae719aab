import assert from 'node:assert/strict';
import { test } from 'node:test';
import { glcmContrast, meanIntensity } from './texture-features.ts';

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

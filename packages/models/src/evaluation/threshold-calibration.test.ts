import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodePng } from '@cti/imaging';
import type { ModelCard } from '../model-card.ts';
import type { OnnxSession } from '../onnx-session.ts';
import { calibrateMaskThreshold, validationSamples } from './threshold-calibration.ts';

// A stand-in session whose probability map is a ramp: the pixel at column c of the S×S input has
// probability c / S. Thresholding at t keeps the columns ≥ t·S, so the area is a known function of t
// and the calibration must find the threshold whose area matches the true mask.
const S = 32;
const ramp: OnnxSession = {
  inputName: 'image',
  outputName: 'prob',
  run: async () => Float32Array.from({ length: S * S }, (_, i) => (i % S) / S),
  close: async () => {},
};
// One pass (no refine in the card): the ramp covers the scan area, the whole frame here.
const card = { preprocessing: { size: S } } as ModelCard;

test('calibrateMaskThreshold: picks the threshold whose mask area matches the truth, through the real pipeline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-calib-'));
  try {
    const w = 64;
    const h = 48;
    // A uniformly lit frame (the scan area is the whole image) and a true mask of the right 40 % of it.
    writeFileSync(
      join(dir, 'img.png'),
      await encodePng({ data: new Uint8Array(w * h).fill(120), width: w, height: h }),
    );
    const mask = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = Math.round(w * 0.6); x < w; x++) mask[y * w + x] = 255;
    writeFileSync(join(dir, 'mask.png'), await encodePng({ data: mask, width: w, height: h }));
    const samples = [{ image: join(dir, 'img.png'), mask: join(dir, 'mask.png') }];
    const result = await calibrateMaskThreshold(ramp, card, samples);
    assert.equal(result.threshold, 0.6);
    assert.equal(result.samples, 1);
    assert.ok(result.meanAreaError['0.60']! < 0.05, JSON.stringify(result.meanAreaError));
    assert.ok(result.meanAreaError['0.30']! > 0.5 && result.meanAreaError['0.80']! > 0.4);
    await assert.rejects(calibrateMaskThreshold(ramp, card, []), /at least one ribeye sample/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("validationSamples: the trainer's split, the last 8 % of the export by id, ribeyes only", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-split-'));
  try {
    const samples = Array.from({ length: 50 }, (_, i) => {
      const id = String(49 - i).padStart(5, '0'); // manifest order must not matter
      const ribeye = Number(id) !== 47;
      return {
        image: `${id}.png`,
        mask: ribeye ? `${id}.mask.png` : null,
        ribeye_bbox: ribeye ? [1, 2, 3, 4] : null,
      };
    });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ samples }));
    const split = await validationSamples(dir);
    assert.deepEqual(
      split.map((s) => s.image),
      ['00046', '00048', '00049'].map((id) => join(dir, `${id}.png`)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fillHoles, largestComponent, maskBbox } from './mask-ops.ts';
import { DEFAULT_MODELS_DIR, type ModelCard } from './model-card.ts';
import { createOnnxSession, type OnnxSession } from './onnx-session.ts';
import { cropTensor } from './preprocess.ts';
import {
  crispness,
  loadSegmentationModel,
  probToMask,
  roiBox,
  type SegmentationModel,
  segmentationProb,
} from './segmentation-model.ts';
import { padGray, syntheticScan } from './test-fixtures.ts';
import { assertMatchesSelfCheck, selfCheckInput } from './test-self-check.ts';

let model: SegmentationModel;
before(async () => {
  model = await loadSegmentationModel();
});
after(async () => {
  await model.close();
});

test('onnxruntime reproduces the probabilities torch recorded at export', async () => {
  const size = model.card.preprocessing.size;
  const session = await createOnnxSession(await readFile(join(DEFAULT_MODELS_DIR, model.card.file)));
  assertMatchesSelfCheck(
    await session.run(selfCheckInput(size), [1, 1, size, size]),
    model.card.selfCheck,
    1e-4,
  );
  await session.close();
});

test('mask has the input size, one component, no holes; features are consistent with it', async () => {
  const img = syntheticScan({ width: 350, height: 260, seed: 21 });
  const r = await model.run(img, { pixelSpacingMm: 0.25 });
  assert.equal(r.mask.width, 350);
  assert.equal(r.mask.height, 260);
  assert.deepEqual(largestComponent(r.mask).data, r.mask.data);
  assert.deepEqual(fillHoles(r.mask).data, r.mask.data);
  const area = r.mask.data.reduce((a, v) => a + v, 0);
  assert.equal(r.areaPx, area);
  assert.equal(r.areaCm2, Math.round(((area * 0.25 * 0.25) / 100) * 1000) / 1000);
  assert.equal(r.model, `ribeye-seg@${model.card.version}`);
  assert.equal(r.sha256, model.card.sha256);
  if (area > 0) {
    assert.ok(r.meanIntensity !== null && r.meanIntensity >= 0 && r.meanIntensity <= 255);
    assert.ok(r.score > 0 && r.score <= 1);
  } else {
    assert.equal(r.score, 0);
  }
  const without = await model.run(img);
  assert.equal(without.areaCm2, null);
});

test('black padding moves the mask with the image', async () => {
  const img = syntheticScan({ width: 300, height: 220, seed: 22 });
  const a = await model.run(img);
  const b = await model.run(padGray(img, 70, 40, 10, 25));
  assert.equal(b.areaPx, a.areaPx);
  if (a.ribeyeBbox && b.ribeyeBbox) {
    assert.deepEqual(b.ribeyeBbox, [
      a.ribeyeBbox[0] + 70,
      a.ribeyeBbox[1] + 40,
      a.ribeyeBbox[2] + 70,
      a.ribeyeBbox[3] + 40,
    ]);
  } else {
    assert.equal(a.ribeyeBbox, b.ribeyeBbox);
  }
});

test('pixelSpacingMm must be positive', async () => {
  await assert.rejects(
    model.run(syntheticScan({ width: 20, height: 20 }), { pixelSpacingMm: -1 }),
    /positive number/,
  );
});

test('probToMask: upsampled probability blob pasted at the crop offset, crispness in [0,1]', () => {
  const size = 8;
  const prob = new Float32Array(size * size);
  for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) prob[y * size + x] = 1;
  prob[0] = 0.9; // an isolated speck: dropped as a smaller component
  const image = { data: new Uint8Array(100 * 50), width: 100, height: 50 };
  const mask = probToMask(prob, size, [20, 10, 60, 42], image, 0.5);
  assert.equal(mask.data[(10 + 16) * 100 + 20 + 20], 1); // centre of the crop
  assert.equal(mask.data[10 * 100 + 20], 0); // the speck's corner
  assert.equal(mask.data[5 * 100 + 5], 0); // outside the crop
  const c = crispness(prob, 0.5);
  assert.ok(c > 0.9 && c <= 1);
  assert.equal(crispness(new Float32Array(4), 0.5), 0);
});

test('roiBox: the box widened by the margins, inside the scan area, at least minSide (as cti_preprocess.roi_box)', () => {
  const spec = { marginX: 0.25, marginY: 0.4, coarseThreshold: 0.5, minSide: 8 };
  // The same cases give the same boxes in training/cti_preprocess.py.
  assert.deepEqual(roiBox([100, 50, 300, 120], [0, 0, 940, 720], spec), [50, 22, 350, 148]);
  assert.deepEqual(roiBox([5, 5, 7, 7], [0, 0, 20, 20], spec), [2, 2, 10, 10]);
  assert.deepEqual(roiBox([0, 0, 900, 700], [10, 10, 930, 710], spec), [10, 10, 930, 710]);
  assert.deepEqual(roiBox([0, 0, 2, 2], [0, 0, 5, 30], spec), [0, 0, 5, 8]);
});

test('segmentationProb: the refine pass runs on the coarse mask box with margins; without refine, one pass', async () => {
  const size = 16;
  // Coarse pass: a blob in columns 4–7, rows 6–9 of the crop; refine pass: a blob in the middle of
  // its crop (clear of its sides, so it is not widened).
  const blob = new Float32Array(size * size);
  for (let y = 6; y < 10; y++) for (let x = 4; x < 8; x++) blob[y * size + x] = 1;
  const inner = new Float32Array(size * size);
  for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) inner[y * size + x] = 0.9;
  const inputs: Float32Array[] = [];
  const session: OnnxSession = {
    inputName: 'image',
    outputName: 'prob',
    run: async (t) => {
      inputs.push(t);
      return inputs.length === 1 ? blob : inner;
    },
    close: async () => {},
  };
  const image = padGray(syntheticScan({ width: 160, height: 120, seed: 3 }), 30, 20, 10, 0);
  const spec = { marginX: 0.25, marginY: 0.4, coarseThreshold: 0.5, minSide: 8 };
  const r = await segmentationProb(session, { preprocessing: { size }, refine: spec } as ModelCard, image);
  assert.equal(inputs.length, 2);
  const coarse = maskBbox(probToMask(blob, size, r.coarseCrop, image, 0.5))!;
  assert.deepEqual(r.crop, roiBox(coarse, r.coarseCrop, spec));
  assert.ok(r.crop[0] < coarse[0] && r.crop[2] > coarse[2] && r.crop[1] < coarse[1] && r.crop[3] > coarse[3]);
  assert.deepEqual(Array.from(inputs[1]!), Array.from(cropTensor(image, r.crop, size)));
  assert.equal(r.prob, inner);

  inputs.length = 0;
  const one = await segmentationProb(session, { preprocessing: { size } } as ModelCard, image);
  assert.equal(inputs.length, 1);
  assert.deepEqual(one.crop, one.coarseCrop);
  assert.equal(one.prob, blob);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GrayImage } from '@cti/imaging';
import { maskBbox } from './mask-ops.ts';
import type { ModelCard } from './model-card.ts';
import type { OnnxSession } from './onnx-session.ts';
import {
  probToMask,
  probToMaskBox,
  reachesInnerSide,
  segmentationProb,
  uncertainShare,
} from './segmentation-model.ts';

const size = 64;
const card = {
  preprocessing: { size },
  refine: { marginX: 0.25, marginY: 0.4, coarseThreshold: 0.5, minSide: 8 },
} as unknown as ModelCard;

// A bright ellipse (the "ribeye") on black, well inside a 240×120 frame.
function ellipseScan(): { gray: GrayImage; area: number } {
  const width = 240;
  const height = 120;
  const data = new Uint8Array(width * height);
  let area = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (((x - 120) / 70) ** 2 + ((y - 60) / 30) ** 2 <= 1) {
        data[y * width + x] = 255;
        area++;
      }
  return { gray: { data, width, height, channels: 1 } as GrayImage, area };
}

// A stand-in network that sees what is bright, except that its first (coarse) pass misses the right
// half of its input: the coarse box falls short of the ribeye, as on a real scan whose coarse mask
// stops at a faint edge.
function shortSightedSession(): OnnxSession & { calls: number } {
  const s = {
    inputName: 'x',
    outputName: 'y',
    calls: 0,
    async run(input: Float32Array) {
      s.calls++;
      const out = Float32Array.from(input, (v) => (v > 0.5 ? 1 : 0));
      if (s.calls === 1) for (let i = 0; i < out.length; i++) if (i % size >= size / 2) out[i] = 0;
      return out;
    },
    async close() {},
  };
  return s;
}

test('the refine pass widens its box when its mask reaches a side of the crop inside the scan area', async () => {
  const { gray, area } = ellipseScan();
  const session = shortSightedSession();
  const scanArea: [number, number, number, number] = [0, 0, 240, 120];
  const { prob, crop } = await segmentationProb(session, card, gray, scanArea);
  const mask = probToMask(prob, size, crop, gray, 0.5);
  const got = mask.data.reduce((a, v) => a + v, 0);
  assert.ok(session.calls > 2, `refined ${session.calls - 1} time(s)`);
  assert.ok(Math.abs(got / area - 1) < 0.05, `mask ${got} px, ellipse ${area} px`);
});

// An ellipse with a bright core (255) inside a dimmer rim (160), the core `core` of its radii.
function rimmedEllipseScan(core = 0.6): { gray: GrayImage; area: number } {
  const { gray, area } = ellipseScan();
  for (let y = 0; y < gray.height; y++)
    for (let x = 0; x < gray.width; x++)
      if (gray.data[y * gray.width + x] && ((x - 120) / (70 * core)) ** 2 + ((y - 60) / (30 * core)) ** 2 > 1)
        gray.data[y * gray.width + x] = 160;
  return { gray, area };
}

// A stand-in network whose coarse pass sees the whole ribeye (core and rim) and whose refine passes
// are sure of the core only and hesitate over the rim (0.45), as on a faint outline seen up close.
function hesitantRefineSession(rim = 0.45): OnnxSession & { calls: number } {
  const s = {
    inputName: 'x',
    outputName: 'y',
    calls: 0,
    async run(input: Float32Array) {
      s.calls++;
      if (s.calls === 1) return Float32Array.from(input, (v) => (v > 0.5 ? 1 : 0));
      return Float32Array.from(input, (v) => (v > 0.9 ? 0.95 : v > 0.5 ? rim : 0));
    },
    async close() {},
  };
  return s;
}

test('a refine map unsure of most of its ribeye gives way to the coarse map', async () => {
  const { gray, area } = rimmedEllipseScan();
  const session = hesitantRefineSession();
  const { prob, crop, certain } = await segmentationProb(session, card, gray, [4, 2, 236, 118]);
  const got = probToMask(prob, size, crop, gray, 0.6).data.reduce((a, v) => a + v, 0);
  assert.ok(session.calls >= 2, 'the refine pass ran');
  // The refine mask alone would be the core: 0.36 of the ellipse.
  assert.ok(Math.abs(got / area - 1) < 0.05, `mask ${got} px, ellipse ${area} px`);
  assert.deepEqual(crop, [4, 2, 236, 118], 'the coarse crop');
  // The score still comes from the refine map that hesitated, not from the crisp coarse map.
  assert.ok(uncertainShare(certain) > 0.5 && certain !== prob);
});

test('a hesitant refine map whose mask agrees with the coarse one in area is kept', async () => {
  const { gray } = rimmedEllipseScan();
  const { prob, crop, certain } = await segmentationProb(
    hesitantRefineSession(0.55),
    card,
    gray,
    [4, 2, 236, 118],
  );
  assert.ok(uncertainShare(prob) > 0.5, `uncertain share ${uncertainShare(prob)}`);
  assert.notDeepEqual(crop, [4, 2, 236, 118], 'the refine crop');
  assert.equal(certain, prob);
});

test('a hesitant refine mask under a quarter of the coarse one is kept (they outline different things)', async () => {
  const { gray } = rimmedEllipseScan(0.4);
  const { prob, crop } = await segmentationProb(hesitantRefineSession(), card, gray, [4, 2, 236, 118]);
  assert.ok(uncertainShare(prob) > 0.5, `uncertain share ${uncertainShare(prob)}`);
  assert.notDeepEqual(crop, [4, 2, 236, 118], 'the refine crop');
});

test('uncertainShare: uncertain cells per foreground cell', () => {
  assert.equal(uncertainShare(Float32Array.from([0, 1, 1, 1, 0.9, 0.1])), 0);
  assert.equal(uncertainShare(Float32Array.from([0.6, 0.4, 1, 1, 0.5, 0])), 3 / 4);
  assert.equal(uncertainShare(Float32Array.from([0.45, 0, 0])), 1, 'no foreground: uncertain cells over 1');
  assert.equal(uncertainShare(new Float32Array(4)), 0);
});

test('a mask on the scan area edge is not widened past it', () => {
  assert.equal(reachesInnerSide([0, 10, 50, 60], [0, 0, 80, 80], [0, 0, 200, 100]), false);
  assert.equal(reachesInnerSide([5, 10, 80, 60], [0, 0, 80, 80], [0, 0, 200, 100]), true);
  assert.equal(reachesInnerSide([5, 10, 60, 80], [0, 0, 80, 80], [0, 0, 200, 80]), false);
});

test("probToMaskBox is the box of probToMask's full-size mask, on random maps and crops", () => {
  let seed = 11;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const image: GrayImage = { data: new Uint8Array(90 * 70), width: 90, height: 70 };
  for (let n = 0; n < 200; n++) {
    const side = 2 + Math.floor(random() * 14);
    const blobs = Float32Array.from({ length: side * side }, () => random() ** (1 + random() * 6));
    const x0 = Math.floor(random() * 80);
    const y0 = Math.floor(random() * 60);
    const crop: [number, number, number, number] = [
      x0,
      y0,
      x0 + 1 + Math.floor(random() * (90 - x0)),
      y0 + 1 + Math.floor(random() * (70 - y0)),
    ];
    const t = 0.3 + random() * 0.4;
    assert.deepEqual(
      probToMaskBox(blobs, side, crop, t),
      maskBbox(probToMask(blobs, side, crop, image, t)),
      `map ${n} (${side}×${side}, crop ${crop.join(',')})`,
    );
  }
});

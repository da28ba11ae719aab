import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planSample, TRAINING_NEGATIVE_MIX } from '../export/sample-plan.ts';
import { type GrayImage, toGray } from '../gray-image.ts';
import { createRng } from '../prng.ts';
import { generatePhantom, renderPhantom } from './generate-phantom.ts';
import type { PhantomParams, RibeyeRealism } from './phantom-types.ts';

// Each realism feature's signature on the rendered image, against a render of the same params
// without it (same speckle draws) as the control.
const render = (p: PhantomParams) => renderPhantom(p, createRng(5));
const NONE: RibeyeRealism = {
  internalFascia: [],
  lateralEcho: null,
  neighbours: [],
  floorMimicMm: 0,
  cellMm: 5,
};

/** A whole, centred lens on a linear screen with plain, fixed anatomy (no bones, no dropouts). */
function base(): PhantomParams {
  const { labels } = generatePhantom({
    seed: 4,
    width: 640,
    height: 480,
    layout: 'screen',
    probe: 'linear',
    depthCm: 12,
  });
  return {
    ...labels.params,
    ribeyeCenterXMm: 0,
    ribeyeWidthMm: 90,
    ribeyeHeightMm: 32,
    ribeyeEchoDb: -8,
    bones: [],
    dropouts: [],
    annotations: undefined,
    // A flat back and no wrapping band: the zones beside the lens lie at its depth, plain muscle.
    skinCurvature: 0,
    skinTilt: 0,
    seamStrength: 0,
    outlineVisibility: 0,
    realism: NONE,
  };
}

/** Mean gray over the pixels where `pick(x, y)` holds. */
function meanWhere(g: GrayImage, pick: (x: number, y: number) => boolean): number {
  let s = 0;
  let n = 0;
  for (let y = 0; y < g.height; y++)
    for (let x = 0; x < g.width; x++)
      if (pick(x, y)) {
        s += g.data[y * g.width + x]!;
        n++;
      }
  assert.ok(n > 50, `only ${n} pixels picked`);
  return s / n;
}

describe('ribeye realism: each feature carries its signature', () => {
  it('changes echoes only: the ribeye label is the same lens with and without every feature', () => {
    const p = base();
    const plain = render(p);
    const busy = render({
      ...p,
      realism: {
        internalFascia: [{ atFrac: 0.5, startFrac: 0.1, angleDeg: 70, lengthMm: 25, brightness: 2 }],
        lateralEcho: { side: 'right', db: -5 },
        neighbours: [{ side: 'left', widthMm: 50, heightMm: 25, overlapMm: 15, db: 0, floorLine: 1 }],
        floorMimicMm: 10,
        cellMm: 5,
      },
    });
    assert.deepEqual(busy.labels.ribeyeBbox, plain.labels.ribeyeBbox);
    assert.deepEqual(busy.labels.ribeyeMask, plain.labels.ribeyeMask);
  });

  it('a look-alike neighbour beside the lens echoes at the ribeye level, not the other muscle level', () => {
    const p = base();
    const nb = { side: 'right' as const, widthMm: 50, heightMm: 28, overlapMm: 10, db: 0, floorLine: 0 };
    const control = render(p);
    const mimic = render({ ...p, realism: { ...NONE, neighbours: [nb] } });
    const mask = control.labels.ribeyeMask!;
    const [, by0, bx1, by1] = control.labels.ribeyeBbox!;
    const mm = control.labels.pixelSpacingMm;
    const inLens = (x: number, y: number) => mask[y * p.width + x] === 1;
    // Beside the lens' right end, at the lens' upper-middle depth, 3–25 mm out.
    const beside = (x: number, y: number) =>
      x >= bx1 + 3 / mm && x < bx1 + 25 / mm && y > by0 + 0.25 * (by1 - by0) && y < by0 + 0.6 * (by1 - by0);
    const ratio = (g: GrayImage) => meanWhere(g, beside) / meanWhere(g, inLens);
    const before = ratio(toGray(control.image));
    const after = ratio(toGray(mimic.image));
    // The ribeye is 8 dB darker than the muscle around it: the control's neighbour is brighter
    // (the log display compresses the 8 dB); the look-alike sits at the lens' level.
    assert.ok(before > 1.1, `control neighbour / lens ${before.toFixed(3)}`);
    assert.ok(
      Math.abs(after - 1) < 0.33 * (before - 1),
      `look-alike neighbour / lens ${after.toFixed(3)} (control ${before.toFixed(3)})`,
    );
  });

  it('an inner fascia line is a bright line inside the lens along its recorded course', () => {
    const p = base();
    const fascia = { atFrac: 0.5, startFrac: 0.15, angleDeg: 90, lengthMm: 20, brightness: 2 };
    const control = render(p);
    const lined = render({ ...p, realism: { ...NONE, internalFascia: [fascia] } });
    const mask = control.labels.ribeyeMask!;
    const [x0, , x1] = p.scanArea;
    const cx = (x0 + x1) / 2;
    const mm = control.labels.pixelSpacingMm;
    const near = (x: number, y: number) => mask[y * p.width + x] === 1 && Math.abs(x - cx) <= 1.5 / mm;
    const far = (x: number, y: number) => mask[y * p.width + x] === 1 && Math.abs(x - cx) > 10 / mm;
    const gain = (pick: (x: number, y: number) => boolean) =>
      meanWhere(toGray(lined.image), pick) / meanWhere(toGray(control.image), pick);
    assert.ok(gain(near) > 1.3, `along the line ×${gain(near).toFixed(2)}`);
    assert.ok(Math.abs(gain(far) - 1) < 0.05, `away from it ×${gain(far).toFixed(2)}`);
  });

  it("the lens' part beyond the first inner fascia echoes at its own level", () => {
    const p = base();
    const fascia = { atFrac: 0.5, startFrac: 0, angleDeg: 90, lengthMm: 1, brightness: 0.01 };
    const control = render({ ...p, realism: { ...NONE, internalFascia: [fascia] } });
    const split = render({
      ...p,
      realism: { ...NONE, internalFascia: [fascia], lateralEcho: { side: 'left', db: -6 } },
    });
    const mask = control.labels.ribeyeMask!;
    const [x0, , x1] = p.scanArea;
    const cx = (x0 + x1) / 2;
    const side = (left: boolean) => (x: number, y: number) =>
      mask[y * p.width + x] === 1 && (left ? x < cx - 3 : x > cx + 3);
    const gain = (left: boolean) =>
      meanWhere(toGray(split.image), side(left)) / meanWhere(toGray(control.image), side(left));
    assert.ok(gain(true) < 0.85, `left part ×${gain(true).toFixed(2)}`);
    assert.ok(Math.abs(gain(false) - 1) < 0.03, `right part ×${gain(false).toFixed(2)}`);
  });

  it('is drawn only when asked, and for the training preset only', () => {
    let fascia = 0;
    let neighbours = 0;
    for (let seed = 0; seed < 40; seed++) {
      const training = generatePhantom({ seed, maxSide: 160, realism: true }).labels.params;
      const heldout = generatePhantom({ seed, preset: 'heldout', maxSide: 160, realism: true }).labels.params;
      assert.equal(heldout.realism, undefined, `seed ${seed}`);
      const plain = generatePhantom({ seed, maxSide: 160 });
      assert.equal(plain.labels.params.realism, undefined, `seed ${seed}`);
      assert.ok(training.realism, `seed ${seed}`);
      if (training.realism.internalFascia.length > 0) fascia++;
      if (training.realism.neighbours.length > 0) neighbours++;
    }
    assert.ok(fascia >= 16 && fascia <= 32, `inner fascia in ${fascia}/40`);
    assert.ok(neighbours >= 12 && neighbours <= 34, `look-alike neighbours in ${neighbours}/40`);
  });

  it('the training mix with realism draws more cut-off and mid-sweep negatives; otherwise NEGATIVE_MIX', () => {
    const share = (preset: 'training' | 'heldout', kind: string, realism = true) => {
      let n = 0;
      let k = 0;
      for (let i = 0; i < 4000; i++) {
        const s = planSample({ seed: 1, preset, negatives: 1, size: null, maxSide: null, realism }, i);
        n++;
        if (s.kind === kind) k++;
      }
      return k / n;
    };
    assert.equal(TRAINING_NEGATIVE_MIX.filter((k) => k === 'ribeye_cut_off').length, 4);
    assert.ok(
      share('training', 'ribeye_cut_off') > 0.2,
      `training cut-off ${share('training', 'ribeye_cut_off')}`,
    );
    assert.ok(
      share('heldout', 'ribeye_cut_off') < 0.19,
      `held-out cut-off ${share('heldout', 'ribeye_cut_off')}`,
    );
    assert.ok(
      share('training', 'ribeye_cut_off', false) < 0.19,
      `training without realism: cut-off ${share('training', 'ribeye_cut_off', false)}`,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { darkFraction, frameDifference, frameLevels, frameQuality } from './frame-quality.ts';
import { toGray } from './gray-image.ts';
import { decodeGray } from './image-codec.ts';
import { generatePhantom } from './phantom/generate-phantom.ts';
import { boxBlur, HZAU_PNG } from './test-fixtures.ts';

const phantom = (seed: number) =>
  toGray(generatePhantom({ seed, width: 640, height: 480, layout: 'crop' }).image);

describe('frameQuality', () => {
  it('orders sharp above blurred for phantoms and a real scan', async () => {
    for (const g of [phantom(3), await decodeGray(HZAU_PNG)]) {
      const sharp = frameQuality(g).sharpness;
      const soft = frameQuality(boxBlur(g, 3)).sharpness;
      const softer = frameQuality(boxBlur(g, 8)).sharpness;
      assert.ok(sharp > soft && soft > softer, `sharpness ${sharp} > ${soft} > ${softer}`);
    }
  });

  it('calls a black frame dark and a white frame saturated', () => {
    const black = { data: new Uint8Array(640 * 480), width: 640, height: 480 };
    const q = frameQuality(black);
    assert.equal(q.darkFraction, 1);
    assert.equal(q.meanIntensity, 0);
    assert.equal(q.contrast, 0);
    const white = { data: new Uint8Array(640 * 480).fill(255), width: 640, height: 480 };
    assert.equal(frameQuality(white).saturatedFraction, 1);
  });

  it('judges only the roi when given (screen margins excluded)', async () => {
    const screen = await decodeGray(HZAU_PNG);
    const whole = frameQuality(screen);
    const scan = frameQuality(screen, { roi: [160, 42, 760, 715] });
    assert.ok(whole.darkFraction > scan.darkFraction + 0.2, `${whole.darkFraction} vs ${scan.darkFraction}`);
    assert.ok(scan.meanIntensity > whole.meanIntensity);
    assert.throws(() => frameQuality(screen, { roi: [0, 0, 2000, 10] }), /roi/);
  });
});

describe('frameLevels and darkFraction', () => {
  it("give exactly frameQuality's figures, on whole images and on rois of odd sizes", async () => {
    const screen = await decodeGray(HZAU_PNG);
    const rois: ([number, number, number, number] | undefined)[] = [
      undefined,
      [160, 42, 760, 715],
      [3, 5, 104, 67],
      [0, 0, 1, 1],
      [101, 200, 102, 457],
    ];
    for (const g of [phantom(6), screen]) {
      for (const roi of rois.filter((r) => !r || (r[2] <= g.width && r[3] <= g.height))) {
        const { sharpness: _, ...levels } = frameQuality(g, roi ? { roi } : {});
        assert.deepEqual(frameLevels(g, roi ? { roi } : {}), levels, `roi ${roi}`);
        assert.equal(darkFraction(g, roi), levels.darkFraction, `roi ${roi}`);
      }
    }
    assert.throws(() => darkFraction(screen, [0, 0, 2000, 10]), /roi/);
  });
});

describe('frameDifference', () => {
  it('is 0 for a repeated frame and clearly positive for a different frame', () => {
    const a = phantom(4);
    assert.equal(frameDifference(a, { ...a, data: a.data.slice() }), 0);
    assert.ok(frameDifference(a, phantom(5)) > 5);
    assert.throws(() => frameDifference(a, { data: new Uint8Array(4), width: 2, height: 2 }), /size/);
  });
});

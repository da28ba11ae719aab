import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { generatePhantom, maskBounds } from './generate-phantom.ts';

const digest = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('generatePhantom', () => {
  it('is a pure function of the seed', () => {
    const a = generatePhantom({ seed: 11, maxSide: 256 });
    const b = generatePhantom({ seed: 11, maxSide: 256 });
    const c = generatePhantom({ seed: 12, maxSide: 256 });
    assert.equal(digest(a.image.data), digest(b.image.data));
    assert.deepEqual(a.labels.params, b.labels.params);
    assert.notEqual(digest(a.image.data), digest(c.image.data));
  });

  it('labels ribeyes with a mask whose bounds and sum are the bbox and area', () => {
    for (let seed = 0; seed < 12; seed++) {
      const { image, labels } = generatePhantom({ seed, maxSide: 256 });
      assert.equal(labels.kind, 'ribeye');
      assert.ok(labels.ribeyeMask, `seed ${seed}: mask`);
      assert.equal(labels.ribeyeMask.length, image.width * image.height);
      assert.deepEqual(labels.ribeyeBbox, maskBounds(labels.ribeyeMask, image.width, image.height));
      assert.equal(
        labels.ribeyeAreaPx,
        labels.ribeyeMask.reduce((s, v) => s + v, 0),
      );
      const [x0, y0, x1, y1] = labels.params.scanArea;
      const [bx0, by0, bx1, by1] = labels.ribeyeBbox!;
      assert.ok(bx0 >= x0 && by0 >= y0 && bx1 <= x1 && by1 <= y1, `seed ${seed}: bbox inside scan area`);
      assert.ok(labels.fatThicknessMm > 0 && labels.pixelSpacingMm > 0);
    }
  });

  it('gives negatives no ribeye label', () => {
    for (const kind of ['off_animal', 'backfat_longitudinal', 'noise'] as const) {
      const { labels } = generatePhantom({ seed: 5, kind, maxSide: 200 });
      assert.equal(labels.kind, kind);
      assert.equal(labels.ribeyeBbox, null);
      assert.equal(labels.ribeyeMask, null);
      assert.equal(labels.ribeyeAreaPx, 0);
    }
  });
});

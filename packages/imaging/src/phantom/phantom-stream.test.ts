import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameDifference } from '../frame-quality.ts';
import { type GrayImage, toGray } from '../gray-image.ts';
import { boxBlur } from '../test-fixtures.ts';
import { createPhantomStream } from './phantom-stream.ts';

describe('createPhantomStream', () => {
  it('streams one animal: frames differ a little, labels move with the tissue, deterministic', () => {
    const stream = createPhantomStream({
      seed: 9,
      fps: 10,
      width: 320,
      height: 240,
      layout: 'crop',
      motionMm: 4,
    });
    const f0 = stream.next();
    const f1 = stream.next();
    const f30 = stream.next(30);
    assert.equal(f1.index, 1);
    assert.equal(f30.timestampMs, 3000);
    const small = frameDifference(toGray(f0.image), toGray(f1.image));
    const other = createPhantomStream({ seed: 10, width: 320, height: 240, layout: 'crop' }).next();
    const big = frameDifference(toGray(f0.image), toGray(other.image));
    assert.ok(small > 0.5 && small < big, `frame-to-frame ${small} vs other animal ${big}`);
    assert.ok(f0.labels.ribeyeBbox && f30.labels.ribeyeBbox);
    assert.notDeepEqual(f0.labels.ribeyeBbox, f30.labels.ribeyeBbox);
    const again = createPhantomStream({
      seed: 9,
      fps: 10,
      width: 320,
      height: 240,
      layout: 'crop',
      motionMm: 4,
    }).next(30);
    assert.deepEqual(again.image.data, f30.image.data);
  });

  it('moves the tissue texture with the sway, not with the probe', () => {
    // Fresh speckle every frame (correlation 0): only the tissue's own texture (fascicles, septa,
    // fat streaks) can correlate two frames, and it must do so at the sway's offset. No marbling:
    // its flecks are anatomy placed relative to the ribeye and always moved with it.
    const stream = createPhantomStream({
      seed: 9,
      marblingDensity: 0,
      width: 320,
      height: 240,
      layout: 'crop',
      probe: 'linear',
      motionMm: 6,
      speckleCorrelation: 0,
    });
    const f0 = stream.next(0);
    const f20 = stream.next(20);
    const dx = Math.round(
      (f20.labels.params.skinApexXMm - f0.labels.params.skinApexXMm) / f0.labels.pixelSpacingMm,
    );
    assert.ok(Math.abs(dx) >= 4, `sway of ${dx} px is too small to tell`);
    const [bx0, by0, bx1, by1] = f0.labels.ribeyeBbox!;
    const margin = Math.abs(dx) + 2;
    const box: [number, number, number, number] = [
      Math.max(bx0, margin),
      by0 + 5,
      Math.min(bx1, 320 - margin),
      by1 - 5,
    ];
    const a = boxBlur(toGray(f0.image), 2);
    const b = boxBlur(toGray(f20.image), 2);
    const moved = correlation(a, b, box, dx);
    const fixed = correlation(a, b, box, 0);
    assert.ok(moved > fixed + 0.15, `correlation at the sway offset ${moved} vs in place ${fixed}`);
  });

  it('paces frames and stops on abort', async () => {
    const stream = createPhantomStream({ seed: 2, fps: 50, width: 96, height: 64, layout: 'crop' });
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const f of stream.frames({ signal: ac.signal })) {
      seen.push(f.index);
      if (seen.length === 3) ac.abort();
    }
    assert.deepEqual(seen, [0, 1, 2]);
    assert.throws(() => createPhantomStream({ seed: 1, fps: 0 }), /fps/);
  });
});

/** Pearson correlation of a's box with b's box shifted by dx columns. */
function correlation(
  a: GrayImage,
  b: GrayImage,
  [x0, y0, x1, y1]: [number, number, number, number],
  dx: number,
) {
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const va = a.data[y * a.width + x]!;
      const vb = b.data[y * b.width + x + dx]!;
      sa += va;
      sb += vb;
      saa += va * va;
      sbb += vb * vb;
      sab += va * vb;
      n++;
    }
  }
  const ma = sa / n;
  const mb = sb / n;
  return (sab / n - ma * mb) / Math.sqrt((saa / n - ma * ma) * (sbb / n - mb * mb));
}

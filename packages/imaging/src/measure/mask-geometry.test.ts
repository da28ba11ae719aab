import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BinaryMask,
  columnSpans,
  convexHullArea,
  maskArea,
  maskSolidity,
  ribeyeDimensions,
} from './mask-geometry.ts';

function maskOf(width: number, height: number, inside: (x: number, y: number) => boolean): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = inside(x, y) ? 1 : 0;
  return { data, width, height };
}

describe('mask geometry', () => {
  it('a rectangle: spans, area, hull, dimensions', () => {
    const m = maskOf(40, 30, (x, y) => x >= 5 && x < 25 && y >= 10 && y < 16);
    const spans = columnSpans(m)!;
    assert.equal(spans.x0, 5);
    assert.equal(spans.x1, 25);
    assert.deepEqual([spans.top[0], spans.bottom[0]], [10, 16]);
    assert.equal(maskArea(m), 120);
    assert.equal(convexHullArea(m), 120);
    assert.equal(maskSolidity(m), 1);
    assert.deepEqual(ribeyeDimensions(m), { widthPx: 20, depthPx: 6 });
  });

  it('a lens is nearly convex; the same lens with two domes pushed up into its floor is not', () => {
    const lens = (x: number, y: number) => ((x - 100) / 80) ** 2 + ((y - 60) / 30) ** 2 <= 1;
    const dome = (x: number, y: number, cx: number) => ((x - cx) / 18) ** 2 + ((y - 95) / 30) ** 2 <= 1;
    const solid = maskSolidity(maskOf(200, 120, lens));
    const scalloped = maskSolidity(
      maskOf(200, 120, (x, y) => lens(x, y) && !dome(x, y, 70) && !dome(x, y, 130)),
    );
    assert.ok(solid > 0.97, `lens ${solid}`);
    assert.ok(scalloped < 0.85, `scalloped ${scalloped}`);
  });

  it('an empty mask has no spans, no dimensions and solidity 0', () => {
    const m = maskOf(10, 10, () => false);
    assert.equal(columnSpans(m), null);
    assert.equal(ribeyeDimensions(m), null);
    assert.equal(maskSolidity(m), 0);
  });
});

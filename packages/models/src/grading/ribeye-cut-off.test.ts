import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CropBox } from '../preprocess.ts';
import { assessRibeyeCutOff, DEEPEST_AT_EDGE } from './ribeye-cut-off.ts';
import { ribeyePhantom } from './test-ribeye-phantom.ts';

// A phantom ribeye wholly inside its field, and that ribeye with the field's edge moved across it:
// the mask is what the field leaves visible (everything outside the field is cleared).
const { phantom, mask: full } = ribeyePhantom();
const { width, height } = full;
const [bx0, by0, bx1, by1] = phantom.labels.ribeyeBbox!;

function visible(field: CropBox) {
  const data = new Uint8Array(full.data.length);
  for (let y = field[1]; y < field[3]; y++) {
    for (let x = field[0]; x < field[2]; x++) data[y * width + x] = full.data[y * width + x]!;
  }
  return { data, width, height };
}

describe('assessRibeyeCutOff', () => {
  it('a ribeye inside its field: none', () => {
    const field: CropBox = [Math.max(0, bx0 - 5), 0, Math.min(width, bx1 + 5), height];
    const c = assessRibeyeCutOff(visible(field), field);
    assert.equal(c.severity, 'none');
    assert.deepEqual(c.sides, []);
  });

  it('the field edge takes only the tip: touch, the middle of the lens in view', () => {
    const field: CropBox = [0, 0, bx1 - Math.round(0.12 * (bx1 - bx0)), height];
    const c = assessRibeyeCutOff(visible(field), field);
    assert.equal(c.severity, 'touch', JSON.stringify(c));
    assert.deepEqual(c.sides, ['right']);
    assert.ok(c.deepestFromEdge! > DEEPEST_AT_EDGE);
  });

  it('the field edge runs through the middle of the lens or beyond: cut, from either side', () => {
    for (const share of [0.5, 0.35, 0.2]) {
      const right: CropBox = [0, 0, bx0 + Math.round(share * (bx1 - bx0)), height];
      const left: CropBox = [bx1 - Math.round(share * (bx1 - bx0)), 0, width, height];
      for (const field of [right, left]) {
        const c = assessRibeyeCutOff(visible(field), field);
        assert.equal(c.severity, 'cut', `${share}: ${JSON.stringify(c)}`);
        assert.ok(c.deepestFromEdge! <= DEEPEST_AT_EDGE);
      }
    }
  });

  it('the field ends above the ribeye floor (depth set too shallow): cut along the bottom', () => {
    const field: CropBox = [0, 0, width, Math.round((by0 + by1) / 2)];
    const c = assessRibeyeCutOff(visible(field), field);
    assert.equal(c.severity, 'cut');
    assert.deepEqual(c.sides, ['bottom']);
    assert.ok(c.floorOnEdge >= 0.5);
  });

  it('an empty mask: none', () => {
    const c = assessRibeyeCutOff({ data: new Uint8Array(width * height), width, height }, [
      0,
      0,
      width,
      height,
    ]);
    assert.deepEqual(c, {
      severity: 'none',
      sides: [],
      deepestFromEdge: null,
      edgeHeight: null,
      floorOnEdge: 0,
    });
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fillHoles, largestComponent, type Mask, maskBbox, resizeThreshold } from './mask-ops.ts';

function fromRows(rows: string[]): Mask {
  const width = rows[0]!.length;
  return {
    width,
    height: rows.length,
    data: Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0)),
  };
}
function toRows(m: Mask): string[] {
  const out: string[] = [];
  for (let y = 0; y < m.height; y++) {
    out.push(Array.from(m.data.subarray(y * m.width, (y + 1) * m.width), (v) => (v ? '#' : '.')).join(''));
  }
  return out;
}

test('largestComponent keeps the biggest 8-connected blob (diagonals connect)', () => {
  const m = fromRows(['##....#', '##.....', '..#....', '.....##', '.....##']);
  assert.deepEqual(toRows(largestComponent(m)), ['##.....', '##.....', '..#....', '.......', '.......']);
  assert.deepEqual(largestComponent(fromRows(['...'])).data, new Uint8Array(3));
});

test('fillHoles fills enclosed background but not background touching the border', () => {
  const m = fromRows(['#####..', '#...#..', '#.#.#..', '#####..', '.......']);
  assert.deepEqual(toRows(fillHoles(m)), ['#####..', '#####..', '#####..', '#####..', '.......']);
  const open = fromRows(['###', '#..', '###']);
  assert.deepEqual(toRows(fillHoles(open)), ['###', '#..', '###']);
});

test('maskBbox is exclusive at the end; null when empty', () => {
  assert.deepEqual(maskBbox(fromRows(['....', '.##.', '.#..'])), [1, 1, 3, 3]);
  assert.equal(maskBbox(fromRows(['...'])), null);
});

test('resizeThreshold: half-pixel-centred bilinear, 2x2 -> 4x4', () => {
  const out = resizeThreshold(Float32Array.from([1, 0, 0, 0]), 2, 2, 4, 4, 0.5);
  assert.deepEqual(Array.from(out), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

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

/** largestComponent by definition: every 8-connected foreground region, keep the first largest. */
function largestByLabels(m: Mask): Uint8Array {
  const { width: w, height: h, data } = m;
  const labels = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  for (let start = 0; start < data.length; start++) {
    if (data[start] !== 1 || labels[start] !== -1) continue;
    const id = sizes.length;
    sizes.push(0);
    const queue = [start];
    labels[start] = id;
    while (queue.length > 0) {
      const p = queue.pop()!;
      sizes[id]!++;
      const x = p % w;
      const y = Math.floor(p / w);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          const q = ny * w + nx;
          if (nx >= 0 && ny >= 0 && nx < w && ny < h && data[q] === 1 && labels[q] === -1) {
            labels[q] = id;
            queue.push(q);
          }
        }
    }
  }
  if (sizes.length === 0) return new Uint8Array(data.length);
  const best = sizes.indexOf(Math.max(...sizes));
  return data.map((_, i) => (labels[i] === best ? 1 : 0));
}

/** fillHoles by definition: label every 4-connected background region, fill those off the border. */
function fillHolesByLabels(m: Mask): Uint8Array {
  const { width: w, height: h, data } = m;
  const labels = new Int32Array(w * h).fill(-1);
  const border: boolean[] = [];
  for (let start = 0; start < data.length; start++) {
    if (data[start] !== 0 || labels[start] !== -1) continue;
    const id = border.length;
    border.push(false);
    const queue = [start];
    labels[start] = id;
    while (queue.length > 0) {
      const p = queue.pop()!;
      const x = p % w;
      const y = Math.floor(p / w);
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) border[id] = true;
      for (const [nx, ny] of [
        [x - 1, y],
        [x + 1, y],
        [x, y - 1],
        [x, y + 1],
      ] as const) {
        const q = ny * w + nx;
        if (nx >= 0 && ny >= 0 && nx < w && ny < h && data[q] === 0 && labels[q] === -1) {
          labels[q] = id;
          queue.push(q);
        }
      }
    }
  }
  return data.map((v, i) => (v === 1 || !border[labels[i]!] ? 1 : 0));
}

test('fillHoles, largestComponent and maskBbox equal their definitions on random masks of every density and shape (1×1 to 37×23)', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 0; n < 300; n++) {
    const width = 1 + Math.floor(random() * 37);
    const height = 1 + Math.floor(random() * 23);
    const density = random();
    const m: Mask = {
      width,
      height,
      data: Uint8Array.from({ length: width * height }, () => (random() < density ? 1 : 0)),
    };
    assert.deepEqual(
      fillHoles(m).data,
      fillHolesByLabels(m),
      `mask ${n} (${width}×${height}, density ${density.toFixed(2)})`,
    );
    assert.deepEqual(largestComponent(m).data, largestByLabels(m), `largest component of mask ${n}`);
    // The same mask inside an empty frame: fillHoles works only inside the foreground's box.
    const framed = inFrame(m, Math.floor(random() * 4), Math.floor(random() * 4), Math.floor(random() * 4));
    assert.deepEqual(fillHoles(framed).data, fillHolesByLabels(framed), `mask ${n} in a frame`);
    assert.deepEqual(maskBbox(framed), bboxByScan(framed), `box of mask ${n} in a frame`);
    assert.deepEqual(maskBbox(m), bboxByScan(m), `box of mask ${n}`);
  }
});

test('largestComponent equals its definition on crop-sized blobby masks: long runs, many rows, rivals of equal size, U shapes joined late, values other than 1 as background', () => {
  let seed = 11;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 0; n < 40; n++) {
    const width = 60 + Math.floor(random() * 240);
    const height = 40 + Math.floor(random() * 160);
    // A few discs (some touching, some apart) and noise: what a thresholded probability map looks like.
    const discs = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
      x: random() * width,
      y: random() * height,
      r: 3 + random() * 0.3 * Math.min(width, height),
    }));
    const noise = random() * 0.05;
    const data = new Uint8Array(width * height);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const inside = discs.some((d) => (x - d.x) ** 2 + (y - d.y) ** 2 < d.r * d.r);
        data[y * width + x] = inside !== random() < noise ? 1 : random() < 0.01 ? 255 : 0;
      }
    const m: Mask = { width, height, data };
    assert.deepEqual(largestComponent(m).data, largestByLabels(m), `blobby mask ${n} (${width}×${height})`);
  }
  // Two equal squares: the first in raster order wins. A U whose arms meet only at the bottom is one blob.
  assert.deepEqual(toRows(largestComponent(fromRows(['...##', '##.##', '##...']))), [
    '...##',
    '...##',
    '.....',
  ]);
  const u = fromRows(['#.#.#', '#.#.#', '#.#.#', '###.#']);
  assert.deepEqual(toRows(largestComponent(u)), ['#.#..', '#.#..', '#.#..', '###..']);
});

/** `m` placed at (left, top) in an empty frame `pad` pixels wider and taller than that. */
function inFrame(m: Mask, left: number, top: number, pad: number): Mask {
  const width = m.width + left + pad;
  const height = m.height + top + pad;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < m.height; y++)
    data.set(m.data.subarray(y * m.width, (y + 1) * m.width), (y + top) * width + left);
  return { data, width, height };
}

/** maskBbox by definition: every foreground pixel widens the box. */
function bboxByScan(m: Mask): [number, number, number, number] | null {
  let box: [number, number, number, number] | null = null;
  for (let y = 0; y < m.height; y++)
    for (let x = 0; x < m.width; x++) {
      if (m.data[y * m.width + x] !== 1) continue;
      box = box
        ? [Math.min(box[0], x), Math.min(box[1], y), Math.max(box[2], x + 1), Math.max(box[3], y + 1)]
        : [x, y, x + 1, y + 1];
    }
  return box;
}

test('maskBbox is exclusive at the end; null when empty', () => {
  assert.deepEqual(maskBbox(fromRows(['....', '.##.', '.#..'])), [1, 1, 3, 3]);
  assert.equal(maskBbox(fromRows(['...'])), null);
});

test('resizeThreshold: half-pixel-centred bilinear, 2x2 -> 4x4', () => {
  const out = resizeThreshold(Float32Array.from([1, 0, 0, 0]), 2, 2, 4, 4, 0.5);
  assert.deepEqual(Array.from(out), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

/** resizeThreshold by definition: every output pixel interpolated on its own from its four sources. */
function resizeThresholdByPixel(
  src: Float32Array,
  srcW: number,
  srcH: number,
  outW: number,
  outH: number,
  t: number,
): Uint8Array {
  const out = new Uint8Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (srcH / outH) - 0.5, 0), srcH - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, srcH - 1);
    const wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (srcW / outW) - 0.5, 0), srcW - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, srcW - 1);
      const wx = fx - x0;
      const top = src[y0 * srcW + x0]! * (1 - wx) + src[y0 * srcW + x1]! * wx;
      const bottom = src[y1 * srcW + x0]! * (1 - wx) + src[y1 * srcW + x1]! * wx;
      out[y * outW + x] = top * (1 - wy) + bottom * wy >= t ? 1 : 0;
    }
  }
  return out;
}

test('resizeThreshold equals its per-pixel definition up and down in size (1 to 300 px), at thresholds the values sit on', () => {
  let seed = 5;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 0; n < 120; n++) {
    const srcW = 1 + Math.floor(random() * 40);
    const srcH = 1 + Math.floor(random() * 40);
    const outW = 1 + Math.floor(random() * 300);
    const outH = 1 + Math.floor(random() * 300);
    // Coarse values (multiples of 1/8) put many interpolations exactly on the threshold.
    const src = Float32Array.from({ length: srcW * srcH }, () => Math.floor(random() * 9) / 8);
    const t = n % 2 === 0 ? 0.5 : random();
    assert.deepEqual(
      resizeThreshold(src, srcW, srcH, outW, outH, t),
      resizeThresholdByPixel(src, srcW, srcH, outW, outH, t),
      `${srcW}×${srcH} → ${outW}×${outH} at ${t}`,
    );
  }
});

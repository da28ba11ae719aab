import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GrayImage } from '../gray-image.ts';
import { drawText } from '../phantom/bitmap-font.ts';
import { generatePhantom } from '../phantom/generate-phantom.ts';
import { createRulerMemo } from './ruler-memo.ts';
import { readDepthRuler } from './ruler-reading.ts';

const SCAN_AREA: [number, number, number, number] = [120, 30, 500, 470];

/**
 * A 640×480 gray screen: a speckled scan area, and right of it a depth ruler with a tick every
 * `pxPerTick` rows (long and labelled 0, 5, 10… every 5th), as a scanner draws it at one depth setting.
 */
function screen(pxPerTick: number, seed = 1): GrayImage {
  const width = 640;
  const height = 480;
  const data = new Uint8Array(width * height);
  let s = seed;
  for (let y = SCAN_AREA[1]; y < SCAN_AREA[3]; y++) {
    for (let x = SCAN_AREA[0]; x < SCAN_AREA[2]; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      data[y * width + x] = 40 + (s >>> 24) / 4;
    }
  }
  for (let k = 0; SCAN_AREA[1] + k * pxPerTick < SCAN_AREA[3]; k++) {
    const y = Math.round(SCAN_AREA[1] + k * pxPerTick);
    const major = k % 5 === 0;
    data.fill(255, y * width + 510, y * width + 510 + (major ? 8 : 4));
    if (major) drawText(data, width, height, { text: String(k), x: 521, y: y - 3, scale: 1, value: 255 });
  }
  return { data, width, height };
}

describe('createRulerMemo', () => {
  it('returns what readDepthRuler returns, from memory for margins it has read before', () => {
    const memo = createRulerMemo();
    const phantoms = Array.from({ length: 6 }, (_, i) =>
      generatePhantom({ seed: 500 + i, width: 640, height: 480, layout: 'screen', preset: 'heldout' }),
    );
    for (const round of [1, 2]) {
      for (const { image, labels } of phantoms) {
        const options = { scanArea: labels.params.scanArea };
        assert.deepEqual(memo.read(image, options), readDepthRuler(image, options), `round ${round}`);
      }
    }
    assert.deepEqual(memo.stats, { hits: 6, misses: 6 });
  });

  it('a new depth setting on the same screen layout is searched: the new spacing, not the remembered one', () => {
    const memo = createRulerMemo();
    const shallow = screen(20);
    const deep = screen(16);
    const first = memo.read(shallow, { scanArea: SCAN_AREA });
    const second = memo.read(deep, { scanArea: SCAN_AREA });
    assert.ok(first.found && second.found, JSON.stringify({ first, second }));
    assert.equal(first.tickSpacingPx, 20);
    assert.equal(second.tickSpacingPx, 16);
    assert.deepEqual(second, readDepthRuler(deep, { scanArea: SCAN_AREA }));
    assert.deepEqual(memo.read(shallow, { scanArea: SCAN_AREA }), first);
    assert.deepEqual(memo.stats, { hits: 1, misses: 2 });
  });

  it('keys on every margin pixel and the scan area, and on nothing inside the scan area', () => {
    const memo = createRulerMemo();
    memo.read(screen(20), { scanArea: SCAN_AREA });
    // Another image inside the scan area (another animal), the same margins: from memory.
    memo.read(screen(20, 7), { scanArea: SCAN_AREA });
    assert.deepEqual(memo.stats, { hits: 1, misses: 1 });
    // One margin pixel far from the ruler (a clock's digit, say), or another scan area: searched.
    const clock = screen(20);
    clock.data[5 * 640 + 3] = 200;
    memo.read(clock, { scanArea: SCAN_AREA });
    memo.read(screen(20), { scanArea: [120, 30, 500, 471] });
    assert.deepEqual(memo.stats, { hits: 1, misses: 3 });
  });

  it('searches every time without margins, forgets the least recently used, and hands out copies', () => {
    const memo = createRulerMemo({ maxEntries: 1 });
    const image = screen(20);
    memo.read(image);
    memo.read(image, { scanArea: [0, 30, 640, 470] });
    assert.deepEqual(memo.stats, { hits: 0, misses: 0 });
    const a = memo.read(image, { scanArea: SCAN_AREA });
    memo.read(screen(16), { scanArea: SCAN_AREA });
    memo.read(image, { scanArea: SCAN_AREA });
    assert.deepEqual(memo.stats, { hits: 0, misses: 3 });
    assert.ok(a.found);
    a.columns[0] = -1;
    assert.deepEqual(
      memo.read(image, { scanArea: SCAN_AREA }),
      readDepthRuler(image, { scanArea: SCAN_AREA }),
    );
    assert.throws(() => createRulerMemo({ maxEntries: 0 }), /maxEntries must be a positive integer, got 0/);
  });

  it('searches a frame whose margins are over 4 MiB every time, keeping no copy of them', () => {
    const memo = createRulerMemo();
    const width = 3000;
    const height = 1500;
    const big = { data: new Uint8Array(width * height), width, height };
    for (let i = 0; i < 2; i++) memo.read(big, { scanArea: [100, 0, 200, height] });
    assert.deepEqual(memo.stats, { hits: 0, misses: 0 });
  });
});

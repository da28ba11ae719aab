import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GrayImage } from '../gray-image.ts';
import { drawText, textWidth } from '../phantom/bitmap-font.ts';
import { readTickLabels } from './tick-labels.ts';

const width = 120;
const height = 160;

/** A black plane with labels (5×7 font, centred on `y`) ending 2 px left of the ruler's ticks at x = 60. */
function labelled(labels: { text: string; y: number }[]): GrayImage {
  const data = new Uint8Array(width * height);
  for (const { text, y } of labels)
    drawText(data, width, height, { text, x: 58 - textWidth(text, 1), y: y - 3, scale: 1, value: 255 });
  return { data, width, height };
}

const search = (plane: GrayImage, ticks: { index: number; y: number }[], period: number) => ({
  plane,
  threshold: 128,
  ticks,
  period,
  ticksX0: 60,
  ticksX1: 66,
  tickLength: 6,
});

describe('readTickLabels', () => {
  it('reads no label beside an unlabelled tick half way between two labelled ones', () => {
    // Ticks every 20 px, labels every 2nd: beside the tick at row 80 the label window (±18 rows at the
    // unlabelled column's 40 px spacing) holds the bottom of "4" and the top of "6", centred on it.
    const plane = labelled([
      { text: '4', y: 60 },
      { text: '6', y: 100 },
    ]);
    assert.deepEqual(readTickLabels(search(plane, [{ index: 0, y: 80 }], 40)), []);
    assert.deepEqual(
      readTickLabels(
        search(
          plane,
          [
            { index: 0, y: 60 },
            { index: 1, y: 100 },
          ],
          40,
        ),
      ),
      [
        { index: 0, characters: 1 },
        { index: 1, characters: 1 },
      ],
    );
  });

  it('counts the characters of the label in its own rows, not a marker just above it', () => {
    // A focus marker (a 5×5 block) 3 px left of "10", its rows ending two rows above the label's.
    const plane = labelled([{ text: '10', y: 80 }]);
    const markerX = 58 - textWidth('10', 1) - 8;
    for (let y = 70; y < 75; y++) plane.data.fill(255, y * width + markerX, y * width + markerX + 5);
    assert.deepEqual(readTickLabels(search(plane, [{ index: 0, y: 80 }], 20)), [{ index: 0, characters: 2 }]);
  });

  it('ends a label at a mark beside it that reaches below its glyphs (a focus marker beside "5")', () => {
    // A 5×10 block (the marker's triangle) 4 px left of "5", from two rows below the label's top to three
    // below its bottom: the rows run on without a break, so only the glyphs' height tells them apart.
    const plane = labelled([{ text: '5', y: 80 }]);
    const markerX = 58 - textWidth('5', 1) - 9;
    for (let y = 79; y < 87; y++) plane.data.fill(255, y * width + markerX, y * width + markerX + 5);
    assert.deepEqual(readTickLabels(search(plane, [{ index: 0, y: 80 }], 20)), [{ index: 0, characters: 1 }]);
  });
});

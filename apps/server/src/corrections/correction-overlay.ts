import type { GrayImage } from '@cti/imaging';
import { type Mask, renderGradingOverlay } from '@cti/models';
import sharp from 'sharp';
import type { Grade } from '../grading/grade-rules.ts';
import { captionLines } from '../grading/overlay-caption.ts';
import type { ManualFeatures } from './correction-grading.ts';
import type { FatLine } from './fat-line.ts';

const FAT_LINE: [number, number, number] = [0, 220, 255];

/** Paints a line `width` pixels thick (square brush) into an RGB buffer. */
function paintLine(
  rgb: Buffer,
  w: number,
  h: number,
  a: [number, number],
  b: [number, number],
  width: number,
) {
  const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) * 2));
  const r = Math.floor(width / 2);
  for (let s = 0; s <= steps; s++) {
    const cx = Math.round(a[0] + ((b[0] - a[0]) * s) / steps);
    const cy = Math.round(a[1] + ((b[1] - a[1]) * s) / steps);
    for (let y = cy - r; y < cy - r + width; y++) {
      for (let x = cx - r; x < cx - r + width; x++) {
        if (x >= 0 && y >= 0 && x < w && y < h) rgb.set(FAT_LINE, (y * w + x) * 3);
      }
    }
  }
}

/** The drawn fat line with end caps across it, as the worker draws its measured one. */
async function drawFatLine(png: Buffer, line: FatLine, scale: number): Promise<Buffer> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  const len = Math.hypot(line.x2 - line.x1, line.y2 - line.y1);
  const [nx, ny] = [-(line.y2 - line.y1) / len, (line.x2 - line.x1) / len];
  const cap = 4 * scale;
  paintLine(data, w, h, [line.x1, line.y1], [line.x2, line.y2], scale);
  for (const [x, y] of [
    [line.x1, line.y1],
    [line.x2, line.y2],
  ] as const) {
    paintLine(data, w, h, [x - nx * cap, y - ny * cap], [x + nx * cap, y + ny * cap], scale);
  }
  return sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .png({ compressionLevel: 1, adaptiveFiltering: false })
    .toBuffer();
}

/**
 * The overlay of a correction, drawn by the worker's overlay code: the corrected outline, the fat
 * line (the drawn one, or the measured one when none was drawn) and the caption, whose first line says
 * `BY HAND` where a model result shows its confidence.
 */
export async function renderCorrectionOverlay({
  gray,
  mask,
  features,
  grade,
}: {
  gray: GrayImage;
  mask: Mask;
  features: ManualFeatures;
  grade: Grade;
}): Promise<Buffer> {
  const lines = captionLines(features, grade, 0);
  lines[0] = `GRADE ${grade}  BY HAND`;
  const measured = features.fat_line === undefined && features.fat_thickness_px !== null;
  const png = await renderGradingOverlay({ gray, mask, fat: measured ? features.fat_position : null, lines });
  if (!features.fat_line) return png;
  return drawFatLine(png, features.fat_line, Math.max(1, Math.round(gray.height / 360)));
}

import { endianness } from 'node:os';
import { columnSpans, drawText, type GrayImage, textWidth } from '@cti/imaging';
import sharp from 'sharp';
import type { Mask } from '../mask-ops.ts';
import type { FatPositionFeature } from './grading-features.ts';

export type OverlayInput = {
  gray: GrayImage;
  mask: Mask;
  /** Where fat was measured: drawn as a line from the skin/fat interface to the ribeye's top. */
  fat: FatPositionFeature | null;
  /** Figures burnt into the lower left corner, one per line (upper case, digits, . : - / %). */
  lines: string[];
};

const OUTLINE: [number, number, number] = [255, 214, 0];
const FAT_LINE: [number, number, number] = [0, 220, 255];

function paint(rgb: Uint8Array, w: number, h: number, x: number, y: number, c: [number, number, number]) {
  if (x < 0 || y < 0 || x >= w || y >= h) return;
  rgb.set(c, (y * w + x) * 3);
}

/**
 * The mask's outline, two pixels wide (its edge pixels and the ones just outside): a pixel of the mask's
 * box grown by one whose 4-neighbours are not all on its side (outside the image counts as outside).
 */
function drawOutline(rgb: Uint8Array, mask: Mask): void {
  const { data, width: w, height: h } = mask;
  const spans = columnSpans(mask);
  if (!spans) return;
  const [bx0, by0, bx1, by1] = spans.bbox;
  const [r, g, b] = OUTLINE;
  for (let y = Math.max(0, by0 - 1); y < Math.min(h, by1 + 1); y++) {
    const row = y * w;
    for (let x = Math.max(0, bx0 - 1); x < Math.min(w, bx1 + 1); x++) {
      const i = row + x;
      const here = data[i] === 1;
      const edge =
        here !== (x > 0 && data[i - 1] === 1) ||
        here !== (x + 1 < w && data[i + 1] === 1) ||
        here !== (y > 0 && data[i - w] === 1) ||
        here !== (y + 1 < h && data[i + w] === 1);
      if (edge) {
        rgb[i * 3] = r;
        rgb[i * 3 + 1] = g;
        rgb[i * 3 + 2] = b;
      }
    }
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The gray plane as RGB bytes (every byte written: the buffer is not zeroed first). Four pixels make
 * three 32-bit words on little-endian machines: ~0.35 ms instead of ~0.9 ms per 640×480 image.
 */
function grayToRgb(gray: Uint8Array): Uint8Array {
  const n = gray.length;
  const rgb = new Uint8Array(Buffer.allocUnsafeSlow(n * 3).buffer, 0, n * 3);
  let start = 0;
  if (LITTLE_ENDIAN) {
    const quads = n >> 2;
    const out = new Uint32Array(rgb.buffer, 0, quads * 3);
    for (let i = 0, o = 0; o < quads * 3; i += 4, o += 3) {
      const p0 = gray[i]!;
      const p1 = gray[i + 1]!;
      const p2 = gray[i + 2]!;
      const p3 = gray[i + 3]!;
      out[o] = p0 | (p0 << 8) | (p0 << 16) | (p1 << 24);
      out[o + 1] = p1 | (p1 << 8) | (p2 << 16) | (p2 << 24);
      out[o + 2] = p2 | (p3 << 8) | (p3 << 16) | (p3 << 24);
    }
    start = quads * 4;
  }
  for (let i = start, p = start * 3; i < n; i++, p += 3) {
    const v = gray[i]!;
    rgb[p] = v;
    rgb[p + 1] = v;
    rgb[p + 2] = v;
  }
  return rgb;
}

function drawFatLine(rgb: Uint8Array, w: number, h: number, fat: FatPositionFeature, scale: number): void {
  if (fat.skin_y_px === null || fat.ribeye_top_y_px === null) return;
  const y0 = Math.round(fat.skin_y_px);
  const y1 = Math.round(fat.ribeye_top_y_px);
  for (let y = y0; y <= y1; y++) for (let t = 0; t < scale; t++) paint(rgb, w, h, fat.x_px + t, y, FAT_LINE);
  for (const y of [y0, y1]) {
    for (let dx = -4 * scale; dx <= 4 * scale; dx++)
      for (let t = 0; t < scale; t++) paint(rgb, w, h, fat.x_px + dx, y + t, FAT_LINE);
  }
}

/** Text on a darkened box in the lower left corner, white (drawn in a plane of the box's size). */
function drawCaption(rgb: Uint8Array, w: number, h: number, lines: string[], scale: number): void {
  if (lines.length === 0) return;
  const lineH = 9 * scale;
  const boxW = Math.min(w, Math.max(...lines.map((l) => textWidth(l, scale))) + 6 * scale);
  const boxH = Math.min(h, lines.length * lineH + 4 * scale);
  const top = h - boxH;
  const text = new Uint8Array(boxW * boxH);
  lines.forEach((line, i) => {
    drawText(text, boxW, boxH, { text: line, x: 3 * scale, y: 2 * scale + i * lineH, scale, value: 1 });
  });
  for (let y = 0; y < boxH; y++) {
    for (let x = 0; x < boxW; x++) {
      const p = ((top + y) * w + x) * 3;
      if (text[y * boxW + x]) {
        rgb[p] = 255;
        rgb[p + 1] = 255;
        rgb[p + 2] = 255;
      } else {
        rgb[p] = Math.round(rgb[p]! * 0.3);
        rgb[p + 1] = Math.round(rgb[p + 1]! * 0.3);
        rgb[p + 2] = Math.round(rgb[p + 2]! * 0.3);
      }
    }
  }
}

/**
 * The grading overlay: the image in gray with the ribeye's outline (yellow), the fat-thickness line
 * (cyan, with end caps) and the figures burnt in, as an RGB PNG at zlib level 1: a picture for people
 * that can be regenerated from the result; level 1 takes 5 ms at 940×720 against 13 ms at level 4,
 * for 0.5 MB instead of 0.3 MB.
 *
 * @example const png = await renderGradingOverlay({ gray, mask, fat: features.fat_position, lines: ['REA 58.4 CM2'] });
 */
export async function renderGradingOverlay({ gray, mask, fat, lines }: OverlayInput): Promise<Buffer> {
  const { width: w, height: h } = gray;
  const rgb = grayToRgb(gray.data);
  const scale = Math.max(1, Math.round(h / 360));
  drawOutline(rgb, mask);
  if (fat) drawFatLine(rgb, w, h, fat, scale);
  drawCaption(rgb, w, h, lines, scale);
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .png({ compressionLevel: 1, adaptiveFiltering: false })
    .toBuffer();
}

import { drawText, type GrayImage, textWidth } from '@cti/imaging';
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

/** The mask's outline, two pixels wide (its edge pixels and the ones just outside). */
function drawOutline(rgb: Uint8Array, mask: Mask): void {
  const { data, width: w, height: h } = mask;
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && data[y * w + x] === 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const here = inside(x, y);
      const edge =
        here !== inside(x - 1, y) ||
        here !== inside(x + 1, y) ||
        here !== inside(x, y - 1) ||
        here !== inside(x, y + 1);
      if (edge) paint(rgb, w, h, x, y, OUTLINE);
    }
  }
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

/** Text on a darkened box in the lower left corner, white. */
function drawCaption(rgb: Uint8Array, w: number, h: number, lines: string[], scale: number): void {
  if (lines.length === 0) return;
  const lineH = 9 * scale;
  const boxW = Math.min(w, Math.max(...lines.map((l) => textWidth(l, scale))) + 6 * scale);
  const boxH = Math.min(h, lines.length * lineH + 4 * scale);
  const top = h - boxH;
  for (let y = top; y < h; y++) {
    for (let x = 0; x < boxW; x++) {
      const p = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) rgb[p + c] = Math.round(rgb[p + c]! * 0.3);
    }
  }
  const text = new Uint8Array(w * h);
  lines.forEach((line, i) => {
    drawText(text, w, h, { text: line, x: 3 * scale, y: top + 2 * scale + i * lineH, scale, value: 1 });
  });
  for (let i = 0; i < text.length; i++) if (text[i]) rgb.set([255, 255, 255], i * 3);
}

/**
 * The grading overlay: the image in gray with the ribeye's outline (yellow), the fat-thickness line
 * (cyan, with end caps) and the figures burnt in, as an RGB PNG (fast zlib level: it is a picture for
 * people, regenerated from the result whenever needed).
 *
 * @example const png = await renderGradingOverlay({ gray, mask, fat: features.fat_position, lines: ['REA 58.4 CM2'] });
 */
export async function renderGradingOverlay({ gray, mask, fat, lines }: OverlayInput): Promise<Buffer> {
  const { width: w, height: h } = gray;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0, p = 0; i < gray.data.length; i++, p += 3) {
    const v = gray.data[i]!;
    rgb[p] = v;
    rgb[p + 1] = v;
    rgb[p + 2] = v;
  }
  const scale = Math.max(1, Math.round(h / 360));
  drawOutline(rgb, mask);
  if (fat) drawFatLine(rgb, w, h, fat, scale);
  drawCaption(rgb, w, h, lines, scale);
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .png({ compressionLevel: 4, adaptiveFiltering: false })
    .toBuffer();
}

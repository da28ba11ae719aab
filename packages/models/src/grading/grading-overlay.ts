import { columnSpans, createScratchBuffer, drawText, type GrayImage, textWidth } from '@cti/imaging';
import type { Mask } from '../mask-ops.ts';
import { encodeEightBitPng, subFilterRows, Z_HUFFMAN_ONLY, Z_RLE } from '../png-writer.ts';
import type { FatPositionFeature } from './grading-features.ts';

export type OverlayInput = {
  gray: GrayImage;
  mask: Mask;
  /** Where fat was measured: drawn as a line from the skin/fat interface to the ribeye's top. */
  fat: FatPositionFeature | null;
  /** Figures burnt into the lower left corner, one per line (upper case, digits, . : - / %). */
  lines: string[];
};

/**
 * The overlay is a palette PNG: one byte per pixel instead of three. Indices 0…253 are grays 0…252
 * and 254 (so gray g shows as g, except 253 and 255, which show as 254: the two brightest levels are
 * off by one, where the eye cannot tell), 254 is the outline's yellow and 255 the fat line's cyan.
 */
const OUTLINE = 254;
const FAT_LINE = 255;
const WHITE = 253;
const PALETTE = (() => {
  const rgb = new Uint8Array(256 * 3);
  for (let i = 0; i < 253; i++) rgb.fill(i, i * 3, i * 3 + 3);
  rgb.fill(254, 253 * 3, 254 * 3);
  rgb.set([255, 214, 0], OUTLINE * 3);
  rgb.set([0, 220, 255], FAT_LINE * 3);
  return rgb;
})();
/** Gray level → palette index (253, 254 and 255 → 253, shown as 254). */
const INDEX_OF_GRAY = Uint8Array.from({ length: 256 }, (_, g) => Math.min(g, 253));

/** The gray shown for palette index `i` (a gray index: below OUTLINE). */
const grayOfIndex = (i: number) => PALETTE[i * 3]!;

/** The overlay's scanlines, kept from one overlay to the next (renderGradingOverlay never awaits). */
const scanlineBuffer = createScratchBuffer(Uint8Array);

/**
 * The image as PNG scanlines before filtering: per row a filter-type byte (0 until subFilterRows sets
 * it) and the row's palette indices, in the kept buffer (every byte written here). Each row is copied
 * natively, then the few pixels brighter than WHITE (found with memchr, Buffer#indexOf) are set to it:
 * no pass of JavaScript over every pixel.
 */
function scanlines(gray: GrayImage): Uint8Array {
  const { data, width: w, height: h } = gray;
  const rows = scanlineBuffer.take((w + 1) * h);
  const source = Buffer.from(data.buffer, data.byteOffset, data.length);
  for (let y = 0; y < h; y++) {
    rows[y * (w + 1)] = 0;
    source.copy(rows, y * (w + 1) + 1, y * w, y * w + w);
  }
  // Searched through a Buffer view: Buffer#indexOf is memchr (~5 µs over 300 kB here), where
  // Uint8Array#indexOf is V8's byte-at-a-time loop (~190 µs, on every frame, found or not).
  const bytes = Buffer.from(rows.buffer, rows.byteOffset, rows.length);
  for (const bright of [WHITE + 1, WHITE + 2]) {
    for (let i = bytes.indexOf(bright); i !== -1; i = bytes.indexOf(bright, i + 1)) rows[i] = WHITE;
  }
  return rows;
}

/** A plane of scanlines: pixel (x, y) is at y × (width + 1) + 1 + x. */
type Scanlines = { rows: Uint8Array; w: number; h: number };
const at = (s: Scanlines, x: number, y: number) => y * (s.w + 1) + 1 + x;

function paint(s: Scanlines, x: number, y: number, index: number) {
  if (x < 0 || y < 0 || x >= s.w || y >= s.h) return;
  s.rows[at(s, x, y)] = index;
}

/**
 * The mask's outline, two pixels wide (its edge pixels and the ones just outside): a pixel of the mask's
 * box grown by one whose 4-neighbours are not all on its side (outside the image counts as outside).
 */
function drawOutline(s: Scanlines, mask: Mask): void {
  const { data, width: w, height: h } = mask;
  const spans = columnSpans(mask);
  if (!spans) return;
  const [bx0, by0, bx1, by1] = spans.bbox;
  for (let y = Math.max(0, by0 - 1); y < Math.min(h, by1 + 1); y++) {
    const row = y * w;
    const out = at(s, 0, y);
    for (let x = Math.max(0, bx0 - 1); x < Math.min(w, bx1 + 1); x++) {
      const i = row + x;
      const here = data[i] === 1;
      const edge =
        here !== (x > 0 && data[i - 1] === 1) ||
        here !== (x + 1 < w && data[i + 1] === 1) ||
        here !== (y > 0 && data[i - w] === 1) ||
        here !== (y + 1 < h && data[i + w] === 1);
      if (edge) s.rows[out + x] = OUTLINE;
    }
  }
}

function drawFatLine(s: Scanlines, fat: FatPositionFeature, scale: number): void {
  if (fat.skin_y_px === null || fat.ribeye_top_y_px === null) return;
  const y0 = Math.round(fat.skin_y_px);
  const y1 = Math.round(fat.ribeye_top_y_px);
  for (let y = y0; y <= y1; y++) for (let t = 0; t < scale; t++) paint(s, fat.x_px + t, y, FAT_LINE);
  for (const y of [y0, y1]) {
    for (let dx = -4 * scale; dx <= 4 * scale; dx++)
      for (let t = 0; t < scale; t++) paint(s, fat.x_px + dx, y + t, FAT_LINE);
  }
}

/**
 * Text on a darkened box in the lower left corner, white (drawn in a plane of the box's size). The box
 * darkens the image to 30 %; the outline or fat line passing under it is dimmed to its gray's 30 %.
 */
function drawCaption(s: Scanlines, gray: Uint8Array, lines: string[], scale: number) {
  if (lines.length === 0) return;
  const { w, h } = s;
  const lineH = 9 * scale;
  const boxW = Math.min(w, Math.max(...lines.map((l) => textWidth(l, scale))) + 6 * scale);
  const boxH = Math.min(h, lines.length * lineH + 4 * scale);
  const top = h - boxH;
  const text = new Uint8Array(boxW * boxH);
  lines.forEach((line, i) => {
    drawText(text, boxW, boxH, { text: line, x: 3 * scale, y: 2 * scale + i * lineH, scale, value: 1 });
  });
  for (let y = 0; y < boxH; y++) {
    const out = at(s, 0, top + y);
    for (let x = 0; x < boxW; x++) {
      s.rows[out + x] = text[y * boxW + x]
        ? WHITE
        : INDEX_OF_GRAY[Math.round(grayOfIndex(INDEX_OF_GRAY[gray[(top + y) * w + x]!]!) * 0.3)]!;
    }
  }
}

/**
 * The zlib strategy for the filtered scanlines. A screen export's flat margins, panels and bars filter to
 * long runs of one byte, which `Z_RLE` codes as a few length/distance pairs where Huffman-only codes
 * every byte; on speckle alone its many short runs cost more than they save. Measured at 640×480: with
 * margins (~45-70 % of sampled positions start a run of 8) RLE took ~0.9 ms and ~73 kB against ~1.8 ms
 * and ~102 kB; a crop of speckle alone (< 7 %) ~2.6 ms against ~1.9 ms. So RLE from 30 % on, judged
 * from every 61st position (~5,000 looks).
 */
function strategyFor(rows: Uint8Array): number {
  let runs = 0;
  let samples = 0;
  for (let p = 0; p + 8 <= rows.length; p += 61) {
    samples++;
    const v = rows[p];
    let k = 1;
    while (k < 8 && rows[p + k] === v) k++;
    if (k === 8) runs++;
  }
  return runs >= 0.3 * samples ? Z_RLE : Z_HUFFMAN_ONLY;
}

/**
 * The grading overlay: the image in gray with the ribeye's outline (yellow), the fat-thickness line
 * (cyan, with end caps) and the figures burnt in — a picture for people that can be regenerated from
 * the result. A palette PNG (see PALETTE), Sub-filtered and run-length or Huffman coded (strategyFor):
 * at 640×480, ~2 ms of CPU and ~75 kB for a screen export, where the RGB PNG at zlib level 1 it replaces
 * took ~5.4 ms and ~370 kB (the grading worker writes one per scan, and a farmer's phone downloads it).
 *
 * @example const png = await renderGradingOverlay({ gray, mask, fat: features.fat_position, lines: ['REA 58.4 CM2'] });
 */
export async function renderGradingOverlay({ gray, mask, fat, lines }: OverlayInput): Promise<Buffer> {
  const { width: w, height: h } = gray;
  const s: Scanlines = { rows: scanlines(gray), w, h };
  const scale = Math.max(1, Math.round(h / 360));
  drawOutline(s, mask);
  if (fat) drawFatLine(s, fat, scale);
  drawCaption(s, gray.data, lines, scale);
  subFilterRows(s.rows, w, h);
  return encodeEightBitPng({
    width: w,
    height: h,
    rows: s.rows,
    palette: PALETTE,
    strategy: strategyFor(s.rows),
  });
}

import type { RasterImage } from '../gray-image.ts';
import { drawText, fillRect, textWidth } from './bitmap-font.ts';
import { type Canvas, drawBottomRuler, drawDepthRuler } from './depth-ruler.ts';
import type { PhantomParams } from './phantom-types.ts';
import { panelWidth, screenScale } from './sample-layout.ts';
import type { ScanGeometry } from './scan-geometry.ts';

/**
 * What a scanner draws around the image on a screen export: the background, a header line (preset,
 * frequency, gain, depth, probe), clock and battery, a depth ruler with a tick every cm (right or
 * left of the field) and a lateral one under it, a gray-map bar (at the screen's edge or beside the
 * field), a focus marker, a column of settings text with or without a gray backdrop, a
 * freeze/cine caption. All of it lies outside the field, so the ribeye labels are unaffected.
 * Returns the mask of pixels drawn in the tick colour (ruler ticks and labels).
 */
export function drawFurniture(
  gray: Uint8Array,
  field: Uint8Array,
  p: PhantomParams,
  g: ScanGeometry,
): Uint8Array | null {
  const { width, height, furniture: f } = p;
  const [x0, y0, x1, y1] = p.scanArea;
  const s = screenScale(height);
  if (f.background) for (let i = 0; i < gray.length; i++) if (!field[i]) gray[i] = f.background;
  const text = (t: string, x: number, y: number, value = 235) =>
    drawText(gray, width, height, { text: t, x, y, scale: s, value });
  const statusW = f.status && y0 >= 9 * s ? textWidth(f.status, s) + 18 * s : 0;
  if (f.header && y0 >= 9 * s) {
    const room = width - x0 - statusW;
    const fit = Math.max(1, Math.min(s, Math.floor(room / Math.max(1, textWidth(f.headerText, 1)))));
    // Before the status line existed the header could run off the screen; now it stops short of it.
    const chars = statusW > 0 ? Math.max(0, Math.floor(room / (6 * fit)) - 1) : f.headerText.length;
    drawText(gray, width, height, {
      text: f.headerText.slice(0, chars),
      x: x0,
      y: Math.max(1, Math.round((y0 - 7 * fit) / 2)),
      scale: fit,
      value: 235,
    });
  }
  if (statusW > 0 && f.status) drawStatus(gray, width, height, f.status, s, Math.round((y0 - 7 * s) / 2));
  const canvas: Canvas = { gray, ticks: new Uint8Array(gray.length), width, height, scale: s };
  const rulerRoom = f.rulerSide === 'left' ? x0 : width - x1;
  if (f.ruler && rulerRoom >= 12 * s) drawDepthRuler(canvas, p, g);
  if (f.bottomRuler) drawBottomRuler(canvas, p, g);
  const bw = Math.max(3, Math.round(0.015 * width));
  const bh = Math.round(0.16 * height);
  let barBottom = y0;
  if (f.grayBar) {
    const bx = !f.grayBarBesideField ? 2 : f.rulerSide === 'left' ? x1 + 3 * s : x0 - 3 * s - bw;
    if (bx >= 0 && bx + bw <= width && (f.grayBarBesideField || x0 >= 8 * s)) {
      for (let i = 0; i < bh; i++)
        fillRect(gray, width, height, bx, y0 + i, bw, 1, Math.round(255 * (1 - i / bh)));
      if (!f.grayBarBesideField) barBottom = y0 + bh + 8 * s;
    }
  }
  if (f.focusMarker && f.rulerSide !== 'left' && width - x1 >= 12 * s) {
    const fy = Math.round(y0 + 0.35 * (y1 - y0));
    for (let r = 0; r < 5 * s; r++)
      fillRect(gray, width, height, x1 + 3 * s + r, fy - (5 * s - r), 1, 2 * (5 * s - r), 230);
  }
  if (f.panel) {
    const pw = panelWidth(height);
    const px = f.panel.side === 'left' ? 2 : width - pw + 2;
    const top = f.panel.side === 'left' ? barBottom : y0;
    const lines = f.panel.lines.filter((_, i) => top + (i + 1) * 10 * s + 4 * s <= height);
    if (f.panel.background)
      fillRect(gray, width, height, px, top, pw - 4, lines.length * 10 * s + 6 * s, f.panel.background);
    lines.forEach((line, i) => {
      text(line, px + 3 * s, top + 4 * s + i * 10 * s, 220);
    });
  }
  if (f.caption) {
    // Under the field when the bottom margin has room, else at the header's left end.
    const cw = textWidth(f.caption, s);
    if (height - y1 >= (f.bottomRuler ? 26 : 10) * s) text(f.caption, x1 - cw, height - 9 * s, 245);
    else if (y0 >= 9 * s && x0 >= cw + 4 * s) text(f.caption, 2, Math.round((y0 - 7 * s) / 2), 245);
  }
  return f.ruler || f.bottomRuler ? canvas.ticks : null;
}

/** "12:34  87%" and a battery outline filled to that share, in the top-right corner. */
function drawStatus(
  gray: Uint8Array,
  width: number,
  height: number,
  status: string,
  s: number,
  y: number,
): void {
  const x = width - textWidth(status, s) - 16 * s;
  drawText(gray, width, height, { text: status, x, y, scale: s, value: 225 });
  const bx = width - 14 * s;
  const share = Number(/(\d+)%/.exec(status)?.[1] ?? 100) / 100;
  fillRect(gray, width, height, bx, y, 11 * s, s, 225);
  fillRect(gray, width, height, bx, y + 6 * s, 11 * s, s, 225);
  fillRect(gray, width, height, bx, y, s, 7 * s, 225);
  fillRect(gray, width, height, bx + 10 * s, y, s, 7 * s, 225);
  fillRect(gray, width, height, bx + 11 * s, y + 2 * s, s, 3 * s, 225);
  fillRect(gray, width, height, bx + 2 * s, y + 2 * s, Math.round(7 * s * share), 3 * s, 225);
}

/**
 * Gray → the exported channel count; RGB screens get the scanner's tint (many are bluish), coloured
 * measurement marks where `overlay` is set and coloured ruler ticks where `ticks` is set.
 */
export function toChannels(
  gray: Uint8Array,
  p: PhantomParams,
  overlay?: Uint8Array | null,
  ticks?: Uint8Array | null,
): RasterImage {
  if (p.channels === 1) return { data: gray, width: p.width, height: p.height, channels: 1 };
  const out = new Uint8Array(gray.length * 3);
  const [tr, tg, tb] = p.tint;
  const color = overlay ? p.annotations?.color : null;
  const tickColor = ticks ? p.furniture.tickColor : null;
  for (let i = 0, o = 0; i < gray.length; i++, o += 3) {
    const v = gray[i]!;
    const c = color && overlay?.[i] ? color : tickColor && ticks?.[i] ? tickColor : null;
    if (c) {
      out[o] = c[0];
      out[o + 1] = c[1];
      out[o + 2] = c[2];
      continue;
    }
    out[o] = Math.min(255, Math.round(v * tr));
    out[o + 1] = Math.min(255, Math.round(v * tg));
    out[o + 2] = Math.min(255, Math.round(v * tb));
  }
  return { data: out, width: p.width, height: p.height, channels: 3 };
}

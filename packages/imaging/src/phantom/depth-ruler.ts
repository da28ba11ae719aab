import { drawText, fillRect, textWidth } from './bitmap-font.ts';
import type { PhantomParams } from './phantom-types.ts';
import type { ScanGeometry } from './scan-geometry.ts';

/** What a ruler draws on: the gray canvas and the mask of pixels drawn in the tick colour. */
export type Canvas = { gray: Uint8Array; ticks: Uint8Array; width: number; height: number; scale: number };

const RULER_GRAY = 200;

function mark(c: Canvas, x: number, y: number, w: number, h: number): void {
  fillRect(c.gray, c.width, c.height, x, y, w, h, RULER_GRAY);
  fillRect(c.ticks, c.width, c.height, x, y, w, h, 1);
}

function label(c: Canvas, text: string, x: number, y: number): void {
  drawText(c.gray, c.width, c.height, { text, x, y, scale: c.scale, value: RULER_GRAY });
  drawText(c.ticks, c.width, c.height, { text, x, y, scale: c.scale, value: 1 });
}

/** Labels every `every` cm unless they would touch: then every 5, else every 10. */
function labelStep(every: number, pxPerCm: number, scale: number): number {
  for (const step of [every, 5, 10]) if (step * pxPerCm >= 10 * scale) return step;
  return 10;
}

/**
 * The depth ruler: a tick every cm of depth, exactly at `top of the field + cm × (10 / mm per px)`
 * (what a ruler reader must recover), longer ticks with the depth in cm as labels. Right of the
 * field by default (60 % into the margin, as on the hzau screen, or next to a settings panel), or
 * left of it.
 */
export function drawDepthRuler(c: Canvas, p: PhantomParams, g: ScanGeometry): void {
  const { scale: s } = c;
  const [x0, y0, x1] = p.scanArea;
  const f = p.furniture;
  const left = f.rulerSide === 'left';
  const nextToPanel = f.panel?.side === (left ? 'left' : 'right');
  const tickX = left
    ? x0 - 12 * s
    : f.rulerSide === undefined || !nextToPanel
      ? Math.min(c.width - 12 * s, x1 + Math.round(0.6 * (c.width - x1)))
      : x1 + 24 * s;
  if (tickX < 0 || tickX + 6 * s > c.width) return;
  const pxPerCm = 10 / g.spacingMm;
  const zeroY = y0 - g.topZMm / g.spacingMm;
  const every = labelStep(f.rulerLabelEveryCm ?? 5, pxPerCm, s);
  for (let cm = 0; cm <= p.depthCm + 1e-9; cm++) {
    const y = Math.round(zeroY + cm * pxPerCm);
    if (y >= c.height) break;
    const major = cm % every === 0;
    const len = (major ? 6 : 3) * s;
    // Ticks grow away from the field on the left ruler and towards the margin's far side on the right.
    mark(c, left ? tickX + 6 * s - len : tickX, y, len, s);
    if (major && pxPerCm > 4) {
      const text = String(cm);
      label(c, text, Math.max(0, tickX - textWidth(text, s) - 2 * s), y - 3 * s);
    }
  }
}

/** A lateral ruler under a linear field: a tick every cm from the field's left edge, labels every 5. */
export function drawBottomRuler(c: Canvas, p: PhantomParams, g: ScanGeometry): void {
  if (p.probe !== 'linear') return;
  const { scale: s } = c;
  const [x0, , x1, y1] = p.scanArea;
  if (c.height - y1 < 9 * s) return;
  const pxPerCm = 10 / g.spacingMm;
  const y = y1 + 2 * s;
  for (let cm = 0; x0 + cm * pxPerCm < x1; cm++) {
    const x = Math.round(x0 + cm * pxPerCm);
    const major = cm % 5 === 0;
    mark(c, x, y, s, (major ? 5 : 3) * s);
    if (major && pxPerCm * 5 >= 14 * s && c.height - y1 >= 16 * s) label(c, String(cm), x + 2 * s, y + 5 * s);
  }
}

import type { RasterImage } from '../gray-image.ts';
import { drawText, fillRect, textWidth } from './bitmap-font.ts';
import type { PhantomParams } from './phantom-types.ts';
import type { ScanGeometry } from './scan-geometry.ts';

/**
 * What a scanner draws around the image on a screen export: a header line with preset, frequency,
 * gain, depth and probe; a depth ruler with a tick every cm and labels every 5 cm; a gray-map bar;
 * a focus marker. All of it lies outside the scan area, so the ribeye labels are unaffected.
 */
export function drawFurniture(gray: Uint8Array, p: PhantomParams, g: ScanGeometry): void {
  const { width, height, furniture: f } = p;
  const [x0, y0, x1, y1] = p.scanArea;
  const scale = Math.max(1, Math.round(height / 360));
  if (f.header && y0 >= 9 * scale) {
    const fit = Math.max(
      1,
      Math.min(scale, Math.floor((width - x0) / Math.max(1, textWidth(f.headerText, 1)))),
    );
    drawText(gray, width, height, {
      text: f.headerText,
      x: x0,
      y: Math.max(1, Math.round((y0 - 7 * fit) / 2)),
      scale: fit,
      value: 235,
    });
  }
  if (f.ruler && width - x1 >= 12 * scale) drawRuler(gray, p, g, scale);
  if (f.grayBar && x0 >= 8 * scale) {
    const bw = Math.max(3, Math.round(0.015 * width));
    const bh = Math.round(0.16 * height);
    for (let i = 0; i < bh; i++)
      fillRect(gray, width, height, 2, y0 + i, bw, 1, Math.round(255 * (1 - i / bh)));
  }
  if (f.focusMarker && width - x1 >= 12 * scale) {
    const fy = Math.round(y0 + 0.35 * (y1 - y0));
    for (let r = 0; r < 5 * scale; r++)
      fillRect(gray, width, height, x1 + 3 * scale + r, fy - (5 * scale - r), 1, 2 * (5 * scale - r), 230);
  }
}

function drawRuler(gray: Uint8Array, p: PhantomParams, g: ScanGeometry, scale: number): void {
  const { width, height } = p;
  const [, y0, x1] = p.scanArea;
  const rx = Math.min(width - 12 * scale, x1 + Math.round(0.6 * (width - x1)));
  const pxPerCm = 10 / g.spacingMm;
  const zeroY = y0 - g.topZMm / g.spacingMm;
  for (let cm = 0; cm <= p.depthCm + 1e-9; cm++) {
    const y = Math.round(zeroY + cm * pxPerCm);
    if (y >= height) break;
    const major = cm % 5 === 0;
    fillRect(gray, width, height, rx, y, (major ? 6 : 3) * scale, scale, 200);
    if (major && pxPerCm > 4) {
      const label = String(cm);
      drawText(gray, width, height, {
        text: label,
        x: rx - textWidth(label, scale) - 2 * scale,
        y: y - 3 * scale,
        scale,
        value: 200,
      });
    }
  }
}

/** Gray → the exported channel count; RGB screens get the scanner's tint (many are bluish) and
 * coloured measurement marks where `overlay` is set. */
export function toChannels(gray: Uint8Array, p: PhantomParams, overlay?: Uint8Array | null): RasterImage {
  if (p.channels === 1) return { data: gray, width: p.width, height: p.height, channels: 1 };
  const out = new Uint8Array(gray.length * 3);
  const [tr, tg, tb] = p.tint;
  const color = overlay ? p.annotations?.color : null;
  for (let i = 0, o = 0; i < gray.length; i++, o += 3) {
    const v = gray[i]!;
    if (color && overlay?.[i]) {
      out[o] = color[0];
      out[o + 1] = color[1];
      out[o + 2] = color[2];
      continue;
    }
    out[o] = Math.min(255, Math.round(v * tr));
    out[o + 1] = Math.min(255, Math.round(v * tg));
    out[o + 2] = Math.min(255, Math.round(v * tb));
  }
  return { data: out, width: p.width, height: p.height, channels: 3 };
}

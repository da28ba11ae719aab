import type { ScanGeometry } from './scan-geometry.ts';

/**
 * Scan conversion: beam grid → canvas pixels (black outside the field). Linear probes copy 1:1;
 * convex probes are resampled bilinearly through the polar mapping. The ribeye mask goes through the
 * same mapping, so labels match the pixels exactly (see rasterizeMask).
 */
export function scanConvert(
  g: ScanGeometry,
  beam: Uint8Array,
  width: number,
  height: number,
): { gray: Uint8Array; field: Uint8Array } {
  const gray = new Uint8Array(width * height);
  const field = new Uint8Array(width * height);
  const [x0, y0, x1, y1] = g.scanArea;
  const { lines, samples } = g;
  if (g.probe === 'linear' && lines === x1 - x0 && samples === y1 - y0) {
    // The beam grid is the scan area itself.
    for (let j = 0; j < samples && y0 + j < y1; j++) {
      const o = (y0 + j) * width + x0;
      gray.set(beam.subarray(j * lines, j * lines + lines), o);
      field.fill(1, o, o + lines);
    }
    return { gray, field };
  }
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const xm = (x + 0.5 - g.originX) * g.spacingMm;
      const zm = (y + 0.5 - y0) * g.spacingMm + g.topZMm;
      const at = g.toGrid(xm, zm);
      if (!at) continue;
      const l = Math.min(lines - 1, Math.max(0, at.line));
      const s = Math.min(samples - 1, Math.max(0, at.sample));
      const l0 = Math.floor(l);
      const s0 = Math.floor(s);
      const l1 = Math.min(lines - 1, l0 + 1);
      const s1 = Math.min(samples - 1, s0 + 1);
      const fl = l - l0;
      const fs = s - s0;
      const a = beam[s0 * lines + l0]! * (1 - fl) + beam[s0 * lines + l1]! * fl;
      const b = beam[s1 * lines + l0]! * (1 - fl) + beam[s1 * lines + l1]! * fl;
      const o = y * width + x;
      gray[o] = Math.round(a * (1 - fs) + b * fs);
      field[o] = 1;
    }
  }
  return { gray, field };
}

/**
 * The ribeye label in canvas pixels: every pixel of the field whose centre lies inside the ribeye
 * anatomy. Evaluated on the geometry itself (not on the beam grid), so it is exact at any line count.
 */
export function rasterizeMask(
  g: ScanGeometry,
  field: Uint8Array,
  inside: (xMm: number, zMm: number) => boolean,
  width: number,
): Uint8Array {
  const mask = new Uint8Array(field.length);
  const [x0, y0, x1, y1] = g.scanArea;
  for (let y = y0; y < y1; y++) {
    const z = (y + 0.5 - y0) * g.spacingMm + g.topZMm;
    for (let x = x0; x < x1; x++) {
      const o = y * width + x;
      if (field[o] && inside((x + 0.5 - g.originX) * g.spacingMm, z)) mask[o] = 1;
    }
  }
  return mask;
}

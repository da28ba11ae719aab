import type { ScanGeometry } from './scan-geometry.ts';

/**
 * Scan conversion: beam grid → canvas pixels (black outside the field). Linear probes copy 1:1;
 * convex probes are resampled bilinearly through the polar mapping. The ribeye mask goes through the
 * same mapping with nearest-neighbour sampling, so labels match the pixels exactly.
 */
export function scanConvert(
  g: ScanGeometry,
  beam: Uint8Array,
  beamMask: Uint8Array | null,
  width: number,
  height: number,
): { gray: Uint8Array; mask: Uint8Array | null; field: Uint8Array } {
  const gray = new Uint8Array(width * height);
  const mask = beamMask ? new Uint8Array(width * height) : null;
  const field = new Uint8Array(width * height);
  const [x0, y0, x1, y1] = g.scanArea;
  const { lines, samples } = g;
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
      if (mask && beamMask) mask[o] = beamMask[Math.round(s) * lines + Math.round(l)]!;
    }
  }
  return { gray, mask, field };
}

import type { ProbeKind } from './phantom-types.ts';
import type { NoiseBounds } from './value-noise.ts';

/**
 * Where each echo sample sits. The echo is simulated on a "beam grid" (lines × samples along each
 * line), as a scanner acquires it, then scan-converted into the canvas. For a linear probe the grid
 * maps 1:1 onto the scan area; for a convex probe the lines fan out from a virtual apex above the
 * probe face. Physical frame: X lateral mm (0 = centre line), Z depth mm (0 = centre of the face).
 */
export type ScanGeometry = {
  probe: ProbeKind;
  lines: number;
  samples: number;
  /** mm per canvas pixel (square pixels). */
  spacingMm: number;
  depthMm: number;
  /** Physical X, Z of every grid sample, index = sample * lines + line. */
  xMm: Float32Array;
  zMm: Float32Array;
  /** Lateral distance between neighbouring lines at depth z (mm). */
  lineSpacingAt(zMm: number): number;
  /** Fractional grid coordinates (line, sample) of a physical point, or null outside the field. */
  toGrid(xMm: number, zMm: number): { line: number; sample: number } | null;
  /** Canvas pixel of the physical origin and the Z at the scan area's top row. */
  originX: number;
  topZMm: number;
  scanArea: [number, number, number, number];
  fieldHalfWidthMm: number;
  convexRadiusMm: number;
  sectorHalfAngleRad: number;
  /** Physical extent of the field with a margin, for noise lattices and curve tables. */
  bounds: NoiseBounds;
};

type GeometryOptions = {
  probe: ProbeKind;
  scanArea: [number, number, number, number];
  depthMm: number;
  convexRadiusMm: number;
  sectorHalfAngleDeg: number;
  /** Beam samples per canvas pixel along the beam (speckle finer than a pixel is averaged, as a
   * scanner's display does when it shows a deep field on few pixels). */
  oversample?: number;
  /** Beam lines across the field (a scanner has 96–256, fewer than screen columns: the display
   * interpolates between them). Default: one per canvas column. */
  lineCount?: number;
};

export function createScanGeometry(o: GeometryOptions): ScanGeometry {
  return o.probe === 'linear' ? linearGeometry(o) : convexGeometry(o);
}

function linearGeometry(o: GeometryOptions) {
  const { scanArea, depthMm, convexRadiusMm, sectorHalfAngleDeg, oversample = 1 } = o;
  const [x0, y0, x1, y1] = scanArea;
  const aw = x1 - x0;
  const lines = Math.min(aw, o.lineCount ?? aw);
  const samples = (y1 - y0) * oversample;
  const sp = depthMm / (y1 - y0);
  const ls = (aw * sp) / lines;
  const ss = sp / oversample;
  const xMm = new Float32Array(lines * samples);
  const zMm = new Float32Array(lines * samples);
  for (let j = 0; j < samples; j++) {
    for (let i = 0; i < lines; i++) {
      xMm[j * lines + i] = (i + 0.5 - lines / 2) * ls;
      zMm[j * lines + i] = (j + 0.5) * ss;
    }
  }
  const geometry: ScanGeometry = {
    probe: 'linear',
    lines,
    samples,
    spacingMm: sp,
    depthMm,
    xMm,
    zMm,
    lineSpacingAt: () => ls,
    toGrid(x, z) {
      const line = x / ls + lines / 2 - 0.5;
      const sample = z / ss - 0.5;
      if (line < -0.5 || line > lines - 0.5 || sample < -0.5 || sample > samples - 0.5) return null;
      return { line, sample };
    },
    originX: x0 + aw / 2,
    topZMm: 0,
    scanArea,
    fieldHalfWidthMm: (aw / 2) * sp,
    convexRadiusMm,
    sectorHalfAngleRad: (sectorHalfAngleDeg * Math.PI) / 180,
    bounds: { x0: -(aw / 2) * sp - 20, x1: (aw / 2) * sp + 20, z0: -10, z1: depthMm + 10 },
  };
  return geometry;
}

function convexGeometry(o: GeometryOptions) {
  const { scanArea, depthMm, convexRadiusMm: R, sectorHalfAngleDeg, oversample = 1 } = o;
  const [x0, y0, x1, y1] = scanArea;
  const aw = x1 - x0;
  const ah = y1 - y0;
  const tm = (sectorHalfAngleDeg * Math.PI) / 180;
  const extentZ = depthMm + R * (1 - Math.cos(tm));
  const extentX = 2 * (R + depthMm) * Math.sin(tm);
  const sp = Math.max(extentZ / ah, extentX / aw);
  const lines = Math.min(aw, o.lineCount ?? aw);
  const samples = Math.max(8, Math.round(depthMm / sp)) * oversample;
  const dTheta = (2 * tm) / lines;
  const xMm = new Float32Array(lines * samples);
  const zMm = new Float32Array(lines * samples);
  for (let j = 0; j < samples; j++) {
    const r = R + ((j + 0.5) / samples) * depthMm;
    for (let i = 0; i < lines; i++) {
      const t = -tm + (i + 0.5) * dTheta;
      xMm[j * lines + i] = r * Math.sin(t);
      zMm[j * lines + i] = r * Math.cos(t) - R;
    }
  }
  const geometry: ScanGeometry = {
    probe: 'convex',
    lines,
    samples,
    spacingMm: sp,
    depthMm,
    xMm,
    zMm,
    lineSpacingAt: (z) => (R + Math.max(0, z)) * dTheta,
    toGrid(x, z) {
      const r = Math.hypot(x, z + R);
      const t = Math.atan2(x, z + R);
      const line = (t + tm) / dTheta - 0.5;
      const sample = ((r - R) / depthMm) * samples - 0.5;
      if (line < -0.5 || line > lines - 0.5 || sample < -0.5 || sample > samples - 0.5) return null;
      return { line, sample };
    },
    originX: x0 + aw / 2,
    topZMm: -R * (1 - Math.cos(tm)),
    scanArea,
    fieldHalfWidthMm: (R + depthMm) * Math.sin(tm),
    convexRadiusMm: R,
    sectorHalfAngleRad: tm,
    bounds: {
      x0: -(R + depthMm) * Math.sin(tm) - 20,
      x1: (R + depthMm) * Math.sin(tm) + 20,
      z0: -R * (1 - Math.cos(tm)) - 10,
      z1: depthMm + 10,
    },
  };
  return geometry;
}

/** Physical point of a canvas pixel centre. */
export function canvasToPhysical(g: ScanGeometry, x: number, y: number): { xMm: number; zMm: number } {
  return {
    xMm: (x + 0.5 - g.originX) * g.spacingMm,
    zMm: (y + 0.5 - g.scanArea[1]) * g.spacingMm + g.topZMm,
  };
}

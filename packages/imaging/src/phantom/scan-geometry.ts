import type { ProbeKind } from './phantom-types.ts';

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
};

type GeometryOptions = {
  probe: ProbeKind;
  scanArea: [number, number, number, number];
  depthMm: number;
  convexRadiusMm: number;
  sectorHalfAngleDeg: number;
};

export function createScanGeometry(o: GeometryOptions): ScanGeometry {
  return o.probe === 'linear' ? linearGeometry(o) : convexGeometry(o);
}

function linearGeometry({ scanArea, depthMm, convexRadiusMm, sectorHalfAngleDeg }: GeometryOptions) {
  const [x0, y0, x1, y1] = scanArea;
  const lines = x1 - x0;
  const samples = y1 - y0;
  const sp = depthMm / samples;
  const xMm = new Float32Array(lines * samples);
  const zMm = new Float32Array(lines * samples);
  for (let j = 0; j < samples; j++) {
    for (let i = 0; i < lines; i++) {
      xMm[j * lines + i] = (i + 0.5 - lines / 2) * sp;
      zMm[j * lines + i] = (j + 0.5) * sp;
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
    lineSpacingAt: () => sp,
    toGrid(x, z) {
      const line = x / sp + lines / 2 - 0.5;
      const sample = z / sp - 0.5;
      if (line < -0.5 || line > lines - 0.5 || sample < -0.5 || sample > samples - 0.5) return null;
      return { line, sample };
    },
    originX: x0 + lines / 2,
    topZMm: 0,
    scanArea,
    fieldHalfWidthMm: (lines / 2) * sp,
    convexRadiusMm,
    sectorHalfAngleRad: (sectorHalfAngleDeg * Math.PI) / 180,
  };
  return geometry;
}

function convexGeometry({ scanArea, depthMm, convexRadiusMm: R, sectorHalfAngleDeg }: GeometryOptions) {
  const [x0, y0, x1, y1] = scanArea;
  const aw = x1 - x0;
  const ah = y1 - y0;
  const tm = (sectorHalfAngleDeg * Math.PI) / 180;
  const extentZ = depthMm + R * (1 - Math.cos(tm));
  const extentX = 2 * (R + depthMm) * Math.sin(tm);
  const sp = Math.max(extentZ / ah, extentX / aw);
  const lines = aw;
  const samples = Math.max(8, Math.round(depthMm / sp));
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

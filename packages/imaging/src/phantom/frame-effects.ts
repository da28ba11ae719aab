import type { LiftedProbe } from './phantom-types.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { lineProfile, type TissueMaps } from './tissue-maps.ts';

/**
 * Probe partly lifted: where the face has no contact, an air gap reflects nearly everything — a
 * bright band of ring-down lines just under the face, then a dark field (only electronic noise).
 * The contact edge is soft over a few mm (partial coupling).
 */
export function applyLiftedProbe(g: ScanGeometry, lift: LiftedProbe, maps: TissueMaps): void {
  const sampleMm = g.depthMm / g.samples;
  const edgeLines = Math.max(1, (4 / g.lineSpacingAt(0)) | 0);
  const from = lift.fromFrac * g.lines;
  const to = lift.toFrac * g.lines;
  const ring = Math.max(0.8, 1.5 * sampleMm);
  const lineW = Math.max(0.3, 0.8 * sampleMm);
  for (let i = 0; i < g.lines; i++) {
    // 1 inside the lifted span, ramping to 0 over `edgeLines` at an edge inside the field.
    const inside = Math.min(
      from <= 0 ? 1 : (i - from) / edgeLines + 0.5,
      to >= g.lines ? 1 : (to - i) / edgeLines + 0.5,
    );
    const w = Math.max(0, Math.min(1, inside));
    if (w === 0) continue;
    for (let j = 0; j < g.samples; j++) {
      const idx = j * g.lines + i;
      const z = (j + 0.5) * sampleMm;
      let band = 0;
      if (z < lift.bandMm + 3 * ring) {
        for (let k = 0; k * ring < lift.bandMm; k++)
          band += 6 * 0.85 ** k * lineProfile(z - (k + 0.5) * ring, lineW);
      }
      maps.coherent[idx] = maps.coherent[idx]! * (1 - w) + band * w;
      maps.sigma[idx] = maps.sigma[idx]! * (1 - w) + (z < lift.bandMm ? 0.4 : 0.01) * w;
    }
  }
}

/**
 * A frame grabbed mid-sweep: the probe slid `mm` sideways during the frame, so every row is smeared
 * laterally over that distance (a box blur on the beam grid).
 */
export function smearLaterally(beam: Uint8Array, g: ScanGeometry, rows: number, mm: number): void {
  const lines = g.lines;
  const row = new Float32Array(lines);
  for (let j = 0; j < rows; j++) {
    const z = ((j + 0.5) * g.depthMm) / rows;
    const r = Math.max(1, Math.round(mm / g.lineSpacingAt(z) / 2));
    const off = j * lines;
    let acc = 0;
    for (let t = -r; t <= r; t++) acc += beam[off + Math.min(lines - 1, Math.max(0, t))]!;
    for (let i = 0; i < lines; i++) {
      row[i] = acc / (2 * r + 1);
      acc += beam[off + Math.min(lines - 1, i + r + 1)]! - beam[off + Math.max(0, i - r)]!;
    }
    for (let i = 0; i < lines; i++) beam[off + i] = Math.round(row[i]!);
  }
}

import type { Rng } from '../prng.ts';
import { drawText, fillRect } from './bitmap-font.ts';
import type { Bbox, PhantomParams, ScreenLayout } from './phantom-types.ts';

/** Measurement overlays an operator leaves on a frame before exporting it. */
export type Annotations = {
  /** Caliper pairs drawn (0–3): fat depth, ribeye depth, ribeye width, in that order of preference. */
  calipers: number;
  /** A measurement readout ("D1 1.23cm") inside the scan area. */
  text: boolean;
  /** Gray of the marks; RGB exports draw them in `color` when set (yellow/green/cyan on many scanners). */
  value: number;
  color: [number, number, number] | null;
};

const COLORS: [number, number, number][] = [
  [255, 230, 40],
  [80, 255, 80],
  [80, 220, 255],
];

export function sampleAnnotations(rng: Rng, layout: ScreenLayout): Annotations | undefined {
  if (!rng.chance(layout === 'screen' ? 0.4 : 0.2)) return undefined;
  return {
    calipers: rng.int(0, 3),
    text: rng.chance(0.6),
    value: Math.round(rng.range(170, 255)),
    color: rng.chance(0.5) ? rng.pick(COLORS) : null,
  };
}

type Segment = [number, number, number, number];

/**
 * Draw calipers ('+' pairs joined by a dotted line) and a readout on the frame. With a ribeye they
 * measure it (as operators do); on negatives they land anywhere in the scan area, so marks alone
 * never mean "ribeye". Returns the overlay mask (1 where a mark was drawn), or null.
 */
export function drawAnnotations(
  gray: Uint8Array,
  p: PhantomParams,
  bbox: Bbox | null,
  spacingMm: number,
  rng: Rng,
): Uint8Array | null {
  const a = p.annotations;
  if (!a || (a.calipers === 0 && !a.text)) return null;
  const overlay = new Uint8Array(gray.length);
  const [sx0, sy0, sx1, sy1] = p.scanArea;
  const box: Bbox = bbox ?? [
    Math.round(sx0 + rng.range(0.1, 0.3) * (sx1 - sx0)),
    Math.round(sy0 + rng.range(0.1, 0.3) * (sy1 - sy0)),
    Math.round(sx0 + rng.range(0.6, 0.9) * (sx1 - sx0)),
    Math.round(sy0 + rng.range(0.4, 0.7) * (sy1 - sy0)),
  ];
  const [x0, y0, x1, y1] = box;
  const fatPx = Math.max(4, Math.round(((p.fatThicknessMm || rng.range(5, 20)) / spacingMm) * 1));
  const cx = Math.round(x0 + rng.range(0.3, 0.8) * (x1 - x0));
  const segments: Segment[] = [
    [cx, Math.max(sy0, y0 - fatPx), cx, y0],
    [
      Math.round(x0 + rng.range(0.3, 0.7) * (x1 - x0)),
      y0,
      Math.round(x0 + rng.range(0.3, 0.7) * (x1 - x0)),
      y1 - 1,
    ],
    [x0, Math.round((y0 + y1) / 2), x1 - 1, Math.round((y0 + y1) / 2)],
  ];
  const scale = Math.max(1, Math.round(p.height / 400));
  const mark = (x: number, y: number, v: number) => {
    fillRect(gray, p.width, p.height, x, y, scale, scale, v);
    fillRect(overlay, p.width, p.height, x, y, scale, scale, 1);
  };
  for (const [ax, ay, bx, by] of segments.slice(0, a.calipers)) {
    const arm = 3 * scale;
    for (const [px, py] of [
      [ax, ay],
      [bx, by],
    ] as const) {
      for (let t = -arm; t <= arm; t++) {
        mark(px + t, py, a.value);
        mark(px, py + t, a.value);
      }
    }
    const len = Math.hypot(bx - ax, by - ay);
    for (let t = 2 * arm; t < len - 2 * arm; t += 4 * scale)
      mark(Math.round(ax + ((bx - ax) * t) / len), Math.round(ay + ((by - ay) * t) / len), a.value);
  }
  if (a.text) {
    const cm = ((y1 - y0) * spacingMm) / 10;
    const text = `D1 ${cm.toFixed(2)}CM`;
    const tx = sx0 + 4 * scale;
    const ty = Math.max(sy0 + 2, sy1 - 12 * scale);
    drawText(gray, p.width, p.height, { text, x: tx, y: ty, scale, value: a.value });
    drawText(overlay, p.width, p.height, { text, x: tx, y: ty, scale, value: 1 });
  }
  return overlay;
}

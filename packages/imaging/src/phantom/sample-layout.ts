import type { Rng } from '../prng.ts';
import type { Bbox, PhantomParams, PhantomPreset, ProbeKind, ScreenLayout } from './phantom-types.ts';

type LayoutRequest = { width?: number; height?: number; maxSide?: number; layout?: ScreenLayout };
type Layout = { layout: ScreenLayout; width: number; height: number; scanArea: Bbox };

// Native screen sizes seen on veterinary scanners' exports; the held-out set uses others.
const TRAINING_SCREENS: [number, number][] = [
  [940, 720],
  [800, 600],
  [1024, 768],
  [640, 480],
];
const HELDOUT_SCREENS: [number, number][] = [
  [1280, 720],
  [720, 576],
  [1024, 600],
];

export function sampleLayout(rng: Rng, preset: PhantomPreset, o: LayoutRequest): Layout {
  const layout: ScreenLayout = o.layout ?? (rng.chance(0.45) ? 'crop' : 'screen');
  let width: number;
  let height: number;
  if (o.width !== undefined && o.height !== undefined) {
    width = o.width;
    height = o.height;
  } else if (layout === 'crop') {
    width = rng.int(220, 640);
    height = Math.round(
      width / rng.range(preset === 'heldout' ? 1.0 : 1.2, preset === 'heldout' ? 1.3 : 1.7),
    );
  } else {
    const [w, h] = rng.pick(preset === 'heldout' ? HELDOUT_SCREENS : TRAINING_SCREENS);
    const s = rng.range(0.45, 1);
    width = Math.round(w * s);
    height = Math.round(h * s);
  }
  if (o.maxSide !== undefined && Math.max(width, height) > o.maxSide) {
    const s = o.maxSide / Math.max(width, height);
    width = Math.max(32, Math.round(width * s));
    height = Math.max(32, Math.round(height * s));
  }
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 32 ||
    height < 32 ||
    width * height > 8e6
  ) {
    throw new RangeError(`phantom size must be integers between 32×32 and 8 MP, got ${width}×${height}`);
  }
  return { layout, width, height, scanArea: sampleScanArea(rng, preset, layout, width, height) };
}

function sampleScanArea(rng: Rng, preset: PhantomPreset, layout: ScreenLayout, w: number, h: number): Bbox {
  if (layout === 'crop') {
    const top = rng.chance(0.3) ? Math.round(rng.range(0, 0.04) * h) : 0;
    const side = rng.chance(0.3) ? Math.round(rng.range(0, 0.03) * w) : 0;
    return [side, top, w - (rng.chance(0.5) ? side : 0), h];
  }
  const shift = preset === 'heldout' ? 0.05 : 0;
  const header = Math.round(rng.range(0.04, 0.08 + shift) * h);
  const left = Math.round(rng.range(0.08, 0.2 + shift) * w);
  const right = Math.round(rng.range(0.08, 0.18) * w);
  const bottom = Math.round(rng.range(0, 0.03 + shift) * h);
  return [left, header, Math.max(left + 16, w - right), Math.max(header + 16, h - bottom)];
}

const PRESETS = ['Bovine', 'Cattle', 'MSK', 'Abdomen', 'Beef', 'Carcass'];
const PROBES: Record<ProbeKind, string[]> = {
  linear: ['LV5-2', 'L7-3', 'LV7.5', 'L6'],
  convex: ['C5-2', 'C3.5', 'R60'],
};

export function sampleFurniture(
  rng: Rng,
  layout: ScreenLayout,
  s: { depthCm: number; probe: ProbeKind },
): PhantomParams['furniture'] {
  const screen = layout === 'screen';
  const text = [
    rng.pick(PRESETS),
    `F ${rng.range(2.5, 6).toFixed(1)}`,
    `G ${rng.int(40, 90)}`,
    `FR ${rng.int(15, 40)}`,
    `D ${s.depthCm.toFixed(1)}`,
    `DR ${rng.int(40, 90)}`,
    rng.pick(PROBES[s.probe]),
  ];
  return {
    header: screen && rng.chance(0.9),
    ruler: screen && rng.chance(0.85),
    grayBar: screen && rng.chance(0.6),
    focusMarker: screen && rng.chance(0.6),
    headerText: text.join('   '),
  };
}

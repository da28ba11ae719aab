import type { Rng } from '../prng.ts';
import type { Bbox, Furniture, PhantomPreset, ProbeKind, ScreenLayout } from './phantom-types.ts';

type LayoutRequest = { width?: number; height?: number; maxSide?: number; layout?: ScreenLayout };
/** Screen parts that take room from the scan area (decided with the layout, drawn by the furniture). */
export type ScreenExtras = {
  panelSide: 'left' | 'right' | null;
  panelLines: number;
  rulerSide: 'left' | 'right';
  bottomRuler: boolean;
  grayBarBesideField: boolean;
  background: number;
};
type Layout = { layout: ScreenLayout; width: number; height: number; scanArea: Bbox; extras: ScreenExtras };

/** Characters per line of a settings panel, and the scale every screen text uses. */
export const PANEL_CHARS = 11;
export const screenScale = (height: number) => Math.max(1, Math.round(height / 360));
export const panelWidth = (height: number) => PANEL_CHARS * 6 * screenScale(height) + 8;

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
    height = Math.round(width / rng.range(1.0, preset === 'heldout' ? 1.3 : 1.7));
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
  const scanArea = sampleScanArea(rng, layout, width, height);
  // Drawn from a fork: the draws above (and every anatomy draw) stay what they were before these
  // layouts existed, so old seeds keep their anatomy.
  const extras = sampleExtras(rng.fork('screen-extras'), layout, width, height);
  return { layout, width, height, scanArea: makeRoom(scanArea, extras, width, height), extras };
}

const NO_EXTRAS: ScreenExtras = {
  panelSide: null,
  panelLines: 0,
  rulerSide: 'right',
  bottomRuler: false,
  grayBarBesideField: false,
  background: 0,
};

/** Real exports: settings panels on either side, rulers on two edges, non-black backgrounds. */
function sampleExtras(rng: Rng, layout: ScreenLayout, w: number, h: number): ScreenExtras {
  if (layout === 'crop') return NO_EXTRAS;
  const panel = rng.chance(0.45) && w >= 3.5 * panelWidth(h);
  return {
    panelSide: panel ? (rng.chance(0.7) ? 'left' : 'right') : null,
    panelLines: rng.int(4, 12),
    rulerSide: rng.chance(0.35) ? 'left' : 'right',
    bottomRuler: rng.chance(0.35),
    grayBarBesideField: rng.chance(0.3),
    background: rng.chance(0.25) ? Math.round(rng.range(6, 30)) : 0,
  };
}

/** Widen the margins so the panel, rulers and bar fit beside the field (never over it). */
function makeRoom(area: Bbox, e: ScreenExtras, w: number, h: number): Bbox {
  if (e === NO_EXTRAS) return area;
  const sc = screenScale(h);
  const ruler = 32 * sc;
  // The gray bar beside the field goes on the side without the ruler.
  const bar = e.grayBarBesideField ? Math.max(3, Math.round(0.015 * w)) + 6 * sc : 0;
  const left = (e.panelSide === 'left' ? panelWidth(h) + 6 : 0) + (e.rulerSide === 'left' ? ruler : bar);
  const right = (e.panelSide === 'right' ? panelWidth(h) + 6 : 0) + (e.rulerSide === 'right' ? ruler : bar);
  const bottom = e.bottomRuler ? 16 * sc : 0;
  const x0 = Math.max(area[0], left);
  const x1 = Math.min(area[2], w - right);
  const y1 = Math.min(area[3], h - bottom);
  // A screen too small for all of it keeps its area (the furniture drawing skips what does not fit).
  return x1 - x0 >= 0.4 * w && y1 - area[1] >= 0.6 * h ? [x0, area[1], x1, y1] : area;
}

function sampleScanArea(rng: Rng, layout: ScreenLayout, w: number, h: number): Bbox {
  if (layout === 'crop') {
    const top = rng.chance(0.3) ? Math.round(rng.range(0, 0.04) * h) : 0;
    const side = rng.chance(0.3) ? Math.round(rng.range(0, 0.03) * w) : 0;
    return [side, top, w - (rng.chance(0.5) ? side : 0), h];
  }
  // The held-out preset's wider furniture (taller header, wider left panel) is in training's range too.
  const header = Math.round(rng.range(0.04, 0.13) * h);
  const left = Math.round(rng.range(0.08, 0.25) * w);
  const right = Math.round(rng.range(0.08, 0.18) * w);
  const bottom = Math.round(rng.range(0, 0.08) * h);
  return [left, header, Math.max(left + 16, w - right), Math.max(header + 16, h - bottom)];
}

const PRESETS = ['Bovine', 'Cattle', 'MSK', 'Abdomen', 'Beef', 'Carcass'];
const PROBES: Record<ProbeKind, string[]> = {
  linear: ['LV5-2', 'L7-3', 'LV7.5', 'L6'],
  convex: ['C5-2', 'C3.5', 'R60'],
};

const MAKES = [
  'MINDRAY DP50',
  'SONOSCAPE A6',
  'EXAGO',
  'IMAGO',
  'ESAOTE MYLAB',
  'KONTRON',
  'DRAMINSKI',
  'EASI-SCAN',
];
const TICK_COLORS: [number, number, number][] = [
  [80, 255, 80],
  [255, 230, 40],
  [80, 220, 255],
  [255, 140, 40],
];

/** The settings column: make, probe, gain, MHz, depth (the true one), fps and more, ≤ PANEL_CHARS each. */
function panelLines(rng: Rng, n: number, s: { depthCm: number; probe: ProbeKind }): string[] {
  const lines = [
    rng.pick(MAKES),
    rng.pick(PROBES[s.probe]),
    `GAIN ${rng.int(30, 95)}`,
    `${rng.range(2.5, 7.5).toFixed(1)} MHZ`,
    `D ${s.depthCm.toFixed(1)} CM`,
    `FPS ${rng.int(8, 40)}`,
    `DR ${rng.int(40, 90)}`,
    `FOCUS ${rng.int(1, 4)}`,
    `MI ${rng.range(0.3, 1.4).toFixed(1)}`,
    `TIS ${rng.range(0.1, 1).toFixed(1)}`,
    `PWR ${rng.int(60, 100)}%`,
    `SRI ${rng.int(0, 4)}`,
  ];
  return lines.slice(0, n).map((l) => l.slice(0, PANEL_CHARS));
}

export function sampleFurniture(
  rng: Rng,
  layout: ScreenLayout,
  s: { depthCm: number; probe: ProbeKind },
  extras: ScreenExtras = NO_EXTRAS,
): Furniture {
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
  const base: Furniture = {
    header: screen && rng.chance(0.9),
    ruler: screen && rng.chance(0.85),
    grayBar: screen && rng.chance(0.6),
    focusMarker: screen && rng.chance(0.6),
    headerText: text.join('   '),
  };
  if (!screen) return base;
  // A fork again: the five draws above stay what they were.
  const r = rng.fork('extras');
  const clock = `${String(r.int(0, 23)).padStart(2, '0')}:${String(r.int(0, 59)).padStart(2, '0')}`;
  return {
    ...base,
    rulerSide: extras.rulerSide,
    rulerLabelEveryCm: r.pick([5, 5, 2, 1]),
    bottomRuler: extras.bottomRuler && s.probe === 'linear',
    tickColor: r.chance(0.5) ? r.pick(TICK_COLORS) : null,
    panel: extras.panelSide
      ? {
          side: extras.panelSide,
          lines: panelLines(r, extras.panelLines, s),
          background: r.chance(0.4) ? Math.round(r.range(25, 70)) : extras.background,
        }
      : null,
    grayBarBesideField: extras.grayBarBesideField,
    caption: r.chance(0.35) ? r.pick(['FREEZE', 'FRZ', `CINE ${r.int(1, 120)}/120`, 'LIVE']) : null,
    status: r.chance(0.4) ? `${clock}  ${r.int(5, 100)}%` : null,
    background: extras.background,
  };
}

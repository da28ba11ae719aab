import type { RasterImage } from '../gray-image.ts';
import type { Annotations } from './annotations.ts';

/**
 * `ribeye` is the only usable view; every other kind is a negative for the view verdict. A
 * `ribeye_cut_off` frame still shows (part of) a ribeye and carries its visible mask as labels.
 */
export type PhantomKind =
  | 'ribeye'
  | 'ribeye_cut_off'
  | 'backfat_longitudinal'
  | 'transverse_wrong_site'
  | 'rump_p8'
  | 'probe_lifted'
  | 'motion_blur'
  | 'off_animal'
  | 'noise';

export const PHANTOM_KINDS: readonly PhantomKind[] = [
  'ribeye',
  'ribeye_cut_off',
  'backfat_longitudinal',
  'transverse_wrong_site',
  'rump_p8',
  'probe_lifted',
  'motion_blur',
  'off_animal',
  'noise',
];

/** Where a lifted probe has no contact (fractions of the field width) and how thick its ring-down band is. */
export type LiftedProbe = { fromFrac: number; toFrac: number; bandMm: number };

/** Screen furniture drawn around (never inside) the scan area; the optional parts came with the
 * layouts pass (label JSON written before them re-renders without them). */
export type Furniture = {
  header: boolean;
  ruler: boolean;
  grayBar: boolean;
  focusMarker: boolean;
  headerText: string;
  /** Depth ruler beside the field: right (default) or left. */
  rulerSide?: 'left' | 'right';
  /** Depth ruler labels every this many cm (default 5). */
  rulerLabelEveryCm?: number;
  /** A lateral ruler along the bottom edge (linear probes): a tick every cm from the field's left edge. */
  bottomRuler?: boolean;
  /** Tick / marker colour on RGB exports (null: the ruler's gray). */
  tickColor?: [number, number, number] | null;
  /** A column of settings text (make, model, gain, MHz, depth, fps) on one side, optional gray backdrop. */
  panel?: { side: 'left' | 'right'; lines: string[]; background: number } | null;
  /** The gray bar beside the field (1–10 px gap) instead of at the screen's left edge. */
  grayBarBesideField?: boolean;
  /** 'FREEZE', 'CINE 45/120', … below or above the field. */
  caption?: string | null;
  /** Clock and battery in a top corner ("12:34" + a battery outline). */
  status?: string | null;
  /** Screen background gray outside the field (0 on most scanners). */
  background?: number;
};
export type ProbeKind = 'linear' | 'convex';
export type ScreenLayout = 'crop' | 'screen';
export type PhantomPreset = 'training' | 'heldout';
/** [x_min, y_min, x_max, y_max] in pixels, max exclusive (x_max - x_min = box width). */
export type Bbox = [number, number, number, number];

/** A rib, transverse process or other bone surface: an arc convex upwards that shadows below it. */
export type BoneArc = {
  xMm: number;
  zMm: number;
  halfWidthMm: number;
  heightMm: number;
  transmission: number;
};

/** Every sampled value that shaped one phantom: stored in the labels so a sample can be explained. */
export type PhantomParams = {
  preset: PhantomPreset;
  kind: PhantomKind;
  width: number;
  height: number;
  channels: 1 | 3;
  layout: ScreenLayout;
  probe: ProbeKind;
  /** Scan area inside the canvas, [x0, y0, x1, y1] px (max exclusive). */
  scanArea: Bbox;
  depthCm: number;
  frequencyMHz: number;
  gainDb: number;
  dynamicRangeDb: number;
  attenuationDbPerCmMHz: number;
  /** What TGC leaves uncompensated: + brightens the deep field, − darkens it. */
  tgcResidualDbPerCm: number;
  /** Convex probes only: radius of curvature of the footprint. */
  convexRadiusMm: number;
  /** Convex probes only: half of the sector's opening angle. */
  sectorHalfAngleDeg: number;
  /** Gel / stand-off pad between probe face and skin at the skin's highest point. */
  standoffMm: number;
  skinApexXMm: number;
  /** Skin arch: depth gained per mm² of lateral offset from the apex (parabola). */
  skinCurvature: number;
  skinTilt: number;
  skinThicknessMm: number;
  fatLayersMm: number[];
  fatThicknessMm: number;
  ribeyeCenterXMm: number;
  ribeyeWidthMm: number;
  ribeyeHeightMm: number;
  /** Shape of the lens ends: <1 rounder medial end on the left, >1 on the right. */
  ribeyeAsymmetry: number;
  ribeyeEchoDb: number;
  marblingDensity: number;
  fasciaVisibility: number;
  bones: BoneArc[];
  speckleAxialMm: number;
  speckleLateralMm: number;
  /** Lateral speckle growth per cm of depth (beam spreading beyond the focus). */
  speckleLateralGrowth: number;
  reverberation: number;
  dropouts: { xFrac: number; widthFrac: number; depthLoss: number }[];
  smoothing: number;
  /** Box radius of the speckle-reduction blend (1 = 3×3, 2 = 5×5; default 1). */
  smoothingRadius?: number;
  deepHaze: number;
  /** Electronic noise floor relative to mean tissue echo (dB), amplified by TGC with depth. */
  noiseDb: number;
  /** Beam lines across the field; the display interpolates between them. */
  beamLines: number;
  /** Where mean muscle echo sits in the display window (0 = black end, 1 = white end). */
  muscleLevel: number;
  /** Gray-map exponent (>1 darkens mid-tones) and the gray that the window's bottom maps to. */
  grayGamma: number;
  blackLevel: number;
  tint: [number, number, number];
  /** Extra brightness of specular interfaces (skin, fat lines, fascia, bone) over the default (×). */
  interfaceGain?: number;
  /** Diffuse scatter of the intermuscular fat / connective tissue wrapping the ribeye (0 = none). */
  seamStrength?: number;
  /** Decay length of that wrapping band outside the ribeye, mm. */
  haloWidthMm?: number;
  /** Visibility of the ribeye's outline (epimysium) at its sides and floor, 0–1. */
  outlineVisibility?: number;
  /** Thickness (Gaussian sigma) of the specular interface lines, mm. */
  interfaceWidthMm?: number;
  /** Lateral shift of the tissue textures against the probe (live streams: the sway moves them). */
  tissueShiftMm?: number;
  /** Calipers and a readout drawn on the frame (undefined: a clean frame). */
  annotations?: Annotations;
  furniture: Furniture;
  /** probe_lifted: the part of the face without contact. */
  lifted?: LiftedProbe;
  /** motion_blur: lateral smear of a mid-sweep frame, mm. */
  motionBlurMm?: number;
  /** transverse_wrong_site / rump_p8: fascia lines between muscles below the fat, depth at the
   * field's centre (mm below the last fat line) and slope (mm per mm across the field). */
  muscleSeams?: { depthMm: number; slope: number }[];
  /** Training preset: what real ribeyes show that a clean lens lacks (ribeye-realism.ts). */
  realism?: RibeyeRealism;
};

export type RibeyeRealism = {
  /** Bright fascia lines inside the lens: start across it (0 left end – 1 right end) and below its
   * top (share of its height), direction (degrees from +x, downwards: 25–155), length, brightness (×). */
  internalFascia: {
    atFrac: number;
    startFrac: number;
    angleDeg: number;
    lengthMm: number;
    brightness: number;
  }[];
  /** The lens' part on one side of the first inner fascia echoes at its own level (dB). */
  lateralEcho: { side: 'left' | 'right'; db: number } | null;
  /** Muscles beside the lens with the ribeye's texture and level (dB against it); overlapMm = how far
   * the neighbour reaches under the lens' thin end. */
  neighbours: {
    side: 'left' | 'right';
    widthMm: number;
    heightMm: number;
    overlapMm: number;
    db: number;
    /** Brightness of a fascia line along the neighbour's floor (0 = none). */
    floorLine: number;
  }[];
  /** Depth of ribeye-like muscle under the floor (0 = none), mm. */
  floorMimicMm: number;
  /** Fascicle cell size of the look-alike muscle, mm. */
  cellMm: number;
};

export type PhantomLabels = {
  kind: PhantomKind;
  ribeyeBbox: Bbox | null;
  /** 1 inside the ribeye, 0 elsewhere; same width × height as the image. */
  ribeyeMask: Uint8Array | null;
  ribeyeAreaPx: number;
  /** Skin surface to ribeye top, at 3/4 of the ribeye's width from its medial end; 0 without a ribeye. */
  fatThicknessMm: number;
  /** Marbling flecks per cm² of ribeye, scaled 0–1 (intramuscular-fat proxy). */
  marblingDensity: number;
  pixelSpacingMm: number;
  depthCm: number;
  params: PhantomParams;
};

export type Phantom = { image: RasterImage; labels: PhantomLabels };

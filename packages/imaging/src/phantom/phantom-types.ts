import type { RasterImage } from '../gray-image.ts';
import type { Annotations } from './annotations.ts';

export type PhantomKind = 'ribeye' | 'off_animal' | 'backfat_longitudinal' | 'noise';
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
  furniture: { header: boolean; ruler: boolean; grayBar: boolean; focusMarker: boolean; headerText: string };
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

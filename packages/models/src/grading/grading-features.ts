import {
  columnSpans,
  type FatThickness,
  type GrayImage,
  measureFatThickness,
  ribeyeDimensions,
} from '@cti/imaging';
import type { Mask } from '../mask-ops.ts';
import type { CropBox } from '../preprocess.ts';
import { glcmTexture, meanIntensity } from '../texture-features.ts';
import { type FatSpan, measureFatAlongSpan } from './fat-span.ts';
import { assessRibeyeCutOff, type RibeyeCutOff } from './ribeye-cut-off.ts';

/** Where the pixel spacing came from, in the order grading tries them. */
export type PixelSpacingSource = 'meta' | 'device_calibration' | 'ruler' | 'none';
/** Where the pixel aspect came from: declared in meta.json, by the device's calibration, or none (square). */
export type PixelAspectSource = 'meta' | 'device_calibration' | 'assumed_square';

export type GradingFeatureInput = {
  /** The image (8-bit gray) and the ribeye mask (0/1) of the same size: the model's or a person's. */
  gray: GrayImage;
  mask: Mask;
  /** Millimetres per pixel along the vertical (depth) axis, or null: then only pixel measures are given. */
  pixelSpacingMm: number | null;
  pixelSpacingSource: PixelSpacingSource;
  /**
   * A pixel's physical width ÷ its height (packages/contracts/README.md, "Pixel aspect"; default 1,
   * square): the horizontal spacing is pixelSpacingMm × pixelAspect, so areas and widths scale by it.
   */
  pixelAspect?: number;
  pixelAspectSource?: PixelAspectSource;
  /** The image field; its sides tell a ribeye cut off by the field edge (default: the whole image). */
  scanArea?: CropBox;
};

/** Where fat thickness was measured (image pixels), for the overlay and for a person checking it. */
export type FatPositionFeature = {
  x_px: number;
  skin_y_px: number | null;
  ribeye_top_y_px: number | null;
  band_half_width_px: number;
  from_medial: number;
  medial_side: 'left' | 'right';
  cut_off: boolean;
  /** Interquartile range of the readings along the span, px (null when not measured). */
  spread_px: number | null;
  /** Share of the ribeye's visible length from its medial end over which the fat was read. */
  span: [number, number] | null;
};

/**
 * `grading_results.features_used`: the spec's names (`roi_area_px`, `rea_cm2`, `mean_intensity`,
 * `texture_glcm_contrast`) and the grading measures. A measure that cannot be computed is null and
 * `missing_reasons` says why (never 0: a zero would read as a real measurement).
 */
export type GradingFeatures = {
  roi_area_px: number;
  rea_cm2: number | null;
  mean_intensity: number | null;
  texture_glcm_contrast: number | null;
  texture_glcm_homogeneity: number | null;
  texture_glcm_entropy: number | null;
  fat_thickness_mm: number | null;
  fat_thickness_px: number | null;
  fat_position: FatPositionFeature | null;
  ribeye_width_mm: number | null;
  ribeye_depth_mm: number | null;
  ribeye_width_px: number | null;
  ribeye_depth_px: number | null;
  ribeye_bbox: [number, number, number, number] | null;
  /** The ribeye touches an edge of the field: its area and width are of the visible part. */
  ribeye_cut_off: boolean;
  /** How much the field's edge takes away (`assessRibeyeCutOff`): `cut` when the lens' middle is outside. */
  ribeye_cut_off_detail: RibeyeCutOff;
  pixel_spacing_mm: number | null;
  pixel_spacing_source: PixelSpacingSource;
  /** A pixel's width ÷ its height the areas and widths were measured with (1: square). */
  pixel_aspect: number;
  pixel_aspect_source: PixelAspectSource;
  /** Measure name → reason it is null: 'no_spacing', 'no_ribeye', 'ribeye_cut_off', 'skin_not_in_view', … */
  missing_reasons: Record<string, string>;
};

const round = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined ? null : Math.round(v * 10 ** digits) / 10 ** digits;

function fatPosition(fat: FatThickness, span: FatSpan | null): FatPositionFeature | null {
  if (!fat.position) return null;
  const p = fat.position;
  const read = span?.ok ? span : null;
  return {
    x_px: read ? read.median.x : p.x,
    skin_y_px: read ? round(read.median.skinY, 1) : null,
    ribeye_top_y_px: read ? round(read.median.topY, 1) : null,
    band_half_width_px: p.bandHalfWidth,
    from_medial: p.fromMedial,
    medial_side: p.medialSide,
    cut_off: p.cutOff,
    spread_px: read ? round(read.spreadPx, 2) : null,
    span: span ? span.span : null,
  };
}

/**
 * Every grading measure of a ribeye mask on its image, with no model involved: the worker calls it
 * on the segmentation's mask, the dashboard's manual correction on a person's mask, so both results
 * are computed by the same code. Pure: same inputs, same output.
 *
 * @example
 * const f = computeGradingFeatures({ gray, mask, pixelSpacingMm: 0.296, pixelSpacingSource: 'ruler', scanArea });
 * f.rea_cm2; // 58.4
 */
export function computeGradingFeatures(input: GradingFeatureInput): GradingFeatures {
  const {
    gray,
    mask,
    pixelSpacingMm: mm,
    pixelSpacingSource,
    pixelAspect: aspect = 1,
    pixelAspectSource = 'assumed_square',
  } = input;
  if (mask.width !== gray.width || mask.height !== gray.height) {
    throw new RangeError(
      `mask is ${mask.width}×${mask.height} but the image is ${gray.width}×${gray.height}`,
    );
  }
  if (mm !== null && !(Number.isFinite(mm) && mm > 0)) {
    throw new RangeError(`pixelSpacingMm must be a positive number or null, got ${mm}`);
  }
  if (!(Number.isFinite(aspect) && aspect > 0)) {
    throw new RangeError(
      `pixelAspect must be a positive number (a pixel's width ÷ its height), got ${aspect}`,
    );
  }
  const field = input.scanArea ?? [0, 0, gray.width, gray.height];
  const missing_reasons: Record<string, string> = {};
  const spans = columnSpans(mask);
  const area = spans?.area ?? 0;
  const cutOffDetail = assessRibeyeCutOff(mask, field);
  const cutOff = cutOffDetail.sides.length > 0;
  const dims = ribeyeDimensions(mask);
  const texture = spans ? glcmTexture(gray, mask, spans.bbox) : null;
  // The position (¾ of the visible length, moved in under a convex fan's side) and why none can be
  // found come from measureFatThickness; the thickness is read along a span around it.
  const fat = measureFatThickness(gray, mask, { scanArea: field });
  const span = measureFatAlongSpan(gray, mask, fat, field);
  // Vertical lengths (fat, depth) at the spacing; horizontal ones (width) at spacing × aspect.
  const inMm = (px: number | null, key: string, digits: number, axis: 'vertical' | 'horizontal') => {
    if (px === null) return null;
    if (mm === null) {
      missing_reasons[key] = 'no_spacing';
      return null;
    }
    return round(px * mm * (axis === 'horizontal' ? aspect : 1), digits);
  };
  if (area === 0) {
    for (const key of [
      'rea_cm2',
      'mean_intensity',
      'texture_glcm_contrast',
      'fat_thickness_mm',
      'ribeye_width_mm',
      'ribeye_depth_mm',
    ])
      missing_reasons[key] = 'no_ribeye';
  }
  let reaCm2: number | null = null;
  if (area > 0 && mm === null) missing_reasons.rea_cm2 = 'no_spacing';
  if (area > 0 && mm !== null) reaCm2 = round((area * mm * mm * aspect) / 100, 3);
  const widthPx = dims && !cutOff ? dims.widthPx : null;
  if (dims && cutOff) missing_reasons.ribeye_width_mm = 'ribeye_cut_off';
  const fatPx = span?.ok ? span.thicknessPx : null;
  if (!fat.ok && fat.reason !== 'empty_mask') missing_reasons.fat_thickness_mm = fat.reason;
  if (span && !span.ok) missing_reasons.fat_thickness_mm = span.reason;
  return {
    roi_area_px: area,
    rea_cm2: reaCm2,
    mean_intensity: spans ? round(meanIntensity(gray, mask, spans.bbox), 2) : null,
    texture_glcm_contrast: round(texture?.contrast, 5),
    texture_glcm_homogeneity: round(texture?.homogeneity, 4),
    texture_glcm_entropy: round(texture?.entropy, 4),
    fat_thickness_mm: inMm(fatPx, 'fat_thickness_mm', 2, 'vertical'),
    fat_thickness_px: round(fatPx, 2),
    fat_position: fatPosition(fat, span),
    ribeye_width_mm: inMm(widthPx, 'ribeye_width_mm', 1, 'horizontal'),
    ribeye_depth_mm: inMm(dims?.depthPx ?? null, 'ribeye_depth_mm', 1, 'vertical'),
    ribeye_width_px: widthPx,
    ribeye_depth_px: dims?.depthPx ?? null,
    ribeye_bbox: spans ? spans.bbox : null,
    ribeye_cut_off: cutOff,
    ribeye_cut_off_detail: cutOffDetail,
    pixel_spacing_mm: mm === null ? null : round(mm, 5),
    pixel_spacing_source: mm === null ? 'none' : pixelSpacingSource,
    pixel_aspect: round(aspect, 5)!,
    pixel_aspect_source: pixelAspectSource,
    missing_reasons,
  };
}

import type { GrayImage } from '@cti/imaging';
import {
  type CropBox,
  computeGradingFeatures,
  type GradingFeatures,
  type Mask,
  type PixelAspectSource,
  type PixelSpacingSource,
} from '@cti/models';
import { edgeQuality, signalToNoise } from '../grading/confidence.ts';
import { decideGrade, type Grade, type GradeReason } from '../grading/grade-rules.ts';
import { assessImageQuality } from '../grading/image-quality.ts';
import { type FatLine, fatLineLengthMm, fatLineLengthPx } from './fat-line.ts';

/** Version of the rules below, recorded in every manual result's lineage. */
export const CORRECTION_RULES_VERSION = 'correction-rules-1';

export type CorrectionGradingInput = {
  gray: GrayImage;
  /** The cleaned mask (one region, image size). */
  mask: Mask;
  /** The corrected result's pixel spacing and its source, reused as they are. */
  pixelSpacingMm: number | null;
  pixelSpacingSource: PixelSpacingSource;
  /** The corrected result's pixel aspect (width ÷ height) and its source, reused as they are (default square). */
  pixelAspect?: number;
  pixelAspectSource?: PixelAspectSource;
  scanArea: CropBox;
  fatLine: FatLine | null;
  /**
   * Why the corrected result withheld its spacing (`implausible_spacing`, `spacing_conflict`), if it did:
   * the correction says the same instead of a bare `no_spacing` — the problem the operator has to fix
   * (a calibration, meta.json's spacing) stays on the latest result, in lists and exports.
   */
  spacingProblem?: 'implausible_spacing' | 'spacing_conflict' | null;
  /** The corrected result was graded without the capture's meta.json: the correction says so too. */
  metaUnavailable?: boolean;
};

export type ManualFeatures = GradingFeatures & {
  fat_thickness_source: 'drawn' | 'measured';
  /** The line as drawn (image pixels), when one was. */
  fat_line?: FatLine;
  /** What the measurement on the corrected mask gave, kept beside a drawn line for comparison. */
  fat_thickness_measured_px?: number | null;
  fat_thickness_measured_mm?: number | null;
};

export type GradedCorrection = {
  grade: Grade;
  reasons: GradeReason[];
  features: ManualFeatures & {
    scan_area: CropBox;
    image_width_px: number;
    image_height_px: number;
    image_quality: unknown;
  };
  breakdown: Record<string, unknown>;
};

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The measured features with the fat thickness replaced by the drawn line's length (physical, per axis). */
function withDrawnFat(
  measured: GradingFeatures,
  line: FatLine,
  mm: number | null,
  aspect: number,
): ManualFeatures {
  const px = round(fatLineLengthPx(line), 2);
  const missing = { ...measured.missing_reasons };
  delete missing.fat_thickness_mm;
  if (mm === null) missing.fat_thickness_mm = 'no_spacing';
  return {
    ...measured,
    fat_thickness_px: px,
    // Square pixels: the rounded pixel length × spacing, as before aspects were recorded.
    fat_thickness_mm:
      mm === null ? null : round(aspect === 1 ? px * mm : fatLineLengthMm(line, mm, aspect), 2),
    // fat_position describes the automatic measurement; the drawn line is fat_line.
    fat_position: null,
    fat_thickness_source: 'drawn',
    fat_line: line,
    fat_thickness_measured_px: measured.fat_thickness_px,
    fat_thickness_measured_mm: measured.fat_thickness_mm,
    missing_reasons: missing,
  };
}

/**
 * The features, grade and breakdown of a correction by hand, with the worker's own code:
 * computeGradingFeatures on the corrected mask (same pixel spacing, source and field as the result it
 * corrects, and its pixel aspect), then the drawn fat line's length (in mm per axis) instead of the measured thickness when one
 * was drawn. Grade: decideGrade with the image-quality findings recomputed on the corrected mask, a
 * ribeye view taken as certain and no confidence term — a person outlining the ribeye states that this
 * is a ribeye view (the model's not_a_ribeye_view / view_uncertain / low_confidence do not carry over),
 * while a dark, saturated, low-contrast or shadowed image, a ribeye cut off at the field's edge, no
 * pixel spacing, an unmeasurable fat thickness and a meta.json graded without still lower the grade as for
 * the model. The
 * breakdown records the outline's edge quality and SNR (the worker's functions) for the record;
 * a manual result has no confidence (NULL).
 */
export function gradeCorrection(input: CorrectionGradingInput): GradedCorrection {
  const {
    gray,
    mask,
    pixelSpacingMm,
    pixelSpacingSource,
    pixelAspect = 1,
    pixelAspectSource = 'assumed_square',
    scanArea,
    fatLine,
    spacingProblem = null,
    metaUnavailable = false,
  } = input;
  const measured = computeGradingFeatures({
    gray,
    mask,
    pixelSpacingMm,
    pixelSpacingSource,
    pixelAspect,
    pixelAspectSource,
    scanArea,
  });
  const drawnOrMeasured: ManualFeatures = fatLine
    ? withDrawnFat(measured, fatLine, measured.pixel_spacing_mm, pixelAspect)
    : { ...measured, fat_thickness_source: 'measured' };
  const features = spacingProblem ? withSpacingProblem(drawnOrMeasured, spacingProblem) : drawnOrMeasured;
  const quality = assessImageQuality(gray, { scanArea, mask });
  const decided = decideGrade({
    ribeyeView: 1,
    quality: quality.findings,
    features,
    confidence: 1,
    spacingProblem,
    metaUnavailable,
  });
  const grade = decided.grade;
  // The spacing was withheld for a reason, which the grade names; `no_spacing` would say there was none.
  const reasons = spacingProblem ? decided.reasons.filter((r) => r !== 'no_spacing') : decided.reasons;
  const edge = edgeQuality(gray, mask);
  const snr = signalToNoise(gray, mask, scanArea);
  const rejects = quality.findings.some((f) => f.severity === 'reject');
  const marginals = quality.findings.filter((f) => f.severity === 'marginal').length;
  return {
    grade,
    reasons,
    features: {
      ...features,
      scan_area: scanArea,
      image_width_px: gray.width,
      image_height_px: gray.height,
      image_quality: quality.metrics,
    },
    breakdown: {
      rule: 'manual',
      edge_quality: edge?.score ?? null,
      edge_ratio: edge?.ratio ?? null,
      snr: snr?.db ?? null,
      snr_score: snr?.score ?? null,
      image_quality: rejects ? 0 : Math.max(0.25, 1 - 0.25 * marginals),
    },
  };
}

/** The measures a withheld spacing left out name its problem, not `no_spacing`. */
function withSpacingProblem(
  features: ManualFeatures,
  problem: 'implausible_spacing' | 'spacing_conflict',
): ManualFeatures {
  const missing = { ...features.missing_reasons };
  for (const [key, why] of Object.entries(missing)) if (why === 'no_spacing') missing[key] = problem;
  return { ...features, missing_reasons: missing };
}

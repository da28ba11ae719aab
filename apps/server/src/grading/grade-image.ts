import type { MetaJson } from '@cti/contracts';
import { createRulerMemo, type RasterImage, scanShapeProblem, toGray } from '@cti/imaging';
import {
  computeGradingFeatures,
  encodeMaskPng,
  findScanArea,
  type GradingFeatures,
  type HintModel,
  loadHintModel,
  loadSegmentationModel,
  type Mask,
  type SegmentationModel,
} from '@cti/models';
import { computeConfidence, edgeQuality, signalToNoise } from './confidence.ts';
import { decideGrade, type Grade, type GradeReason, withholdFigures } from './grade-rules.ts';
import { assessImageQuality } from './image-quality.ts';
import { renderOverlay } from './overlay-caption.ts';
import { resolvePixelSpacing } from './pixel-spacing.ts';
import { checkFigures } from './spacing-plausibility.ts';
import { boxIou, modelViewCheck, type ViewCheck } from './view-check.ts';

/**
 * The grader's own input check refused the image (a shape that is no scan, see scanShapeProblem). A
 * RangeError, as it always was; the worker fails such a job at once as `model_refused`, like the
 * models' ImageInputError.
 */
export class GraderInputError extends RangeError {
  override name = 'GraderInputError';
}

/** Version of the grading rules (view check, quality, confidence, grade), recorded with every result. */
export const GRADING_RULES_VERSION = 'grading-rules-5';

export type GradeImageInput = {
  raster: RasterImage;
  meta: MetaJson | null;
  /** Where `meta` came from (the store's hash-checked object, or the webhook's copy kept at ingest). */
  metaSource?: 'store' | 'ingest_webhook' | null;
  /** Why meta.json was not read, when it was not (null: read, or the capture has none). */
  metaProblem?: string | null;
  /**
   * The device calibration that applies (scan-context.ts applicableCalibration): its spacing null = an
   * aspect-only row (the spacing from meta.json or the ruler), its aspect null = none.
   */
  calibration: { id: string; pixelSpacingMm: number | null; pixelAspect?: number | null } | null;
  /** The capture's own mask (0/1, image size), or why it could not be used; absent when it has none. */
  captureMask?: Mask | string | null;
};

/** Everything a grading produces before it is stored. */
export type GradedImage = {
  grade: Grade;
  reasons: GradeReason[];
  confidence: number;
  breakdown: Record<string, unknown>;
  features: GradingFeatures & {
    lineage: Record<string, unknown>;
    view_check: unknown;
    image_quality: unknown;
  };
  overlayPng: Buffer;
  maskPng: Buffer;
  /** Milliseconds per stage, for logs and the bench. */
  timings: Record<string, number>;
  /**
   * CPU milliseconds of the whole process per stage (user + system, libuv's pool included), for the
   * bench: exact when one grading runs at a time, mixed with the other slot's work in a worker.
   */
  cpuTimings: Record<string, number>;
};

export type Grader = {
  modelName: string;
  modelVersion: string;
  /** The view verdict's 'ribeye-view@version' (its card must sit beside the hint's). */
  viewModel: string;
  /** sha256 of the segmentation model file, from its card (grading_results.inference_sha256). */
  inferenceSha256: string;
  grade(input: GradeImageInput): Promise<GradedImage>;
  close(): Promise<void>;
};

export type GraderOptions = {
  modelsDir?: string;
  intraOpThreads?: number;
  viewCheck?: ViewCheck;
  /**
   * How many rulers the grader remembers by their margins' bytes (createRulerMemo: a frame whose margins
   * match an earlier one's gets that reading without the search, the same reading); 0 searches every time.
   */
  rulerMemoEntries?: number;
};

/** Pixel IoU of two 0/1 masks of the same size (0 when both are empty). */
export function maskIou(a: Mask, b: Mask): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i] === 1;
    const y = b.data[i] === 1;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 0 : Math.round((inter / union) * 10_000) / 10_000;
}

function hintBoxFromMeta(meta: MetaJson | null): [number, number, number, number] | null {
  const box = meta?.inference_summary?.ribeye_bbox;
  return box && box.length === 4 ? [box[0]!, box[1]!, box[2]!, box[3]!] : null;
}

/**
 * Loads both models (refusing files whose sha256 differs from their cards) and returns the grader
 * (which throws a GraderInputError, a RangeError, for an image whose shape is no scan, see
 * scanShapeProblem; the models throw ImageInputError for input they cannot read):
 * scan area → pixel spacing → segmentation + hint → features → view check, image quality,
 * confidence → grade → overlay and mask PNGs. Pure apart from the models: the worker and
 * `pnpm eval:grading` call the same function.
 *
 * @example const grader = await createGrader({ modelsDir }); const g = await grader.grade({ raster, meta, calibration: null });
 */
export async function createGrader({
  modelsDir,
  intraOpThreads = 1,
  viewCheck = modelViewCheck,
  rulerMemoEntries = 64,
}: GraderOptions = {}): Promise<Grader> {
  const opts = { intraOpThreads, ...(modelsDir ? { modelsDir } : {}) };
  // A device's screen layout rarely changes: a frame whose margins are byte for byte an earlier frame's
  // gets that frame's ruler reading without the search (createRulerMemo).
  const readRuler = rulerMemoEntries > 0 ? createRulerMemo({ maxEntries: rulerMemoEntries }).read : undefined;
  const seg: SegmentationModel = await loadSegmentationModel(opts);
  // The view card is required: without it grading would fall back to rule v1 alone and grade wrong
  // views (rump, mid-sweep, cut-off) M instead of R not_a_ribeye_view — silently (review r3 F2).
  const hint: HintModel = await loadHintModel({ ...opts, requireView: true }).catch(async (err: unknown) => {
    await seg.close();
    throw err;
  });
  return {
    modelName: seg.card.name,
    modelVersion: seg.card.version,
    viewModel: `${hint.viewCard!.name}@${hint.viewCard!.version}`,
    inferenceSha256: seg.sha256,
    close: async () => {
      await Promise.all([seg.close(), hint.close()]);
    },
    async grade({ raster, meta, metaSource = null, metaProblem = null, calibration, captureMask = null }) {
      // A sliver (32 × 4000) or a side under 32 px is no scan: refused, as the worker and cti-models
      // refuse it, rather than stretched to the models' square and searched for a ruler at length².
      const shape = scanShapeProblem(raster.width, raster.height);
      if (shape) throw new GraderInputError(`image is ${raster.width}×${raster.height}: ${shape}`);
      const timings: Record<string, number> = {};
      const cpuTimings: Record<string, number> = {};
      // One clock and one CPU reading per stage boundary: each ends one stage and starts the next.
      let t = performance.now();
      let cpu = process.cpuUsage();
      const lap = (name: string) => {
        const now = performance.now();
        const cpuNow = process.cpuUsage();
        timings[name] = Math.round((now - t) * 100) / 100;
        cpuTimings[name] = (cpuNow.user - cpu.user + cpuNow.system - cpu.system) / 1000;
        t = now;
        cpu = cpuNow;
      };
      const gray = toGray(raster);
      const scanArea = findScanArea(gray);
      const spacing = resolvePixelSpacing({
        meta,
        metaProblem,
        calibration,
        raster,
        scanArea,
        ...(readRuler ? { readRuler } : {}),
      });
      lap('spacing');
      // One scan area for the ruler, both models and the features; seg.run's whole-mask textures are
      // not used here (computeGradingFeatures measures its own inside the ribeye's box).
      const s = await seg.run(gray, { scanArea, textures: false });
      lap('segmentation');
      const h = await hint.run(gray, { scanArea });
      lap('hint');
      const measured = computeGradingFeatures({
        gray,
        mask: s.mask,
        pixelSpacingMm: spacing.mm,
        pixelSpacingSource: spacing.source,
        pixelAspect: spacing.aspect.value,
        pixelAspectSource: spacing.aspect.source,
        scanArea,
      });
      lap('features');
      const view = viewCheck({
        gray,
        mask: s.mask,
        maskAreaPx: s.areaPx,
        scanArea,
        segScore: s.score,
        hint: { box: h.ribeyeBbox, score: h.score, view: h.view },
        segBox: s.ribeyeBbox,
      });
      // The figures against the species' bounds (when the spacing passed its own checks).
      const checked = checkFigures(spacing, measured, view.ribeyeView);
      const spacingProblem = checked.problem;
      const quality = assessImageQuality(gray, { scanArea, mask: s.mask });
      const rejects = quality.findings.some((f) => f.severity === 'reject');
      const marginals = quality.findings.filter((f) => f.severity === 'marginal').length;
      const hintBox = hintBoxFromMeta(meta);
      const { confidence, breakdown } = computeConfidence({
        segmentationCertainty: s.score,
        maskIou: hintBox ? (s.ribeyeBbox ? boxIou(hintBox, s.ribeyeBbox) : 0) : null,
        edge: edgeQuality(gray, s.mask),
        snr: signalToNoise(gray, s.mask, scanArea),
        ribeyeView: view.ribeyeView,
        imageQuality: rejects ? 0 : Math.max(0.25, 1 - 0.25 * marginals),
      });
      lap('checks');
      const { grade, reasons } = decideGrade({
        ribeyeView: view.ribeyeView,
        quality: quality.findings,
        features: measured,
        confidence,
        spacingProblem: spacingProblem?.reason ?? null,
        metaUnavailable: metaProblem !== null,
      });
      const features = {
        ...withholdFigures(measured, reasons, spacingProblem?.reason ?? null),
        scan_area: scanArea,
        view_check: view,
        image_quality: quality.metrics,
        lineage: {
          segmentation_model: seg.model,
          segmentation_sha256: seg.sha256,
          hint_model: hint.model,
          hint_sha256: hint.sha256,
          hint_box: h.ribeyeBbox,
          hint_score: h.score,
          capture_hint_box: hintBox,
          meta_source: meta ? metaSource : null,
          ...(metaProblem ? { meta_problem: metaProblem } : {}),
          grading_rules: GRADING_RULES_VERSION,
          pixel_spacing: {
            mm: spacing.mm === null ? null : Math.round(spacing.mm * 1e5) / 1e5,
            source: spacing.source,
            ...checked.detail,
          },
          pixel_aspect: {
            value: spacing.aspect.value,
            source: spacing.aspect.source,
            ...spacing.aspect.detail,
          },
        },
      };
      const [overlayPng, maskPng] = await Promise.all([
        renderOverlay({ gray, mask: s.mask, features, grade, confidence }),
        encodeMaskPng(s.mask),
      ]);
      lap('images');
      // The capture's own mask, when it sent one: its pixel IoU with the segmentation, for the record.
      const capture =
        captureMask === null
          ? {}
          : typeof captureMask === 'string'
            ? { capture_mask_iou: null, capture_mask_problem: captureMask }
            : { capture_mask_iou: maskIou(captureMask, s.mask) };
      return {
        grade,
        reasons,
        confidence,
        breakdown: { ...breakdown, ...capture, rule: view.rule },
        features,
        overlayPng,
        maskPng,
        timings,
        cpuTimings,
      };
    },
  };
}

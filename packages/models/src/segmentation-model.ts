import { columnSpans, type GrayImage } from '@cti/imaging';
import { type ImageInput, toGrayImage } from './image-input.ts';
import { type LoadModelOptions, loadModel } from './load-model.ts';
import { fillHoles, largestComponent, type Mask, maskBbox, resizeThreshold } from './mask-ops.ts';
import type { ModelCard, RefineSpec } from './model-card.ts';
import type { OnnxSession } from './onnx-session.ts';
import { type CropBox, cropTensor, preprocess } from './preprocess.ts';
import { glcmContrast, meanIntensity } from './texture-features.ts';

export type SegmentOptions = {
  /** mm per pixel along the vertical (depth) axis. */
  pixelSpacingMm?: number;
  /** A pixel's width ÷ its height (packages/contracts/README.md, "Pixel aspect"); default 1 (square). */
  pixelAspect?: number;
  /** The frame's scan area, when the caller already found it (`findScanArea` of the same image). */
  scanArea?: CropBox;
  /** false: skip the whole-mask mean intensity and GLCM contrast (null in the result). Default true. */
  textures?: boolean;
};

export type SegmentationResult = {
  /** Original-size mask, 0/1 per pixel: largest component, holes filled. */
  mask: Mask;
  ribeyeBbox: [number, number, number, number] | null;
  areaPx: number;
  /** Present when a pixel spacing was given: area px × spacing² × pixel aspect. */
  areaCm2: number | null;
  meanIntensity: number | null;
  glcmContrast: number | null;
  /** Crispness of the probability map: soft IoU between it and its thresholded mask, 0–1. */
  score: number;
  model: string;
  sha256: string;
  ms: number;
};

export type SegmentationModel = {
  card: ModelCard;
  sha256: string;
  model: string;
  run(image: ImageInput, opts?: SegmentOptions): Promise<SegmentationResult>;
  close(): Promise<void>;
};

/** Soft IoU between p and (p >= t): high when the map is confidently 0 or 1; 0 for an empty mask. */
export function crispness(prob: Float32Array, threshold: number): number {
  let inter = 0;
  let union = 0;
  // An index loop: for…of over the map made an iterator result per pixel (~0.4 MB of garbage a scan).
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i]!;
    const m = p >= threshold ? 1 : 0;
    inter += p * m;
    union += p + m - p * m;
  }
  return union === 0 ? 0 : inter / union;
}

/**
 * How unsure a probability map is of its own mask: the cells it puts between 0.3 and 0.7 per cell it
 * calls foreground (p >= 0.5), i.e. uncertain ÷ max(1, foreground). The median held-out map: 0.06.
 * `uncertainShare(map) > 0.5` is where the segmentation distrusts its refine pass.
 */
export function uncertainShare(prob: Float32Array): number {
  let unsure = 0;
  let fore = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i]!;
    if (p > 0.3 && p < 0.7) unsure++;
    if (p >= 0.5) fore++;
  }
  return unsure / Math.max(1, fore);
}

/** The crop's thresholded probability map, resized to the crop, largest component only (crop-sized). */
function largestInCrop(prob: Float32Array, size: number, crop: CropBox, t: number): Mask {
  const cw = crop[2] - crop[0];
  const ch = crop[3] - crop[1];
  return largestComponent({ data: resizeThreshold(prob, size, size, cw, ch, t), width: cw, height: ch });
}

/** Probability map of the crop -> full-size binary mask (threshold, paste, largest component, fill). */
export function probToMask(
  prob: Float32Array,
  size: number,
  crop: CropBox,
  image: GrayImage,
  t: number,
): Mask {
  const [x0, y0, x1, y1] = crop;
  const cw = x1 - x0;
  // Cleaned up inside the crop, then pasted: outside it the mask is empty, so a background region
  // touching the crop's edge reaches the image's edge and components are found in the same order —
  // the same mask as cleaning the whole frame, for the crop's share of the work.
  const inCrop = fillHoles(largestInCrop(prob, size, crop, t));
  const data = new Uint8Array(image.width * image.height);
  for (let y = y0; y < y1; y++)
    data.set(inCrop.data.subarray((y - y0) * cw, (y - y0 + 1) * cw), y * image.width + x0);
  return { data, width: image.width, height: image.height };
}

/**
 * `maskBbox(probToMask(…))` without building the full-size mask: filling holes never moves a box,
 * so the largest component's box in the crop, shifted by the crop's origin.
 */
export function probToMaskBox(prob: Float32Array, size: number, crop: CropBox, t: number): CropBox | null {
  const box = maskBbox(largestInCrop(prob, size, crop, t));
  return box && [box[0] + crop[0], box[1] + crop[1], box[2] + crop[0], box[3] + crop[1]];
}

/**
 * The refine pass's crop: `box` widened by spec.marginX of its width left and right and
 * spec.marginY of its height above and below, clipped to `area`, grown to spec.minSide px (or the
 * whole area) around its middle. Mirrors training/cti_preprocess.py `roi_box`.
 */
export function roiBox(box: CropBox, area: CropBox, spec: RefineSpec): CropBox {
  const [bx0, by0, bx1, by1] = box;
  const w = bx1 - bx0;
  const h = by1 - by0;
  const grow = (a: number, b: number, lo: number, hi: number): [number, number] => {
    const need = Math.min(spec.minSide, hi - lo);
    if (b - a >= need) return [a, b];
    const start = Math.max(lo, Math.min(Math.floor((a + b - need) / 2), hi - need));
    return [start, start + need];
  };
  const [x0, x1] = grow(
    Math.max(area[0], Math.floor(bx0 - spec.marginX * w)),
    Math.min(area[2], Math.ceil(bx1 + spec.marginX * w)),
    area[0],
    area[2],
  );
  const [y0, y1] = grow(
    Math.max(area[1], Math.floor(by0 - spec.marginY * h)),
    Math.min(area[3], Math.ceil(by1 + spec.marginY * h)),
    area[1],
    area[3],
  );
  return [x0, y0, x1, y1];
}

/**
 * The segmentation up to its probability map: the coarse pass on the scan-area crop, then, when the
 * card has `refine` and the coarse mask is not empty, the refine pass on the coarse mask's box with
 * margins — unless the refine map is unsure of its mask (`uncertainShare` over 0.5) and its mask's
 * area is more than 1.4× but at most 4× off the coarse mask's either way: then the coarse map stands. Returns the map (size×size) and the image region it covers, and
 * `certain`: the map whose crispness is the segmentation's score — the last refine map even when it
 * was set aside, so a pass that hesitated still lowers the certainty the grader sees. `scanArea`: the
 * frame's scan area when the caller already found it.
 */
export async function segmentationProb(
  session: OnnxSession,
  card: ModelCard,
  gray: GrayImage,
  scanArea?: CropBox,
): Promise<{ prob: Float32Array; crop: CropBox; coarseCrop: CropBox; certain: Float32Array }> {
  const size = card.preprocessing.size;
  const pre = preprocess(gray, size, scanArea);
  const coarse = await session.run(pre.tensor, [1, 1, size, size]);
  const spec = card.refine;
  const coarseOnly = { prob: coarse, crop: pre.crop, coarseCrop: pre.crop, certain: coarse };
  if (!spec) return coarseOnly;
  let box = probToMaskBox(coarse, size, pre.crop, spec.coarseThreshold);
  if (!box) return coarseOnly;
  let roi = roiBox(box, pre.crop, spec);
  let prob = await session.run(cropTensor(gray, roi, size), [1, 1, size, size]);
  // The refine pass learnt on boxes that hold the whole ribeye, and cannot draw past its crop: a mask
  // reaching a side of the crop that is not the scan area's edge runs on beyond it (the coarse mask
  // fell short). Refine again on the box widened to that mask, a bounded number of times.
  for (let pass = 0; pass < MAX_WIDENINGS; pass++) {
    const fine = probToMaskBox(prob, size, roi, spec.coarseThreshold);
    if (!fine || !reachesInnerSide(fine, roi, pre.crop)) break;
    box = boxUnion(box, fine);
    roi = roiBox(box, pre.crop, spec);
    prob = await session.run(cropTensor(gray, roi, size), [1, 1, size, size]);
  }
  // Up close, on a faint outline, the refine pass can hesitate over much of the ribeye (a wide band
  // of 0.3–0.7 around a small sure core) and its thresholded mask then keeps the core only (held-out
  // 5417 00130: −63 %, the coarse mask +27 %): where it hesitates and its area is far from the coarse
  // pass's, the coarse pass, which saw the whole field, is the answer (packages/models/README.md,
  // "When the refine pass is distrusted"). Hesitant maps of the same area are kept: nothing to gain.
  // Masks more than 4× apart do not outline the same thing, and the coarse one is no better: a coarse
  // pass that took in a screen's settings panel, the refine pass hesitating over the panel only
  // (eval:models seed 9377, 00307: refined −4 %, coarse +375 %), or a near-empty coarse mask.
  const t = card.maskThreshold ?? 0.5;
  if (uncertainShare(prob) > MAX_UNCERTAIN_SHARE) {
    const ratio = maskArea(prob, size, roi, t) / Math.max(1, maskArea(coarse, size, pre.crop, t));
    const off = Math.max(ratio, 1 / ratio);
    if (off > MIN_AREA_RATIO && off <= MAX_AREA_RATIO) return { ...coarseOnly, certain: prob };
  }
  return { prob, crop: roi, coarseCrop: pre.crop, certain: prob };
}

/**
 * A refine map more unsure than this (`uncertainShare`) whose mask's area is more than MIN and at
 * most MAX times off the coarse mask's (either way) is set aside. Share and MIN chosen on exports
 * 5502 and 7301; MAX on eval:models' seed 9377 (packages/models/README.md).
 */
const MAX_UNCERTAIN_SHARE = 0.5;
const MIN_AREA_RATIO = 1.4;
const MAX_AREA_RATIO = 4;

/** `probToMask(…)`'s area, counted in the crop. */
const maskArea = (prob: Float32Array, size: number, crop: CropBox, t: number): number =>
  fillHoles(largestInCrop(prob, size, crop, t)).data.reduce((a, v) => a + v, 0);

/** At most this many extra refine passes when the mask reaches its crop's side (each widens it). */
const MAX_WIDENINGS = 2;

/** True when `mask` (a box, exclusive ends) touches a side of `crop` that lies inside `area`. */
export function reachesInnerSide(mask: CropBox, crop: CropBox, area: CropBox): boolean {
  return (
    (mask[0] <= crop[0] && crop[0] > area[0]) ||
    (mask[1] <= crop[1] && crop[1] > area[1]) ||
    (mask[2] >= crop[2] && crop[2] < area[2]) ||
    (mask[3] >= crop[3] && crop[3] < area[3])
  );
}

const boxUnion = (a: CropBox, b: CropBox): CropBox => [
  Math.min(a[0], b[0]),
  Math.min(a[1], b[1]),
  Math.max(a[2], b[2]),
  Math.max(a[3], b[3]),
];

function validAspect(aspect: number | undefined): number {
  if (aspect === undefined) return 1;
  if (!Number.isFinite(aspect) || aspect <= 0)
    throw new RangeError(
      `pixelAspect must be a positive number (a pixel's width ÷ its height), got ${aspect}`,
    );
  return aspect;
}

function validSpacing(mm: number | undefined): number | undefined {
  if (mm === undefined) return undefined;
  if (!Number.isFinite(mm) || mm <= 0)
    throw new RangeError(`pixelSpacingMm must be a positive number, got ${mm}`);
  return mm;
}

export async function loadSegmentationModel(opts: LoadModelOptions = {}): Promise<SegmentationModel> {
  const { card, sha256, session, id } = await loadModel('ribeye-seg', 'segmentation', opts);
  const size = card.preprocessing.size;
  const threshold = card.maskThreshold ?? 0.5;
  return {
    card,
    sha256,
    model: id,
    async run(image, runOpts = {}) {
      const spacing = validSpacing(runOpts.pixelSpacingMm);
      const aspect = validAspect(runOpts.pixelAspect);
      const gray = await toGrayImage(image);
      const t0 = performance.now();
      const { prob, crop, certain } = await segmentationProb(session, card, gray, runOpts.scanArea);
      const mask = probToMask(prob, size, crop, gray, threshold);
      const textures = runOpts.textures ?? true;
      // Area and box from the mask's column spans: one pass over its rows with foreground only, not
      // over the whole frame, and cached per mask, so the grader's measures of this mask reuse it.
      const spans = columnSpans(mask);
      const areaPx = spans?.area ?? 0;
      const round = (v: number | null, d: number) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);
      return {
        mask,
        ribeyeBbox: spans ? [...spans.bbox] : null,
        areaPx,
        areaCm2: spacing === undefined ? null : round((areaPx * spacing * spacing * aspect) / 100, 3),
        meanIntensity: textures ? round(meanIntensity(gray, mask), 2) : null,
        glcmContrast: textures ? round(glcmContrast(gray, mask), 4) : null,
        score: areaPx === 0 ? 0 : Math.round(crispness(certain, threshold) * 10000) / 10000,
        model: id,
        sha256,
        ms: Math.round((performance.now() - t0) * 100) / 100,
      };
    },
    close: () => session.close(),
  };
}

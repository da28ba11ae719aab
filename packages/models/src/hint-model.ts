import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GrayImage } from '@cti/imaging';
import { type ImageInput, toGrayImage } from './image-input.ts';
import { type LoadModelOptions, loadModel } from './load-model.ts';
import { DEFAULT_MODELS_DIR, type ModelCard, ModelCardError } from './model-card.ts';
import { type CropBox, preprocess } from './preprocess.ts';
import { readViewCard, type ViewCard } from './view/view-card.ts';
import { viewStats } from './view/view-features.ts';
import { judgeView, type ViewVerdict } from './view/view-verdict.ts';

export type Bbox = [number, number, number, number];

export type HintResult = {
  /** [x_min, y_min, x_max, y_max] in pixels of the input image. */
  ribeyeBbox: Bbox;
  /** Predicted IoU of that box with the true ribeye box (spec `mask_iou_hint`), 0–1. */
  score: number;
  /** score >= the card's acceptThreshold (the box is trustworthy; whether the frame is a ribeye view
   * at all is `view`). */
  accepted: boolean;
  model: string;
  /** The view verdict; null only when no view card is installed beside the hint model. */
  view: ViewVerdict | null;
  /** Preprocessing + inference + verdict time (decode excluded). */
  ms: number;
};

export type HintLoadOptions = LoadModelOptions & {
  /** The view card (default: `ribeye-view.card.json` beside the hint card; null = no verdict). */
  viewCardPath?: string | null;
  /** Throw instead of returning `view: null` when the view card is missing. */
  requireView?: boolean;
};

export type HintModel = {
  card: ModelCard;
  sha256: string;
  model: string;
  viewCard: ViewCard | null;
  /** `scanArea`: the frame's scan area, when the caller already found it (`findScanArea` of the same image). */
  run(image: ImageInput, opts?: { scanArea?: CropBox }): Promise<HintResult>;
  /** The raw network output on an already preprocessed tensor (evaluation and tests). */
  runTensor(tensor: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
};

/** Box in [0,1] of the scan-area crop -> integer pixels of the full image (clamped). */
export function cropBoxToImage(norm: ArrayLike<number>, crop: CropBox, image: GrayImage): Bbox {
  const [x0, y0, x1, y1] = crop;
  const cw = x1 - x0;
  const ch = y1 - y0;
  const clampX = (v: number) => Math.min(Math.max(Math.round(v), 0), image.width);
  const clampY = (v: number) => Math.min(Math.max(Math.round(v), 0), image.height);
  return [
    clampX(x0 + norm[0]! * cw),
    clampY(y0 + norm[1]! * ch),
    clampX(x0 + norm[2]! * cw),
    clampY(y0 + norm[3]! * ch),
  ];
}

/** The view card for a hint loaded with `opts`, checked against the hint's sha256; null if absent. */
async function loadViewCard(opts: HintLoadOptions, hintSha256: string): Promise<ViewCard | null> {
  if (opts.viewCardPath === null) return null;
  const dir = opts.cardPath ? dirname(opts.cardPath) : (opts.modelsDir ?? DEFAULT_MODELS_DIR);
  const path = opts.viewCardPath ?? join(dir, 'ribeye-view.card.json');
  if (!opts.viewCardPath && !opts.requireView && !existsSync(path)) return null;
  const card = await readViewCard(path);
  if (card.hint.sha256 !== hintSha256) {
    throw new ModelCardError(
      `view card ${path} was calibrated on ${card.hint.name}@${card.hint.version} (sha256 ${card.hint.sha256}) but the loaded hint model has sha256 ${hintSha256}; refusing to combine them`,
    );
  }
  return card;
}

/**
 * The on-device ribeye hint: a box, its predicted IoU, and the view verdict (is this a usable
 * transverse ribeye view at all?).
 *
 * @example
 * const hint = await loadHintModel();
 * const r = await hint.run('scan.png');
 * if (r.view && !r.view.accepted) console.log(r.view.reasons); // ['not_a_ribeye_view', 'longitudinal_view']
 */
export async function loadHintModel(opts: HintLoadOptions = {}): Promise<HintModel> {
  const { card, sha256, session, id } = await loadModel('ribeye-hint', 'bbox-hint', opts);
  let viewCard: ViewCard | null;
  try {
    viewCard = await loadViewCard(opts, sha256);
  } catch (err) {
    await session.close();
    throw err;
  }
  const size = card.preprocessing.size;
  const threshold = card.acceptThreshold ?? 0.5;
  const runTensor = (tensor: Float32Array) => session.run(tensor, [1, 1, size, size]);
  return {
    card,
    sha256,
    model: id,
    viewCard,
    runTensor,
    async run(image, { scanArea } = {}) {
      const gray = await toGrayImage(image);
      const t0 = performance.now();
      const pre = preprocess(gray, size, scanArea);
      const out = await runTensor(pre.tensor);
      const score = Math.round(out[4]! * 10000) / 10000;
      return {
        ribeyeBbox: cropBoxToImage(out, pre.crop, gray),
        score,
        accepted: score >= threshold,
        model: id,
        view: viewCard ? judgeView(viewCard, viewStats(pre.tensor, size, out), out) : null,
        ms: Math.round((performance.now() - t0) * 100) / 100,
      };
    },
    close: () => session.close(),
  };
}

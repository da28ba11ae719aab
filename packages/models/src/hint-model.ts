import type { GrayImage } from '@cti/imaging';
import { type ImageInput, toGrayImage } from './image-input.ts';
import { type LoadModelOptions, loadModel } from './load-model.ts';
import type { ModelCard } from './model-card.ts';
import { type CropBox, preprocess } from './preprocess.ts';

export type Bbox = [number, number, number, number];

export type HintResult = {
  /** [x_min, y_min, x_max, y_max] in pixels of the input image. */
  ribeyeBbox: Bbox;
  /** Predicted IoU of that box with the true ribeye box (spec `mask_iou_hint`), 0–1. */
  score: number;
  /** score >= the card's acceptThreshold. */
  accepted: boolean;
  model: string;
  /** Preprocessing + inference time (decode excluded). */
  ms: number;
};

export type HintModel = {
  card: ModelCard;
  sha256: string;
  model: string;
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

export async function loadHintModel(opts: LoadModelOptions = {}): Promise<HintModel> {
  const { card, sha256, session, id } = await loadModel('ribeye-hint', 'bbox-hint', opts);
  const size = card.preprocessing.size;
  const threshold = card.acceptThreshold ?? 0.5;
  const runTensor = (tensor: Float32Array) => session.run(tensor, [1, 1, size, size]);
  return {
    card,
    sha256,
    model: id,
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
        ms: Math.round((performance.now() - t0) * 100) / 100,
      };
    },
    close: () => session.close(),
  };
}

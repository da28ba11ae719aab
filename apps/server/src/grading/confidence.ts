import { columnSpans, type GrayImage } from '@cti/imaging';
import type { Mask } from '@cti/models';

const ramp = (v: number, bad: number, good: number) => Math.max(0, Math.min(1, (v - bad) / (good - bad)));
const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

/**
 * Edge quality: how much sharper the image changes across the ribeye's outline than inside it —
 * mean gradient (3×3-smoothed, central differences) on the outline ÷ mean inside, mapped from 1
 * (an outline the image does not show: 0) to 2 (a crisp fascia: 1). Null for an empty mask.
 */
export function edgeQuality(gray: GrayImage, mask: Mask): { ratio: number; score: number } | null {
  const spans = columnSpans(mask);
  if (!spans) return null;
  const { width: w, height: h } = gray;
  // The 3×3 mean over the mask's box plus a 2-pixel rim, by separable running sums, three rows at a
  // time: row y's gradient needs only rows y - 1 … y + 1, so memory is a few rows of the box, not two
  // Float32 arrays over all of it (8 bytes a pixel: ~300 MB for a mask filling a 40 MP frame).
  const rx0 = Math.max(0, spans.bbox[0] - 2);
  const ry0 = Math.max(0, spans.bbox[1] - 2);
  const rw = Math.min(w, spans.bbox[2] + 2) - rx0;
  const rh = Math.min(h, spans.bbox[3] + 2) - ry0;
  // Ring buffers of three rows each (row k in slot k % 3): horizontal sums and 3×3 means.
  const rows = new Float32Array(3 * rw);
  const smooth = new Float32Array(3 * rw);
  const across = (k: number) => {
    const src = (k + ry0) * w + rx0;
    const o = (k % 3) * rw;
    for (let x = 0; x < rw; x++) {
      rows[o + x] =
        gray.data[src + Math.max(0, x - 1)]! +
        gray.data[src + x]! +
        gray.data[src + Math.min(rw - 1, x + 1)]!;
    }
  };
  // Row k's mean needs sums k - 1 … k + 1 (clamped): sum k + 1 is made first, in the slot of k - 2.
  const down = (k: number) => {
    if (k + 1 < rh) across(k + 1);
    const o = (k % 3) * rw;
    const up = (Math.max(0, k - 1) % 3) * rw;
    const dn = (Math.min(rh - 1, k + 1) % 3) * rw;
    for (let x = 0; x < rw; x++) smooth[o + x] = (rows[up + x]! + rows[o + x]! + rows[dn + x]!) / 9;
  };
  const m = mask.data;
  let edgeSum = 0;
  let edgeN = 0;
  let innerSum = 0;
  let innerN = 0;
  const y0 = Math.max(1, ry0 + 1);
  const y1 = ry0 + rh - 1;
  if (y0 < y1) {
    // The first row looked at is always box row 1: means 0 and 1 first, then one more per row.
    across(0);
    down(0);
    down(1);
  }
  // x ≥ 1 and y ≥ 1 here, so only the right and bottom neighbours can fall outside the image.
  for (let y = y0; y < y1; y++) {
    const k = y - ry0;
    down(k + 1);
    const mid = (k % 3) * rw;
    const above = ((k + 2) % 3) * rw;
    const below = ((k + 1) % 3) * rw;
    for (let x = Math.max(1, rx0 + 1); x < rx0 + rw - 1; x++) {
      const p = y * w + x;
      if (m[p] !== 1) continue;
      const i = x - rx0;
      const g =
        Math.abs(smooth[mid + i + 1]! - smooth[mid + i - 1]!) +
        Math.abs(smooth[below + i]! - smooth[above + i]!);
      if (m[p - 1] !== 1 || x + 1 >= w || m[p + 1] !== 1 || m[p - w] !== 1 || y + 1 >= h || m[p + w] !== 1) {
        edgeSum += g;
        edgeN++;
      } else {
        innerSum += g;
        innerN++;
      }
    }
  }
  if (edgeN === 0 || innerN === 0 || innerSum === 0) return null;
  const ratio = edgeSum / edgeN / (innerSum / innerN);
  return { ratio: round(ratio, 3), score: round(ramp(ratio, 1, 2)) };
}

/**
 * Signal-to-noise ratio, dB: mean gray of the ribeye over the noise floor, the standard deviation of
 * the quietest patches of the deep field (its bottom quarter cut into 8 × 2 blocks; the second
 * quietest block, so bone echoes or a bright haze in some blocks do not count as noise).
 * 20 dB and above scores 1, 6 dB and below 0.
 */
export function signalToNoise(
  gray: GrayImage,
  mask: Mask,
  scanArea: [number, number, number, number],
): { db: number; score: number } | null {
  const spans = columnSpans(mask);
  if (!spans) return null;
  let sum = 0;
  for (let c = 0; c < spans.top.length; c++) {
    for (let y = spans.top[c]!; y >= 0 && y < spans.bottom[c]!; y++) {
      const i = y * gray.width + spans.x0 + c;
      if (mask.data[i] === 1) sum += gray.data[i]!;
    }
  }
  const n = spans.area;
  const [x0, y0, x1, y1] = scanArea;
  const top = Math.round(y1 - 0.25 * (y1 - y0));
  const sds: number[] = [];
  for (let by = 0; by < 2; by++) {
    for (let bx = 0; bx < 8; bx++) {
      const ya = top + Math.floor((by * (y1 - top)) / 2);
      const yb = top + Math.floor(((by + 1) * (y1 - top)) / 2);
      const xa = x0 + Math.floor((bx * (x1 - x0)) / 8);
      const xb = x0 + Math.floor(((bx + 1) * (x1 - x0)) / 8);
      let s = 0;
      let s2 = 0;
      let m = 0;
      for (let y = ya; y < yb; y++) {
        for (let x = xa; x < xb; x++) {
          const v = gray.data[y * gray.width + x]!;
          s += v;
          s2 += v * v;
          m++;
        }
      }
      if (m > 1) sds.push(Math.sqrt(Math.max(0, s2 / m - (s / m) ** 2)));
    }
  }
  sds.sort((a, b) => a - b);
  const noise = sds[Math.min(1, sds.length - 1)] ?? 0;
  const db = 20 * Math.log10(Math.max(1, sum / n) / Math.max(1, noise));
  return { db: round(db, 2), score: round(ramp(db, 6, 20)) };
}

export type ConfidenceInput = {
  segmentationCertainty: number;
  /** IoU of the segmentation with the capture's on-device hint box; null without a hint. */
  maskIou: number | null;
  edge: { ratio: number; score: number } | null;
  snr: { db: number; score: number } | null;
  ribeyeView: number;
  /** 1, 0.75 per marginal quality finding (at least 0.25), 0 with a rejecting one. */
  imageQuality: number;
};

/**
 * Confidence 0..1 = ribeye view × image quality × geometric mean of segmentation certainty, edge
 * quality, SNR score and, when the capture had a hint box, its agreement (each floored at 0.05 so one
 * weak figure lowers the mean without zeroing it). Returns the spec's breakdown keys too.
 */
export function computeConfidence(input: ConfidenceInput) {
  const parts = [input.segmentationCertainty, input.edge?.score ?? 0, input.snr?.score ?? 0];
  if (input.maskIou !== null) parts.push(input.maskIou);
  const geo = Math.exp(parts.reduce((s, p) => s + Math.log(Math.max(0.05, p)), 0) / parts.length);
  const confidence = round(Math.max(0, Math.min(1, input.ribeyeView * input.imageQuality * geo)));
  return {
    confidence,
    breakdown: {
      mask_iou: input.maskIou === null ? null : round(input.maskIou),
      edge_quality: input.edge?.score ?? null,
      edge_ratio: input.edge?.ratio ?? null,
      snr: input.snr?.db ?? null,
      snr_score: input.snr?.score ?? null,
      segmentation_certainty: round(input.segmentationCertainty),
      ribeye_view: input.ribeyeView,
      image_quality: input.imageQuality,
    },
  };
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GrayImage } from '@cti/imaging';
import type { HintModel } from '../hint-model.ts';
import { toGrayImage } from '../image-input.ts';
import { maskBbox } from '../mask-ops.ts';
import { findScanArea } from '../preprocess.ts';
import type { SegmentationModel } from '../segmentation-model.ts';
import { type Box, boxIou, mean, scaleBox } from './box-metrics.ts';
import { realScanVariants } from './real-scan-variants.ts';

/** A reference scan: a ribeye view with its (approximate) box, or a negative (`box` null). */
export type ReferenceScan = { file: string; box: Box | null };

/**
 * Reads the scan table of reference-scans/README.md: | `file` | ... | x0, y0, x1, y1 | for ribeye
 * views, | `file` | ... | none | for negatives.
 */
export async function readReferenceScans(dir: string): Promise<ReferenceScan[]> {
  const text = await readFile(join(dir, 'README.md'), 'utf8');
  const scans: ReferenceScan[] = [];
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|.*\|\s*(?:(\d+),\s*(\d+),\s*(\d+),\s*(\d+)|(none))\s*\|\s*$/.exec(line);
    if (!m) continue;
    scans.push({ file: m[1]!, box: m[6] ? null : [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] });
  }
  if (scans.length === 0)
    throw new Error(`no "| \`file\` | ... | x0, y0, x1, y1 |" rows in ${join(dir, 'README.md')}`);
  return scans;
}

export type RealRow = {
  scan: string;
  variant: string;
  positive: boolean;
  /** Hint box IoU with the true box moved with the copy (positives). */
  model: number;
  prior: number;
  cropPrior: number;
  score: number;
  ribeyeView: number;
  accepted: boolean;
  /** Box of the segmentation mask vs the true box (positives). */
  segBoxIou: number;
  segArea: number;
  /** The mask of the original scan carried through the same shift/cut/flip: what the area should be. */
  expectedArea: number;
};

const maskImage = (m: { data: Uint8Array; width: number; height: number }): GrayImage => m;

/**
 * Every reference scan and its shifted / flipped / cropped copies through the hint (box vs two
 * image-blind baselines: the constant prior box relative to the whole frame and relative to the
 * detected scan area), the view verdict and the segmentation (its box vs the true box, and its
 * area vs the original's mask carried through the same copy: stability).
 */
export async function evaluateRealScans(opts: {
  dir: string;
  hint: HintModel;
  seg: SegmentationModel;
  prior: Box;
  cropPrior: Box;
}): Promise<RealRow[]> {
  const rows: RealRow[] = [];
  for (const scan of await readReferenceScans(opts.dir)) {
    const img = await toGrayImage(join(opts.dir, scan.file));
    const box: Box = scan.box ?? [0, 0, 1, 1];
    const variants = realScanVariants(img, box);
    const original = scan.box ? (await opts.seg.run(img)).mask : null;
    const carried = original ? realScanVariants(maskImage(original), box) : null;
    for (const [k, v] of variants.entries()) {
      const r = await opts.hint.run(v.image);
      const [x0, y0, x1, y1] = findScanArea(v.image);
      const c = scaleBox(opts.cropPrior, x1 - x0, y1 - y0);
      const row: RealRow = {
        scan: scan.file,
        variant: v.name,
        positive: scan.box !== null,
        model: Number.NaN,
        prior: Number.NaN,
        cropPrior: Number.NaN,
        score: r.score,
        ribeyeView: r.view?.ribeyeView ?? Number.NaN,
        accepted: r.view?.accepted ?? false,
        segBoxIou: Number.NaN,
        segArea: Number.NaN,
        expectedArea: Number.NaN,
      };
      if (scan.box && carried) {
        const s = await opts.seg.run(v.image);
        const segBox = maskBbox(s.mask);
        row.model = boxIou(r.ribeyeBbox, v.box);
        row.prior = boxIou(scaleBox(opts.prior, v.image.width, v.image.height), v.box);
        row.cropPrior = boxIou([c[0] + x0, c[1] + y0, c[2] + x0, c[3] + y0], v.box);
        row.segBoxIou = segBox ? boxIou(segBox, v.box) : 0;
        row.segArea = s.areaPx;
        row.expectedArea = carried[k]!.image.data.reduce((a, p) => a + p, 0);
      }
      rows.push(row);
    }
  }
  return rows;
}

/** Means over the ribeye views' copies, and the verdict over ribeye views and negatives. */
export function summariseReal(rows: RealRow[]) {
  const pos = rows.filter((r) => r.positive);
  const neg = rows.filter((r) => !r.positive);
  const deviation = pos.map((r) => Math.abs(r.segArea - r.expectedArea) / Math.max(1, r.expectedArea));
  return {
    model: mean(pos.map((r) => r.model)),
    prior: mean(pos.map((r) => r.prior)),
    cropPrior: mean(pos.map((r) => r.cropPrior)),
    modelShare05: mean(pos.map((r) => (r.model >= 0.5 ? 1 : 0))),
    positives: pos.length,
    negatives: neg.length,
    positivesAccepted: pos.filter((r) => r.accepted).length,
    negativesRejected: neg.filter((r) => !r.accepted).length,
    segBoxIouMin: Math.min(...pos.map((r) => r.segBoxIou)),
    segBoxIouMean: mean(pos.map((r) => r.segBoxIou)),
    areaDeviationMax: Math.max(...deviation),
    areaDeviationMean: mean(deviation),
  };
}

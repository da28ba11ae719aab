import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HintModel } from '../hint-model.ts';
import { toGrayImage } from '../image-input.ts';
import { findScanArea } from '../preprocess.ts';
import { type Box, boxIou, mean, scaleBox } from './box-metrics.ts';
import { realScanVariants } from './real-scan-variants.ts';

export type ReferenceScan = { file: string; box: Box };

/** Reads the scan table of reference-scans/README.md: | `file` | ... | x0, y0, x1, y1 |. */
export async function readReferenceScans(dir: string): Promise<ReferenceScan[]> {
  const text = await readFile(join(dir, 'README.md'), 'utf8');
  const scans: ReferenceScan[] = [];
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|.*\|\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\s*\|\s*$/.exec(line);
    if (m) scans.push({ file: m[1]!, box: [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] });
  }
  if (scans.length === 0)
    throw new Error(`no "| \`file\` | ... | x0, y0, x1, y1 |" rows in ${join(dir, 'README.md')}`);
  return scans;
}

export type RealRow = {
  scan: string;
  variant: string;
  model: number;
  prior: number;
  cropPrior: number;
  score: number;
};

/**
 * Model IoU vs two image-blind baselines: the constant prior box relative to the whole frame, and
 * the same idea relative to the detected scan area (it shares the model's cropping step, so the
 * gap between it and the model is what the network itself adds).
 */
export async function evaluateRealScans(opts: {
  dir: string;
  hint: HintModel;
  prior: Box;
  cropPrior: Box;
}): Promise<RealRow[]> {
  const rows: RealRow[] = [];
  for (const scan of await readReferenceScans(opts.dir)) {
    const img = await toGrayImage(join(opts.dir, scan.file));
    for (const v of realScanVariants(img, scan.box)) {
      const r = await opts.hint.run(v.image);
      const [x0, y0, x1, y1] = findScanArea(v.image);
      const c = scaleBox(opts.cropPrior, x1 - x0, y1 - y0);
      rows.push({
        scan: scan.file,
        variant: v.name,
        model: boxIou(r.ribeyeBbox, v.box),
        prior: boxIou(scaleBox(opts.prior, v.image.width, v.image.height), v.box),
        cropPrior: boxIou([c[0] + x0, c[1] + y0, c[2] + x0, c[3] + y0], v.box),
        score: r.score,
      });
    }
  }
  return rows;
}

export function summariseReal(rows: RealRow[]) {
  return {
    model: mean(rows.map((r) => r.model)),
    prior: mean(rows.map((r) => r.prior)),
    cropPrior: mean(rows.map((r) => r.cropPrior)),
    modelShare05: mean(rows.map((r) => (r.model >= 0.5 ? 1 : 0))),
  };
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HintModel } from '../hint-model.ts';
import { toGrayImage } from '../image-input.ts';
import type { OnnxSession } from '../onnx-session.ts';
import { preprocess } from '../preprocess.ts';
import type { SegmentationModel } from '../segmentation-model.ts';
import { FEATURES, viewStats } from '../view/view-features.ts';
import { type Box, boxIou, dice, mean, median } from './box-metrics.ts';

type Sample = { image: string; labels: string; mask: string | null; kind: string; ribeye_bbox: Box | null };

export type PhantomMetrics = {
  positives: number;
  negatives: number;
  hintMeanIou: number;
  hintShareIou05: number;
  negativesBelowThreshold: number;
  positivesAccepted: number;
  segDice: number;
  segAreaError: number;
  int8Fp32BoxIou: number;
  int8Fp32MaxScoreDiff: number;
  int8Fp32SameDecision: number;
  hintMsInference: number;
  hintMsEndToEnd: number;
  /** CPU time of the process during hint.run (preprocessing + inference + verdict; 1 onnxruntime thread). */
  hintCpuMsEndToEnd: number;
  segMsInference: number;
  segMsEndToEnd: number;
  /** The view verdict's ribeyeView per phantom kind (positives under 'ribeye'). */
  viewByKind: Record<string, number[]>;
  /** The hint's view head alone (ribeye log-odds) per kind, for comparison. */
  headByKind: Record<string, number[]>;
  /** Its threshold and how many of each kind it accepted. */
  viewThreshold: number;
  acceptedByKind: Record<string, number>;
};

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

/** Scores the hint, its fp32 reference and the segmentation on an exported held-out phantom set. */
export async function evaluatePhantoms(opts: {
  dir: string;
  hint: HintModel;
  hintFp32: OnnxSession;
  seg: SegmentationModel;
  segSession: OnnxSession;
}): Promise<PhantomMetrics> {
  const { hint, seg } = opts;
  const manifest = JSON.parse(await readFile(join(opts.dir, 'manifest.json'), 'utf8')) as {
    samples: Sample[];
  };
  const threshold = hint.card.acceptThreshold ?? 0.5;
  const hs = hint.card.preprocessing.size;
  const ss = seg.card.preprocessing.size;
  const acc = { iou: [] as number[], neg: [] as number[], accepted: [] as number[], dice: [] as number[] };
  const more = {
    areaErr: [] as number[],
    qIou: [] as number[],
    qScore: [] as number[],
    same: [] as number[],
  };
  const ms = {
    hInf: [] as number[],
    hAll: [] as number[],
    hCpu: [] as number[],
    sInf: [] as number[],
    sAll: [] as number[],
  };
  const viewByKind: Record<string, number[]> = {};
  const headByKind: Record<string, number[]> = {};
  const acceptedByKind: Record<string, number> = {};
  for (const s of manifest.samples) {
    const gray = await toGrayImage(join(opts.dir, s.image));
    const cpu0 = process.cpuUsage();
    const [r, hAll] = await timed(() => hint.run(gray));
    const cpu = process.cpuUsage(cpu0);
    ms.hCpu.push((cpu.user + cpu.system) / 1000);
    if (r.view) {
      const views = viewByKind[s.kind] ?? [];
      viewByKind[s.kind] = views;
      views.push(r.view.ribeyeView);
      acceptedByKind[s.kind] = (acceptedByKind[s.kind] ?? 0) + (r.view.accepted ? 1 : 0);
    }
    const pre = preprocess(gray, hs);
    const [q, hInf] = await timed(() => hint.runTensor(pre.tensor));
    const f = await opts.hintFp32.run(pre.tensor, [1, 1, hs, hs]);
    const box = (o: Float32Array): Box => [o[0]!, o[1]!, o[2]!, o[3]!];
    if (q.length > 5) {
      // The view head alone (its ribeye log-odds), to compare with the calibrated verdict.
      const head = headByKind[s.kind] ?? [];
      headByKind[s.kind] = head;
      head.push(FEATURES.view_logit!(viewStats(pre.tensor, hs, q), q));
    }
    more.qIou.push(boxIou(box(q), box(f)));
    more.qScore.push(Math.abs(q[4]! - f[4]!));
    more.same.push(q[4]! >= threshold === f[4]! >= threshold ? 1 : 0);
    ms.hInf.push(hInf);
    ms.hAll.push(hAll);
    // Hint and segmentation accuracy on usable views only (a cut-off ribeye is a negative view).
    if (s.kind !== 'ribeye' || !s.ribeye_bbox) {
      acc.neg.push(r.score < threshold ? 1 : 0);
      continue;
    }
    acc.iou.push(boxIou(r.ribeyeBbox, s.ribeye_bbox));
    acc.accepted.push(r.accepted ? 1 : 0);
    const [m, sAll] = await timed(() => seg.run(gray));
    const segPre = preprocess(gray, ss);
    const [, sInf] = await timed(() => opts.segSession.run(segPre.tensor, [1, 1, ss, ss]));
    ms.sInf.push(sInf);
    ms.sAll.push(sAll);
    const truth = await toGrayImage(join(opts.dir, s.mask!));
    const t = Uint8Array.from(truth.data, (v) => (v > 127 ? 1 : 0));
    const trueArea = t.reduce((a, v) => a + v, 0);
    acc.dice.push(dice(m.mask.data, t));
    more.areaErr.push(Math.abs(m.areaPx - trueArea) / Math.max(1, trueArea));
  }
  return {
    positives: acc.iou.length,
    negatives: acc.neg.length,
    hintMeanIou: mean(acc.iou),
    hintShareIou05: mean(acc.iou.map((v) => (v >= 0.5 ? 1 : 0))),
    negativesBelowThreshold: mean(acc.neg),
    positivesAccepted: mean(acc.accepted),
    segDice: mean(acc.dice),
    segAreaError: mean(more.areaErr),
    int8Fp32BoxIou: mean(more.qIou),
    int8Fp32MaxScoreDiff: Math.max(...more.qScore),
    int8Fp32SameDecision: mean(more.same),
    hintMsInference: median(ms.hInf),
    hintMsEndToEnd: median(ms.hAll),
    hintCpuMsEndToEnd: median(ms.hCpu),
    segMsInference: median(ms.sInf),
    segMsEndToEnd: median(ms.sAll),
    viewByKind,
    headByKind,
    viewThreshold: hint.viewCard?.threshold ?? Number.NaN,
    acceptedByKind,
  };
}

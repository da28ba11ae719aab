import type { PhantomMetrics } from './phantom-eval.ts';
import type { RealRow } from './real-scan-eval.ts';
import { summariseReal } from './real-scan-eval.ts';

export type TargetRow = { metric: string; value: string; target: string; pass: boolean | null };

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : 'n/a');
const pad = (s: string, n: number) => s.padEnd(n);

export function realTable(rows: RealRow[]): string {
  const head = `${pad('scan', 18)}${pad('variant', 19)}${pad('model IoU', 11)}${pad('prior IoU', 11)}${pad('scan-area prior', 17)}score`;
  const lines = rows.map(
    (r) =>
      `${pad(r.scan, 18)}${pad(r.variant, 19)}${pad(f2(r.model), 11)}${pad(f2(r.prior), 11)}${pad(f2(r.cropPrior), 17)}${f2(r.score)}`,
  );
  const s = summariseReal(rows);
  lines.push(`${pad('mean', 37)}${pad(f2(s.model), 11)}${pad(f2(s.prior), 11)}${pad(f2(s.cropPrior), 17)}`);
  return [head, ...lines].join('\n');
}

export function targetRows(real: RealRow[] | null, p: PhantomMetrics, threshold: number): TargetRow[] {
  const rows: TargetRow[] = [];
  if (real) {
    const s = summariseReal(real);
    const gain = s.model - s.prior;
    rows.push({ metric: 'real variants: model mean IoU', value: f2(s.model), target: '', pass: null });
    rows.push({
      metric: 'real variants: constant prior mean IoU',
      value: f2(s.prior),
      target: '',
      pass: null,
    });
    rows.push({
      metric: 'real variants: model − constant prior',
      value: `${gain >= 0 ? '+' : ''}${f2(gain)}`,
      target: '≥ +0.150',
      pass: gain >= 0.15,
    });
    rows.push({
      metric: 'real variants: model − scan-area prior',
      value: `${f2(s.model - s.cropPrior)}`,
      target: '(info)',
      pass: null,
    });
    rows.push({
      metric: 'real variants: share IoU ≥ 0.5',
      value: pct(s.modelShare05),
      target: '(info)',
      pass: null,
    });
  }
  rows.push(
    {
      metric: `phantoms: hint mean IoU (${p.positives} positives)`,
      value: f2(p.hintMeanIou),
      target: '≥ 0.850',
      pass: p.hintMeanIou >= 0.85,
    },
    { metric: 'phantoms: hint share IoU ≥ 0.5', value: pct(p.hintShareIou05), target: '(info)', pass: null },
    {
      metric: 'phantoms: segmentation Dice',
      value: f2(p.segDice),
      target: '≥ 0.920',
      pass: p.segDice >= 0.92,
    },
    {
      metric: 'phantoms: segmentation area error (mean)',
      value: pct(p.segAreaError),
      target: '≤ 8.0 %',
      pass: p.segAreaError <= 0.08,
    },
    {
      metric: `phantoms: negatives with score < ${threshold} (${p.negatives})`,
      value: pct(p.negativesBelowThreshold),
      target: '≥ 95.0 %',
      pass: p.negativesBelowThreshold >= 0.95,
    },
    {
      metric: 'phantoms: positives accepted (score ≥ threshold)',
      value: pct(p.positivesAccepted),
      target: '(info)',
      pass: null,
    },
    { metric: 'int8 vs fp32: mean box IoU', value: f2(p.int8Fp32BoxIou), target: '(info)', pass: null },
    {
      metric: 'int8 vs fp32: max |score diff|',
      value: f2(p.int8Fp32MaxScoreDiff),
      target: '(info)',
      pass: null,
    },
    {
      metric: 'int8 vs fp32: same accept decision',
      value: pct(p.int8Fp32SameDecision),
      target: '(info)',
      pass: null,
    },
    {
      metric: 'latency hint, inference (median, 1 thread)',
      value: `${p.hintMsInference.toFixed(2)} ms`,
      target: '≤ 10 ms',
      pass: p.hintMsInference <= 10,
    },
    {
      metric: 'latency hint, preprocess + inference',
      value: `${p.hintMsEndToEnd.toFixed(2)} ms`,
      target: '(info)',
      pass: null,
    },
    {
      metric: 'latency seg, inference (median, 1 thread)',
      value: `${p.segMsInference.toFixed(2)} ms`,
      target: '≤ 80 ms',
      pass: p.segMsInference <= 80,
    },
    {
      metric: 'latency seg, pre + inference + postprocess',
      value: `${p.segMsEndToEnd.toFixed(2)} ms`,
      target: '(info)',
      pass: null,
    },
  );
  return rows;
}

export function summaryTable(rows: TargetRow[]): string {
  const status = (p: boolean | null) => (p === null ? '' : p ? 'PASS' : 'MISS');
  const head = `${pad('metric', 52)}${pad('value', 12)}${pad('target', 11)}status`;
  return [
    head,
    ...rows.map((r) => `${pad(r.metric, 52)}${pad(r.value, 12)}${pad(r.target, 11)}${status(r.pass)}`),
  ].join('\n');
}

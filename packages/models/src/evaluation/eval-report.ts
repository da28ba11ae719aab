import type { PhantomMetrics } from './phantom-eval.ts';
import type { RealRow } from './real-scan-eval.ts';
import { summariseReal } from './real-scan-eval.ts';
import { rocAuc } from './roc-auc.ts';

export type TargetRow = { metric: string; value: string; target: string; pass: boolean | null };

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : 'n/a');
const pad = (s: string, n: number) => s.padEnd(n);
const row = (metric: string, value: string, target = '(info)', pass: boolean | null = null): TargetRow => ({
  metric,
  value,
  target,
  pass,
});

export function realTable(rows: RealRow[]): string {
  const head = `${pad('scan', 23)}${pad('variant', 18)}${pad('hint IoU', 10)}${pad('prior', 8)}${pad('area prior', 12)}${pad('seg box IoU', 13)}${pad('area vs carried', 17)}${pad('ribeye_view', 13)}verdict`;
  const lines = rows.map((r) => {
    const dev = r.positive
      ? `${((100 * (r.segArea - r.expectedArea)) / Math.max(1, r.expectedArea)).toFixed(1)} %`
      : '';
    const verdict = r.accepted ? 'accepted' : 'rejected';
    const ok = r.accepted === r.positive ? '' : '  ← wrong';
    const num = (v: number) => (r.positive ? f2(v) : '');
    return `${pad(r.scan, 23)}${pad(r.variant, 18)}${pad(num(r.model), 10)}${pad(num(r.prior), 8)}${pad(num(r.cropPrior), 12)}${pad(num(r.segBoxIou), 13)}${pad(dev, 17)}${pad(f2(r.ribeyeView), 13)}${verdict}${ok}`;
  });
  const s = summariseReal(rows);
  lines.push(
    `${pad('mean (ribeye views)', 41)}${pad(f2(s.model), 10)}${pad(f2(s.prior), 8)}${pad(f2(s.cropPrior), 12)}${f2(s.segBoxIouMean)}`,
  );
  return [head, ...lines].join('\n');
}

/** Per negative kind: AUC of ribeyeView (ribeye vs that kind) and the share rejected at the threshold. */
export function viewTable(p: PhantomMetrics): string {
  const pos = p.viewByKind.ribeye ?? [];
  const head = `${pad('kind', 24)}${pad('n', 6)}${pad('ROC AUC vs ribeye', 19)}${pad('head alone AUC', 16)}${pad('at threshold', 14)}median ribeye_view`;
  const headPos = p.headByKind.ribeye ?? [];
  const lines: string[] = [];
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? Number.NaN;
  for (const [kind, values] of Object.entries(p.viewByKind).sort(([a], [b]) =>
    a === 'ribeye' ? -1 : b === 'ribeye' ? 1 : a.localeCompare(b),
  )) {
    const accepted = p.acceptedByKind[kind] ?? 0;
    const share =
      kind === 'ribeye'
        ? `${pct(accepted / values.length)} acc.`
        : `${pct(1 - accepted / values.length)} rej.`;
    const auc = kind === 'ribeye' ? '' : f2(rocAuc(pos, values));
    const headAuc = kind === 'ribeye' ? '' : f2(rocAuc(headPos, p.headByKind[kind] ?? []));
    lines.push(
      `${pad(kind, 24)}${pad(String(values.length), 6)}${pad(auc, 19)}${pad(headAuc, 16)}${pad(share, 14)}${f2(median(values))}`,
    );
  }
  return [head, ...lines].join('\n');
}

/** The target rows of what was evaluated (real scans and/or held-out phantoms). */
export function targetRows(real: RealRow[] | null, p: PhantomMetrics | null): TargetRow[] {
  const rows: TargetRow[] = [];
  if (real) {
    const s = summariseReal(real);
    const gain = s.model - s.prior;
    rows.push(
      row('real variants: hint mean IoU', f2(s.model)),
      row('real variants: constant prior mean IoU', f2(s.prior)),
      row(
        'real variants: hint − constant prior',
        `${gain >= 0 ? '+' : ''}${f2(gain)}`,
        '≥ +0.200',
        gain >= 0.2,
      ),
      row('real variants: hint − scan-area prior', f2(s.model - s.cropPrior)),
      row(
        `real ribeye views + variants accepted (${s.positives})`,
        `${s.positivesAccepted}/${s.positives}`,
        'all',
        s.positivesAccepted === s.positives,
      ),
      row(
        `real negative + variants rejected (${s.negatives})`,
        `${s.negativesRejected}/${s.negatives}`,
        'all',
        s.negatives > 0 && s.negativesRejected === s.negatives,
      ),
      row('real variants: segmentation box IoU (min)', f2(s.segBoxIouMin), '≥ 0.800', s.segBoxIouMin >= 0.8),
      row('real variants: segmentation box IoU (mean)', f2(s.segBoxIouMean)),
      row(
        'real variants: area vs the original carried (max dev.)',
        pct(s.areaDeviationMax),
        '≤ 5.0 %',
        s.areaDeviationMax <= 0.05,
      ),
    );
  }
  if (!p) return rows;
  const pos = p.viewByKind.ribeye ?? [];
  const negKinds = Object.keys(p.viewByKind).filter((k) => k !== 'ribeye');
  const neg = negKinds.flatMap((k) => p.viewByKind[k]!);
  const rejected = negKinds.reduce((a, k) => a + p.viewByKind[k]!.length - (p.acceptedByKind[k] ?? 0), 0);
  const accepted = (p.acceptedByKind.ribeye ?? 0) / Math.max(1, pos.length);
  const negRejected = rejected / Math.max(1, neg.length);
  const accuracy = ((p.acceptedByKind.ribeye ?? 0) + rejected) / Math.max(1, pos.length + neg.length);
  rows.push(
    row(`phantoms: view ROC AUC (${pos.length} ribeyes vs ${neg.length} negatives)`, f2(rocAuc(pos, neg))),
    row(
      'phantoms: view head alone, ROC AUC',
      f2(
        rocAuc(
          p.headByKind.ribeye ?? [],
          negKinds.flatMap((k) => p.headByKind[k] ?? []),
        ),
      ),
    ),
    row(`phantoms: view accuracy at threshold ${p.viewThreshold}`, pct(accuracy)),
    row('phantoms: negatives rejected (every kind)', pct(negRejected), '≥ 99.0 %', negRejected >= 0.99),
    row('phantoms: ribeyes accepted', pct(accepted), '≥ 98.0 %', accepted >= 0.98),
    row(
      `phantoms: hint mean IoU (${p.positives} ribeyes)`,
      f2(p.hintMeanIou),
      '≥ 0.870',
      p.hintMeanIou >= 0.87,
    ),
    row('phantoms: hint share IoU ≥ 0.5', pct(p.hintShareIou05)),
    row('phantoms: segmentation Dice', f2(p.segDice), '≥ 0.930', p.segDice >= 0.93),
    row('phantoms: segmentation area error (mean)', pct(p.segAreaError), '≤ 6.0 %', p.segAreaError <= 0.06),
    row('int8 vs fp32: mean box IoU', f2(p.int8Fp32BoxIou)),
    row('int8 vs fp32: max |score diff|', f2(p.int8Fp32MaxScoreDiff)),
    row(
      'latency hint + verdict (median, 1 thread)',
      `${p.hintMsEndToEnd.toFixed(2)} ms`,
      '≤ 15 ms',
      p.hintMsEndToEnd <= 15,
    ),
    row('CPU time hint + verdict (median, load-independent)', `${p.hintCpuMsEndToEnd.toFixed(2)} ms`),
    row('latency hint, inference only', `${p.hintMsInference.toFixed(2)} ms`),
    row(
      'latency seg, inference (median, 1 thread)',
      `${p.segMsInference.toFixed(2)} ms`,
      '≤ 80 ms',
      p.segMsInference <= 80,
    ),
    row('latency seg, pre + inference + postprocess', `${p.segMsEndToEnd.toFixed(2)} ms`),
  );
  return rows;
}

export function summaryTable(rows: TargetRow[]): string {
  const status = (p: boolean | null) => (p === null ? '' : p ? 'PASS' : 'MISS');
  const head = `${pad('metric', 58)}${pad('value', 12)}${pad('target', 11)}status`;
  return [
    head,
    ...rows.map((r) => `${pad(r.metric, 58)}${pad(r.value, 12)}${pad(r.target, 11)}${status(r.pass)}`),
  ].join('\n');
}

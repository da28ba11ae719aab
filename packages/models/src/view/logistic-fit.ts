/**
 * Weighted L2-regularised logistic regression fitted by Newton's method on standardised features:
 * the view verdict's calibration (a handful of features, a few thousand samples: exact and fast).
 */
export type LogisticFit = {
  featureMean: number[];
  featureStd: number[];
  weights: number[];
  bias: number;
  iterations: number;
};

export type LogisticOptions = {
  /** Ridge penalty on the standardised weights (not the bias), in units of total sample weight. */
  l2?: number;
  /** Per-sample weights (default 1). */
  sampleWeights?: number[];
  maxIterations?: number;
};

/** Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const piv = m[c]![c]!;
    if (Math.abs(piv) < 1e-12)
      throw new Error('logistic fit: singular Hessian (a constant or duplicated feature?)');
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / piv;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

export function fitLogistic(x: number[][], y: number[], opts: LogisticOptions = {}): LogisticFit {
  const n = x.length;
  if (n === 0 || n !== y.length) throw new Error(`logistic fit: ${n} rows but ${y.length} labels`);
  if (!y.includes(1) || !y.includes(0)) throw new Error('logistic fit needs both classes');
  const d = x[0]!.length;
  const sw = opts.sampleWeights ?? new Array<number>(n).fill(1);
  const total = sw.reduce((a, v) => a + v, 0);
  const l2 = (opts.l2 ?? 1e-3) * total;
  const featureMean: number[] = [];
  const featureStd: number[] = [];
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i]![j]!;
    const mean = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i]![j]! - mean) ** 2;
    featureMean.push(mean);
    // A constant feature carries nothing: unit scale keeps it harmless (its weight stays ~0).
    const std = Math.sqrt(v / n);
    featureStd.push(std > 1e-6 * Math.max(1, Math.abs(mean)) ? std : 1);
  }
  const z = x.map((row) => [1, ...row.map((v, j) => (v - featureMean[j]!) / featureStd[j]!)]);
  const theta = new Array<number>(d + 1).fill(0);
  let it = 0;
  for (; it < (opts.maxIterations ?? 100); it++) {
    const g = new Array<number>(d + 1).fill(0);
    const h = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < n; i++) {
      const zi = z[i]!;
      let s = 0;
      for (let j = 0; j <= d; j++) s += theta[j]! * zi[j]!;
      const p = 1 / (1 + Math.exp(-s));
      const r = sw[i]! * (p - y[i]!);
      const w = sw[i]! * Math.max(p * (1 - p), 1e-9);
      for (let j = 0; j <= d; j++) {
        g[j]! += r * zi[j]!;
        for (let k = 0; k <= j; k++) h[j]![k]! += w * zi[j]! * zi[k]!;
      }
    }
    for (let j = 0; j <= d; j++) for (let k = 0; k < j; k++) h[k]![j] = h[j]![k]!;
    for (let j = 1; j <= d; j++) {
      g[j]! += l2 * theta[j]!;
      h[j]![j]! += l2;
    }
    const step = solve(h, g);
    let moved = 0;
    for (let j = 0; j <= d; j++) {
      theta[j]! -= step[j]!;
      moved = Math.max(moved, Math.abs(step[j]!));
    }
    if (moved < 1e-9) break;
  }
  return { featureMean, featureStd, weights: theta.slice(1), bias: theta[0]!, iterations: it + 1 };
}

/** σ(bias + w·(x − mean)/std). */
export function predictLogistic(fit: LogisticFit, row: number[]): number {
  let s = fit.bias;
  for (let j = 0; j < row.length; j++)
    s += (fit.weights[j]! * (row[j]! - fit.featureMean[j]!)) / fit.featureStd[j]!;
  return 1 / (1 + Math.exp(-s));
}

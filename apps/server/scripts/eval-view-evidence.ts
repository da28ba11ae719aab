/**
 * node apps/server/scripts/eval-view-evidence.ts -- --fit A.jsonl --fit B.jsonl [--test NAME=FILE.jsonl …]
 *
 * Does a combination of the grader's evidence separate ribeye views from the negative kinds better than
 * the deployed view decision? Rows come from view-features.ts. Prints, with issue 11's targets in mind
 * (negatives all R, ≥ 95 % of positives A or M):
 * 1. separation, cross-fitted: each combination fitted on one --fit file and scored on another, as the
 *    negatives it accepts where it keeps 90 / 95 % of the positives (threshold set on the scored file —
 *    a separation measure, not a decision);
 * 2. candidates fixed on all --fit files — the deployed decision, a logistic model over the named
 *    features with its threshold at 95 % positives kept, the band rule — then graded on every --test
 *    file: negatives R and positives A or M.
 * --fit files must be other seeds than the held-out 9001; pass the held-out rows as --test only once
 * the candidates are fixed (ADR 0003 §10 has the run of 2026-12-06).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  bandAccepts,
  confusion,
  deployedAccepts,
  type EvidenceRow,
  fitBandRule,
  fitLogistic,
  logisticScore,
  thresholdForKeep,
} from './view-evidence.ts';

const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    fit: { type: 'string', multiple: true, default: [] },
    test: { type: 'string', multiple: true, default: [] },
  },
});
if (values.fit.length < 2) throw new Error('--fit needs at least two files (rows of other seeds than 9001)');

const load = async (file: string): Promise<EvidenceRow[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EvidenceRow);
const fits = await Promise.all(values.fit.map(async (file) => ({ name: file, rows: await load(file) })));
const tests = await Promise.all(
  values.test.map(async (spec) => {
    const at = spec.indexOf('=');
    if (at < 1) throw new Error(`--test ${JSON.stringify(spec)}: expected NAME=FILE.jsonl`);
    return { name: spec.slice(0, at), rows: await load(spec.slice(at + 1)) };
  }),
);

const SETS: Record<string, string[]> = {
  'verdict alone': ['verdict_logit'],
  'verdict + agreement + certainty': ['verdict_logit', 'model_agreement', 'segmentation_certainty'],
  'all seven': [
    'verdict_logit',
    'model_agreement',
    'lateral_coherence',
    'lens_convexity',
    'segmentation_certainty',
    'hint_presence',
    'log_lens_size',
  ],
};
const out: string[] = [];
const frac = (a: number, b: number) => `${a}/${b}`;

out.push('Separation, cross-fitted (negatives accepted where 90 % / 95 % of positives are kept):');
out.push('| fitted on → scored on | combination | at 90 % | at 95 % |', '|---|---|---|---|');
for (const fit of fits)
  for (const scored of fits.filter((f) => f !== fit))
    for (const [name, features] of Object.entries(SETS)) {
      const model = fitLogistic(fit.rows, features);
      const score = (r: EvidenceRow) => logisticScore(model, r);
      const at = (keep: number) => {
        const t = thresholdForKeep(scored.rows, score, keep);
        if (t === null) return 'unreachable';
        const c = confusion(scored.rows, (r) => score(r) >= t);
        return frac(c.negativesAccepted, c.negatives);
      };
      out.push(`| ${fit.name} → ${scored.name} | ${name} | ${at(0.9)} | ${at(0.95)} |`);
    }

const all = fits.flatMap((f) => f.rows);
const model = fitLogistic(all, SETS['all seven']!);
const threshold = thresholdForKeep(all, (r) => logisticScore(model, r), 0.95) ?? 1;
const band = fitBandRule(all);
const candidates: [string, (r: EvidenceRow) => boolean][] = [
  ['deployed (verdict, band, rule v1)', deployedAccepts],
  [`logistic, all seven, p ≥ ${threshold.toFixed(4)}`, (r) => logisticScore(model, r) >= threshold],
  [
    `band rule: verdict ${band.lo}–${band.hi} needs certainty ≥ ${band.minCertainty}, agreement ≥ ${band.minAgreement}`,
    (r) => bandAccepts(band, r),
  ],
];
out.push('', 'Logistic model fixed on all --fit rows (coefficients in the features’ units):');
out.push(
  `  ${model.features.map((f, j) => `${f} ${model.coef[j]!.toFixed(3)}`).join(', ')}, intercept ${model.intercept.toFixed(3)}`,
);
out.push('', 'Candidates fixed on the --fit rows (negatives graded R; positives graded A or M):');
out.push(
  `| set | ${candidates.map(([n]) => n).join(' | ')} |`,
  `|---|${candidates.map(() => '---|').join('')}`,
);
for (const set of [...fits, ...tests]) {
  const cells = candidates.map(([, accept]) => {
    const c = confusion(set.rows, accept);
    return `${frac(c.negatives - c.negativesAccepted, c.negatives)} R; ${frac(c.positivesKept, c.positives)} A/M`;
  });
  out.push(`| ${set.name} | ${cells.join(' | ')} |`);
}
process.stdout.write(`${out.join('\n')}\n`);

/**
 * node scripts/calibrate-view.ts --data <cti-phantom export with negatives> [--models DIR] [--version V]
 *
 * A step of `pnpm train:models` (after the hint is trained): runs the hint on a calibration export
 * (its own seed, never the held-out set), fits the view verdict's logistic calibration over the
 * features below, and writes `ribeye-view.card.json` + `.card.md` bound to the hint's sha256.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadHintModel } from '../src/hint-model.ts';
import { DEFAULT_MODELS_DIR } from '../src/model-card.ts';
import { collectViewSamples, fitViewCard } from '../src/view/view-calibration.ts';
import type { ViewCard, ViewReason } from '../src/view/view-card.ts';
import { renderViewCardMarkdown } from '../src/view/view-card-markdown.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    models: { type: 'string', default: DEFAULT_MODELS_DIR },
    version: { type: 'string' },
    command: { type: 'string' },
  },
});
if (!values.data) {
  process.stderr.write(
    'usage: calibrate-view.ts --data <cti-phantom export dir> [--models DIR] [--version V]\n',
  );
  process.exit(2);
}

/** Reason code of each view class of the hint's head (hint card `viewClasses`). */
const CLASS_REASONS: Record<string, ViewReason> = {
  ribeye_cut_off: 'ribeye_cut_off',
  backfat_longitudinal: 'longitudinal_view',
  transverse_wrong_site: 'no_ribeye_lens',
  rump_p8: 'rump_view',
  probe_lifted: 'probe_lifted',
  motion_blur: 'motion_blur',
  off_animal: 'off_animal',
  noise: 'no_anatomy',
};

const hint = await loadHintModel({ modelsDir: values.models!, viewCardPath: null, intraOpThreads: 2 });
const classes = hint.card.viewClasses;
const features = [
  ...(classes ? ['view_logit'] : []),
  'hint_score_logit',
  'low_contrast',
  'darkness',
  'saturated_fraction',
  'top_band',
  'gradient_ratio',
];
const samples = await collectViewSamples(values.data, hint);
await hint.close();
const classReasons = classes
  ? Object.fromEntries(classes.filter((c) => CLASS_REASONS[c]).map((c) => [c, CLASS_REASONS[c]!]))
  : undefined;
const { card: fitted, summary } = fitViewCard(samples, {
  features,
  ...(classes ? { classes, classReasons } : {}),
});
const card: ViewCard = {
  name: 'ribeye-view',
  version: values.version ?? hint.card.version,
  description:
    'Is the frame a usable transverse ribeye view? A logistic calibration over the hint model’s outputs' +
    (classes ? ' (its view-class head and IoU score)' : ' (its IoU score)') +
    ' and statistics of the preprocessed scan-area crop, fitted on phantoms of every negative kind.',
  hint: { name: hint.card.name, version: hint.card.version, sha256: hint.sha256 },
  ...fitted,
  calibration: {
    data: values.command ?? values.data,
    samples: summary.samples,
    weighting: 'positives and negatives equal in total; each negative kind equal among negatives',
    acceptedByKind: Object.fromEntries(
      Object.entries(summary.byKind).map(([k, v]) => [k, `${v.accepted}/${v.n}`]),
    ),
    rocAuc: Math.round(summary.auc * 10000) / 10000,
  },
};
const base = join(values.models!, 'ribeye-view');
writeFileSync(`${base}.card.json`, `${JSON.stringify(card, null, 2)}\n`);
writeFileSync(`${base}.card.md`, renderViewCardMarkdown(card));
process.stdout.write(
  `ribeye-view ${card.version}: ${summary.samples} samples, AUC ${summary.auc.toFixed(4)}, accepted by kind ${JSON.stringify(card.calibration)}\n`,
);

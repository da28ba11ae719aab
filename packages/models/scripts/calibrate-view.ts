/**
 * node scripts/calibrate-view.ts --data <cti-phantom export with negatives> [--models DIR] [--version V]
 *                                 [--reference-dir DIR]
 *
 * A step of `pnpm train:models` (after the hint is trained): runs the hint on a calibration export
 * (its own seed, never the held-out set), fits the view verdict's logistic calibration over the
 * features below, checks its threshold against the real reference scans and their stress copies
 * (thresholdFromReferences: they may place the cut, never the weights), and writes
 * `ribeye-view.card.json` + `.card.md` bound to the hint's sha256. Without the reference scans
 * (`--reference-dir`, else $CTI_REFERENCE_SCANS, else ../shared/reference-scans) the threshold
 * stays 0.5 and the card says so.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadHintModel } from '../src/hint-model.ts';
import { DEFAULT_MODELS_DIR } from '../src/model-card.ts';
import {
  collectReferenceSamples,
  collectViewSamples,
  fitViewCard,
  type ReferenceThreshold,
  thresholdFromReferences,
} from '../src/view/view-calibration.ts';
import type { ViewCard, ViewReason } from '../src/view/view-card.ts';
import { renderViewCardMarkdown } from '../src/view/view-card-markdown.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    models: { type: 'string', default: DEFAULT_MODELS_DIR },
    version: { type: 'string' },
    command: { type: 'string' },
    'reference-dir': { type: 'string' },
  },
});
const referenceDir =
  values['reference-dir'] ??
  process.env.CTI_REFERENCE_SCANS ??
  fileURLToPath(new URL('../../../../shared/reference-scans/', import.meta.url));
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
// Why each feature is here: README "View verdict" (the table) and the card's calibration figures.
const features = [
  ...(classes ? ['view_logit'] : []),
  'hint_score_logit',
  'low_contrast',
  'darkness',
  'saturated_fraction',
  'top_band',
  'h_sharpness',
  'v_sharpness',
  'box_brightness',
];
const samples = await collectViewSamples(values.data, hint);
const refs = existsSync(join(referenceDir, 'README.md'))
  ? await collectReferenceSamples(referenceDir, hint)
  : null;
await hint.close();
const classReasons = classes
  ? Object.fromEntries(classes.filter((c) => CLASS_REASONS[c]).map((c) => [c, CLASS_REASONS[c]!]))
  : undefined;
const fitOpts = { features, ...(classes ? { classes, classReasons } : {}) };
let { card: fitted, summary } = fitViewCard(samples, fitOpts);
let placed: ReferenceThreshold | null = null;
if (refs) {
  placed = thresholdFromReferences(fitted, refs);
  if (placed.threshold !== fitted.threshold)
    ({ card: fitted, summary } = fitViewCard(samples, { ...fitOpts, threshold: placed.threshold }));
}
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
    threshold: placed
      ? {
          value: fitted.threshold,
          rule: placed.rule,
          realRibeyeCopiesLowest: placed.lowestRibeye,
          realNegativeCopiesHighest: placed.highestNegative,
          references: `${refs!.length} copies (reference-scans/README.md × realScanVariants)`,
        }
      : { value: fitted.threshold, rule: 'phantom-balanced 0.5 (no reference scans found)' },
  },
};
const base = join(values.models!, 'ribeye-view');
writeFileSync(`${base}.card.json`, `${JSON.stringify(card, null, 2)}\n`);
writeFileSync(`${base}.card.md`, renderViewCardMarkdown(card));
process.stdout.write(
  `ribeye-view ${card.version}: ${summary.samples} samples, AUC ${summary.auc.toFixed(4)}, accepted by kind ${JSON.stringify(card.calibration)}\n`,
);

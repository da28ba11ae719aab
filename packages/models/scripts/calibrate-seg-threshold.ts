/**
 * node scripts/calibrate-seg-threshold.ts --data <cti-phantom export> [--models DIR]
 *
 * The last step of `pnpm train:models`: picks ribeye-seg's `maskThreshold` on the trainer's
 * validation split (the last 8 % of the training export, never the held-out set) through the exact
 * inference pipeline, writes it into the JSON card with the per-threshold errors, and re-renders the
 * markdown card. The model file is untouched, so its sha256 stays what the card says.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calibrateMaskThreshold, validationSamples } from '../src/evaluation/threshold-calibration.ts';
import { loadModel } from '../src/load-model.ts';
import { DEFAULT_MODELS_DIR } from '../src/model-card.ts';

const { values } = parseArgs({
  options: { data: { type: 'string' }, models: { type: 'string', default: DEFAULT_MODELS_DIR } },
});
if (!values.data) {
  process.stderr.write('usage: calibrate-seg-threshold.ts --data <cti-phantom export dir> [--models DIR]\n');
  process.exit(2);
}
const cardPath = join(values.models!, 'ribeye-seg.card.json');
const { card, session } = await loadModel('ribeye-seg', 'segmentation', { cardPath, intraOpThreads: 2 });
const samples = await validationSamples(values.data);
const result = await calibrateMaskThreshold(session, card, samples);
await session.close();

const raw = JSON.parse(readFileSync(cardPath, 'utf8')) as Record<string, unknown>;
raw.maskThreshold = result.threshold;
raw.maskThresholdCalibration = {
  split: 'validation (last 8 % of the training export by id), ribeyes only',
  pipeline: 'full inference pipeline at the image resolution (cti-models segment)',
  ...result,
};
writeFileSync(cardPath, `${JSON.stringify(raw, null, 2)}\n`);
const training = fileURLToPath(new URL('../training/', import.meta.url));
execFileSync(process.env.CTI_PYTHON ?? '/usr/bin/python3', ['model_card.py', cardPath], { cwd: training });
process.stdout.write(
  `ribeye-seg maskThreshold ${result.threshold} (${result.samples} validation ribeyes; mean area error by threshold ${JSON.stringify(result.meanAreaError)})\n`,
);

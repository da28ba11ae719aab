/**
 * pnpm eval:models [--count N] [--negatives F] [--seed S] [--data DIR] [--reference-dir DIR] [--json FILE]
 *                   [--models-dir DIR] [--real-only]
 *
 * Scores the committed models: real reference scans (original + shifted/flipped/cropped copies) vs a
 * constant-box prior, and a held-out phantom set exported now with the heldout preset (other seeds,
 * shifted parameter ranges). Prints a table with the targets; nothing is cached or hard-coded.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { Box } from '../src/evaluation/box-metrics.ts';
import { realTable, summaryTable, targetRows, viewTable } from '../src/evaluation/eval-report.ts';
import { evaluatePhantoms } from '../src/evaluation/phantom-eval.ts';
import { evaluateRealScans } from '../src/evaluation/real-scan-eval.ts';
import { loadHintModel } from '../src/hint-model.ts';
import { DEFAULT_MODELS_DIR, sha256Hex } from '../src/model-card.ts';
import { createOnnxSession } from '../src/onnx-session.ts';
import { loadSegmentationModel } from '../src/segmentation-model.ts';

// `pnpm eval:models -- --data X` forwards the literal "--"; drop it.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    count: { type: 'string', default: '400' },
    negatives: { type: 'string', default: '0.4' },
    seed: { type: 'string', default: '9001' },
    data: { type: 'string' },
    'reference-dir': { type: 'string' },
    json: { type: 'string' },
    'models-dir': { type: 'string' },
    'real-only': { type: 'boolean', default: false },
  },
});
const MODELS_DIR = values['models-dir'] ?? DEFAULT_MODELS_DIR;
const REFERENCE_DIR =
  values['reference-dir'] ??
  process.env.CTI_REFERENCE_SCANS ??
  fileURLToPath(new URL('../../../../shared/reference-scans/', import.meta.url));
const PHANTOM_CLI = fileURLToPath(new URL('./cli.js', import.meta.resolve('@cti/imaging')));

async function exportHeldout(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  if (values.data) return { dir: values.data, cleanup: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'cti-heldout-'));
  const args = [
    'export',
    '--out',
    dir,
    '--count',
    values.count!,
    '--seed',
    values.seed!,
    '--preset',
    'heldout',
    '--negatives',
    values.negatives!,
  ];
  process.stderr.write(`exporting held-out phantoms: cti-phantom ${args.join(' ')}\n`);
  await promisify(execFile)(process.execPath, [PHANTOM_CLI, ...args], { maxBuffer: 16 << 20 });
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const hint = await loadHintModel({ intraOpThreads: 1, modelsDir: MODELS_DIR });
const seg = await loadSegmentationModel({ intraOpThreads: 1, modelsDir: MODELS_DIR });
const ref = hint.card.fp32Reference!;
const fp32Bytes = await readFile(join(MODELS_DIR, ref.file));
if (sha256Hex(fp32Bytes) !== ref.sha256)
  throw new Error(`${ref.file} does not match the sha256 in the hint card`);
const hintFp32 = await createOnnxSession(fp32Bytes, { intraOpThreads: 1 });
const segSession = await createOnnxSession(await readFile(join(MODELS_DIR, seg.card.file)), {
  intraOpThreads: 1,
});

const out: string[] = [];
out.push(`models: ${hint.model} (${hint.card.sizeBytes} B, sha256 ${hint.sha256})`);
out.push(
  `        ${hint.viewCard ? `${hint.viewCard.name}@${hint.viewCard.version} (view verdict, threshold ${hint.viewCard.threshold})` : 'no view card'}`,
);
out.push(`        ${seg.model} (${seg.card.sizeBytes} B, sha256 ${seg.sha256})`);
let real = null;
if (existsSync(join(REFERENCE_DIR, 'README.md'))) {
  real = await evaluateRealScans({
    dir: REFERENCE_DIR,
    hint,
    seg,
    prior: hint.card.constantPrior as Box,
    cropPrior: hint.card.constantPriorInScanArea as Box,
  });
  out.push(
    '',
    `Real reference scans (${REFERENCE_DIR}), the true box moved with each copy; the segmentation's area against the original's mask carried through the same copy:`,
    realTable(real),
  );
} else {
  out.push('', `Real reference scans: NOT EVALUATED — ${REFERENCE_DIR} not found (set --reference-dir).`);
}
let phantom = null;
if (!values['real-only']) {
  const heldout = await exportHeldout();
  phantom = await evaluatePhantoms({ dir: heldout.dir, hint, hintFp32, seg, segSession });
  await heldout.cleanup();
  const source =
    values.data ?? `exported now: preset heldout, seed ${values.seed}, negatives ${values.negatives}`;
  out.push(
    '',
    `Held-out phantoms (${source}; ${phantom.positives + phantom.negatives} images), view verdict by kind:`,
    viewTable(phantom),
  );
}
const rows = targetRows(real, phantom);
out.push('', 'Targets:', summaryTable(rows));
process.stdout.write(`${out.join('\n')}\n`);
if (values.json) await writeFile(values.json, `${JSON.stringify({ real, phantom, rows }, null, 2)}\n`);
await Promise.all([hint.close(), seg.close(), hintFp32.close(), segSession.close()]);

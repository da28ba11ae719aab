import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// training/quality_floor.py decides whether `pnpm train:models` may copy a run over the committed
// models: the committed cards must pass it, a collapsed segmentation (the 3.0.0 run whose masks
// were all empty: Dice 0, area error 1) or a degenerate view head must not.
const PYTHON = process.env.CTI_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../training/quality_floor.py', import.meta.url));
const MODELS = fileURLToPath(new URL('../models/', import.meta.url));
const CARDS = ['ribeye-seg', 'ribeye-hint', 'ribeye-view'].map((n) => `${n}.card.json`);
const run = promisify(execFile);
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cti-floor-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function floor(models: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(PYTHON, [SCRIPT, models, ...args]);
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

async function copyCommitted(to: string): Promise<void> {
  for (const c of CARDS) await copyFile(join(MODELS, c), join(to, c));
}

async function editCard(path: string, edit: (card: Record<string, unknown>) => void): Promise<void> {
  const card = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  edit(card);
  await writeFile(path, JSON.stringify(card));
}

test('the committed models pass the training quality floor', async () => {
  const r = await floor(MODELS);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /passes/);
});

test('a collapsed segmentation (empty masks) fails the floor, naming the metrics', async () => {
  const d = await mkdtemp(join(dir, 'seg-'));
  await copyCommitted(d);
  await editCard(join(d, 'ribeye-seg.card.json'), (c) => {
    c.metrics = {
      val_dice_at_input_res: 0,
      val_area_error_at_input_res: 1,
      val_roi_dice_at_input_res: 0,
      val_negatives_empty_mask: 1,
    };
  });
  const r = await floor(d);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /ribeye-seg: val_dice_at_input_res 0 < 0\.7/);
  assert.match(r.out, /ribeye-seg: val_area_error_at_input_res 1 > 0\.5/);
  assert.match(r.out, /ribeye-seg: val_roi_dice_at_input_res 0 < 0\.7/);
  assert.match(r.out, /FAILED \(3\); the committed models are left as they are/);
});

test('a view head that calls everything a ribeye, and a missing card, fail the floor', async () => {
  const d = await mkdtemp(join(dir, 'view-'));
  await copyCommitted(d);
  await rm(join(d, 'ribeye-seg.card.json'));
  await editCard(join(d, 'ribeye-hint.card.json'), (c) => {
    const m = c.metrics as { qat: Record<string, number> };
    m.qat = { ...m.qat, val_negatives: 100, val_view_negatives_p_lt_0_5: 0 };
  });
  await editCard(join(d, 'ribeye-view.card.json'), (c) => {
    c.calibration = { rocAuc: 0.5, acceptedByKind: { ribeye: '10/100' } };
  });
  const r = await floor(d);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /ribeye-seg: no card at/);
  assert.match(r.out, /ribeye-hint: val_view_negatives_p_lt_0_5 0 < 0\.8/);
  assert.match(r.out, /ribeye-view: rocAuc 0\.5 < 0\.9/);
  assert.match(r.out, /ribeye-view: ribeyes accepted 10\/100 < 0\.8/);
});

test("a run of one net (train-models.sh passes --only seg|hint) is checked for that net's cards only", async () => {
  const d = await mkdtemp(join(dir, 'only-'));
  await copyFile(join(MODELS, 'ribeye-seg.card.json'), join(d, 'ribeye-seg.card.json'));
  const all = await floor(d);
  assert.equal(all.code, 1, all.out);
  assert.match(all.out, /ribeye-hint: no card at/);
  const seg = await floor(d, '--only', 'seg');
  assert.equal(seg.code, 0, seg.out);
  const hint = await floor(d, '--only', 'hint');
  assert.equal(hint.code, 1, hint.out);
  assert.match(hint.out, /ribeye-hint: no card at/);
  assert.match(hint.out, /ribeye-view: no card at/);
  await editCard(join(d, 'ribeye-seg.card.json'), (c) => {
    c.metrics = { val_dice_at_input_res: 0, val_area_error_at_input_res: 1, val_roi_dice_at_input_res: 0 };
  });
  const collapsed = await floor(d, '--only', 'seg');
  assert.equal(collapsed.code, 1, collapsed.out);
  assert.match(collapsed.out, /ribeye-seg: val_dice_at_input_res 0 < 0\.7/);
});

import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadHintModel } from '../hint-model.ts';
import { DEFAULT_MODELS_DIR, ModelCardError, readModelCard } from '../model-card.ts';
import { syntheticScan } from '../test-fixtures.ts';
import { readViewCard } from './view-card.ts';
import { loadViewModel, type ViewModel } from './view-model.ts';

let view: ViewModel;
let dir = '';
before(async () => {
  view = await loadViewModel();
  dir = await mkdtemp(join(tmpdir(), 'cti-view-'));
});
after(async () => {
  await view.close();
  await rm(dir, { recursive: true, force: true });
});

test('the committed view card is valid and bound to the committed hint model', async () => {
  const card = await readViewCard(join(DEFAULT_MODELS_DIR, 'ribeye-view.card.json'));
  assert.equal(card.hint.sha256, view.hint.sha256);
  assert.equal(view.model, `ribeye-view@${card.version}`);
});

test('a black frame and a flat gray frame are rejected with reasons', async () => {
  const black = await view.run({ data: new Uint8Array(320 * 240), width: 320, height: 240 });
  assert.equal(black.accepted, false);
  assert.equal(black.reasons[0], 'not_a_ribeye_view');
  assert.ok(black.reasons.includes('too_dark'), black.reasons.join());
  const flat = await view.run({ data: new Uint8Array(320 * 240).fill(90), width: 320, height: 240 });
  assert.equal(flat.accepted, false);
  assert.ok(flat.reasons.includes('low_contrast'), flat.reasons.join());
});

test('the hint result carries the same verdict as loadViewModel', async () => {
  const img = syntheticScan({ width: 400, height: 300, seed: 5 });
  const v = await view.run(img);
  const h = await view.hint.run(img);
  assert.deepEqual(h.view, {
    ribeyeView: v.ribeyeView,
    accepted: v.accepted,
    threshold: v.threshold,
    reasons: v.reasons,
    model: v.model,
  });
  assert.ok(v.ribeyeView >= 0 && v.ribeyeView <= 1);
  assert.equal(v.accepted, v.ribeyeView >= v.threshold);
  assert.equal(v.accepted, v.reasons.length === 0);
});

test('without a view card the hint still runs (view null) but loadViewModel refuses', async () => {
  const card = await readModelCard(join(DEFAULT_MODELS_DIR, 'ribeye-hint.card.json'));
  await copyFile(join(DEFAULT_MODELS_DIR, 'ribeye-hint.card.json'), join(dir, 'ribeye-hint.card.json'));
  await copyFile(join(DEFAULT_MODELS_DIR, card.file), join(dir, card.file));
  const hint = await loadHintModel({ modelsDir: dir });
  assert.equal((await hint.run(syntheticScan({ width: 200, height: 150 }))).view, null);
  await hint.close();
  await assert.rejects(loadViewModel({ modelsDir: dir }), /cannot read view card .*ribeye-view\.card\.json/);
});

test('a view card calibrated on another hint model is refused', async () => {
  const raw = JSON.parse(await readFile(join(DEFAULT_MODELS_DIR, 'ribeye-view.card.json'), 'utf8'));
  raw.hint.sha256 = 'b'.repeat(64);
  await writeFile(join(dir, 'ribeye-view.card.json'), JSON.stringify(raw));
  await assert.rejects(loadHintModel({ modelsDir: dir }), (err: Error) => {
    assert.ok(err instanceof ModelCardError);
    assert.match(
      err.message,
      /calibrated on ribeye-hint@.* but the loaded hint model has sha256 [0-9a-f]{64}; refusing/,
    );
    return true;
  });
});

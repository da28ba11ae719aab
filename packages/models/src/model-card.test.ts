import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadHintModel } from './hint-model.ts';
import {
  DEFAULT_MODELS_DIR,
  ModelCardError,
  ModelIntegrityError,
  readModelCard,
  sha256Hex,
} from './model-card.ts';
import { loadSegmentationModel } from './segmentation-model.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cti-card-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function copyModel(name: string): Promise<{ card: string; model: string }> {
  const card = await readModelCard(join(DEFAULT_MODELS_DIR, `${name}.card.json`));
  await copyFile(join(DEFAULT_MODELS_DIR, `${name}.card.json`), join(dir, `${name}.card.json`));
  await copyFile(join(DEFAULT_MODELS_DIR, card.file), join(dir, card.file));
  return { card: join(dir, `${name}.card.json`), model: join(dir, card.file) };
}

test('committed model files match the sha256 in their cards', async () => {
  for (const name of ['ribeye-hint', 'ribeye-seg']) {
    const card = await readModelCard(join(DEFAULT_MODELS_DIR, `${name}.card.json`));
    const bytes = await readFile(join(DEFAULT_MODELS_DIR, card.file));
    assert.equal(sha256Hex(bytes), card.sha256, name);
    assert.equal(bytes.length, card.sizeBytes, name);
  }
  const hint = await loadHintModel();
  assert.match(hint.sha256, /^[0-9a-f]{64}$/);
  await hint.close();
});

test('a model file with one flipped byte is refused with the two hashes named', async () => {
  const { model } = await copyModel('ribeye-hint');
  const bytes = await readFile(model);
  bytes[bytes.length >> 1]! ^= 0x01;
  await writeFile(model, bytes);
  await assert.rejects(loadHintModel({ modelsDir: dir }), (err: Error) => {
    assert.ok(err instanceof ModelIntegrityError);
    assert.match(err.message, /sha256 [0-9a-f]{64} but its card .* says [0-9a-f]{64}; refusing to load/);
    return true;
  });
});

test('an explicit modelPath is verified against the card too', async () => {
  const { card } = await copyModel('ribeye-seg');
  const other = join(dir, 'other.onnx');
  await writeFile(other, Buffer.from('not the model'));
  await assert.rejects(loadSegmentationModel({ cardPath: card, modelPath: other }), ModelIntegrityError);
});

test('a missing or malformed card is a ModelCardError naming the file', async () => {
  await assert.rejects(loadHintModel({ modelsDir: join(dir, 'nowhere') }), (err: Error) => {
    assert.ok(err instanceof ModelCardError);
    assert.match(err.message, /nowhere.*ribeye-hint\.card\.json/);
    return true;
  });
  const bad = join(dir, 'bad.card.json');
  await writeFile(bad, JSON.stringify({ name: 'x', version: '1', file: 'x.onnx', sha256: 'abc' }));
  await assert.rejects(readModelCard(bad), /lacks "task"|sha256 is not 64 hex/);
});

test('a card for the wrong task is refused', async () => {
  const { card } = await copyModel('ribeye-seg');
  await assert.rejects(loadHintModel({ cardPath: card }), /task is "segmentation", expected "bbox-hint"/);
});

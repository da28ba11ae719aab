import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { loadHintModel } from '@cti/models';
import { BundleError, selectAgentModels } from './agent-bundle.ts';
import { REPO_ROOT } from './test-support/package-under-test.ts';

const SOURCE_MODELS = join(REPO_ROOT, 'packages/models/models');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('selectAgentModels: the models kept in the agent bundle', () => {
  let bundle: string;
  /** A bundle's models directory holding a copy of packages/models/models. */
  const bundleWithModels = () => {
    bundle = mkdtempSync(join(tmpdir(), 'cti-agent-bundle-'));
    const dir = join(bundle, 'node_modules/@cti/models/models');
    cpSync(SOURCE_MODELS, dir, { recursive: true });
    return dir;
  };
  afterEach(() => rmSync(bundle, { recursive: true, force: true }));

  test('keeps the hint and its view card (the view gate), drops the server-side model', async () => {
    const dir = bundleWithModels();
    const hint = readJson(join(SOURCE_MODELS, 'ribeye-hint.card.json'));
    const view = readJson(join(SOURCE_MODELS, 'ribeye-view.card.json'));
    const selected = await selectAgentModels(bundle);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [
        hint.file,
        'ribeye-hint.card.json',
        'ribeye-hint.card.md',
        'ribeye-view.card.json',
        'ribeye-view.card.md',
      ].sort(),
    );
    assert.deepEqual(selected, [
      { name: 'ribeye-hint', version: hint.version, file: hint.file },
      { name: 'ribeye-view', version: view.version, file: 'ribeye-view.card.json' },
    ]);
    // What is left loads as the agent loads it, with the view verdict.
    const loaded = await loadHintModel({ cardPath: join(dir, 'ribeye-hint.card.json') });
    await loaded.close();
    assert.equal(`${loaded.viewCard?.name}@${loaded.viewCard?.version}`, `ribeye-view@${view.version}`);
  });

  test('a bundle without the view card fails the build, naming the missing file', async () => {
    const dir = bundleWithModels();
    rmSync(join(dir, 'ribeye-view.card.json'));
    await assert.rejects(
      selectAgentModels(bundle),
      (err: Error) =>
        err instanceof BundleError &&
        /^model ribeye-hint cannot be packaged: cannot read view card .*ribeye-view\.card\.json: ENOENT/.test(
          err.message,
        ),
    );
    assert.ok(readdirSync(dir).includes('ribeye-seg.onnx'), 'nothing deleted before the check');
  });

  test('a view card calibrated on another hint fails the build', async () => {
    const dir = bundleWithModels();
    const path = join(dir, 'ribeye-view.card.json');
    const card = readJson(path);
    writeFileSync(path, JSON.stringify({ ...card, hint: { ...card.hint, sha256: 'a'.repeat(64) } }));
    await assert.rejects(
      selectAgentModels(bundle),
      (err: Error) =>
        err instanceof BundleError &&
        /^model ribeye-hint cannot be packaged: view card .* was calibrated on ribeye-hint@.* refusing to combine them$/.test(
          err.message,
        ),
    );
  });

  test('a hint model file that disagrees with its card fails the build', async () => {
    const dir = bundleWithModels();
    const hint = readJson(join(dir, 'ribeye-hint.card.json'));
    writeFileSync(
      join(dir, hint.file),
      Buffer.concat([readFileSync(join(dir, hint.file)), Buffer.from([0])]),
    );
    await assert.rejects(
      selectAgentModels(bundle),
      (err: Error) =>
        err instanceof BundleError && /^model ribeye-hint cannot be packaged: .*sha256/.test(err.message),
    );
  });
});

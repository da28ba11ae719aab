import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingWorkerNodeFlags, WORKER_NODE_FLAGS } from './worker-node-flags.ts';

test('missingWorkerNodeFlags names the recommended flags a command line lacks', () => {
  assert.deepEqual(missingWorkerNodeFlags([...WORKER_NODE_FLAGS, '--enable-source-maps']), []);
  assert.deepEqual(missingWorkerNodeFlags(['--enable-source-maps']), [...WORKER_NODE_FLAGS]);
});

test("compose.yaml starts the worker with the recommended flags, before the script and the 'worker' command", () => {
  const compose = readFileSync(
    fileURLToPath(new URL('../../../../infra/docker/compose.yaml', import.meta.url)),
    'utf8',
  );
  const worker = compose.slice(compose.indexOf('\n  worker:'));
  const entrypoint = /entrypoint: (\[.*\])/.exec(worker);
  assert.ok(entrypoint, 'the worker service sets an entrypoint');
  const argv = JSON.parse(entrypoint[1]!) as string[];
  assert.deepEqual(argv, ['node', ...WORKER_NODE_FLAGS, 'dist/main.js']);
  assert.match(worker, /command: \["worker"\]/);
});

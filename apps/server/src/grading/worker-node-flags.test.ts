import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingWorkerNodeFlags, WORKER_NODE_FLAGS } from './worker-node-flags.ts';

test('missingWorkerNodeFlags names the recommended flags a command line lacks', () => {
  assert.deepEqual(missingWorkerNodeFlags([...WORKER_NODE_FLAGS, '--enable-source-maps']), []);
  assert.deepEqual(missingWorkerNodeFlags(['--enable-source-maps']), [...WORKER_NODE_FLAGS]);
});

test("the image's ENTRYPOINT starts every command (and so the worker) with the recommended flags", () => {
  const dockerfile = readFileSync(
    fileURLToPath(new URL('../../../../infra/docker/Dockerfile', import.meta.url)),
    'utf8',
  );
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  assert.ok(entrypoint, 'the Dockerfile sets an exec-form ENTRYPOINT');
  assert.deepEqual(JSON.parse(entrypoint[1]!), ['node', ...WORKER_NODE_FLAGS, 'dist/main.js']);
  const compose = readFileSync(
    fileURLToPath(new URL('../../../../infra/docker/compose.yaml', import.meta.url)),
    'utf8',
  );
  const worker = compose.slice(compose.indexOf('\n  worker:'));
  const service = worker.slice(1).split(/\n {2}(?=\S)/)[0]!; // up to the next service
  assert.doesNotMatch(service, /^\s+entrypoint:/m, "compose keeps the image's entrypoint and its flag");
  assert.match(worker, /command: \["worker"\]/);
});

test('`pnpm bench:grade` measures the model alone and the grader alone under the same flags', () => {
  const pkg = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../../../package.json', import.meta.url)), 'utf8'),
  ) as { scripts: Record<string, string> };
  const node = /&& node (.*) apps\/server\/scripts\/bench-grade\.ts$/.exec(pkg.scripts['bench:grade']!);
  assert.ok(node, 'bench:grade runs bench-grade.ts with node');
  assert.deepEqual(missingWorkerNodeFlags(node[1]!.split(' ')), []);
});

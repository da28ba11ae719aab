import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingWorkerNodeFlags, WORKER_NODE_FLAGS } from './worker-node-flags.ts';

test('missingWorkerNodeFlags names the recommended flags a command line lacks', () => {
  assert.deepEqual(missingWorkerNodeFlags([...WORKER_NODE_FLAGS, '--enable-source-maps']), []);
  assert.deepEqual(missingWorkerNodeFlags(['--enable-source-maps']), [...WORKER_NODE_FLAGS]);
});

/** The image's exec-form ENTRYPOINT, run by a real /bin/sh with a `node` on PATH that prints its argv. */
function runEntrypoint(args: string[]): string[] {
  const dockerfile = readFileSync(
    fileURLToPath(new URL('../../../../infra/docker/Dockerfile', import.meta.url)),
    'utf8',
  );
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  assert.ok(entrypoint, 'the Dockerfile sets an exec-form ENTRYPOINT');
  const [shell, ...shellArgs] = JSON.parse(entrypoint[1]!) as string[];
  const bin = mkdtempSync(join(tmpdir(), 'cti-entrypoint-'));
  try {
    writeFileSync(join(bin, 'node'), '#!/bin/sh\nprintf \'%s\\n\' "$@"\n', { mode: 0o755 });
    const out = spawnSync(shell!, [...shellArgs, ...args], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout.trimEnd().split('\n');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

test("the image's ENTRYPOINT starts `worker` with the recommended flags and every other command without", () => {
  assert.deepEqual(runEntrypoint(['worker']), [...WORKER_NODE_FLAGS, 'dist/main.js', 'worker']);
  // serve pays for the worker's young-generation cap (apps/server/README.md, "Container").
  assert.deepEqual(runEntrypoint(['serve']), ['dist/main.js', 'serve']);
  assert.deepEqual(runEntrypoint(['regrade', '--scan', 'a b']), ['dist/main.js', 'regrade', '--scan', 'a b']);
  const compose = readFileSync(
    fileURLToPath(new URL('../../../../infra/docker/compose.yaml', import.meta.url)),
    'utf8',
  );
  const worker = compose.slice(compose.indexOf('\n  worker:'));
  const service = worker.slice(1).split(/\n {2}(?=\S)/)[0]!; // up to the next service
  assert.doesNotMatch(service, /^\s+entrypoint:/m, "compose keeps the image's entrypoint and its flags");
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

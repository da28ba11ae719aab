import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { makeDirectory } from '@cti/runtime';
import type { ExportPlan } from './sample-plan.ts';
import { type ManifestEntry, writeSample } from './write-sample.ts';

export type ExportOptions = ExportPlan & {
  out: string;
  count: number;
  /** Worker threads; 0 or 1 = in this thread. Default: available cores. */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
};

export type Manifest = {
  generator: '@cti/imaging phantom';
  format_version: 1;
  preset: ExportPlan['preset'];
  seed: number;
  count: number;
  negatives: number;
  size: ExportPlan['size'];
  max_side: number | null;
  /** Present (true) only for an export with `realism`. */
  realism?: true;
  kinds: Record<string, number>;
  samples: ManifestEntry[];
};

/**
 * Export `count` phantoms to `out` (NNNNN.png, NNNNN.json, NNNNN.mask.png, manifest.json). The files
 * depend only on (seed, preset, negatives, size, maxSide, index) — not on the worker count.
 *
 * @example
 * await exportDataset({ out: '/tmp/ds', count: 1000, seed: 1, preset: 'training', negatives: 0.2, size: null, maxSide: 384 });
 */
export async function exportDataset(o: ExportOptions): Promise<Manifest> {
  validate(o);
  await makeDirectory(o.out);
  const plan: ExportPlan = {
    seed: o.seed,
    preset: o.preset,
    negatives: o.negatives,
    size: o.size,
    maxSide: o.maxSide,
    ...(o.realism ? { realism: true } : {}),
  };
  const workers = Math.min(o.workers ?? availableParallelism(), o.count);
  const entries: ManifestEntry[] = [];
  const report = (e: ManifestEntry) => {
    entries.push(e);
    o.onProgress?.(entries.length, o.count);
  };
  if (workers <= 1) {
    for (let i = 0; i < o.count; i++) report(await writeSample(o.out, plan, i));
  } else {
    await Promise.all(
      Array.from({ length: workers }, (_, k) =>
        runWorker({ dir: o.out, plan, start: k, stride: workers, count: o.count }, report),
      ),
    );
  }
  entries.sort((a, b) => a.index - b.index);
  const kinds: Record<string, number> = {};
  for (const e of entries) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  const manifest: Manifest = {
    generator: '@cti/imaging phantom',
    format_version: 1,
    preset: o.preset,
    seed: o.seed,
    count: o.count,
    negatives: o.negatives,
    size: o.size,
    max_side: o.maxSide,
    ...(o.realism ? { realism: true as const } : {}),
    kinds,
    samples: entries,
  };
  await writeFile(`${o.out}/manifest.json`, `${JSON.stringify(manifest)}\n`);
  return manifest;
}

function runWorker(
  job: { dir: string; plan: ExportPlan; start: number; stride: number; count: number },
  report: (e: ManifestEntry) => void,
) {
  // Under `node --test` the sources run as .ts; the build runs dist/*.js.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const worker = new Worker(new URL(`./export-worker${ext}`, import.meta.url), { workerData: job });
  return new Promise<void>((resolve, reject) => {
    worker.on('message', (m: { type: string; entry?: ManifestEntry; message?: string }) => {
      if (m.type === 'sample' && m.entry) report(m.entry);
      else if (m.type === 'done') resolve();
      else if (m.type === 'error') reject(new Error(`export worker failed: ${m.message}`));
    });
    worker.on('error', reject);
    worker.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`export worker exited with code ${code}`)),
    );
  }).finally(() => worker.terminate());
}

function validate(o: ExportOptions): void {
  if (!Number.isInteger(o.count) || o.count < 1)
    throw new RangeError(`count must be a positive integer, got ${o.count}`);
  if (!Number.isInteger(o.seed) || o.seed < 0)
    throw new RangeError(`seed must be a non-negative integer, got ${o.seed}`);
  if (!(o.negatives >= 0 && o.negatives <= 1))
    throw new RangeError(`negatives must be a fraction in [0, 1], got ${o.negatives}`);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 0)) {
    throw new RangeError(`workers must be a non-negative integer, got ${o.workers}`);
  }
}

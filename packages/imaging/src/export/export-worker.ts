import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import type { ExportPlan } from './sample-plan.ts';
import { writeSample } from './write-sample.ts';

// One worker handles indices start, start + stride, …; it reports each written sample.
type Job = { dir: string; plan: ExportPlan; start: number; stride: number; count: number };

sharp.concurrency(1);
const job = workerData as Job;
const port = parentPort;
if (!port) throw new Error('export-worker must run inside a worker thread');
try {
  for (let i = job.start; i < job.count; i += job.stride) {
    port.postMessage({ type: 'sample', entry: await writeSample(job.dir, job.plan, i) });
  }
  port.postMessage({ type: 'done' });
} catch (err) {
  port.postMessage({
    type: 'error',
    message: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
}

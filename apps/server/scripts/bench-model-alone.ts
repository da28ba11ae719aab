// The segmentation model alone in a process of its own, for `pnpm bench:grade`: it starts BENCH_WORKERS
// of these at once to measure the model with the cores as busy as that many worker processes keep
// them (two vCPUs may be one core's two hyperthreads, and a model then runs slower beside another than
// on an idle machine). Prints one JSON line: {"cpuMs": CPU ms per image, "rate": images/s}.
// Usage: node bench-model-alone.ts <width> <height> <rounds> (the bench's images, bench-images.ts).
import { decodeRaster, toGray } from '@cti/imaging';
import { loadSegmentationModel } from '@cti/models';
import { benchScreens } from './bench-images.ts';

const [width, height, rounds] = process.argv.slice(2).map(Number) as [number, number, number];
const grays = await Promise.all(
  (await benchScreens(width, height)).map(async (png) => toGray(await decodeRaster(png))),
);
const seg = await loadSegmentationModel({ intraOpThreads: 1 });
for (const g of grays) await seg.run(g); // warm-up, as the bench's own measurement
// Start together: the parent releases every child at once through stdin, once all are loaded.
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const cpuStart = process.cpuUsage();
const tStart = performance.now();
for (let r = 0; r < rounds; r++) for (const g of grays) await seg.run(g);
const cpu = process.cpuUsage(cpuStart);
const images = rounds * grays.length;
process.stdout.write(
  `${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000 / images, rate: images / ((performance.now() - tStart) / 1000) })}\n`,
);
await seg.close();
